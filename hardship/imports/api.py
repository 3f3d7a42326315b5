"""Bulk import API (SPEC 8.3): upload a file, poll ``/jobs/{id}``; the template to fill in."""

from flask import request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import fields

from hardship.api import BaseSchema, route
from hardship.archives import importer
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from tenants.scoping import get_tenant


class HouseholdImportForm(BaseSchema):
    """multipart/form-data: the importing union and the file (xlsx, or csv in UTF-8 or GB18030)."""

    tenant = fields.String(required=True, metadata={"description": "Code of the importing union"})
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "xlsx or csv, at most 20 MB and 100,000 rows"})


class JobStarted(BaseSchema):
    job = fields.String()
    status = fields.String()


@route("/imports/households", ["POST"], form=HouseholdImportForm, response=JobStarted, status=202, tags=["imports"])
def import_households():
    """Start a bulk import of households (multipart ``file`` and ``tenant``); poll ``/jobs/{id}`` for the verdicts."""
    code = (request.form.get("tenant") or "").strip()
    if not code:
        raise ValidationFailed(fields={"tenant": [_l("Required.")]})
    tenant = get_tenant(code)
    importer.may_import(tenant, current_user)
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed(fields={"file": [_l("Attach the file as the multipart field \"file\".")]})
    content = upload.stream.read(importer.MAX_BYTES + 1)
    run = importer.start_household_import(tenant, upload.filename or "", content, actor=current_user,
                                          locale=str(get_locale()))
    return {"job": run.id, "status": run.status}, 202


@route("/imports/households/template.xlsx", tags=["imports"])
def household_import_template():
    """The xlsx template of the household import: Chinese headers, an example row, the allowed values."""
    return xlsx_download(importer.template_xlsx(), "困难职工家庭导入模板.xlsx")
