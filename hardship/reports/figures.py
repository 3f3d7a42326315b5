"""The fast path of the summary (SPEC 6.2): the result of :func:`hardship.reports.queries.summary` (the oracle),
from each union's own figures kept per period and summed up the tree by the stored path.

How it stays exact:

* The figures that take the oracle long to count, households (their history) and aid (paid items), are kept
  per union and period in ``report_figures``: the union's OWN records only, counted by the oracle's own
  :func:`~hardship.reports.queries.count`, so there is one implementation of every figure.
* Every change to those records raises the union's counter in ``report_versions``, by database triggers, in the
  transaction of the change (migration ``report_figures``: households and their history for the household's
  union; aid batches, their items and programs for the batch's union). Nothing in Python has to remember to.
* A kept row is used only while its counter is the one it was counted at. The counter is read before the
  records are counted, so a row counted while a change was being committed carries the older counter and is
  counted again on the next read: a stale figure is never used. Reversed, back-dated, moved or added: all
  are changes to rows, so all raise a counter; a union moved keeps its own figures and is summed under its new
  path; a new union has no row yet and is counted on its first read.
* Summing own figures over a subtree gives the subtree's figures because every household and aid figure adds up
  over unions (recipients are distinct per union that paid; see the oracle's docstring).
* The funds, matching and desk sections are read from their modules, as the oracle does (the ledger keeps its
  running totals per lot; the desk's figures are one grouped query).

Figures not kept yet are counted when first read, for all the stale unions of the subtree at once, and written
into the caller's transaction (every API route, page and command commits its transaction; a reader that rolls
back only loses the work). The first read of a period over a whole province therefore costs about what the
oracle costs; ``hardship reports warm`` counts a year's figures ahead (after a bulk load).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hardship.aid.models import AidBatch
from hardship.archives.models import Household
from hardship.core.db import among, db, utcnow
from hardship.reports import queries
from hardship.reports.models import ReportFigures, ReportVersion
from tenants.models import Tenant
from tenants.scoping import path_range

#: unions counted per query when their kept figures are missing or stale
CHUNK = 500


def summary(tenant: Tenant, year: int, month: int | None = None, *, today: date | None = None,
            exact: bool = False) -> dict:
    """The consolidated figures of ``tenant``'s subtree, as :func:`hardship.reports.queries.summary` returns
    them: from the kept figures (``exact`` False in the result), or with ``exact`` from the base records (the
    oracle, for auditors). What every reader of the summary calls."""
    if exact:
        return queries.summary(tenant, year, month, today=today)
    children = queries.children_of(tenant)
    flat: dict = {}
    for path, figures in own_figures(tenant, year, month):
        _add(flat.setdefault(next((c.id for c in children if path.startswith(c.path)), None), {}), figures)
    parts = {key: _nested(figures) for key, figures in flat.items()}
    return queries.assemble(tenant, children, year, month, parts, today=today, exact=False)


def counted(tenant: Tenant, year: int, month: int | None = None) -> dict:
    """The ``households`` and ``aid`` figures of ``tenant``'s whole subtree for a period, from the kept figures
    alone (a month-by-month trend needs no funds, desk or children: reading those twelve times is waste)."""
    total: dict = {}
    for _path, figures in own_figures(tenant, year, month):
        _add(total, figures)
    return _nested(total)


def _add(total: dict[str, int], figures: dict[str, int]) -> None:
    for name, value in figures.items():
        total[name] = total.get(name, 0) + value


def _flat(figures: dict, prefix: str = "") -> dict[str, int]:
    """The figures' non-zero numbers by their dotted path (``households.by_status.archived``): how a union's
    own figures are kept (most of a union's figures are 0; the sum over a province reads only the others)."""
    out = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif value:
            out[f"{prefix}{key}"] = value
    return out


def _nested(flat: dict[str, int]) -> dict:
    """The figures of :func:`_flat`'s numbers, with the zeros the oracle shows."""
    figures = queries.empty_figures()
    for name, value in flat.items():
        *path, leaf = name.split(".")
        place = figures
        for depth, key in enumerate(path):
            place = place.setdefault(key, queries.empty_aid_row() if depth == 2 else {})
        place[leaf] = value
    return figures


def own_figures(tenant: Tenant, year: int, month: int | None) -> list[tuple[str, dict]]:
    """Each union of ``tenant``'s subtree: its path and its own figures for the period (as :func:`_flat` keeps
    them), counting (and keeping, in the session's transaction) those missing or stale."""
    stored_month = month or 0
    # three plain reads joined here, not one SQL join: under row-level security the planner misjudges the
    # subtree's size and joined the kept rows by a filter over all of them for each union (quadratic)
    unions = dict(db.session.execute(select(Tenant.id, Tenant.path).where(path_range(Tenant.path, tenant.path))
                                     .execution_options(include_all_tenants=True)).all())
    ids = list(unions)
    counters = dict(db.session.execute(select(ReportVersion.tenant_id, ReportVersion.version)
                                       .where(among(ReportVersion.tenant_id, ids))
                                       .execution_options(include_all_tenants=True)).all())
    kept = {tenant_id: (version, figures) for tenant_id, version, figures in db.session.execute(
        select(ReportFigures.tenant_id, ReportFigures.version, ReportFigures.figures)
        .where(among(ReportFigures.tenant_id, ids), ReportFigures.year == year, ReportFigures.month == stored_month)
        .execution_options(include_all_tenants=True))}
    out, stale = [], {}
    for tenant_id, path in unions.items():
        current = counters.get(tenant_id, 0)
        counted_at, figures = kept.get(tenant_id, (None, None))
        if counted_at == current:
            out.append((path, figures))
        else:
            stale[tenant_id] = (path, current)
    if stale:
        counted = _count(sorted(stale), year, month)
        _keep(stale, counted, year, stored_month)
        out.extend((stale[tenant_id][0], counted[tenant_id]) for tenant_id in stale)
    return out


def _count(tenant_ids: list[int], year: int, month: int | None) -> dict[int, dict]:
    """The own figures of each union, by the oracle's counting, ``CHUNK`` unions per query."""
    start, end = queries.period_bounds(year, month)
    out = {}
    for i in range(0, len(tenant_ids), CHUNK):
        chunk = tenant_ids[i:i + CHUNK]
        counted = queries.count(start, end, lambda tenant_id, _path: tenant_id,
                                households=Household.tenant_id.in_(chunk), batches=AidBatch.tenant_id.in_(chunk))
        out.update({tenant_id: _flat(counted[tenant_id]) if tenant_id in counted else {} for tenant_id in chunk})
    return out


def _keep(stale: dict, counted: dict, year: int, month: int) -> None:
    """Write the counted figures with the counters they were counted at (one upsert per chunk)."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = utcnow()
    rows = [{"tenant_id": tenant_id, "year": year, "month": month, "version": stale[tenant_id][1],
             "figures": counted[tenant_id], "counted_at": now} for tenant_id in sorted(stale)]
    table = ReportFigures.__table__
    for i in range(0, len(rows), CHUNK):
        statement = insert(table).values(rows[i:i + CHUNK])
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["tenant_id", "year", "month"],
            set_={"version": statement.excluded.version, "figures": statement.excluded.figures,
                  "counted_at": statement.excluded.counted_at}))


def warm(tenant: Tenant, year: int) -> int:
    """Count and keep (in the session's transaction) the figures of ``tenant``'s subtree for ``year`` and each
    of its months that are missing or stale; the number of union-periods kept."""
    return sum(len(own_figures(tenant, year, month)) for month in (None, *range(1, 13)))
