"""``insert_rows``: on PostgreSQL the rows travel as arrays (``unnest``); the plain executemany is the oracle
they must match, value for value, awkward text and JSON included."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from hardship.archives.models import Household, HouseholdEvent
from hardship.core.db import db, insert_rows
from tests.conftest import system

AWKWARD = ['带"引号"的', "反斜杠\\和{花括号},逗号", "NULL", "", " 前后空格 ", "单引号'", "换\n行"]


def _households(tenant_id: int, tag: str) -> list[dict]:
    return [{"row_key": f"{tag}{i:031d}", "tenant_id": tenant_id, "archive_tenant_id": tenant_id, "status": "applied",
             "episode": 1, "category": "deep", "primary_reason": "illness",
             "secondary_reasons": [] if i % 2 else ["low_income", text], "income_per_capita": 60050 + i,
             "subsistence": "none", "medical_insurance": "employee", "address_enc": None if i % 3 == 0 else text,
             "bank_name": text[:50], "card_enc": None, "card_luhn_ok": bool(i % 2), "needs": text, "cadre_first": "王五",
             "cadre_second": "", "head_name": f"职工{i}", "applied_on": date(2026, 12, i + 1),
             "import_key": f"{tag}-{i}", "created_by_id": None}
            for i, text in enumerate(AWKWARD)]


def _events(by_key: dict) -> list[dict]:
    return [{"tenant_id": 0, "household_id": household_id, "user_id": None, "username": None, "action": "import",
             "episode": 1, "from_status": None, "to_status": "applied", "reason": f"第{key[2:]}行",
             "changes": {"import": {"row": key[2:]}, "reasons": AWKWARD, "nested": [[1, 2], {"键": None}]}}
            for key, household_id in by_key.items()]


def _stored(tag: str) -> tuple[list, list]:
    table = Household.__table__
    skip = {"id", "row_key", "import_key", "created_at", "updated_at"}
    households = db.session.execute(sa.select(*[c for c in table.c if c.name not in skip], table.c.import_key)
                                    .where(table.c.import_key.like(f"{tag}-%")).order_by(table.c.import_key)).all()
    events = db.session.execute(sa.select(HouseholdEvent.reason, HouseholdEvent.changes, Household.import_key)
                                .join(Household, Household.id == HouseholdEvent.household_id)
                                .where(Household.import_key.like(f"{tag}-%")).order_by(Household.import_key)).all()
    return [tuple(r[:-1]) for r in households], [tuple(r[:-1]) for r in events]


def _land(tenant_id: int, tag: str, arrays: bool) -> dict:
    table = Household.__table__
    rows = _households(tenant_id, tag)
    by_key = dict(insert_rows(table, rows, skip_conflicts_on=["import_key"],
                              returning=(table.c.import_key, table.c.id), arrays=arrays).all())
    insert_rows(HouseholdEvent.__table__, [{**e, "tenant_id": tenant_id} for e in _events(by_key)], arrays=arrays)
    return by_key


def test_arrays_store_what_the_executemany_stores(app, tree):
    with system(app):
        if db.engine.dialect.name != "postgresql":
            pytest.skip("arrays of values are PostgreSQL's")
        from tenants.scoping import get_tenant

        tenant_id = get_tenant("K0101").id
        assert len(_land(tenant_id, "a", arrays=True)) == len(AWKWARD)
        assert len(_land(tenant_id, "b", arrays=False)) == len(AWKWARD)
        by_arrays, by_executemany = _stored("a"), _stored("b")
        assert by_arrays == by_executemany
        assert len(by_arrays[0]) == len(by_arrays[1]) == len(AWKWARD)
        assert by_arrays[1][0][1]["reasons"] == AWKWARD


def test_skipped_conflicts_return_nothing_on_both_paths(app, tree):
    with system(app):
        from tenants.scoping import get_tenant

        tenant_id = get_tenant("K0101").id
        table = Household.__table__
        paths = [False, True] if db.engine.dialect.name == "postgresql" else [False]
        _land(tenant_id, "c", arrays=paths[-1])
        for arrays in paths:
            rows = _households(tenant_id, "c")[:3] + _households(tenant_id, "d")[:1]  # the same keys, one new
            for row in rows:
                row["row_key"] = f"{arrays:d}{row['row_key'][1:]}"
            rows[-1]["import_key"] = f"d-{arrays}"
            got = insert_rows(table, rows, skip_conflicts_on=["import_key"], returning=(table.c.import_key,),
                              arrays=arrays).scalars().all()
            assert got == [f"d-{arrays}"]


def test_arrays_are_refused_outside_postgresql(app, tree):
    with system(app):
        if db.engine.dialect.name == "postgresql":
            pytest.skip("SQLite only")
        with pytest.raises(ValueError):
            insert_rows(Household.__table__, [{"status": "applied"}], arrays=True)
