"""Validators for personal identifiers (SPEC 3.6), shared by forms, API, importer and CLI.

Each ``parse_*`` function returns the normalised value or raises :class:`FieldError` with a
message that names the problem (the caller names the field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# [0-9], never \d: \d matches every script's digits, and int() reads them, so a copy of a number in
# Arabic-Indic digits would pass as another person (full-width digits are folded first: fold_digits)
ID18_RE = re.compile(r"^[0-9]{17}[0-9X]$")
ID15_RE = re.compile(r"^[0-9]{15}$")
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE_RE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}(?:-[0-9]{1,6})?$")
CARD_RE = re.compile(r"^[0-9]{16,19}$")
#: full-width digits, X and x, and the full-width hyphen, as Chinese input methods type them
_FULL_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "Ｘ": "X", "ｘ": "x", "－": "-",
                             "＋": "+", "（": "(", "）": ")", "　": " "})


def fold_digits(text: str) -> str:
    """Full-width digits (and X, hyphen, plus, brackets, space) folded to ASCII, so that one number has one
    form for uniqueness and search; digits of any other script are left as they are, for the caller's
    ASCII-only pattern to refuse."""
    return text.translate(_FULL_WIDTH)


class FieldError(ValueError):
    """A single field's problem; ``message`` is a lazy, translatable string."""

    def __init__(self, message):
        self.message = message
        super().__init__(str(message))


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_date: date
    gender: str  # "male" | "female"


def check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse_id_number(raw, today: date | None = None) -> IdNumber:
    """Validate a resident ID number (GB 11643): 18 characters with a MOD 11-2 check character
    (lower-case x accepted, stored upper-case) and a real, not future, birth date; a 15-digit
    legacy number is converted to 18 (century 19, check character computed)."""
    value = fold_digits(str(raw or "")).strip().replace(" ", "").upper()
    if not value:
        raise FieldError(_l("Required."))
    if ID15_RE.match(value):
        value = value[:6] + "19" + value[6:]
        value += check_char(value)
    elif not ID18_RE.match(value):
        raise FieldError(_l("An ID number has 18 characters: 17 digits and a digit or X (or 15 digits)."))
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise FieldError(_l("The birth date %(d)s in the ID number is not a real date.", d=value[6:14])) from None
    if born > (today or date.today()) or born.year < 1900:
        raise FieldError(_l("The birth date %(d)s in the ID number is impossible.", d=value[6:14]))
    if check_char(value[:17]) != value[17]:
        raise FieldError(_l("The check character of the ID number is wrong."))
    return IdNumber(value, born, "male" if int(value[16]) % 2 else "female")


def parse_phone(raw) -> str:
    """A mobile number (1[3-9] + 9 digits) or a landline with area code (010-12345678)."""
    value = re.sub(r"[\s()]", "", fold_digits(str(raw or "")))
    if value.startswith("+86"):
        value = value[3:]
    if MOBILE_RE.match(value) or LANDLINE_RE.match(value):
        return value
    raise FieldError(_l("A mobile number (11 digits starting 13–19) or a landline with area code, e.g. 0311-86012345."))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def parse_card_number(raw) -> tuple[str, bool]:
    """A bank card number of 16 to 19 digits; returns ``(number, luhn_ok)``: a Luhn failure is a
    warning the clerk must confirm, not an error."""
    value = re.sub(r"[\s-]", "", fold_digits(str(raw or "")))
    if not CARD_RE.match(value):
        raise FieldError(_l("A bank card number has 16 to 19 digits."))
    return value, luhn_ok(value)


#: the longest name a person may have (SPEC 3.6)
NAME_MAX_LENGTH = 50


def parse_name(raw) -> str:
    """A person's name: 1 to 50 characters in any script (minority names contain ·)."""
    value = re.sub(r"\s+", " ", str(raw or "")).strip()
    if not value:
        raise FieldError(_l("Required."))
    if len(value) > NAME_MAX_LENGTH:
        raise FieldError(_l("At most %(n)d characters.", n=NAME_MAX_LENGTH))
    if any(ord(c) < 32 or c in "<>\"\\" or 0xD800 <= ord(c) <= 0xDFFF for c in value) or value.isdigit():
        raise FieldError(_l("Not a valid name."))
    return value


#: the words a yes/no answer may be written with (forms, API, spreadsheets), lower-cased
TRUE_WORDS = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "有"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "0", "×", "无"})


def parse_flag(raw, default: bool = False) -> bool:
    """A yes/no answer: a boolean, 0 or 1, or one of :data:`TRUE_WORDS` / :data:`FALSE_WORDS` (是/否,
    yes/no, true/false, ...); nothing or an empty string is ``default``. Anything else is refused, never
    read as no."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise FieldError(_l("Yes or no: true or false (or 是 or 否)."))
