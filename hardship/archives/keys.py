"""Key rotation for the archive's encrypted personal data (see ``hardship.core.crypto``)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import or_, select

from hardship.archives.models import Household, Person
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
