"""Background work of the reports: a province-wide report form (SPEC 6.3) built as a job with progress."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hardship.core.jobs import checkpoint, job


@job("reports", label=_l("Report form"))
def build_form(run, form: str, year: int, month: int | None):
    """Build the report form ``form`` of the job's union for the period into the job's output file (downloaded
    from ``/api/v1/jobs/{id}/output``, audited there)."""
    from hardship.core.db import db
    from hardship.reports import formsheets
    from tenants.models import Tenant

    tenant = db.session.get(Tenant, run.tenant_id)
    checkpoint(run, 0.1, total=1)
    content, filename = formsheets.build(form, tenant, year, month)
    run.output, run.output_name = content, filename
    return {"rows": 1}
