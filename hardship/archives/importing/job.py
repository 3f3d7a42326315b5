"""Starting an import (the upload's checks, the stored file) and running it as a job, batch by batch."""

from __future__ import annotations

import hashlib
import os
import re

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship import audit
from hardship.archives import operations as ops
from hardship.archives.importing import landing
from hardship.archives.importing.files import ImportRefused, check_upload, open_table
from hardship.archives.importing.models import ImportUpload
from hardship.archives.importing.rows import HouseholdImport
from hardship.archives.importing.workbooks import verdicts_xlsx
from hardship.core import crypto
from hardship.core.db import db
from hardship.core.errors import AppError, NotFound
from tenants.models import Tenant
from tenants.scoping import get_owned, subtree_filter, system_scope

#: rows of the file per transaction
BATCH_SIZE = 500
UPLOAD_KIND = "households"
CONTENT_LABEL = "import_uploads.content"


def _checkpoint(batch_number: int) -> None:
    """Called after each committed batch: a seam for tests that stop an import half-way."""


# ---------------------------------------------------------------- starting and running an import

def safe_filename(name: str | None) -> str:
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if ord(c) >= 32 and c not in "<>\"|?*:").strip()
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        name = stem[: 200 - len(ext)] + ext
    return name or "upload"


def may_import(tenant: Tenant, actor) -> None:
    """The rule of ``register_household``: the union itself, or the union keeping its archive (403 otherwise)."""
    ops.require_register(tenant, actor)


def start_household_import(tenant: Tenant, filename: str, content: bytes, actor=None, *, locale: str | None = None,
                           inline: bool = False):
    """Check the upload (size, type, ...), store it encrypted for the worker and start the import job
    once the caller commits; returns the :class:`~hardship.jobs.models.Job`."""
    from hardship.archives.jobs import import_households

    may_import(tenant, actor)
    filename = safe_filename(filename)
    check_upload(filename, content)
    upload = ImportUpload(tenant_id=tenant.id, kind=UPLOAD_KIND, user_id=getattr(actor, "id", None), filename=filename,
                          size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                          locale=locale or "zh_Hans_CN", content_enc=crypto.encrypt_bytes(content, CONTENT_LABEL))
    db.session.add(upload)
    db.session.flush()
    audit.record("household.import_upload", tenant, upload, user=actor,
                 detail={"file": filename, "size": upload.size, "sha256": upload.sha256})
    start = import_households.run_inline if inline else import_households.enqueue
    return start(tenant, upload.id, user=actor)


def run_import(run, upload_id: int) -> dict:
    """The job: read the stored upload, check and land every row, write the verdicts (xlsx)."""
    try:
        upload = get_owned(ImportUpload, upload_id)
    except NotFound:  # outside the job's scope, or gone
        raise LookupError("upload not in scope") from None
    with force_locale(upload.locale or "zh_Hans_CN"):
        try:
            result = _run(run, upload)
        except AppError as exc:
            exc.message = str(exc.message)  # in the job's language, before leaving force_locale
            raise
    drop_content(run, upload_id)  # committed with the job's result
    return result


def drop_content(run, upload_id: int) -> None:
    """The file holds personal data in clear: keep it no longer than its job needs it (also after a
    failure: the job runner calls this in the transaction that records it)."""
    from sqlalchemy import update

    db.session.execute(update(ImportUpload).where(ImportUpload.id == upload_id, subtree_filter(ImportUpload))
                       .values(content_enc=None))


def load_actor(user_id: int | None):
    """The user who started the import, detached so that it stays readable across the batches'
    commits (it may belong to an ancestor outside the job's scope: read deliberately)."""
    if user_id is None:
        return None
    from hardship.accounts.models import User

    with system_scope():
        user = db.session.scalar(select(User).where(User.id == user_id))
        if user is None:
            return None
        tenant = user.tenant
        db.session.expunge(user)
        db.session.expunge(tenant)
    return user


def _run(run, upload: ImportUpload) -> dict:
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == upload.tenant_id))
    actor = load_actor(upload.user_id)
    if upload.user_id is not None and actor is None:
        raise ImportRefused(_l("The user who uploaded the file no longer exists."))
    may_import(tenant, actor)
    filename, upload_id = upload.filename, upload.id
    if upload.content_enc is None:
        raise ImportRefused(_l("The uploaded file is no longer stored; upload it again."))
    content = crypto.decrypt_bytes(upload.content_enc, CONTENT_LABEL)
    kind = check_upload(filename, content)
    table = open_table(kind, content)
    importer = HouseholdImport(tenant, actor, job_id=run.id, upload_id=upload_id, filename=filename)
    ignored = importer.use_headers(table.headers)
    run.report(0.0, total=table.total, **importer.result(table.total), ignored_columns=ignored)
    done, batch, batch_number = 0, [], 0
    batch_rows: list[int] = []

    def flush():
        nonlocal batch, batch_rows, batch_number
        ids = landing.land(importer, batch)
        if ids:
            audit.record("household.import", tenant, object_type="ImportUpload", object_id=upload_id, user=actor,
                         detail={"job": run.id, "file": filename, "rows": [batch_rows[0], batch_rows[-1]],
                                 "households": ids})
        batch_number += 1
        run.report(done / table.total if table.total else 1.0, **importer.result(table.total))
        _checkpoint(batch_number)
        batch, batch_rows = [], []

    for row, cells in table.rows():
        prepared = importer.check_row(row, cells)
        if prepared is not None:
            batch.append(prepared)
        batch_rows.append(row)
        done += 1
        if len(batch_rows) >= BATCH_SIZE:
            flush()
    if batch_rows:
        flush()
    del content
    run.output = verdicts_xlsx(importer.verdicts, importer.result(table.total), table.total)
    stem = os.path.splitext(filename)[0]
    run.output_name = f"{stem}-{_('import verdicts')}.xlsx"
    audit.record("household.import_finished", tenant, object_type="ImportUpload", object_id=upload_id, user=actor,
                 detail={"job": run.id, "file": filename, "rows": table.total, "imported": importer.imported,
                         "already_imported": importer.already_imported, "rejected_rows": len(importer.rejected_rows)})
    return {**importer.result(table.total), "ignored_columns": ignored}

