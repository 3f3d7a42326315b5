"""The figures of a union's dashboard (SPEC 6.5): its subtree's summary for a year, the archive month by month,
the fund balances and their ageing by source, and the children's filing of the monthly funds report.

The year's figures come from :func:`hardship.reports.figures.summary`, each month's archive figures (up to the
last month begun) from :func:`hardship.reports.figures.counted`; the balances by source from the ledger's own figures
(:func:`hardship.funds.queries.balances`, whose totals are the summary's ``funds``), since the summary does not
split them by source.
"""

from __future__ import annotations

from datetime import date

from hardship.funds import queries as funds_queries
from hardship.funds.models import SOURCES
from hardship.reports import figures, filing
from tenants.models import Tenant

#: the form whose filing the dashboard follows (the only monthly one, SPEC 6.3)
FILING_FORM = "monthly_funds"


def months_of(year: int, today: date) -> list[int]:
    """The months of ``year`` begun by ``today`` (all twelve for a past year, none for a future one)."""
    if year < today.year:
        return list(range(1, 13))
    if year > today.year:
        return []
    return list(range(1, today.month + 1))


def filing_month(year: int, today: date) -> int:
    """The month whose monthly report the dashboard follows: the last month of ``year`` that has ended (January
    while the year's first month runs, or for a future year)."""
    if year < today.year:
        return 12
    if year > today.year:
        return 1
    return max(1, today.month - 1)


def balances_by_source(tenant: Tenant, year: int, today: date) -> dict[str, dict[str, int]]:
    """Per source of funds: the balance of the subtree's lots of fiscal ``year`` and of those in warning and
    overdue on ``today`` (fen)."""
    out = {source: {"balance": 0, "warning": 0, "overdue": 0} for source in SOURCES}
    for row in funds_queries.balances(tenant, subtree=True, year=year, today=today)["rows"]:
        part = out.setdefault(row["source"], {"balance": 0, "warning": 0, "overdue": 0})
        part["balance"] += row["balance"]
        if row["aging"] in ("warning", "overdue"):
            part[row["aging"]] += row["balance"]
    return out


def dashboard(tenant: Tenant, year: int, *, today: date) -> dict:
    """Everything the dashboard draws, amounts in fen: ``summary`` (the year's), ``months`` (``(month, summary
    of that month)`` for each month begun), ``funds_by_source``, and ``filing`` (the board of the children's
    monthly funds report for ``filing_month``)."""
    month = filing_month(year, today)
    return {"summary": figures.summary(tenant, year, today=today),
            "months": [(m, figures.counted(tenant, year, m)) for m in months_of(year, today)],
            "funds_by_source": balances_by_source(tenant, year, today),
            "filing": {"form": FILING_FORM, "year": year, "month": month,
                       "rows": filing.board(tenant, FILING_FORM, year, month, today=today)}}
