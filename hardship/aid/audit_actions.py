"""What the audit log and a batch's history call the aid module's actions and records (see
:mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.aid.models import BATCH_STATUSES, PROGRAM_TYPES, AidBatch, AidProgram
from hardship.audit.registry import action, choice, count, money, record, text
from hardship.core.db import db
from tenants.scoping import subtree_filter

#: a batch's steps (``AidBatchEvent.action``; the audit action is ``aid.<step>``)
ACTIONS = {
    "batch_create": _l("Aid batch created"),
    "items_add": _l("Aid items added"),
    "item_remove": _l("Aid item removed"),
    "propose": _l("Eligible households proposed"),
    "submit": _l("Aid batch submitted"),
    "approve": _l("Aid batch approved"),
    "head_approve": _l("Aid batch approved by the head"),
    "reject": _l("Aid batch rejected"),
    "pay": _l("Aid batch paid"),
    "receipt": _l("Aid received by the recipient"),
    "visit": _l("Follow-up visit recorded"),
    "items_upload": _l("Aid items added from an uploaded file"),
}


def _batches(keys: list[str], viewer_code: str) -> dict:
    numbers = [int(k) for k in keys if k.isdigit()]
    rows = db.session.execute(select(AidBatch.id, AidBatch.status).where(AidBatch.id.in_(numbers),
                                                                         subtree_filter(AidBatch))).all()
    return {str(i): (str(_l("Aid batch %(id)s (%(status)s)", id=i, status=BATCH_STATUSES.get(s, s))), None)
            for i, s in rows}


def _programs(keys: list[str], viewer_code: str) -> dict:
    numbers = [int(k) for k in keys if k.isdigit()]
    rows = db.session.execute(select(AidProgram.id, AidProgram.name).where(AidProgram.id.in_(numbers),
                                                                           subtree_filter(AidProgram))).all()
    return {str(i): (name, None) for i, name in rows}


record("AidBatch", _l("Aid batch"), _batches)
record("AidProgram", _l("Aid program"), _programs)

_STEP = {"batch": text(_l("Batch")), "status": choice(_l("Status"), BATCH_STATUSES), "reason": text(_l("Reason")),
         "program": text(_l("Program")), "count": count(_l("Items"), _l(" items")),
         "skipped": count(_l("Skipped"), _l(" households")), "overrides": text(_l("Items overridden by the head")),
         "name": text(_l("Recipient")), "item": text(_l("Item")), "amount": money(_l("Amount")),
         "transaction": text(_l("Ledger transaction")), "document_no": text(_l("Document number")),
         "file": text(_l("File")), "rows": text(_l("Rows of the file"))}
for _code, _label in ACTIONS.items():
    action(f"aid.{_code}", _label, **_STEP)
_PROGRAM = {"name": text(_l("Name")), "type": choice(_l("Type"), PROGRAM_TYPES), "year": text(_l("Year"))}
action("aid.program_create", _l("Aid program opened"), **_PROGRAM)
action("aid.program_update", _l("Aid program changed"), **_PROGRAM)
_EXPORT = {"batch": text(_l("Batch")), "rows": count(_l("Rows"), _l(" rows"))}
action("aid.export_bank_file", _l("Bank transfer file exported (ID and card numbers unmasked)"), **_EXPORT)
action("aid.export_signature_sheet", _l("Signature sheet exported"), **_EXPORT)
_UPLOAD = {"batch": text(_l("Batch")), "file": text(_l("File")), "size": count(_l("Size"), _l(" bytes")),
           "rows": count(_l("Rows"), _l(" rows")), "count": count(_l("Items added"), _l(" items")),
           "rejected_rows": count(_l("Rejected rows"), _l(" rows"))}
action("aid.items_upload_file", _l("Aid items file uploaded"), **_UPLOAD)
action("aid.items_upload_finished", _l("Aid items upload finished"), **_UPLOAD)
