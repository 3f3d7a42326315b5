"""The payment files of a batch (SPEC 5.5), written through :mod:`hardship.core.xlsx` for the API, the pages
and the command line alike: the bank transfer file (ID and card numbers in clear, so every export is written
to the audit log) and the signature sheet (签字表: masked ID numbers, an empty cell to sign in). The bank file
lists cash only; goods (``大米 2袋``) are signed for on the signature sheet, beside the cash paid in person."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hardship import audit
from hardship.accounts.operations import require
from hardship.aid import queries
from hardship.aid.models import AidBatch
from hardship.aid.operations import program_of, tenant_of
from hardship.archives.masking import mask_id
from hardship.core.errors import Conflict, Forbidden
from hardship.core.xlsx import Column, Workbook

BANK_COLUMNS = [Column("序号", "integer", 6), Column("姓名", "text", 12), Column("身份证号", "code", 22),
                Column("开户银行", "text", 20), Column("银行卡号", "code", 24), Column("金额", "money", 14),
                Column("用途", "text", 30)]
SIGNATURE_COLUMNS = [Column("序号", "integer", 6), Column("姓名", "text", 12), Column("身份证号", "code", 22),
                     Column("联系电话", "code", 16), Column("事由", "text", 24), Column("金额", "money", 14),
                     Column("物资", "text", 16), Column("领取人签字", "text", 18), Column("签字日期", "text", 12)]


def _ready(batch: AidBatch) -> None:
    if batch.status not in ("approved", "paid"):
        raise Conflict(_l("Payment files are made for approved or paid batches only."))


def bank_file(batch: AidBatch, actor=None, audit_user=None) -> tuple[bytes, str]:
    """The bank transfer workbook of the batch's items paid to a card, and its file name (audited)."""
    require(actor, "aid.pay")
    _ready(batch)
    program = program_of(batch)
    if actor is not None and actor.tenant_id != program.tenant_id:
        raise Forbidden(_l("The bank transfer file is made by the union that pays the program."))
    rows, _in_person = queries.payment_rows(batch)
    book = Workbook()
    sheet = book.sheet("银行代发", BANK_COLUMNS)
    for n, row in enumerate(rows, 1):
        sheet.append([n, row["name"], row["id_number"] or "", row["bank"], row["card"], row["amount"], program.name])
    audit.record("aid.export_bank_file", tenant_of(batch), batch, detail={"batch": batch.id, "rows": len(rows)},
                 user=audit_user or actor)
    return book.close(), f"批次{batch.id}-银行代发.xlsx"


def signature_sheet(batch: AidBatch, actor=None, audit_user=None) -> tuple[bytes, str]:
    """The signature sheet of the items paid in person (no card), masked ID numbers, and its file name."""
    if actor is not None and not (actor.can("aid.prepare") or actor.can("aid.pay")):
        require(actor, "aid.prepare")
    _ready(batch)
    program = program_of(batch)
    _bank, rows = queries.payment_rows(batch)
    book = Workbook()
    sheet = book.sheet("签字表", SIGNATURE_COLUMNS)
    for n, row in enumerate(rows, 1):
        sheet.append([n, row["name"], mask_id(row["id_number"]) or "", row["phone"] or "",
                      row["reason"] or program.name, row["amount"], row["goods"] or "", "", ""])
    audit.record("aid.export_signature_sheet", tenant_of(batch), batch, detail={"batch": batch.id, "rows": len(rows)},
                 user=audit_user or actor)
    return book.close(), f"批次{batch.id}-签字表.xlsx"
