"""The summary page (统计汇总) of a union: its subtree's figures for a year or month, and a row per direct child
linking to that child's page, so a reviewer drills from the province down to an enterprise."""

from __future__ import annotations

from datetime import date

from flask import g, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.aid.models import PROGRAM_TYPES
from hardship.api import load_data
from hardship.archives.models import CATEGORIES, FLOWS, REASONS, STATUSES
from hardship.core.db import db, utcnow
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from hardship.core.i18n import current_lang
from hardship.core.money import format_fen
from hardship.funds.models import SOURCES
from hardship.reports import charts, dashboard, figures, formsheets, queries
from hardship.reports.api import export_form, form_args
from hardship.reports.filing import BOARD_STATUSES
from hardship.reports.schemas import FormQuery, SummaryQuery
from hardship.web import tenant_blueprint
from tenants.levels import registry
from tenants.models import Tenant
from tenants.scoping import subtree_filter

bp = tenant_blueprint("reports_ui", __name__)

FUND_LABELS = {"received": _l("Received"), "allocated_in": _l("Allocated in"), "returned_in": _l("Returned in"),
               "allocated_out": _l("Allocated out"), "disbursed": _l("Disbursed"), "returned": _l("Returned out"),
               "balance": _l("Balance"), "warning": _l("In warning"), "overdue": _l("Overdue")}


def yuan(fen: int) -> str:
    """An amount with its unit and thousands separators: "1,200,000.00 元"."""
    return str(_l("%(amount)s yuan", amount=format_fen(fen, grouped=True)))


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _period() -> tuple[dict, dict]:
    """The page's year and month loaded through the API's schema; refused values are shown and the current
    year is used instead."""
    given = {"tenant": g.tenant.code, "year": request.args.get("year", "") or str(date.today().year),
             "month": request.args.get("month", "")}
    try:
        return load_data(SummaryQuery, given), {}
    except ValidationFailed as exc:
        errors = {name: [str(m) for m in messages] for name, messages in exc.fields.items()}
        return load_data(SummaryQuery, {"tenant": g.tenant.code, "year": str(date.today().year)}), errors


def _crumbs(tenant: Tenant) -> list[Tenant]:
    """The ancestors the reader may see (its own union and those between), root first."""
    if not tenant.ancestor_codes:
        return []
    visible = {t.code: t for t in db.session.scalars(
        select(Tenant).where(Tenant.code.in_(tenant.ancestor_codes), subtree_filter(Tenant)))}
    return [visible[c] for c in tenant.ancestor_codes if c in visible]


def household_list(code: str, result: dict, today: date, *, may_list: bool):
    """``url(code=code, **filters)``: the archive list behind a household figure of ``result`` (a summary),
    or None for a reader who may not list. For a period already over, the households as they were on its last
    day (``as_of``: what the figure counted); for the current one, as they are today (no ``as_of``)."""
    as_of = {} if date.fromisoformat(result["end"]) >= today else {"as_of": result["end"]}

    def url(union: str = code, **filters) -> str | None:
        return url_for("archives_ui.index", tenant_code=union, **filters, **as_of) if may_list else None

    return url


def aid_list(code: str, year: int, month: int | None = None):
    """``url(code=code, **filters)``: the list of the aid items behind an aid figure of the period (``program_type``
    or ``source``); the summary's readers (``stats.read``) may all open it."""
    period = {"year": year, **({"month": month} if month else {})}

    def url(union: str = code, **filters) -> str:
        return url_for("aid_ui.paid_items", tenant_code=union, **period, **filters)

    return url


@bp.route("/reports/summary")
def summary():
    require(current_user, "stats.read")
    args, errors = _period()
    result = figures.summary(g.tenant, args["year"], args["month"])
    archive = household_list(g.tenant.code, result, queries.shanghai_date(utcnow()), may_list=True)
    return render_template(
        "reports/summary.html", tenant=g.tenant, result=result, year=args["year"], month=args["month"],
        errors=errors, archive=archive, paid=aid_list(g.tenant.code, args["year"], args["month"]),
        crumbs=_crumbs(g.tenant), yuan=yuan, percent=percent, statuses=STATUSES,
        categories=CATEGORIES, reasons=REASONS, program_types=PROGRAM_TYPES, sources=SOURCES, flows=FLOWS,
        fund_labels=FUND_LABELS, level_names={p.key: p.name(current_lang()) for p in registry},
        forms=formsheets.FORMS)


def households_text(n: int) -> str:
    count = f"{n:,}"
    return str(_l("%(n)s households", n=count))


def _figure(label, value: int, text: str, href: str | None) -> dict:
    return {"label": str(label), "value": value, "text": text, "href": href}


def _chart(rows: list[dict], title, fmt) -> Markup:
    return charts.bar_chart([(r["label"], r["value"]) for r in rows], title=str(title), fmt=fmt,
                            links=[r["href"] for r in rows])


