"""Reports API (SPEC 6.1, 6.4, appendix A): the consolidated summary of a union's subtree; filing reports upward
(file, accept or return, versions, the parent's board, figures built from the children's accepted reports)."""

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hardship import audit
from hardship.accounts.operations import require
from hardship.api import json_object, load_body, load_query, route
from hardship.core.downloads import xlsx_download
from hardship.core.errors import Conflict, NotFound, ValidationFailed
from hardship.jobs.api import StartedJob
from hardship.reports import figures, formsheets, queries
from hardship.reports import filing as filing_ops
from hardship.reports import operations as ops
from hardship.reports.models import ReportFiling
from hardship.reports.schemas import (
    BoardOut,
    ComparisonOut,
    DecisionIn,
    FilingListOut,
    FilingOut,
    FilingPeriodIn,
    FormQuery,
    SummaryOut,
    SummaryQuery,
)
from tenants.scoping import get_owned, get_tenant

_TAGS = ["reports"]


@route("/reports/summary", tags=_TAGS, query=SummaryQuery, response=SummaryOut)
def report_summary():
    """The consolidated figures of a union's whole subtree for a year or a month (households by status, category
    and reason, the period's flows, aid by program type and source, funds, matching, desk), with the union's own
    records and each direct child's subtree beside them. From each union's figures kept per period (always
    equal to the base records: a change to a union's records makes its kept figures be counted again), or with
    ``exact=1`` computed directly from the base records (slower; for auditors). A union outside your subtree:
    404."""
    args = load_query(SummaryQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "stats.read")
    return queries.format_summary(figures.summary(tenant, args["year"], args["month"], exact=args["exact"]))


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


def _audit_form(form: str, tenant, year: int, month, user, *, version: int | None = None) -> None:
    """A form's download (or a job started to build it; ``version``: a filed version's) written to the audit
    log, in one place."""
    detail = {"form": formsheets.FORMS[form].title, "year": year, "month": month}
    audit.record("reports.export_form", tenant, tenant, detail={**detail, "version": version} if version else detail,
                 user=user)


def export_filed_form(filing: ReportFiling, user) -> tuple[bytes, str]:
    """A filed version's form as filed (its frozen rows), its download written to the audit log."""
    content, filename = filing_ops.filed_workbook(filing)
    tenant = filing_ops.filing_union(filing)
    _audit_form(filing.form, tenant, filing.year, filing.month or None, user, version=filing.version)
    return content, filename


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
# ---------------------------------------------------------------- filing upward (SPEC 6.4)

def _filing(filing_id) -> ReportFiling:
    return get_owned(ReportFiling, filing_id)


@route("/reports/filings", ["POST"], body=FilingPeriodIn, response=FilingOut, status=201, tags=_TAGS)
def file_report():
    """File your own union's report of a form for a period upward: a new version holding the period's summary
    frozen as it is now (refiling a returned or undecided report makes the next version; an accepted one: 409).
    Filed after the due date (``monthly_filing_day`` of the next month, or the annual deadline), it is late."""
    value = json_object().get("tenant")
    tenant = get_tenant(value if isinstance(value, str) else "")
    require(current_user, "reports.file")
    data = load_body(FilingPeriodIn)
    filing = ops.file_report(tenant, data["form"], data["year"], data["month"], actor=current_user)
    return filing_ops.filing_dict(filing), 201


@route("/reports/filings", tags=_TAGS, query=FilingPeriodIn, response=FilingListOut)
def list_filings():
    """The versions of a union's report of a form for a period, newest first (without their snapshots)."""
    args = load_query(FilingPeriodIn)
    tenant = get_tenant(args["tenant"])
    filing_ops.require_any(current_user, "stats.read", "reports.file", "reports.decide")
    month = filing_ops.check_period(args["form"], args["year"], args["month"])
    return {"items": [filing_ops.filing_dict(f, with_snapshot=False)
                      for f in filing_ops.versions(tenant, args["form"], args["year"], month)]}


@route("/reports/filings/<int:filing_id>", tags=_TAGS, response=FilingOut)
def get_filing(filing_id):
    """One filed version with its frozen summary. A report outside your subtree: 404."""
    filing = _filing(filing_id)
    filing_ops.require_any(current_user, "stats.read", "reports.file", "reports.decide")
    return filing_ops.filing_dict(filing)


@route("/reports/filings/<int:filing_id>.xlsx", tags=_TAGS)
def get_filed_form(filing_id):
    """A filed version's report form as xlsx, built from the rows frozen when it was filed (it does not change
    when the records do). A version filed before forms were kept with their filings, or a report outside your
    subtree: 404. The download is written to the audit log."""
    filing = _filing(filing_id)
    filing_ops.require_any(current_user, "stats.read", "reports.file", "reports.decide")
    return xlsx_download(*export_filed_form(filing, current_user))


@route("/reports/filings/<int:filing_id>/decision", ["POST"], body=DecisionIn, response=FilingOut, tags=_TAGS)
def decide_filing(filing_id):
    """Accept the newest version of a child's report, or return it with a reason (only the union it is filed
    to, with ``reports.decide``: the filing union itself gets 403)."""
    filing = _filing(filing_id)
    require(current_user, "reports.decide")
    data = load_body(DecisionIn)
    ops.decide(filing, data["action"], data["reason"], actor=current_user)
    return filing_ops.filing_dict(filing)


@route("/reports/board", tags=_TAGS, query=FilingPeriodIn, response=BoardOut)
def filing_board():
    """For each direct child of a union: its report of the form for the period filed on time, late, missing (or
    not yet due), returned or accepted."""
    args = load_query(FilingPeriodIn)
    tenant = get_tenant(args["tenant"])
    filing_ops.require_any(current_user, "stats.read", "reports.decide")
    return {"items": filing_ops.board(tenant, args["form"], args["year"], args["month"])}


@route("/reports/built", tags=_TAGS, query=FilingPeriodIn, response=ComparisonOut)
def built_from_children():
    """A union's figures built from its own live records and its children's accepted reports, beside the live
    summary, each figure flagged where they differ."""
    args = load_query(FilingPeriodIn)
    tenant = get_tenant(args["tenant"])
    filing_ops.require_any(current_user, "stats.read", "reports.decide")
    return filing_ops.build_from_children(tenant, args["form"], args["year"], args["month"])
