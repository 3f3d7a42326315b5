"""Import pages: upload a household file, download the template; the job page shows the verdicts."""

from __future__ import annotations

from flask import g, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select

from hardship.archives.importing import files
from hardship.archives.importing.columns import COLUMNS
from hardship.archives.importing.job import may_import, start_household_import
from hardship.archives.importing.workbooks import template_xlsx
from hardship.archives.jobs import import_households
from hardship.core.db import db
from hardship.core.downloads import xlsx_download
from hardship.jobs.models import Job
from hardship.web import submit, tenant_blueprint

bp = tenant_blueprint("imports_ui", __name__)


class HouseholdImportForm(FlaskForm):
    file = FileField(_l("File (.xlsx or .csv)"), validators=[FileRequired(_l("Choose a file."))])


@bp.route("/archive/import", methods=["GET", "POST"])
def households():
    tenant = g.tenant
    may_import(tenant, current_user)
    form = HouseholdImportForm()
    if form.validate_on_submit():
        started = {}

        def action():
            upload = form.file.data
            started["job"] = start_household_import(
                tenant, upload.filename or "", upload.stream.read(files.MAX_BYTES + 1), actor=current_user,
                locale=str(get_locale()))

        if submit(form, action, _l("The file was received; the import runs in the background.")):
            return redirect(url_for("jobs_ui.job", job_id=started["job"].id))
    recent = db.session.scalars(select(Job).where(Job.tenant_id == tenant.id, Job.name == import_households.job_name)
                                .order_by(Job.created_at.desc()).limit(10)).all()
    return render_template("imports/households.html", form=form, tenant=tenant, recent=recent,
                           columns=COLUMNS, max_mb=files.MAX_BYTES // (1024 * 1024),
                           max_rows=files.MAX_ROWS), 422 if form.errors else 200


@bp.route("/archive/import/template.xlsx")
def template():
    may_import(g.tenant, current_user)
    return xlsx_download(template_xlsx(), "困难职工家庭导入模板.xlsx")
