"""The summary's fast path (SPEC 6.2, ``hardship.reports.figures``): it reads each union's kept figures, the
triggers raise a union's counter with every change to what they count, a changed union is counted again, and the
result always equals the oracle (``exact=1``). The tree and its figures: ``conftest.city``."""

from __future__ import annotations

import sqlalchemy as sa

from hardship.aid.models import AidBatch, AidItem, AidProgram
from hardship.archives.models import Household
from hardship.core.db import db
from hardship.reports import figures, queries
from hardship.reports.models import ReportFigures, ReportVersion
from tenants.models import Tenant
from tests.conftest import system
from tests.reports.conftest import act, register


def both(app, code="C01", year=2026, month=None):
    """The fast path and the oracle of one union and period, as the system; the fast path's kept figures
    committed."""
    with system(app):
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.code == code))
        fast = figures.summary(tenant, year, month)
        db.session.commit()
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.code == code))
        exact = queries.summary(tenant, year, month)
    assert (fast.pop("exact"), exact.pop("exact")) == (False, True)
    return fast, exact


def counter(app, code: str) -> int:
    with system(app):
        return db.session.scalar(sa.select(sa.func.coalesce(ReportVersion.version, 0))
                                 .select_from(Tenant).outerjoin(ReportVersion, ReportVersion.tenant_id == Tenant.id)
                                 .where(Tenant.code == code)) or 0


def kept(app, code: str, year=2026, month=0):
    with system(app):
        return db.session.execute(
            sa.select(ReportFigures.version, ReportFigures.figures).join(Tenant, Tenant.id == ReportFigures.tenant_id)
            .where(Tenant.code == code, ReportFigures.year == year, ReportFigures.month == month)).one_or_none()


def test_the_kept_figures_are_read_and_a_change_counts_them_again(app, city, api_as, monkeypatch):
    fast, exact = both(app)
    assert fast == exact
    with system(app):
        unions = db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)
                                   .where(Tenant.path.startswith(db.session.scalar(
                                       sa.select(Tenant.path).where(Tenant.code == "C01")))))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportFigures)
                                 .where(ReportFigures.year == 2026, ReportFigures.month == 0)) == unions
    version, stored = kept(app, "E0101001")
    assert version == counter(app, "E0101001") and stored["households.stock"] == 3

    # a kept row is what the fast path reads: change it by hand (no record changes) and the summary shows it
    with system(app):
        row = db.session.scalar(sa.select(ReportFigures).join(Tenant, Tenant.id == ReportFigures.tenant_id)
                                .where(Tenant.code == "E0101001", ReportFigures.month == 0))
        row.figures = {**row.figures, "households.stock": 103}
        db.session.commit()
    fast, exact = both(app)
    assert fast["households"]["stock"] == exact["households"]["stock"] + 100

    # a change to one of E0101001's households raises its counter: its figures are counted again, exact
    before = counter(app, "E0101001")
    act(api_as("k0101_all"), city["h1"], "exit", "收入已稳定")
    assert counter(app, "E0101001") > before
    fast, exact = both(app)
    assert fast == exact
    assert kept(app, "E0101001")[1]["households.by_status.exited"] == exact["children"][0]["households"][
        "by_status"]["exited"]


def test_every_watched_table_raises_the_counter_of_its_union(app, city):
    with system(app):
        household = db.session.get(Household, city["h1"])
        batch = db.session.scalar(sa.select(AidBatch))
        e01 = db.session.scalar(sa.select(Tenant.code).where(Tenant.id == household.tenant_id))
        batch_union = db.session.scalar(sa.select(Tenant.code).where(Tenant.id == batch.tenant_id))
        changes = [
            (e01, sa.update(Household).where(Household.id == household.id).values(category=Household.category)),
            (batch_union, sa.update(AidBatch).where(AidBatch.id == batch.id).values(note=AidBatch.note)),
            (batch_union, sa.update(AidItem).where(AidItem.batch_id == batch.id).values(amount=AidItem.amount)),
            (batch_union, sa.update(AidProgram).where(AidProgram.id == batch.program_id)
             .values(name=AidProgram.name)),
        ]
    for code, statement in changes:
        before = counter(app, code)
        with system(app):
            db.session.execute(statement)
            db.session.commit()
        assert counter(app, code) > before, statement
    # a change rolled back raises nothing
    before = counter(app, e01)
    with system(app):
        db.session.execute(changes[0][1])
        db.session.rollback()
    assert counter(app, e01) == before


def test_a_history_entry_raises_the_counter_of_the_households_union(app, city, api_as):
    before, other = counter(app, "E0101001"), counter(app, "K0102")
    act(api_as("k0101_all"), city["h1"], "exit", "收入已稳定")
    assert counter(app, "E0101001") > before and counter(app, "K0102") == other


def test_a_union_added_mid_year_and_every_month(app, city, api_as, factory):
    both(app)  # every union's figures kept
    factory.tenant("E0102001", parent="K0102", level="enterprise")
    register(api_as("k0102_all"), "E0102001", "庚七")
    for month in (None, *range(1, 13)):
        fast, exact = both(app, month=month)
        assert fast == exact, month
    for code in ("K0101", "K0102", "E0101001"):
        fast, exact = both(app, code)
        assert fast == exact, code
    assert both(app, "C01")[0]["households"]["by_status"]["archived"] >= 1


def test_a_kept_row_counted_at_an_older_counter_is_not_used(app, city):
    """What a reader that counted while a change was being committed leaves behind: a row whose counter is older
    than the union's. It is counted again (the counter is read before the records are counted)."""
    both(app)
    with system(app):
        row = db.session.scalar(sa.select(ReportFigures).join(Tenant, Tenant.id == ReportFigures.tenant_id)
                                .where(Tenant.code == "E0101001", ReportFigures.month == 0))
        row.version -= 1
        row.figures = {**row.figures, "households.stock": 999}
        db.session.commit()
    fast, exact = both(app)
    assert fast == exact
    assert kept(app, "E0101001")[1]["households.stock"] == 3


def test_cli_warm_and_exact(app, city):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hardship", "reports", "warm", "--tenant", "C01", "--year", "2026"])
    assert result.exit_code == 0, result.output
    with system(app):
        kept_rows = db.session.scalar(sa.select(sa.func.count()).select_from(ReportFigures))
    assert f"{kept_rows} union-periods kept" in result.output and kept_rows % 13 == 0 and kept_rows >= 13 * 4
    fast = runner.invoke(args=["hardship", "reports", "summary", "--tenant", "C01", "--year", "2026", "--json"])
    exact = runner.invoke(args=["hardship", "reports", "summary", "--tenant", "C01", "--year", "2026", "--json",
                                "--exact"])
    assert fast.exit_code == 0 and exact.exit_code == 0, fast.output + exact.output
    assert '"exact": false' in fast.output and '"exact": true' in exact.output
    assert fast.output.replace('"exact": false', '"exact": true') == exact.output
    bad = runner.invoke(args=["hardship", "reports", "warm", "--tenant", "C01", "--year", "两千"])
    assert bad.exit_code != 0 and "year" in bad.output
