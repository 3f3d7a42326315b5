"""The generated province (``hardship generate``): its small profile passes ``hardship reconcile`` and the summary
oracle, and the summary's fast path equals the oracle on it; ID numbers valid and unique; every status and
category present; counts per status as reported; re-running refuses (exit 2, nothing written)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from hardship.archives.models import CATEGORIES, STATUSES, Household, Person
from hardship.core.db import db
from hardship.core.idcard import parse_id_number
from tests.conftest import system
from tests.fixtures.summary import assert_same

TODAY = date.today()


def _generate(app, *args):
    return app.test_cli_runner().invoke(args=["hardship", "generate", *args])


def _reported(output: str, kind: str) -> dict:
    return {line.split("\t")[1]: int(line.split("\t")[2]) for line in output.splitlines()
            if line.startswith(kind + "\t")}


def test_small_profile_reconciles_and_matches_the_oracle(app):
    from hardship.core import crypto
    from hardship.reports.queries import summary
    from tenants.models import Tenant

    result = _generate(app, "--profile", "small")
    assert result.exit_code == 0, result.output
    assert "300 households" in result.output
    by_status = _reported(result.output, "status")
    assert set(by_status) == set(STATUSES) and sum(by_status.values()) == 300
    assert set(_reported(result.output, "category")) == set(CATEGORIES)

    reconciled = app.test_cli_runner().invoke(args=["hardship", "reconcile"])
    assert reconciled.exit_code == 0, reconciled.output

    with system(app):
        # every person's ID number valid, unique (the blind index too), and its blind index right
        people = db.session.execute(sa.select(Person.id_enc, Person.id_index, Person.row_key)).all()
        numbers = [crypto.decrypt(enc, "persons.id", key) for enc, _index, key in people]
        assert len(set(numbers)) == len(numbers) > 300
        assert len({index for _e, index, _k in people}) == len(people)
        for number, (_enc, index, _key) in zip(numbers, people, strict=True):
            assert parse_id_number(number, today=TODAY).number == number
            assert crypto.blind_index(number) == index
        stored = dict(db.session.execute(sa.select(Household.status, sa.func.count()).group_by(Household.status)).all())
        assert stored == by_status

        root = db.session.scalar(sa.select(Tenant).where(Tenant.code == "GP"))
        for year in (TODAY.year - 1, TODAY.year):
            whole = summary(root, year, today=TODAY)
            parts = [whole["own"], *whole["children"]]
            for status in STATUSES:
                assert whole["households"]["by_status"][status] == sum(
                    p["households"]["by_status"][status] for p in parts)
            for money in ("received", "disbursed", "balance"):
                assert whole["funds"][money] == sum(p["funds"][money] for p in parts), money
            for section, figure in (("aid", "amount"), ("aid", "person_times"), ("desk", "received")):
                whole_figure = whole[section]["total"][figure] if section == "aid" else whole[section][figure]
                assert whole_figure == sum((p[section]["total"][figure] if section == "aid" else p[section][figure])
                                           for p in parts), (section, figure)
        whole = summary(root, TODAY.year, today=TODAY)
        assert whole["households"]["by_status"] == by_status  # the history leaves each household in its status
        assert whole["funds"]["disbursed"] > 0 and whole["households"]["stock"] == by_status["archived"]
        assert "4 aid batches paid" in result.output and whole["aid"]["total"]["amount"] > 0
        assert whole["desk"]["received"] + summary(root, TODAY.year - 1, today=TODAY)["desk"]["received"] > 0
        county = db.session.scalar(sa.select(Tenant).where(Tenant.code == "GK0101"))
        at_county = summary(county, TODAY.year, TODAY.month, today=TODAY)
        assert sum(at_county["households"]["by_status"].values()) == 75  # 300 over four counties

        # the fast path (SPEC 6.2) answers as the oracle: the province, a city and a county, the year and each month
        for code in ("GP", "GC01", "GK0101"):
            union = db.session.scalar(sa.select(Tenant).where(Tenant.code == code))
            for month in (None, *range(1, 13)):
                assert_same(union, TODAY.year, month, TODAY)

    # re-running refuses, and writes nothing
    again = _generate(app, "--households", "10")
    assert again.exit_code == 2 and "exists already" in again.output
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 300


def test_the_planner_knows_the_generated_rows(committed, app):
    """``generate`` refreshes PostgreSQL's statistics (``hardship.cli.analyze_database``): without them the
    summary's recount of one union after a change read the whole history table per household (1.3 s)."""
    import pytest

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("planner statistics are a PostgreSQL matter")
    result = _generate(app, "--households", "40")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT reltuples FROM pg_class WHERE relname = 'households'")) == 40


def test_bad_options_are_refused(app):
    for args in ([], ["--profile", "small", "--households", "5"], ["--households", "abc"], ["--households", "0"],
                 ["--profile", "huge"]):
        result = _generate(app, *args)
        assert result.exit_code == 2, (args, result.output)
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 0
