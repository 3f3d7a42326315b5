"""Uploading the items of a draft batch from an xlsx workbook or a csv file (issue 15 item 2, SPEC 5.2).

The file is read by the household importer's machinery (:mod:`hardship.archives.importing`): the same checks of
the upload as a whole (size, type, zip bombs, memory), the same stored and encrypted file (``ImportUpload``,
``kind`` ``aid_items``, dropped when the job is done), the same job runner and the same verdicts workbook.
Only the columns and the row's meaning are this module's.

The columns (the header row is the first row holding 身份证号 and 金额; any order; others are ignored):
受助类别* (or 类型: 建档困难职工, 困难劳模, 一线职工, 非建档), 身份证号*, 姓名 (required for persons who are
not archived; for a household, when given, it must be the name in the archive), 电话, 原因, 金额* (yuan).

A row of an archived kind (建档困难职工, 困难劳模) names its household by the ID number: the archive's blind
index of that number must belong to someone of an open household of the batch union's subtree. Every row is
then loaded through :class:`hardship.aid.schemas.ItemIn` and added by the operation behind
``POST /batches/{id}/items`` (standards, the program's rules, no duplicate aid), each row in a savepoint of its
own: a row that fails writes nothing and gets its verdict (row, column, problem in the reader's language).
Only a draft batch of the uploader's own union takes an upload (a batch outside the uploader's subtree: 404; of a
union below: 403; not a draft: 409).
"""

from __future__ import annotations

import hashlib
import os
import re

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select

from hardship import audit
from hardship.accounts.operations import require
from hardship.aid import operations as ops
from hardship.aid.models import HOUSEHOLD_KINDS, AidBatch
from hardship.aid.schemas import ItemIn, RecipientIdIn
from hardship.api import load_data
from hardship.archives.importing.files import ImportRefused, Layout, check_upload, open_table
from hardship.archives.importing.job import drop_content, load_actor, safe_filename
from hardship.archives.importing.models import ImportUpload
from hardship.archives.importing.rows import CURRENCY, cell_text, rounded_number, shown
from hardship.archives.importing.workbooks import verdicts_xlsx
from hardship.archives.models import Household, Person
from hardship.core import crypto
from hardship.core.db import db
from hardship.core.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from hardship.core.fields import clean_text
from tenants.models import Tenant
from tenants.scoping import get_owned, subtree_filter

UPLOAD_KIND = "aid_items"
CONTENT_LABEL = "import_uploads.content"
#: rows of the file per transaction (each a checkpoint of the job)
BATCH_SIZE = 200
#: the most rows in one file (a batch of 5,000 items is the largest the payment is measured with)
MAX_ROWS = 10_000
#: verdicts kept in the job's result (all of them are in the workbook)
VERDICTS_IN_RESULT = 1000

#: the file's words for the beneficiary kinds (the file format's contract), the keys accepted too
KIND_WORDS = {"建档困难职工": "archived", "困难劳模": "model_worker", "一线职工": "frontline", "非建档": "non_archived"}
_KIND_ALIASES = {"建档": "archived", "困难职工": "archived", "建档困难户": "archived", "劳模": "model_worker",
                 "一线": "frontline", "非建档人员": "non_archived", "非建档职工": "non_archived"}
KIND_MAP = {**{k: k for k in KIND_WORDS.values()}, **KIND_WORDS, **_KIND_ALIASES}

#: header -> the field it fills; 类型 is another name of 受助类别
HEADERS = {"受助类别": "kind", "类型": "kind", "身份证号": "id_number", "姓名": "name", "电话": "phone",
           "原因": "reason", "金额": "amount"}
#: the column a verdict names for each field path of ``ItemIn`` (and of the row's own checks)
FIELD_COLUMNS = {"kind": "受助类别", "id_number": "身份证号", "household": "身份证号", "person.id_number": "身份证号",
                 "name": "姓名", "person.name": "姓名", "phone": "电话", "person.phone": "电话", "reason": "原因",
                 "person.reason": "原因", "amount": "金额", "items": "身份证号", "person": "受助类别",
                 "override_reason": ""}

