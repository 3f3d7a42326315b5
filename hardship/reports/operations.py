"""Filing reports upward (SPEC 6.4), the changes: a union files a form for a period (a new version holding the
frozen summary and form); the union it is filed to accepts or returns it. Never commits: the request, command or
job does.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from hardship import audit
from hardship.accounts.operations import require
from hardship.core.db import db, utcnow
from hardship.core.errors import Conflict, Forbidden, ValidationFailed
from hardship.reports import figures, formsheets, queries
from hardship.reports.filing import check_period, due_date, filing_union, versions
from hardship.reports.models import ReportFiling, ReportFilingEvent
from tenants.models import Tenant


def file_report(tenant: Tenant, form: str, year: int, month: int | None, *, actor, today: date | None = None
                ) -> ReportFiling:
    """File ``tenant``'s report of ``form`` for the period: a new version holding the frozen summary and the
    form as it stands now (its columns and rows), neither of which changes when the records do."""
    require(actor, "reports.file")
    stored_month = check_period(form, year, month)
    if actor is not None and actor.tenant_id != tenant.id:
        raise Forbidden(_l("A union files only its own reports."))
    if tenant.parent_id is None:
        raise Conflict(_l("The top union has no union above it to file to."))
    today = today or queries.shanghai_date(utcnow())
    start, _end = queries.period_bounds(year, month)
    if start > today:
        raise ValidationFailed(fields={"year" if month is None else "month": [_l("The period has not begun yet.")]})
    previous = versions(tenant, form, year, stored_month)
    if previous and previous[0].status == "accepted":
        raise Conflict(_l("This report was already accepted; it cannot be filed again."))
    due = due_date(tenant, form, year, stored_month)
    summary = figures.summary(tenant, year, month, today=today)
    sheet = formsheets.frozen(*formsheets.form_rows(form, tenant, year, month, today=today, result=summary))
    filing = ReportFiling(tenant_id=tenant.id, form=form, year=year, month=stored_month,
                          version=(previous[0].version + 1) if previous else 1, status="filed",
                          snapshot=summary, sheet=sheet, due_on=due, late=today > due,
                          filed_by_id=actor.id if actor else None, filed_at=utcnow(), return_reason="")
    db.session.add(filing)
    db.session.flush()
    db.session.add(ReportFilingEvent(tenant_id=tenant.id, filing_id=filing.id, action="file", reason="",
                                     user_id=actor.id if actor else None, at=filing.filed_at))
    audit.record("reports.file", tenant, filing, detail={"form": form, "year": year, "month": stored_month,
                                                          "version": filing.version})
    return filing


def decide(filing: ReportFiling, action: str, reason: str, *, actor) -> ReportFiling:
    """The parent accepts or returns (with a reason) the newest version of a child's report."""
    require(actor, "reports.decide")
    tenant = filing_union(filing)
    if actor is not None and tenant.parent_id != actor.tenant_id:
        raise Forbidden(_l("Only the union a report is filed to accepts or returns it."))
    if action == "return" and not reason.strip():
        raise ValidationFailed(fields={"reason": [_l("Say why the report is returned.")]})
    newest = versions(tenant, filing.form, filing.year, filing.month)[0]
    if newest.id != filing.id:
        raise Conflict(_l("A newer version of this report was filed; decide on that one."))
    if filing.status != "filed":
        raise Conflict(_l("This report was already decided."))
    filing.status = "accepted" if action == "accept" else "returned"
    filing.decided_by_id = actor.id if actor else None
    filing.decided_at = utcnow()
    filing.return_reason = reason.strip() if action == "return" else ""
    db.session.add(ReportFilingEvent(tenant_id=tenant.id, filing_id=filing.id, action=action,
                                     reason=filing.return_reason, user_id=actor.id if actor else None, at=filing.decided_at))
    audit.record("reports.accept" if action == "accept" else "reports.return", tenant, filing, detail={"form": filing.form, "year": filing.year,
                                                               "month": filing.month, "version": filing.version,
                                                               "reason": filing.return_reason})
    return filing
