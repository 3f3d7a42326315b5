"""Key rotation for the archive's encrypted personal data (see ``hardship.core.crypto``): the households' and
people's columns, and the personal values a correction's history keeps (``HouseholdEvent.changes``, bound to the
household's row key). The history is append-only for PostgreSQL's runtime role: its values are re-encrypted
through ``hardship_reseal_event`` (migration 7a4c2e9d1b06), which changes nothing but those values; on SQLite
with a plain UPDATE."""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import or_, select

from hardship.archives.models import Household, HouseholdEvent, Person
from hardship.core import crypto
from hardship.core.db import db
from tenants.scoping import system_scope

#: model -> {attribute: associated-data label used when it was encrypted}
ENCRYPTED_COLUMNS = {
    Household: {"address_enc": "households.address", "card_enc": "households.card"},
    Person: {"id_enc": "persons.id", "phone_enc": "persons.phone"},
}


def rotate_personal_data(batch: int = 500) -> Iterator[tuple[str, int]]:
    """Re-encrypt every value not written with the current (first) key of ``PII_KEYS`` or not bound to its
    row (written before the binding), bound to its row, one batch at a
    time: yields ``(table, rows rewritten so far)`` after each batch and at each table's end, so that the
    caller commits each batch and the rotation can be stopped and run again."""
    current = crypto.current_prefix()
    with system_scope():
        for model, columns in ENCRYPTED_COLUMNS.items():
            stale = or_(*[getattr(model, attr).notlike(f"{current}%") for attr in columns])
            count = 0
            last_id = 0
            while True:
                rows = db.session.scalars(select(model).where(stale, model.id > last_id)
                                          .order_by(model.id).limit(batch)).all()
                if not rows:
                    break
                for row in rows:
                    for attr, label in columns.items():
                        value = getattr(row, attr)
                        if crypto.needs_rotation(value):
                            setattr(row, attr, crypto.encrypt(crypto.decrypt(value, label, row.row_key), label, row.row_key))
                    last_id = row.id
                count += len(rows)
                db.session.flush()  # under the system scope, before the caller commits
                yield model.__tablename__, count
            yield model.__tablename__, count
    yield from rotate_history(batch)


#: the keys of a sealed history entry that hold ciphertexts (a member added or removed: its ID number only)
SEALED_KEYS = ("before", "after", "id_number")
_RESEAL_PG = sa.text("SELECT hardship_reseal_event(:id, CAST(:changes AS json))")


def sealed_values(entry: dict) -> tuple[str, ...]:
    """The keys of a history entry (one of a correction's ``fields``) whose values are encrypted."""
    if not entry.get("sealed"):
        return ()
    keys = ("id_number",) if entry.get("field") == "member" else SEALED_KEYS
    return tuple(k for k in keys if isinstance(entry.get(k), str))


def resealed(changes: dict, row_key: str) -> dict | None:
    """``changes`` with every encrypted value not written with the current key (or not bound) re-encrypted, or
    ``None`` when none needs it."""
    fields, stale = [], False
    for entry in changes.get("fields") or ():
        entry = dict(entry)
        for key in sealed_values(entry):
            if crypto.needs_rotation(entry[key]):
                plain = crypto.decrypt(entry[key], "household_events.changes", row_key)
                entry[key] = crypto.encrypt(plain, "household_events.changes", row_key)
                stale = True
        fields.append(entry)
    return {**changes, "fields": fields} if stale else None


def rotate_history(batch: int = 500) -> Iterator[tuple[str, int]]:
    """:func:`rotate_personal_data` for the history: yields ``("household_events", events rewritten so far)``."""
    table = HouseholdEvent.__table__
    with system_scope():
        count = 0
        last_id = 0
        while True:
            rows = db.session.execute(
                select(HouseholdEvent.id, HouseholdEvent.changes, Household.row_key)
                .join(Household, Household.id == HouseholdEvent.household_id)
                .where(HouseholdEvent.id > last_id, sa.cast(HouseholdEvent.changes, sa.Text).like('%"sealed"%'))
                .order_by(HouseholdEvent.id).limit(batch)).all()
            if not rows:
                break
            conn = db.session.connection()
            for event_id, changes, row_key in rows:
                last_id = event_id
                new = resealed(changes or {}, row_key)
                if new is None:
                    continue
                if conn.dialect.name == "postgresql":
                    if not conn.execute(_RESEAL_PG, {"id": event_id, "changes": json.dumps(new)}).scalar():
                        raise crypto.PiiKeyError(f"household_events {event_id} was not re-encrypted")
                else:
                    conn.execute(table.update().where(table.c.id == event_id).values(changes=new))
                count += 1
            yield table.name, count
        yield table.name, count
