"""The archive as an xlsx workbook: the filtered list, headers in Chinese, personal data masked
row by row unless the reader keeps that record (SPEC 3.8). Shared by the UI and the API.

An export holding any unmasked value is written to the audit log in the caller's transaction.
"""

from __future__ import annotations

import io
from datetime import date

import xlsxwriter
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hardship import audit
from hardship.archives.models import CATEGORIES, GENDERS, INSURANCE, REASONS, STATUSES, SUBSISTENCE, Household
from hardship.archives.operations import may_see_personal_data
from hardship.core import crypto
from hardship.core.db import db
from hardship.core.errors import ValidationFailed
from hardship.core.idcard import FieldError, mask_address, mask_card, mask_id, mask_phone, parse_id_number
from hardship.core.money import format_fen
from tenants.models import Tenant
from tenants.scoping import subtree_filter

#: a synchronous download stays within a few seconds; larger exports need narrower filters
MAX_EXPORT_ROWS = 50_000

#: (key, header, column width); headers are written in Chinese whatever the reader's UI language
COLUMNS = (
    ("id", _l("Archive no."), 9),
    ("union", _l("Union"), 28),
    ("head_name", _l("Head of household"), 12),
    ("id_number", _l("ID number"), 21),
    ("gender", _l("Gender"), 6),
    ("birth_date", _l("Birth date"), 11),
    ("phone", _l("Phone"), 14),
    ("status", _l("Status"), 10),
    ("category", _l("Hardship category"), 12),
    ("primary_reason", _l("Primary reason"), 12),
    ("secondary_reasons", _l("Other reasons"), 18),
    ("people", _l("Household size"), 8),
    ("income_per_capita", _l("Monthly income per person (yuan)"), 12),
    ("subsistence", _l("Minimum subsistence"), 12),
    ("medical_insurance", _l("Medical insurance"), 14),
    ("address", _l("Address"), 30),
    ("bank_name", _l("Bank"), 16),
    ("card_number", _l("Card number"), 22),
    ("needs", _l("Needs"), 24),
    ("cadre_first", _l("First responsible person"), 12),
    ("cadre_second", _l("Second responsible person"), 12),
    ("applied_on", _l("Applied on"), 11),
    ("archived_on", _l("Archived on"), 11),
    ("last_survey_on", _l("Last home survey"), 11),
)


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def _row(h: Household, union: str, clear: bool) -> dict:
    head = h.head
    number = crypto.decrypt(head.id_enc, "persons.id", head.row_key) if head else None
    phone = crypto.decrypt(head.phone_enc, "persons.phone", head.row_key) if head else None
    card = crypto.decrypt(h.card_enc, "households.card", h.row_key)
    address = crypto.decrypt(h.address_enc, "households.address", h.row_key)
    return {
        "id": h.id, "union": union, "head_name": h.head_name,
        "id_number": number if clear else mask_id(number),
        "gender": str(GENDERS.get(head.gender, head.gender)) if head else "",
        "birth_date": _iso(head.birth_date) if head else "",
        "phone": phone if clear else mask_phone(phone),
        "status": str(STATUSES.get(h.status, h.status)),
        "category": str(CATEGORIES.get(h.category, h.category)),
        "primary_reason": str(REASONS.get(h.primary_reason, h.primary_reason)),
        "secondary_reasons": "、".join(str(REASONS.get(r, r)) for r in h.secondary_reasons),
        "people": len(h.people), "income_per_capita": format_fen(h.income_per_capita),
        "subsistence": str(SUBSISTENCE.get(h.subsistence, h.subsistence)),
        "medical_insurance": str(INSURANCE.get(h.medical_insurance, h.medical_insurance)),
        "address": address if clear else mask_address(address), "bank_name": h.bank_name or "",
        "card_number": card if clear else mask_card(card), "needs": h.needs,
        "cadre_first": h.cadre_first, "cadre_second": h.cadre_second, "applied_on": _iso(h.applied_on),
        "archived_on": _iso(h.archived_on), "last_survey_on": _iso(h.last_survey_on),
    }


def _loggable(filters: dict) -> dict:
    """The filters for the audit log, which auditors read: a searched ID number is kept masked."""
    logged = {k: v for k, v in filters.items() if v}
    if logged.get("q"):
        try:
            logged["q"] = mask_id(parse_id_number(logged["q"]).number)
        except FieldError:
            pass
    return logged


def households_xlsx(tenant: Tenant, stmt, user, *, filters: dict | None = None) -> tuple[bytes, str]:
    """The households of ``stmt`` (a query from ``queries.list_query``) as xlsx bytes and a file name.
    Values are masked per row unless ``user`` may see them; an export holding unmasked values is
    audited (``household.export_unmasked``) in the current transaction."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if total > MAX_EXPORT_ROWS:
        raise ValidationFailed(_l("%(n)d households match; an export holds at most %(max)d. Narrow the filters.",
                                  n=total, max=MAX_EXPORT_ROWS))
    unions = dict(db.session.execute(select(Tenant.id, Tenant.name).where(subtree_filter(Tenant, tenant.path))).all())
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    unmasked: list[int] = []
    with force_locale("zh_Hans_CN"):
        sheet = workbook.add_worksheet(str(_l("Hardship household archive"))[:31])
        bold = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
        sheet.write_row(0, 0, [str(label) for _key, label, _w in COLUMNS], bold)
        for col, (_key, _label, width) in enumerate(COLUMNS):
            sheet.set_column(col, col, width)
        sheet.freeze_panes(1, 0)
        rows = db.session.scalars(stmt.order_by(Household.id).options(selectinload(Household.people))
                                  .execution_options(yield_per=500))
        for n, h in enumerate(rows, start=1):
            clear = may_see_personal_data(user, h)
            if clear:
                unmasked.append(h.id)
            values = _row(h, unions.get(h.tenant_id, ""), clear)
            # strings are written as strings: an ID number must never become a number or a formula
            for col, (key, _label, _w) in enumerate(COLUMNS):
                value = values[key]
                if isinstance(value, int):
                    sheet.write_number(n, col, value)
                else:
                    sheet.write_string(n, col, value or "")
    workbook.close()
    if unmasked and user is not None:
        audit.record("household.export_unmasked", tenant, object_type="Household", user=user,
                     detail={"count": len(unmasked), "rows": total, "households": unmasked[:200],
                             "filters": _loggable(filters or {})})
    return buffer.getvalue(), f"{tenant.code}-困难职工档案-{date.today():%Y%m%d}.xlsx"