LAYOUT = Layout(
    markers=("身份证号", "金额"), known=frozenset(HEADERS), required=("身份证号", "金额"),
    no_header=_l("No header row: the first row must hold the column headers (受助类别, 身份证号, 姓名, 电话, 原因, 金额)."),
    too_many=_l("The file has more than %(max)s items; upload at most %(max)s rows at a time."),
    no_rows=_l("The file has no items below its header row."))


# ---------------------------------------------------------------- who may upload

def may_upload(batch: AidBatch, actor) -> None:
    """A preparer of the batch's own union (a union above it: 403; outside the caller's subtree the batch is not
    found, 404, before this), into a draft batch (409)."""
    require(actor, "aid.prepare")
    if actor is not None and actor.tenant_id != batch.tenant_id:
        raise Forbidden(_l("Items are uploaded by the union that prepares the batch."))
    if batch.status != "draft":
        raise Conflict(_l("Items are uploaded into a draft batch only (this one is %(status)s).",
                          status=ops._status(batch.status)))


def start_items_upload(batch: AidBatch, filename: str, content: bytes, actor=None, *, locale: str | None = None,
                       inline: bool = False):
    """Check the upload as a whole, store it encrypted for the worker and start the job once the caller
    commits; returns the :class:`~hardship.jobs.models.Job` (202 with it)."""
    from hardship.aid.jobs import upload_items

    may_upload(batch, actor)
    filename = safe_filename(filename)
    check_upload(filename, content)
    tenant = ops.tenant_of(batch)
    upload = ImportUpload(tenant_id=tenant.id, kind=UPLOAD_KIND, user_id=getattr(actor, "id", None), filename=filename,
                          size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                          locale=locale or "zh_Hans_CN", content_enc=crypto.encrypt_bytes(content, CONTENT_LABEL))
    db.session.add(upload)
    db.session.flush()
    audit.record("aid.items_upload_file", tenant, batch, user=actor,
                 detail={"batch": batch.id, "file": filename, "size": upload.size})
    start = upload_items.run_inline if inline else upload_items.enqueue
    return start(tenant, upload.id, batch.id, user=actor)


def upload_jobs(batch: AidBatch, limit: int = 5) -> list:
    """The batch's latest upload jobs (their progress and verdicts), newest first."""
    from hardship.aid.jobs import upload_items
    from hardship.jobs.models import Job

    jobs = db.session.scalars(select(Job).where(Job.tenant_id == batch.tenant_id, Job.name == upload_items.job_name)
                              .order_by(Job.created_at.desc()).limit(200)).all()
    return [j for j in jobs if len(j.args or ()) > 1 and j.args[1] == batch.id][:limit]


# ---------------------------------------------------------------- one row

