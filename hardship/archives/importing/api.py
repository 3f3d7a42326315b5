"""Bulk import API (SPEC 8.3): upload a file, poll ``/jobs/{id}``; the template to fill in."""

from flask import request
from flask_babel import get_locale
from flask_login import current_user

from hardship.api import load_data, route
from hardship.archives.importing import files
from hardship.archives.importing.job import may_import, start_household_import
from hardship.archives.importing.workbooks import template_xlsx
from hardship.archives.schemas import HouseholdImportIn
from hardship.core.downloads import xlsx_download
from hardship.jobs.api import StartedJob
from tenants.scoping import get_tenant


@route("/imports/households", ["POST"], form=HouseholdImportIn, response=StartedJob, status=202, tags=["imports"])
def import_households():
    """Start a bulk import of households (multipart ``file`` and ``tenant``); poll ``/jobs/{id}`` for the verdicts."""
    data = load_data(HouseholdImportIn, {"tenant": request.form.get("tenant"), "file": request.files.get("file")})
    tenant = get_tenant(data["tenant"])
    may_import(tenant, current_user)
    upload = data["file"]
    content = upload.stream.read(files.MAX_BYTES + 1)
    run = start_household_import(tenant, upload.filename or "", content, actor=current_user,
                                 locale=str(get_locale()))
    return {"job": run.id, "status": run.status}, 202


@route("/imports/households/template.xlsx", tags=["imports"])
def household_import_template():
    """The xlsx template of the household import: Chinese headers, an example row, the allowed values."""
    return xlsx_download(template_xlsx(), "困难职工家庭导入模板.xlsx")
