"""Reports API (SPEC 6.1, appendix A): the consolidated summary of a union's subtree."""

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hardship import audit
from hardship.accounts.operations import require
from hardship.api import load_body, load_query, route
from hardship.core.downloads import xlsx_download
from hardship.core.errors import Conflict, NotFound, ValidationFailed
from hardship.jobs.api import StartedJob
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
    _audit_form(form, tenant, year, month, user)
    return content, filename


def _audit_form(form: str, tenant, year: int, month, user) -> None:
    """A form's download (or a job started to build it) written to the audit log, in one place."""
    audit.record("reports.export_form", tenant, tenant, detail={"form": formsheets.FORMS[form].title, "year": year,
                                                                "month": month}, user=user)


def province_wide(tenant) -> bool:
    """A form too large to build during a request: the root union, or one with more descendants than the
    setting ``REPORT_FORM_INLINE_LIMIT`` (default 200)."""
    import sqlalchemy as sa
    from flask import current_app

    from hardship.core.db import db
    from tenants.models import Tenant
    from tenants.scoping import path_range

    if tenant.parent_id is None:
        return True
    limit = int(current_app.config.get("REPORT_FORM_INLINE_LIMIT", 200))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)
                              .where(path_range(Tenant.path, tenant.path)))
    return count - 1 > limit


@route("/reports/forms/<form>.xlsx", tags=_TAGS, query=FormQuery)
def report_form(form):
    """One of the four report forms of SPEC 6.3 (``warmth``, ``center_annual``, ``monthly_funds`` with a
    ``month``, ``relief_progress``) as xlsx: a row per direct child, the union's own row and the total. An unknown
    form: 404; a union outside your subtree: 404. The download is written to the audit log."""
    args = form_args(form, load_query(FormQuery))
    tenant = get_tenant(args["tenant"])
    require(current_user, "stats.read")
    if province_wide(tenant):
        raise Conflict(_l("This form covers a whole province: start it as a job (POST /api/v1/reports/forms/"
                          "%(form)s/jobs) and download it from the job.", form=form))
    return xlsx_download(*export_form(form, tenant, args["year"], args["month"], current_user))


@route("/reports/forms/<form>/jobs", ["POST"], tags=_TAGS, body=FormQuery, response=StartedJob, status=202)
def start_form_job(form):
    """Build a report form as a background job with progress (any union; the way for a province-wide form):
    202 and the job; poll ``/jobs/{id}`` and download ``/jobs/{id}/output`` (audited). Unknown form: 404."""
    from hardship.reports.jobs import build_form

    args = form_args(form, load_body(FormQuery))
    tenant = get_tenant(args["tenant"])
    require(current_user, "stats.read")
    _audit_form(form, tenant, args["year"], args["month"], current_user)
    run = build_form.enqueue(tenant, form, args["year"], args["month"], user=current_user)
    return {"job": run.id, "status": run.status}, 202