def dashboard_context(tenant: Tenant) -> dict:
    """What the statistics panels of ``tenant``'s home page show (SPEC 6.5): each figure with its words, its
    text (units, separators) and the link to what lies behind it, and a chart of each table; the year is the
    page's ``?year=`` (a refused one is named, and this year shown)."""
    args, errors = _period()
    year, today = args["year"], queries.shanghai_date(utcnow())
    data = dashboard.dashboard(tenant, year, today=today)
    result = data["summary"]
    h = result["households"]
    may_list = current_user.can("households.read") or current_user.can("stats.read")
    may_funds = current_user.can("funds.read")
    may_stats = current_user.can("stats.read")
    archive = household_list(tenant.code, result, today, may_list=may_list)

    def summary_of(code: str, **period):
        return url_for("reports_ui.summary", tenant_code=code, year=year, **period) if may_stats else None

    funds_url = url_for("funds_ui.index", tenant_code=tenant.code, subtree=1, year=year) if may_funds else None
    months = [{"month": m, "label": str(_l("Month %(m)d", m=m)), "stock": s["households"]["stock"],
               "newly_archived": s["households"]["newly_archived"], "href": summary_of(tenant.code, month=m)}
              for m, s in data["months"]]
    by_status = [_figure(label, h["by_status"].get(key, 0), households_text(h["by_status"].get(key, 0)),
                         archive(status=key)) for key, label in STATUSES.items()]
    by_category = [_figure(label, h["by_category"].get(key, 0), households_text(h["by_category"].get(key, 0)),
                           archive(status="archived", category=key)) for key, label in CATEGORIES.items()]
    by_reason = [_figure(label, h["by_reason"].get(key, 0), households_text(h["by_reason"].get(key, 0)),
                         archive(status="archived", main_reason=key)) for key, label in REASONS.items()]
    paid = aid_list(tenant.code, year) if may_stats else None
    aid_href = paid and paid()
    aid = [dict(_figure(label, r["amount"], yuan(r["amount"]), paid and paid(program_type=key)),
                households=households_text(r["households"]),
                person_times=str(_l("%(n)s person-times", n="{:,}".format(r["person_times"]))))
           for key, label in PROGRAM_TYPES.items() for r in (result["aid"]["by_type"][key],)]
    funds = [dict(_figure(label, part["balance"], yuan(part["balance"]), funds_url), warning=yuan(part["warning"]),
                  overdue=yuan(part["overdue"]))
             for key, label in SOURCES.items() for part in (data["funds_by_source"][key],)]
    m = result["matching"]
    matching = [_figure(_l("Matching required"), m["required"], yuan(m["required"]), funds_url),
                _figure(_l("Matching achieved"), m["achieved"], yuan(m["achieved"]), funds_url)]
    board = data["filing"]
    board_url = url_for("reports_ui.filing_board", tenant_code=tenant.code, form=board["form"], year=year,
                        month=board["month"])
    filing_counts = [_figure(label, n, str(_l("%(n)s unions", n=n)), board_url) for key, label in BOARD_STATUSES.items()
                     for n in (sum(1 for r in board["rows"] if r["status"] == key),)]
    children = [{"name": c["name"], "code": c["tenant"],
                 "home": url_for("tenants_ui.home", tenant_code=c["tenant"], year=year),
                 "stock": households_text(c["households"]["stock"]),
                 "stock_href": archive(c["tenant"], status="archived"),
                 "aid": yuan(c["aid"]["total"]["amount"]), "aid_href": paid and paid(c["tenant"]),
                 "balance": yuan(c["funds"]["balance"]),
                 "balance_href": url_for("funds_ui.index", tenant_code=c["tenant"], subtree=1, year=year)
                 if may_funds else None}
                for c in result["children"]]
    money = yuan
    return {"dash": {
        "year": year, "errors": errors, "result": result, "today": today, "may_stats": may_stats,
        "stock": households_text(h["stock"]), "stock_href": archive(status="archived"),
        "months": months, "trend": charts.trend_chart(
            [r["label"] for r in months], [r["newly_archived"] for r in months], [r["stock"] for r in months],
            title=str(_l("Hardship households month by month")), column_name=str(_l("Newly archived")),
            line_name=str(_l("In the archive at the month's end")), fmt=households_text,
            links=[r["href"] for r in months]),
        "by_status": by_status, "by_category": by_category, "by_reason": by_reason,
        "status_chart": _chart(by_status, _l("Households by status"), households_text),
        "category_chart": _chart(by_category, _l("Households in the archive by category"), households_text),
        "reason_chart": _chart(by_reason, _l("Households in the archive by main reason"), households_text),
        "aid": aid, "aid_total": yuan(result["aid"]["total"]["amount"]), "aid_href": aid_href,
        "aid_chart": _chart(aid, _l("Aid paid by program type"), money),
        "funds": funds, "funds_href": funds_url, "funds_total": {k: yuan(result["funds"][k])
                                                                for k in ("balance", "warning", "overdue")},
        "funds_chart": _chart(funds, _l("Fund balances by source"), money),
        "matching": matching, "matching_ratio": percent(m["ratio"]),
        "matching_chart": _chart(matching, _l("Matching funds"), money),
        "filing": board, "filing_counts": filing_counts, "filing_url": board_url,
        "filing_chart": _chart(filing_counts, _l("Children's monthly funds reports"), lambda n: str(_l("%(n)s unions", n=n))),
        "children": children, "summary_href": summary_of(tenant.code),
    }}


@bp.route("/reports/forms/<form>.xlsx")
def download_form(form):
    """A report form of this union for the page's period (SPEC 6.3); the request commits its audit entry."""
    require(current_user, "stats.read")
    args = form_args(form, load_data(FormQuery, {"tenant": g.tenant.code, "year": request.args.get("year", ""),
                                                 "month": request.args.get("month", "")}))
    return xlsx_download(*export_form(form, g.tenant, args["year"], args["month"], current_user))


from hardship.reports import filing_views  # noqa: E402,F401 (the filing pages, on this blueprint)