class ItemsUpload:
    """One run over one file: reads its rows into :class:`ItemIn` data, keeps the verdicts and the counts."""

    def __init__(self, batch: AidBatch, tenant: Tenant, filename: str):
        self.batch_id, self.tenant_path, self.tenant_name = batch.id, tenant.path, tenant.name
        self.filename = filename
        self.added = 0
        self.verdicts: list[dict] = []
        self.rejected_rows: set[int] = set()
        self._index: dict[str, int] = {}

    def use_headers(self, headers: list[str]) -> list[str]:
        ignored = []
        for index, header in enumerate(headers):
            field = HEADERS.get(header)
            if field is not None and field not in self._index:
                self._index[field] = index
            elif header:
                ignored.append(shown(header))
        return ignored

    def reject(self, row: int, errors: dict) -> None:
        self.rejected_rows.add(row)
        for path, messages in errors.items():
            msgs = messages if isinstance(messages, list | tuple) else [messages]
            self.verdicts.append({"row": row, "field": path, "column": FIELD_COLUMNS.get(path, ""),
                                  "message": " ".join(str(m) for m in msgs)})

    def _cell(self, cells: list, field: str):
        index = self._index.get(field)
        return cells[index] if index is not None and index < len(cells) else None

    def _household(self, number: str) -> tuple[int, str] | None:
        """``(household id, the person's name)`` of the open household of the subtree holding ``number``."""
        found = db.session.execute(
            select(Person.household_id, Person.name).join(Household, Household.id == Person.household_id)
            .where(Person.id_index == crypto.blind_index(number), Person.active.is_(True),
                   subtree_filter(Household, self.tenant_path))).first()
        return (found[0], found[1]) if found else None

    def check_row(self, row: int, cells: list) -> dict | None:
        """The row as loaded :class:`ItemIn` data, or ``None`` (its verdicts recorded)."""
        errors: dict = {}
        texts: dict = {}
        for field in ("kind", "id_number", "name", "phone", "reason", "amount"):
            raw = self._cell(cells, field)
            if field == "id_number" and rounded_number(raw):
                errors[field] = [_l("Excel kept this number as a number and rounded it (%(value)s): format the "
                                    "column as text and type the number again.", value=shown(cell_text(raw)))]
                continue
            texts[field] = cell_text(raw)
        kind = None
        word = texts.get("kind", "")
        if not word:
            errors["kind"] = [_l("Required.")]
        else:
            try:
                clean_text(word)
                kind = KIND_MAP.get(word.replace(" ", "")) or KIND_MAP.get(word.lower())
                if kind is None:
                    errors["kind"] = [_l("Unknown value %(value)s; write one of: %(choices)s.", value=shown(word),
                                         choices="、".join(KIND_WORDS))]
            except ValidationError as exc:
                errors["kind"] = exc.messages
        amount = CURRENCY.sub("", texts.get("amount", "")).strip()
        data = {"kind": kind, "amount": amount, "reason": texts.get("reason", "")}
        if kind in HOUSEHOLD_KINDS:
            household = self._archived(texts, errors)
            # a household's fields are checked even when it was not found (1 stands for it, never used)
            data["household"] = household or 1
        else:
            data["person"] = {"name": texts.get("name", ""), "id_number": texts.get("id_number", ""),
                              "phone": texts.get("phone") or None}
        try:
            clean = load_data(ItemIn, data)
        except ValidationFailed as exc:
            clean = None
            for path, messages in exc.fields.items():
                errors.setdefault(path, messages)
        if errors:
            self.reject(row, errors)
            return None
        return clean

    def _archived(self, texts: dict, errors: dict) -> int | None:
        if "id_number" in errors:
            return None
        try:
            number = load_data(RecipientIdIn, {"id_number": texts.get("id_number", "")})["id_number"].number
        except ValidationFailed as exc:
            errors["id_number"] = exc.fields.get("id_number") or [exc.message]
            return None
        found = self._household(number)
        if found is None:
            errors["id_number"] = [_l("No one with this ID number is in an open household of the archive of "
                                      "%(union)s or the unions below it.", union=self.tenant_name)]
            return None
        household_id, name = found
        given = texts.get("name", "")
        if given and not ops._same_name(given, name):
            errors["name"] = [_l("The archive has another name for this ID number.")]
        return household_id

    def result(self, total: int) -> dict:
        return {"file": self.filename, "batch": self.batch_id, "imported": self.added, "already_imported": 0,
                "rejected_rows": len(self.rejected_rows), "rejected": self.verdicts[:VERDICTS_IN_RESULT],
                "rejected_complete": len(self.verdicts) <= VERDICTS_IN_RESULT, "rows": total}


# ---------------------------------------------------------------- the job

