"""One row of the file: loaded through ``schemas.HouseholdIn`` (the file's words read as the schema's keys
first), then one person, one archive within the file."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select

from hardship.api import load_data
from hardship.archives import operations as ops
from hardship.archives.importing.columns import (
    CHOICES,
    COLUMN_BY_FIELD,
    COLUMN_BY_HEADER,
    MEMBER_RE,
    REASON_LABELS,
    Column,
    labels_text,
)
from hardship.archives.schemas import HouseholdIn
from hardship.core.db import db
from hardship.core.errors import ValidationFailed
from hardship.core.fields import clean_text
from hardship.core.idcard import FieldError, parse_id_number
from tenants.models import Tenant
from tenants.scoping import subtree_filter

#: verdicts kept in the job's result (all of them are in the xlsx the job writes)
VERDICTS_IN_RESULT = 1000


# ---------------------------------------------------------------- one row

_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?[eE]\+?\d+$")


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def shown(text: str, limit: int = 40) -> str:
    """A value of the file as a message quotes it: printable (a control character shows as �) and short."""
    text = "".join(c if c.isprintable() else "\ufffd" for c in text[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"


def rounded_number(value) -> bool:
    """An identifier that Excel kept as a number (and so rounded to 15 significant digits)."""
    if isinstance(value, float) and not isinstance(value, bool):
        return abs(value) >= 1e15
    return isinstance(value, str) and bool(_SCIENTIFIC.match(value.strip()))


@dataclass
class Prepared:
    """A row that passed every check that needs no database look-up."""

    row: int
    tenant_id: int
    keeper_id: int
    clean: dict
    import_key: str
    people: list  # (field path of the ID number, normalised ID number), head first


class _Slot(NamedTuple):
    """A column of the file as the importer reads it (computed once per file)."""

    index: int
    column: Column
    kind: str
    field: str
    parts: tuple
    group: int | None
    choices: dict | None


_REASON_SPLIT = re.compile(r"[,，、;；/\s]+")
CURRENCY = re.compile(r"^[¥￥]|元$")


def _put(data: dict, parts: tuple, value) -> None:
    node = data
    for part in parts[:-1]:
        if part.isdigit():
            index = int(part)
            while len(node) <= index:
                node.append({})
            node = node[index]
        else:
            node = node.setdefault(part, [] if part == "members" else {})
    node[parts[-1]] = value


class HouseholdImport:
    """One run over one file: checks its rows and keeps the verdicts and the counts (``landing.land`` lands
    the checked rows)."""

    def __init__(self, tenant: Tenant, actor, *, job_id: str | None = None, upload_id: int | None = None,
                 filename: str = ""):
        self.tenant_id, self.tenant_path, self.tenant_name = tenant.id, tenant.path, tenant.name
        self.tenant_code = tenant.code
        self.actor, self.job_id, self.upload_id, self.filename = actor, job_id, upload_id, filename
        self.imported = 0
        self.already_imported = 0
        self.verdicts: list[dict] = []
        self.rejected_rows: set[int] = set()
        self._first_seen: dict[str, int] = {}
        self._targets: dict[str, tuple | object] = {}
        self._slots: list[_Slot] = []
        self._index: dict[str, int] = {}

    # -- the header

    def use_headers(self, headers: list[str]) -> list[str]:
        """Map the file's columns; returns the headers that are ignored."""
        ignored = []
        for index, header in enumerate(headers):
            column = COLUMN_BY_HEADER.get(header)
            if column is not None:
                member = MEMBER_RE.match(column.field)
                name = column.field.rsplit(".", 1)[-1]
                self._slots.append(_Slot(index, column, column.kind, column.field, tuple(column.field.split(".")),
                                         int(member.group(1)) if member else None, CHOICES.get(name)))
                self._index[column.field] = index
            elif header:
                ignored.append(shown(header))
        return ignored

    # -- verdicts

    def _reject(self, row: int, errors: dict) -> None:
        self.rejected_rows.add(row)
        for path, messages in errors.items():
            column = COLUMN_BY_FIELD.get(path)
            msgs = messages if isinstance(messages, list | tuple) else [messages]
            self.verdicts.append({"row": row, "field": path, "column": column.header if column else "",
                                  "message": " ".join(str(m) for m in msgs)})

    # -- the target union of a row

    def _target(self, code: str):
        """``(tenant id, keeper id)`` for the code in the file, or the message why it cannot hold the row."""
        code = code.strip().upper() or self.tenant_code
        if code not in self._targets:
            tenant = db.session.scalar(select(Tenant).where(Tenant.code == code,
                                                            subtree_filter(Tenant, self.tenant_path)))
            if tenant is None:
                result = _l("There is no union with the code %(code)s below %(union)s.", code=shown(code),
                            union=self.tenant_name)
            elif not ops.may_register_in(tenant, self.actor):
                result = _l("Only the union itself or the union keeping its archive registers households.")
            else:
                result = (tenant.id, ops.archive_keeper(tenant).id)
            self._targets[code] = result
        return self._targets[code]

    # -- checking a row

    def check_row(self, row: int, cells: list) -> Prepared | None:
        errors: dict = {}
        data: dict = {}
        groups: set[int] = set()  # member groups (0-based) present in this row
        target = None
        width = len(cells)
        for slot in self._slots:
            raw = cells[slot.index] if slot.index < width else None
            if raw is None or raw == "":
                continue
            text = cell_text(raw)
            if not text:
                continue
            if slot.group is not None:
                groups.add(slot.group)
            kind = slot.kind
            if kind in ("tenant", "choice", "reasons"):  # read here, before the schema: its text rule first
                try:
                    clean_text(text)
                except ValidationError as exc:
                    errors[slot.field] = exc.messages
                    continue
            if kind == "tenant":
                target = self._target(text)
                if not isinstance(target, tuple):
                    errors["tenant"] = [target]
                data["tenant"] = text
                continue
            if kind in ("id", "card") and rounded_number(raw):
                errors[slot.field] = [_l("Excel kept this number as a number and rounded it (%(value)s): format "
                                         "the column as text and type the number again.", value=shown(text))]
                continue
            if kind == "choice":  # the file's words (Chinese labels) for the schema's keys
                value = slot.choices.get(text.replace(" ", "")) or slot.choices.get(text.lower())
                if value is None:
                    errors[slot.field] = [_l("Unknown value %(value)s; write one of: %(choices)s.", value=shown(text),
                                             choices=labels_text(slot.column.choices))]
                    continue
            elif kind == "reasons":
                words = [w for w in _REASON_SPLIT.split(text) if w]
                value = [slot.choices.get(w) or slot.choices.get(w.lower()) for w in words]
                unknown = [w for w, v in zip(words, value, strict=True) if v is None]
                if unknown:
                    errors["reasons"] = [_l("Unknown reasons: %(r)s; write them as %(choices)s.",
                                            r=shown("、".join(unknown)), choices=labels_text(REASON_LABELS))]
                    continue
            elif kind == "money":
                value = CURRENCY.sub("", text).strip()
            else:
                value = text
            _put(data, slot.parts, value)
        members_present = sorted(groups)
        if target is None:
            target = self._target("")
            if not isinstance(target, tuple):
                errors["tenant"] = [target]
        data.setdefault("tenant", self.tenant_code)
        # members as the schema numbers them (only the groups present), mapped back to the file's groups
        members = data.pop("members", [])
        data["members"] = [members[g] if g < len(members) else {} for g in members_present]
        try:
            clean = load_data(HouseholdIn, data)
        except ValidationFailed as exc:
            clean = None
            for path, messages in exc.fields.items():
                match = MEMBER_RE.match(path)
                if match:
                    path = f"members.{members_present[int(match.group(1))]}.{match.group(2)}"
                errors.setdefault(path, messages)
        people = self._people(row, cells, members_present, clean, errors)
        if errors:
            self._reject(row, errors)
            return None
        head_number = clean["head"]["id_number"]
        key = hashlib.sha256(f"{self.tenant_id}:{head_number}".encode()).hexdigest()
        return Prepared(row, target[0], target[1], clean, key, people)

    def _people(self, row: int, cells: list, groups: list[int], clean: dict | None, errors: dict) -> list:
        """The row's ID numbers that could be read, head first; one person, one archive within the file."""
        if clean is not None:
            found = [("head.id_number", clean["head"]["id_number"])] + [
                (f"members.{g}.id_number", m["id_number"]) for g, m in zip(groups, clean["members"], strict=True)]
        else:
            found = []
            for path in ["head.id_number", *[f"members.{g}.id_number" for g in groups]]:
                index = self._index.get(path)
                if index is None or index >= len(cells):
                    continue
                try:
                    found.append((path, parse_id_number(cell_text(cells[index])).number))
                except FieldError:
                    continue
        for path, number in found:
            earlier = self._first_seen.setdefault(number, row)
            if earlier != row and path not in errors:
                errors[path] = [_l("The same person is already in row %(row)d of this file.", row=earlier)]
        return found

    def result(self, total: int) -> dict:
        return {"file": self.filename, "imported": self.imported, "already_imported": self.already_imported,
                "rejected_rows": len(self.rejected_rows), "rejected": self.verdicts[:VERDICTS_IN_RESULT],
                "rejected_complete": len(self.verdicts) <= VERDICTS_IN_RESULT, "rows": total}

