"""What the audit log calls things: each action's name, each record's label and link, each detail's label.

A module declares its own in ``<module>/audit_actions.py`` (imported at start-up like ``views``), so the
log reads in the auditor's words without this package knowing the modules:

    action("funds.allocation", _l("Allocation posted"), document_no=text(_l("Document number")), ...)
    record("FundTransaction", _l("Ledger transaction"), describe_transactions)

``describe`` takes the ids of one page's records of that kind and returns ``{id: (label, url or None)}``
in one query. A detail key nobody declared is shown under "Other", never as its key.

An action whose details may hold personal data (a household's reason, which may quote an ID or card number)
declares a ``mask``: ``mask(detail, reader, tenant_id)`` returns the details as ``reader`` (the user reading the
log; ``None``: the system) may see them for an event of union ``tenant_id``. The page, the API and the export
all read details through :func:`shown_detail`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import format_decimal, gettext

from hardship.core.money import fen_of, format_fen

Render = Callable[[object], str]


@dataclass(frozen=True)
class Detail:
    label: object
    render: Render


Mask = Callable[[dict, object, int], dict]


@dataclass(frozen=True)
class Action:
    code: str
    label: object
    details: dict[str, Detail] = field(default_factory=dict)
    mask: Mask | None = None


@dataclass(frozen=True)
class RecordKind:
    object_type: str
    label: object
    describe: Callable[[list[str], str], dict[str, tuple[str, str | None]]] | None = None


ACTIONS: dict[str, Action] = {}
RECORDS: dict[str, RecordKind] = {}


def action(code: str, label, /, *, mask: Mask | None = None, **details: Detail) -> Action:
    ACTIONS[code] = Action(code, label, details, mask)
    return ACTIONS[code]


def record(object_type: str, label, describe=None) -> RecordKind:
    RECORDS[object_type] = RecordKind(object_type, label, describe)
    return RECORDS[object_type]


# --- renderers: a detail's stored value as a person reads it -------------------------------------------------

def labelled(label, value) -> str:
    """"label: value" with the reader's punctuation (全角 in Chinese)."""
    return gettext("%(label)s: %(value)s", label=label, value=value)


def joined(parts) -> str:
    return gettext("; ").join(parts)


def _plain(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, int | float):
        return format_decimal(value)
    if isinstance(value, list | tuple):
        return "、".join(_plain(v) for v in value)
    return str(value)


def text(label) -> Detail:
    """Text as it is (a year or a number given as text is not grouped: 2026, not 2,026)."""
    return Detail(label, lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else _plain(v))


def count(label, unit=None) -> Detail:
    return Detail(label, lambda v: _plain(v) + (str(unit) if unit and v is not None else ""))


def money(label) -> Detail:
    """An amount stored in yuan as text ("1234.50") or in fen as an integer."""
    def render(value) -> str:
        if value is None or value == "":
            return "—"
        fen = value if isinstance(value, int) else fen_of(value)
        return format_fen(fen, grouped=True) + gettext(" yuan")
    return Detail(label, render)


def choice(label, labels: dict) -> Detail:
    def render(value) -> str:
        if isinstance(value, list | tuple):
            return "、".join(str(labels.get(v, v)) for v in value) or "—"
        return str(labels.get(value, value)) if value not in (None, "") else "—"
    return Detail(label, render)


def fields_of(label, labels: dict[str, Detail]) -> Detail:
    """A dict of named values (a record's settings, a user's roles and state) as "label: value; ..."."""
    def render(value) -> str:
        if not isinstance(value, dict):
            return _plain(value)
        parts = []
        for key, item in value.items():
            detail = labels.get(key)
            parts.append(labelled(detail.label if detail else gettext("Other"), (detail.render if detail else _plain)(item)))
        return joined(parts) or "—"
    return Detail(label, render)


def ids(label, unit) -> Detail:
    """A list of record ids (the households a list page showed unmasked): their number, then the first few."""
    def render(value) -> str:
        value = list(value or [])
        shown = "、".join(f"#{v}" for v in value[:20]) + ("…" if len(value) > 20 else "")
        return f"{format_decimal(len(value))}{unit}" + (f"（{shown}）" if value else "")
    return Detail(label, render)


def rows_of(label, render_one: Render) -> Detail:
    return Detail(label, lambda value: joined(render_one(v) for v in value or []) or "—")


# --- reading -----------------------------------------------------------------------------------------------------

def action_label(code: str) -> str:
    known = ACTIONS.get(code)
    return str(known.label) if known else gettext("Other action")


def record_label(object_type: str) -> str:
    known = RECORDS.get(object_type)
    return str(known.label) if known else gettext("Other record")


def actions_matching(text_: str) -> list[str]:
    """The codes an auditor's filter text names: a code, or part of a name in the current language."""
    needle = text_.strip().lower()
    return sorted(code for code, a in ACTIONS.items() if needle == code or needle in str(a.label).lower())


def shown_detail(code: str, detail: dict | None, reader, tenant_id: int) -> dict | None:
    """An event's stored details as ``reader`` may see them (its action's ``mask``; unchanged without one)."""
    known = ACTIONS.get(code)
    if known is None or known.mask is None or not detail:
        return detail
    return known.mask(detail, reader, tenant_id)


def detail_fields(code: str, detail: dict | None) -> list[dict]:
    """``[{"label": ..., "value": ...}]`` in the declared order, undeclared keys last under "Other"."""
    return labelled_fields(ACTIONS[code].details if code in ACTIONS else {}, detail)


def labelled_fields(declared: dict[str, Detail], values: dict | None) -> list[dict]:
    """``values`` as labelled fields by ``declared`` (also for other records' change logs, e.g. a household's)."""
    if not values:
        return []
    out = [{"label": str(d.label), "value": d.render(values[key])} for key, d in declared.items() if key in values]
    out += [{"label": gettext("Other"), "value": _plain(value)} for key, value in values.items() if key not in declared]
    return out


def describe(rows: list[tuple[str, str | None]], viewer_code: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    """Labels and links (under the reader's union ``viewer_code``) of ``(object_type, object_id)`` pairs: one
    query per kind of record; a record outside the reader's subtree or gone has no label."""
    wanted: dict[str, set[str]] = {}
    for object_type, object_id in rows:
        if object_id:
            wanted.setdefault(object_type, set()).add(object_id)
    found = {}
    for object_type, ids in wanted.items():
        kind = RECORDS.get(object_type)
        if kind is None or kind.describe is None:
            continue
        for object_id, value in kind.describe(sorted(ids), viewer_code).items():
            found[(object_type, object_id)] = value
    return found


__all__ = ["ACTIONS", "RECORDS", "action", "record", "text", "count", "money", "choice", "fields_of", "rows_of",
           "action_label", "record_label", "actions_matching", "detail_fields", "shown_detail", "labelled_fields", "describe", "ids"]
