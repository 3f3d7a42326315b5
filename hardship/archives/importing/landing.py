"""Landing checked rows in batches: bulk inserts in which the unique indexes decide (see the package)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from hardship.archives import operations as ops
from hardship.archives.importing.rows import HouseholdImport, Prepared
from hardship.archives.models import (
    Household,
    HouseholdEvent,
    Person,
)
from hardship.core.db import db, insert_rows


def land(importer: HouseholdImport, batch: list[Prepared]) -> list[int]:
    """Insert the prepared rows; returns the new households' ids. The unique indexes decide: a household
    whose import key exists is already imported, and a person active in any household of the deployment
    rejects the row (SPEC 3.5): only when the insert collides are the batch's people looked up (one bulk
    query, for the holding union's name); no look-up precedes the insert, so nothing slips in between."""
    pending = list(batch)
    for _attempt in range(5):
        if not pending:
            return []
        try:
            with db.session.begin_nested():
                ids, skipped = _insert(importer, pending)
        except _Collision as collision:  # the savepoint is rolled back: find who is taken, insert the others
            rejected = _reject_taken(importer, collision.rows)
            if not rejected:
                raise collision.__cause__ from None  # not the one-person rule
            pending = [p for p in pending if p.row not in rejected]
            continue
        importer.already_imported += skipped
        importer.imported += len(ids)
        return ids
    raise RuntimeError("the import keeps colliding with concurrent registrations")


def _reject_taken(importer: HouseholdImport, rows: list[Prepared]) -> set[int]:
    """Reject the rows (new households only) that hold someone already archived; returns their numbers."""
    holders = ops.holder_of([number for p in rows for _path, number in p.people])
    rejected = set()
    for p in rows:
        held = {path: [_l("Already in an open household archive of %(union)s.", union=holders[n])]
                for path, n in p.people if n in holders}
        if held:
            importer._reject(p.row, held)
            rejected.add(p.row)
    return rejected


def _insert(importer: HouseholdImport, rows: list[Prepared]) -> tuple[list[int], int]:
    """Bulk inserts (households, their people, their history); returns the new ids and how many rows
    were already imported. Raises :class:`_Collision` with the new households' rows when someone is
    already archived (the partial unique index on the people's blind index is the one-person rule)."""
    today = date.today()
    actor_id = getattr(importer.actor, "id", None)
    # translated once per batch; the row number goes where the (never printed) NUL stands
    reason = _("Imported from %(file)s, row %(row)s.", file=importer.filename, row="\x00")
    households = [ops.household_columns(p.clean, tenant_id=p.tenant_id, keeper_id=p.keeper_id, applied_on=today,
                                        import_key=p.import_key, created_by_id=actor_id) for p in rows]
    # RETURNING matched by import key (asking for parameter order is row by row on SQLite)
    table = Household.__table__
    by_key = dict(insert_rows(table, households, skip_conflicts_on=["import_key"],
                              returning=(table.c.import_key, table.c.id)).all())
    skipped = len(rows) - len(by_key)
    rows = [p for p in rows if p.import_key in by_key]
    ids = [by_key[p.import_key] for p in rows]
    people, events = [], []
    for p, household_id in zip(rows, ids, strict=True):
        c = p.clean
        people.extend({**ops.person_columns(person, p.tenant_id), "household_id": household_id}
                      for person in [c["head"], *c["members"]])
        events.append({
            "tenant_id": p.tenant_id, "household_id": household_id, "user_id": actor_id,
            "username": getattr(importer.actor, "username", None), "action": "import", "episode": 1,
            "from_status": None, "to_status": "applied",
            "reason": reason.replace("\x00", str(p.row)),
            "changes": {**ops.application_changes(c),
                        "import": {"job": importer.job_id, "upload": importer.upload_id, "row": p.row}},
        })
    if people:
        try:
            insert_rows(Person.__table__, people)
        except IntegrityError as exc:
            raise _Collision(rows) from exc
    if events:
        insert_rows(HouseholdEvent.__table__, events)
    return ids, skipped


class _Collision(Exception):
    """Someone among the people of these new households is already archived."""

    def __init__(self, rows: list):
        super().__init__(f"{len(rows)} households collide")
        self.rows = rows

