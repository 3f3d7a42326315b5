"""Reports API (SPEC 6.1, appendix A): the consolidated summary of a union's subtree."""

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hardship import audit
from hardship.accounts.operations import require
from hardship.api import load_query, route
from hardship.core.downloads import xlsx_download
from hardship.core.errors import NotFound, ValidationFailed
from hardship.reports import formsheets, queries
from hardship.reports.schemas import FormQuery, SummaryOut, SummaryQuery
from tenants.scoping import get_tenant

_TAGS = ["reports"]


@route("/reports/summary", tags=_TAGS, query=SummaryQuery, response=SummaryOut)
def report_summary():
    """The consolidated figures of a union's whole subtree for a year or a month (households by status, category
    and reason, the period's flows, aid by program type and source, funds, matching, desk), with the union's own
    records and each direct child's subtree beside them. Computed directly from the base records (``exact=1``,
    for now the only path: the precomputed fast path comes later and will equal it). A union outside your
    subtree: 404."""
    args = load_query(SummaryQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "stats.read")
    return queries.format_summary(queries.summary(tenant, args["year"], args["month"]))


def form_args(form: str, args: dict) -> dict:
    """Check the form and its period: an unknown form is 404, the monthly form without a month 422."""
    spec = formsheets.FORMS.get(form)
    if spec is None:
        raise NotFound()
    if spec.monthly and args.get("month") is None:
        raise ValidationFailed(fields={"month": [_l("The monthly form needs a month (1 to 12).")]})
    return {**args, "month": args.get("month") if spec.monthly else None}


def export_form(form: str, tenant, year: int, month, user) -> tuple[bytes, str]:
    """The form's workbook, its download written to the audit log in the caller's transaction."""
    content, filename = formsheets.build(form, tenant, year, month)
    audit.record("reports.export_form", tenant, tenant, detail={"form": formsheets.FORMS[form].title, "year": year, "month": month},
                 user=user)
    return content, filename


@route("/reports/forms/<form>.xlsx", tags=_TAGS, query=FormQuery)
def report_form(form):
    """One of the four report forms of SPEC 6.3 (``warmth``, ``center_annual``, ``monthly_funds`` with a
    ``month``, ``relief_progress``) as xlsx: a row per direct child, the union's own row and the total. An unknown
    form: 404; a union outside your subtree: 404. The download is written to the audit log."""
    args = form_args(form, load_query(FormQuery))
    tenant = get_tenant(args["tenant"])
    require(current_user, "stats.read")
    return xlsx_download(*export_form(form, tenant, args["year"], args["month"], current_user))
