"""The input layer's marshmallow fields: every value from a person (API body or query, web form, command
line option, spreadsheet cell) is loaded through a module's schema built from these, and nowhere else.

Each field wraps the one parser of its kind (``idcard``, ``money``) and adds the text hygiene every input
needs once: a value of the wrong JSON type is refused (never ``str()``-ed into something), lone
surrogates and control characters (other than tab and newline in multi-line text) are refused, and
full-width digits are folded to ASCII (:func:`hardship.core.idcard.fold_digits`). Messages are lazy
gettext strings naming the problem; the schema's loader names the field.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

from hardship.core import idcard, money

#: control characters (C0, DEL, C1) and lone surrogates; tab and newline are allowed in multi-line text
_BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_CHARS_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: the earliest year the ledger and the archive accept, and the latest any year field accepts
FIRST_YEAR, LAST_YEAR = 2000, 2100


def clean_text(value, *, multiline: bool = False) -> str:
    """``value`` as text, or :class:`ValidationError`: a string (not a number, list or object) without
    control characters or lone surrogates (which could be stored but never encoded again)."""
    if not isinstance(value, str):
        raise ValidationError([_l("Must be text.")])
    if (_BAD_CHARS if multiline else _BAD_CHARS_ONE_LINE).search(value.replace("\r\n", "\n")):
        raise ValidationError([_l("Contains characters that are not allowed (control characters or broken text).")])
    return value


class Text(fields.Field):
    """Free text, stripped: ``required`` also refuses blank text; ``max_length`` in characters; ``multiline``
    allows tab and newline; ``strip=False`` keeps the spaces around it (a password's are part of it)."""

    def __init__(self, *, max_length: int | None = None, multiline: bool = False, strip: bool = True, **kwargs):
        kwargs.setdefault("load_default", "" if not kwargs.get("required") else fields.missing_)
        super().__init__(**kwargs)
        self.max_length, self.multiline, self.strip = max_length, multiline, strip

    def _deserialize(self, value, attr, data, **kwargs):
        text = clean_text(value, multiline=self.multiline)
        text = text.strip() if self.strip else text
        if self.required and not text:
            raise ValidationError([_l("Required.")])
        if self.max_length is not None and len(text) > self.max_length:
            raise ValidationError([_l("At most %(n)d characters.", n=self.max_length)])
        return text

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Pattern(Text):
    """Text that matches ``pattern`` whole once ``normalise``d (e.g. ``str.upper`` for a union's code);
    ``message`` states the rule. Empty text is ``None`` when ``empty_is_none`` (an optional code)."""

    def __init__(self, pattern, message, *, normalise=None, empty_is_none: bool = False, **kwargs):
        if empty_is_none:
            kwargs.setdefault("allow_none", True)
            kwargs.setdefault("load_default", None)
        super().__init__(**kwargs)
        self.pattern, self.message = re.compile(pattern), message
        self.normalise, self.empty_is_none = normalise, empty_is_none

    def _deserialize(self, value, attr, data, **kwargs):
        text = idcard.fold_digits(super()._deserialize(value, attr, data, **kwargs))
        if self.normalise is not None:
            text = self.normalise(text)
        if self.empty_is_none and not text:
            return None
        if not self.pattern.fullmatch(text):
            raise ValidationError([self.message])
        return text


class _Parsed(fields.Field):
    """A field whose text is read by one of the core parsers: each subclass defines ``parse(value)``, which
    returns the clean value or raises ``FieldError``."""

    #: whether a number (not only text) is accepted, e.g. an amount 600 or a year 2026 in JSON
    numbers = False

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not (isinstance(value, str) or (self.numbers and isinstance(value, int | float))):
            raise ValidationError([_l("Must be text.") if not self.numbers else _l("Not a valid number.")])
        if isinstance(value, str):
            clean_text(value)
            if self.required and not value.strip():
                raise ValidationError([_l("Required.")])
        try:
            return self.parse(value)
        except idcard.FieldError as exc:
            raise ValidationError([exc.message]) from None


class Name(_Parsed):
    """A person's name (SPEC 3.6): 1 to 50 characters in any script."""

    max_length = idcard.NAME_MAX_LENGTH

    def parse(self, value):
        return idcard.parse_name(value)


class IdNumber(_Parsed):
    """A resident ID number (GB 11643), loaded as :class:`hardship.core.idcard.IdNumber` (number, birth date,
    gender); dumped as the number."""

    def parse(self, value):
        return idcard.parse_id_number(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return getattr(value, "number", value)


class Phone(_Parsed):
    """A mobile number or a landline with area code."""

    def parse(self, value):
        return idcard.parse_phone(value)


class BankCard(_Parsed):
    """A bank card number, loaded as ``(number, luhn_ok)``: a Luhn failure is for the clerk to confirm."""

    def parse(self, value):
        return idcard.parse_card_number(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return value[0] if isinstance(value, tuple) else value


class Fen(_Parsed):
    """Money: a decimal string of yuan (``"600.00"``) loaded as integer fen, dumped as a decimal string.
    Zero only when ``allow_zero``; at most ``maximum`` fen (SPEC 4.1: 100,000,000.00 in one entry)."""

    numbers = True

    def __init__(self, *, allow_zero: bool = False, maximum: int = money.MAX_FEN, **kwargs):
        super().__init__(**kwargs)
        self.allow_zero, self.maximum = allow_zero, maximum

    def parse(self, value):
        return money.parse_fen(value, allow_zero=self.allow_zero, maximum=self.maximum)

    def _serialize(self, value, attr, obj, **kwargs):
        return money.format_fen(value)


class Flag(fields.Field):
    """Yes or no (a boolean, 0 or 1, 是/否, yes/no, ...); nothing, null or empty text is ``default``."""

    def __init__(self, *, default: bool = False, **kwargs):
        kwargs.setdefault("load_default", default)
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)
        self.default = default

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is None:
            return self.default
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            clean_text(value)
        elif not isinstance(value, bool | int):
            raise ValidationError([_l("Yes or no: true or false (or 是 or 否).")])
        try:
            return idcard.parse_flag(value, self.default)
        except idcard.FieldError as exc:
            raise ValidationError([exc.message]) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else bool(value)


class Whole(_Parsed):
    """A whole number in ASCII digits (full-width folded), e.g. a page number; ``2.5``, ``true`` and the
    digits of other scripts are refused, never rounded or read."""

    numbers = True

    def parse(self, value):
        text = idcard.fold_digits(str(value)).strip()
        if not re.fullmatch(r"[0-9]{1,9}", text):
            raise idcard.FieldError(_l("A whole number, e.g. 2."))
        return int(text)

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class Year(_Parsed):
    """A year of four ASCII digits, from :data:`FIRST_YEAR` to :data:`LAST_YEAR` (a whole number in JSON, or
    text; ``2026.5`` and ``true`` are refused, never rounded)."""

    numbers = True

    def parse(self, value):
        text = idcard.fold_digits(str(value)).strip()
        if not re.fullmatch(r"[0-9]{4}", text):
            raise idcard.FieldError(_l("A four-digit year, e.g. 2026."))
        year = int(text)
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise idcard.FieldError(_l("From %(low)d to %(high)d.", low=FIRST_YEAR, high=LAST_YEAR))
        return year

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class FiscalYear(Year):
    """A fund lot's fiscal year (SPEC 4.2); whether it may lie ahead of the posting's date is the ledger's
    rule (funds are issued up to a year in advance), checked with the date."""


class Day(_Parsed):
    """A calendar day written ISO style (``2026-03-01``) from :data:`FIRST_YEAR` to :data:`LAST_YEAR`; ``past_only``
    refuses a day after today."""

    def __init__(self, *, past_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.past_only = past_only

    def parse(self, value):
        try:
            day = date.fromisoformat(idcard.fold_digits(value).strip())
        except ValueError:
            raise idcard.FieldError(_l("A date like 2026-03-01.")) from None
        if day.year < FIRST_YEAR:
            raise idcard.FieldError(_l("Not before %(year)d.", year=FIRST_YEAR))
        if day.year > LAST_YEAR:  # a day's next day (a period's end) must still be a date
            raise idcard.FieldError(_l("Not after %(year)d.", year=LAST_YEAR))
        if self.past_only and day > date.today():
            raise idcard.FieldError(_l("The date cannot be in the future."))
        return day

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, date):  # a form's DateField, the command line
            value = value.isoformat()
        return super()._deserialize(value, attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.isoformat()


class Choice(fields.Field):
    """One of the keys of ``choices`` (a mapping of key to label: a refusal lists the labels, in the reader's
    language, never the keys); ``required=False`` takes an empty value as ``None``; ``unknown(value, labels)``
    is the message naming a text that is none of them (default: the labels)."""

    def __init__(self, choices, *, unknown=None, **kwargs):
        kwargs.setdefault("allow_none", not kwargs.get("required"))
        super().__init__(**kwargs)
        self.choices, self.unknown = choices, unknown

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "" and not self.required:
            return None
        if value in ("", None) and self.required:
            raise ValidationError([_l("Required.")])
        if not isinstance(value, str) or value not in self.choices:
            known = label_list(self.choices.values())
            if self.unknown is not None and isinstance(value, str):
                raise ValidationError([self.unknown(clean_text(value)[:32], known)])
            raise ValidationError([_l("Choose one of: %(choices)s.", choices=known)])
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


@cache
def max_length_of(schema_cls, path: str) -> int | None:
    """The longest text the field at ``path`` (``head.name``, ``members.occupation``: nested schemas and lists
    of them walked through) of ``schema_cls`` takes, for a form's ``maxlength``; ``KeyError`` when absent."""
    field = None
    fields_ = schema_cls().fields
    for part in path.split("."):
        field = fields_[part]
        while isinstance(field, fields.List):
            field = field.inner
        if isinstance(field, fields.Nested):
            fields_ = field.schema.fields
    return getattr(field, "max_length", None)


def label_list(labels) -> str:
    """Labels for a message, joined in the reader's way (顿号 in Chinese)."""
    from flask_babel import gettext

    return gettext(", ").join(str(label) for label in labels)


def search_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with ``%``, ``_`` and the escape character matching
    themselves (use with ``escape="\\\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
