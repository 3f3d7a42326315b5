"""The summary page (统计汇总) of a union: its subtree's figures for a year or month, and a row per direct child
linking to that child's page, so a reviewer drills from the province down to an enterprise."""

from __future__ import annotations

from datetime import date

from flask import g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.aid.models import PROGRAM_TYPES
from hardship.api import load_data
from hardship.archives.models import CATEGORIES, REASONS, STATUSES
from hardship.core.db import db
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from hardship.core.i18n import current_lang
from hardship.core.money import format_fen
from hardship.funds.models import SOURCES
from hardship.reports import figures, formsheets
from hardship.reports.api import export_form, form_args
from hardship.reports.schemas import FormQuery, SummaryQuery
from hardship.web import tenant_blueprint
from tenants.levels import registry
from tenants.models import Tenant
from tenants.scoping import subtree_filter

bp = tenant_blueprint("reports_ui", __name__)

FLOW_LABELS = {"newly_archived": _l("Newly archived"), "relieved": _l("Relieved"),
               "exited": _l("Exited hardship"), "cancelled": _l("Cancelled"),
               "returned": _l("Returned to hardship")}
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


@bp.route("/reports/summary")
def summary():
    require(current_user, "stats.read")
    args, errors = _period()
    result = figures.summary(g.tenant, args["year"], args["month"])
    return render_template(
        "reports/summary.html", tenant=g.tenant, result=result, year=args["year"], month=args["month"],
        errors=errors, crumbs=_crumbs(g.tenant), yuan=yuan, percent=percent, statuses=STATUSES,
        categories=CATEGORIES, reasons=REASONS, program_types=PROGRAM_TYPES, sources=SOURCES, flows=FLOW_LABELS,
        fund_labels=FUND_LABELS, level_names={p.key: p.name(current_lang()) for p in registry},
        forms=formsheets.FORMS)


@bp.route("/reports/forms/<form>.xlsx")
def download_form(form):
    """A report form of this union for the page's period (SPEC 6.3); the request commits its audit entry."""
    require(current_user, "stats.read")
    args = form_args(form, load_data(FormQuery, {"tenant": g.tenant.code, "year": request.args.get("year", ""),
                                                 "month": request.args.get("month", "")}))
    return xlsx_download(*export_form(form, g.tenant, args["year"], args["month"], current_user))


from hardship.reports import filing_views  # noqa: E402,F401 (the filing pages, on this blueprint)
