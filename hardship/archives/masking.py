"""The archive's one masking layer (SPEC 3.8): who sees a household's personal data in full, and what everyone
else sees instead. Pages, the API, exports and the history all read personal data through here.

Masked must not be rebuildable: the digits a masked ID number hides (``130102********0415``) are the birth
date, so a masked reader sees the birth date as its year only, wherever it would appear.
"""

from __future__ import annotations

import re
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l

from hardship.archives.models import Household
from hardship.core import crypto

#: the household's personal fields, by the last part of their name (``head.id_number``, ``bank.card_number``)
PERSONAL_FIELDS = ("id_number", "phone", "card_number", "address", "birth_date")
#: an ID number (18 or 15 characters), a mobile number, a bank card number, inside any text
_ID_RE = re.compile(r"(?<![0-9])[0-9]{6}(?:[0-9]{11}[0-9Xx]|[0-9]{9})(?![0-9])")
_CARD_RE = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])")
_MOBILE_RE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


#: what a reader sees of a value that fails to decrypt where it is read (copied from another row, or damaged)
UNREADABLE = _l("Cannot be decrypted (the data failed its check; contact the administrator)")


class Decrypted:
    """Decrypts one read's personal values: a value that fails its binding (:class:`crypto.PiiBindingError`:
    copied from another row or column, or damaged) reads as ``None``, its field path (``head.id_number``,
    ``members.0.phone``, ``address``, ``bank.card_number``) noted in ``unreadable`` and the error logged for
    the administrator: the reader sees :data:`UNREADABLE` there and the rest of the record, never an error
    page, never the other row's data."""

    def __init__(self):
        self.unreadable: list[str] = []

    def __call__(self, token: str | None, column: str, row_key: str, field: str) -> str | None:
        try:
            return crypto.decrypt(token, column, row_key)
        except crypto.PiiBindingError as exc:
            current_app.logger.error("PiiBindingError: %s (shown as unreadable at %s)", exc, field)
            if field not in self.unreadable:
                self.unreadable.append(field)
            return None


def may_see_personal_data(user, household: Household) -> bool:
    """Unmasked to the clerk/approver of the holding tenant and of its archive keeper (SPEC 3.8)."""
    if user is None:
        return True
    if user.tenant_id not in (household.tenant_id, household.archive_tenant_id):
        return False
    return bool({"clerk", "approver"} & set(user.roles))


def mask_id(number: str | None) -> str | None:
    """``110105********002X``: region and the last four kept."""
    if not number:
        return number
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_name(name: str | None) -> str | None:
    """``张**``: the surname kept (a household's label in the audit log, read by people who may not see it)."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    if _MOBILE_RE.fullmatch(phone):
        return phone[:3] + "****" + phone[-4:]
    return phone[:-4].rstrip("-")[:4] + "****" + phone[-4:] if len(phone) > 8 else "****" + phone[-4:]


def mask_card(card: str | None) -> str | None:
    if not card:
        return card
    return card[:4] + "*" * (len(card) - 8) + card[-4:]


def mask_address(address: str | None) -> str | None:
    if not address:
        return address
    return address[: min(6, len(address) // 2)] + "****"


def birth_year(born) -> int | None:
    """The year of a birth date (a date or ISO text), all a masked reader sees of it."""
    if born in (None, ""):
        return None
    if isinstance(born, date):
        return born.year
    match = re.match(r"\s*([0-9]{4})", str(born))
    return int(match.group(1)) if match else None


_MASKERS = {"id_number": mask_id, "phone": mask_phone, "card_number": mask_card, "address": mask_address,
            "birth_date": birth_year}


def mask_value(field: str, value):
    """``value`` of the personal field ``field`` (``head.id_number``, ``members.0.birth_date``: its last part
    names it) as a masked reader sees it; any other field's text with the identifiers in it masked."""
    masker = _MASKERS.get(str(field).rsplit(".", 1)[-1])
    if masker is not None and value is not None and not isinstance(value, dict | list):
        return masker(value if masker is birth_year else str(value))
    return mask_changes(value)


def mask_text(text: str) -> str:
    """Free text with any ID, bank card or mobile number in it masked."""
    text = _ID_RE.sub(lambda m: mask_id(m.group(0)), text)
    text = _CARD_RE.sub(lambda m: mask_card(m.group(0)), text)
    return _MOBILE_RE.sub(lambda m: mask_phone(m.group(0)), text)


def mask_changes(changes):
    """A history event's values as a masked reader sees them: each personal field masked by its name (as a
    key, or as the ``field`` of a ``{"field", "before", "after"}`` change), and identifiers in any text."""
    if isinstance(changes, dict):
        named = changes.get("field") if isinstance(changes.get("field"), str) else None
        return {key: mask_value(named, value) if named and key in ("before", "after", "value", "old", "new")
                else mask_value(key, value) for key, value in changes.items()}
    if isinstance(changes, list):
        return [mask_changes(v) for v in changes]
    if isinstance(changes, str):
        return mask_text(changes)
    return changes


def person(number: str | None, phone: str | None, born: date | None, clear: bool) -> dict:
    """A person's personal fields for one reader: in full, or masked with the birth date reduced to its year."""
    year = born.year if born else None
    if clear:
        return {"id_number": number, "phone": phone, "birth_date": born.isoformat() if born else None,
                "birth_year": year}
    return {"id_number": mask_id(number), "phone": mask_phone(phone), "birth_date": None, "birth_year": year}


def household(address: str | None, card: str | None, clear: bool) -> dict:
    """A household's personal fields for one reader."""
    if clear:
        return {"address": address, "card_number": card}
    return {"address": mask_address(address), "card_number": mask_card(card)}


def history(values, clear: bool):
    """A history event's values (or any text a person wrote about the household: a reason, findings, a
    note) for one reader."""
    return values if clear else mask_changes(values)
