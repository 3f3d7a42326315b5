"""Money (SPEC 4.1): yuan with two decimals, stored as integer fen, written as decimal strings.

``parse_fen("600.00") == 60000``; ``format_fen(60000) == "600.00"``. One parser for the API,
the forms, the importer and the CLI.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from hardship.core.idcard import FieldError, fold_digits

#: the largest amount of one entry: 100,000,000.00 yuan
MAX_FEN = 100_000_000_00
_AMOUNT_RE = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")  # ASCII digits only (see idcard.fold_digits)


def parse_fen(raw, *, allow_zero: bool = False, maximum: int = MAX_FEN) -> int:
    """Parse a decimal string (or int) of yuan into fen; refuses negatives, more than two decimals,
    amounts above ``maximum`` and, unless ``allow_zero``, zero."""
    if isinstance(raw, bool) or raw is None:
        raise FieldError(_l("Required."))
    if isinstance(raw, float):
        raise FieldError(_l("Write amounts as decimal strings, e.g. \"600.00\"."))
    text = fold_digits(str(raw)).strip().replace(",", "").replace("．", ".")
    if not _AMOUNT_RE.match(text):
        raise FieldError(_l("Not an amount: write yuan with at most two decimals, e.g. 600.00."))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldError(_l("Not an amount: write yuan with at most two decimals, e.g. 600.00.")) from None
    if "." in text and len(text.split(".")[1]) > 2:
        raise FieldError(_l("At most two decimals (fen)."))
    fen = int(value * 100)
    if fen < 0:
        raise FieldError(_l("Must not be negative."))
    if fen == 0 and not allow_zero:
        raise FieldError(_l("Must be more than zero."))
    if fen > maximum:
        raise FieldError(_l("At most %(max)s yuan in one entry.", max=format_fen(maximum)))
    return fen


def format_fen(fen: int | None, *, grouped: bool = False) -> str | None:
    """``60000`` -> ``"600.00"``; ``grouped``: with thousands separators, for people (``"1,200,000.00"``)."""
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}" if grouped else f"{sign}{fen // 100}.{fen % 100:02d}"


def fen_of(text: str) -> int:
    """The fen of a signed amount this system wrote (:func:`format_fen`'s output, e.g. an API field):
    ``"-30000.00"`` -> ``-3000000``. Not for input from people, which goes through :func:`parse_fen`."""
    text = str(text)
    fen = parse_fen(text.lstrip("-"), allow_zero=True, maximum=10**15)
    return -fen if text.startswith("-") else fen