def run_upload(run, upload_id: int, batch_id: int) -> dict:
    """The job: read the stored upload, add each good row to the batch, write the verdicts (xlsx)."""
    try:
        upload = get_owned(ImportUpload, upload_id)
    except NotFound:
        raise LookupError("upload not in scope") from None
    with force_locale(upload.locale or "zh_Hans_CN"):
        try:
            result = _run(run, upload, batch_id)
        except AppError as exc:
            exc.message = str(exc.message)
            raise
    drop_content(run, upload_id)
    return result


_ROW_ERROR_KEYS = re.compile(r"^items\.\d+\.")


def _checkpoint(batch_number: int) -> None:
    """Called after each committed batch of rows: a seam for tests that change the batch half-way."""


def _run(run, upload: ImportUpload, batch_id: int) -> dict:
    actor = load_actor(upload.user_id)
    if upload.user_id is not None and actor is None:
        raise ImportRefused(_l("The user who uploaded the file no longer exists."))
    try:
        batch = get_owned(AidBatch, batch_id)
    except NotFound:
        raise ImportRefused(_l("The batch no longer exists.")) from None
    may_upload(batch, actor)
    filename = upload.filename
    if upload.content_enc is None:
        raise ImportRefused(_l("The uploaded file is no longer stored; upload it again."))
    content = crypto.decrypt_bytes(upload.content_enc, CONTENT_LABEL)
    kind = check_upload(filename, content)
    table = open_table(kind, content, LAYOUT, MAX_ROWS)
    del content
    program, tenant = ops.program_of(batch), ops.tenant_of(batch)
    reader = ItemsUpload(batch, tenant, filename)
    ignored = reader.use_headers(table.headers)
    run.report(0.0, total=table.total, **reader.result(table.total), ignored_columns=ignored)
    done, added, first_row = 0, [], None

    def flush(last_row):
        nonlocal added, first_row
        if added:
            ops._event(batch, "items_upload", actor, before=batch.status, tenant=tenant,
                       detail={"count": len(added), "file": filename, "rows": f"{first_row}-{last_row}"})
        run.report(done / table.total if table.total else 1.0, **reader.result(table.total))
        added, first_row = [], None
        _checkpoint(done)

    def still_draft():
        """At the start of each batch of rows: lock the batch (a submit waits for this batch of rows to commit) and
        stop when it is no longer a draft; the rows added before stay added."""
        locked = db.session.scalar(select(AidBatch).where(AidBatch.id == batch.id).with_for_update()
                                   .execution_options(populate_existing=True))
        if locked is None or locked.status != "draft":
            raise ImportRefused(_l("The batch is no longer a draft: the upload stopped at row %(row)s; the items of "
                                   "the rows before it stay added.", row=row or 0))

    row = None
    for row, cells in table.rows():
        if first_row is None:
            still_draft()
        first_row = first_row or row
        clean = reader.check_row(row, cells)
        if clean is not None:
            try:
                with db.session.begin_nested():  # the row's item and claims, or nothing of it
                    item = ops._add_item(batch, program, tenant, clean, actor)
            except AppError as exc:
                fields = {_ROW_ERROR_KEYS.sub("", k): v for k, v in (exc.fields or {}).items()}
                reader.reject(row, fields or {"items": [str(exc.message)]})
            else:
                added.append(item.id)
                reader.added += 1
        done += 1
        if done % BATCH_SIZE == 0:
            flush(row)
    flush(row)
    run.output = verdicts_xlsx(reader.verdicts, reader.result(table.total), table.total,
                               counts=[(_("Items added"), reader.added), (_("Rejected rows"), len(reader.rejected_rows))])
    suffix = _("upload verdicts")
    run.output_name = f"{os.path.splitext(filename)[0]}-{suffix}.xlsx"
    audit.record("aid.items_upload_finished", tenant, batch, user=actor,
                 detail={"batch": batch.id, "file": filename, "rows": table.total, "count": reader.added,
                         "rejected_rows": len(reader.rejected_rows)})
    return {**reader.result(table.total), "ignored_columns": ignored}
