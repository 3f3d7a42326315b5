"""The archive as an xlsx workbook: the filtered list, headers in Chinese, personal data masked
row by row unless the reader keeps that record (SPEC 3.8). Shared by the UI and the API.

An export holding any unmasked value is written to the audit log in the caller's transaction.
"""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hardship import audit
from hardship.archives import masking
from hardship.archives.masking import may_see_personal_data
from hardship.archives.models import CATEGORIES, GENDERS, INSURANCE, REASONS, STATUSES, SUBSISTENCE, Household
from hardship.core.db import db
from hardship.core.errors import ValidationFailed
from hardship.core.idcard import FieldError, parse_id_number
from hardship.core.xlsx import Column, Workbook
from tenants.models import Tenant
from tenants.scoping import subtree_filter

#: a synchronous download stays within a few seconds; larger exports need narrower filters
MAX_EXPORT_ROWS = 50_000

#: (key, header, kind of value, column width); headers are written in Chinese whatever the reader's UI language.
#: The birth date is given as its year only: the digits a masked ID number hides are the birth date (SPEC 3.8),
#: and a reader who sees the ID number in full reads the date in it.
COLUMNS = (
    ("id", _l("Archive no."), "integer", 9),
    ("union", _l("Union"), "text", 28),
    ("head_name", _l("Head of household"), "text", 12),
    ("id_number", _l("ID number"), "code", 21),
    ("gender", _l("Gender"), "text", 6),
    ("birth_year", _l("Birth year"), "integer", 8),
    ("phone", _l("Phone"), "code", 14),
    ("status", _l("Status"), "text", 10),
    ("category", _l("Hardship category"), "text", 12),
    ("primary_reason", _l("Primary reason"), "text", 12),
    ("secondary_reasons", _l("Other reasons"), "text", 18),
    ("people", _l("Household size"), "count", 8),
    ("income_per_capita", _l("Monthly income per person (yuan)"), "money", 14),
    ("subsistence", _l("Minimum subsistence"), "text", 12),
    ("medical_insurance", _l("Medical insurance"), "text", 14),
    ("address", _l("Address"), "text", 30),
    ("bank_name", _l("Bank"), "text", 16),
    ("card_number", _l("Card number"), "code", 22),
    ("needs", _l("Needs"), "text", 24),
    ("cadre_first", _l("First responsible person"), "text", 12),
    ("cadre_second", _l("Second responsible person"), "text", 12),
    ("applied_on", _l("Applied on"), "date", 11),
    ("archived_on", _l("Archived on"), "date", 11),
    ("last_survey_on", _l("Last home survey"), "date", 11),
)


def _row(h: Household, union: str, clear: bool, read: masking.Decrypted | None = None) -> dict:
    """One household's row; a value that fails to decrypt on its row reads ``masking.UNREADABLE``."""
    head = h.head
    read = read or masking.Decrypted()
    number = read(head.id_enc, "persons.id", head.row_key, "head.id_number") if head else None
    phone = read(head.phone_enc, "persons.phone", head.row_key, "head.phone") if head else None
    person = masking.person(number, phone, head.birth_date if head else None, clear)
    shown = masking.household(read(h.address_enc, "households.address", h.row_key, "address"),
                              read(h.card_enc, "households.card", h.row_key, "bank.card_number"), clear)
    unreadable = str(masking.UNREADABLE)
    for field, key in (("head.id_number", "id_number"), ("head.phone", "phone")):
        if field in read.unreadable:
            person[key] = unreadable
    for field, key in (("address", "address"), ("bank.card_number", "card_number")):
        if field in read.unreadable:
            shown[key] = unreadable
    return {
        "id": h.id, "union": union, "head_name": h.head_name,
        "id_number": person["id_number"],
        "gender": str(GENDERS.get(head.gender, head.gender)) if head else "",
        "birth_year": person["birth_year"],
        "phone": person["phone"],
        "status": str(STATUSES.get(h.status, h.status)),
        "category": str(CATEGORIES.get(h.category, h.category)),
        "primary_reason": str(REASONS.get(h.primary_reason, h.primary_reason)),
        "secondary_reasons": "、".join(str(REASONS.get(r, r)) for r in h.secondary_reasons),
        "people": len(h.people), "income_per_capita": h.income_per_capita,
        "subsistence": str(SUBSISTENCE.get(h.subsistence, h.subsistence)),
        "medical_insurance": str(INSURANCE.get(h.medical_insurance, h.medical_insurance)),
        "address": shown["address"], "bank_name": h.bank_name or "",
        "card_number": shown["card_number"], "needs": masking.history(h.needs, clear),
        "cadre_first": h.cadre_first, "cadre_second": h.cadre_second, "applied_on": h.applied_on,
        "archived_on": h.archived_on, "last_survey_on": h.last_survey_on,
    }


def _loggable(filters: dict) -> dict:
    """The filters for the audit log, which auditors read: a searched ID number is kept masked."""
    logged = {k: v.isoformat() if isinstance(v, date) else v for k, v in filters.items() if v}
    if logged.get("q"):
        try:
            logged["q"] = masking.mask_id(parse_id_number(logged["q"]).number)
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
    unmasked: list[int] = []
    unreadable: dict[str, list[str]] = {}
    with force_locale("zh_Hans_CN"):
        book = Workbook()
        sheet = book.sheet(str(_l("Hardship household archive")),
                           [Column(str(label), kind, width) for _key, label, kind, width in COLUMNS])
        rows = db.session.scalars(stmt.order_by(Household.id).options(selectinload(Household.people))
                                  .execution_options(yield_per=500))
        for h in rows:
            clear = may_see_personal_data(user, h)
            if clear:
                unmasked.append(h.id)
            read = masking.Decrypted()
            values = _row(h, unions.get(h.tenant_id, ""), clear, read)
            if read.unreadable:
                unreadable[str(h.id)] = read.unreadable
            sheet.append([values[key] for key, *_rest in COLUMNS])
    content = book.close()
    if unmasked and user is not None:
        audit.record("household.export_unmasked", tenant, object_type="Household", user=user,
                     detail={"count": len(unmasked), "rows": total, "households": unmasked[:200],
                             "filters": _loggable(filters or {})})
    if unreadable:
        audit.record("household.unreadable", tenant, object_type="Household", user=user,
                     detail={"households": [int(k) for k in list(unreadable)[:200]], "where": "export",
                             "fields": sorted({f for fields in unreadable.values() for f in fields})})
    return content, f"{tenant.code}-困难职工档案-{date.today():%Y%m%d}.xlsx"
