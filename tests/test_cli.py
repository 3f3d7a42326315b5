"""The command line of SPEC 8.4."""

import sqlalchemy as sa

from hardship.accounts.models import User
from hardship.archives.models import STATUSES, Household, HouseholdEvent, Objection, Person, Relief, Survey
from hardship.audit.models import AuditEvent
from hardship.core.db import db
from tenants.models import Tenant
from tests.conftest import PASSWORD, system


def test_init_creates_root_idempotently(committed, app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["hardship", "init", "--root", "P09", "--root-name", "某省总工会", "--root-level",
                                "province"])
    assert first.exit_code == 0, first.output
    assert "created root tenant P09" in first.output
    again = runner.invoke(args=["hardship", "init", "--root", "P09", "--root-name", "某省总工会"])
    assert again.exit_code == 0 and "already exists" in again.output
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 1


def test_init_bad_root_level(committed, app):
    result = app.test_cli_runner().invoke(args=["hardship", "init", "--root", "P09", "--root-level", "planet"])
    assert result.exit_code == 2 and "level" in result.output


def test_create_user_cli(app, tree):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["hardship", "create-user", "--tenant", "K0101", "--username", "k0101_zhao",
                             "--password", PASSWORD, "--roles", "clerk,approver"])
    assert ok.exit_code == 0, ok.output
    with system(app):
        user = db.session.scalar(sa.select(User).where(User.username == "k0101_zhao"))
        assert user.roles == ["approver", "clerk"] and user.tenant.code == "K0101"
    for args, needle in [
        (["--tenant", "NOPE", "--username", "abc", "--password", PASSWORD, "--roles", "clerk"], "error"),
        (["--tenant", "K0101", "--username", "abd", "--password", PASSWORD, "--roles", "king"], "roles"),
        (["--tenant", "K0101", "--username", "k0101_zhao", "--password", PASSWORD, "--roles", "clerk"], "username"),
        (["--tenant", "K0101", "--username", "abe", "--password", "short", "--roles", "clerk"], "password"),
    ]:
        bad = runner.invoke(args=["hardship", "create-user", *args])
        assert bad.exit_code == 2 and needle in bad.output.lower(), (args, bad.output)


def test_demo_loads_province_and_prints_logins(committed, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hardship", "demo"])
    assert result.exit_code == 0, result.output
    for login in ["p01_reviewer", "c01_finance", "k0101_clerk", "e0101001_clerk", "Demo@2026"]:
        assert login in result.output
    with system(app):
        levels = dict(db.session.execute(sa.select(Tenant.level, sa.func.count()).group_by(Tenant.level)).all())
        assert levels == {"province": 1, "industry": 1, "city": 2, "county": 6, "enterprise": 30}
        roles_at_k0101 = db.session.scalars(sa.select(User.roles_csv).join(Tenant).where(Tenant.code == "K0101")).all()
        assert sorted(roles_at_k0101) == sorted(["admin", "clerk", "approver", "head", "finance", "auditor", "reviewer"])
    with system(app):
        by_status = dict(db.session.execute(sa.select(Household.status, sa.func.count()).group_by(Household.status)).all())
        reopened = db.session.scalar(sa.select(sa.func.count()).select_from(Household).where(Household.episode > 1))
        holders = set(db.session.scalars(sa.select(Tenant.level).join(Household, Household.tenant_id == Tenant.id)))
        counts = [db.session.scalar(sa.select(sa.func.count()).select_from(m))
                  for m in (Household, Person, Survey, Objection, Relief, HouseholdEvent, AuditEvent)]
    assert set(by_status) == set(STATUSES) and all(n > 0 for n in by_status.values()), by_status
    assert 200 <= sum(by_status.values()) <= 500 and reopened > 0 and holders == {"county", "enterprise"}
    assert all(counts), counts
    again = runner.invoke(args=["hardship", "demo"])
    assert again.exit_code == 0
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 40
        assert [db.session.scalar(sa.select(sa.func.count()).select_from(m))
                for m in (Household, Person, Survey, Objection, Relief, HouseholdEvent, AuditEvent)] == counts


def test_demo_users_can_log_in_and_read_the_archive(committed, app, client):
    """Demo users log in; the demo archive reads like real work: the keeper sees its households in
    full, overdue surveys exist, and the one-person-one-archive rule held while loading."""
    from datetime import date

    app.test_cli_runner().invoke(args=["hardship", "demo"])
    resp = client.post("/api/v1/auth/tokens", json={"username": "c01_finance", "password": "Demo@2026"})
    assert resp.status_code == 201
    token = client.post("/api/v1/auth/tokens", json={"username": "k0101_clerk", "password": "Demo@2026"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/households?tenant=K0101", headers=headers).json
    assert listed["total"] == 50 and not listed["households"][0]["masked"]
    assert client.get("/api/v1/households?tenant=K0101&overdue=1", headers=headers).json["total"] > 0
    with system(app):
        active = db.session.scalars(sa.select(Person.id_index).where(Person.active.is_(True))).all()
        assert len(active) == len(set(active))
        archived = db.session.scalars(sa.select(Household).where(Household.status == "archived")).all()
        assert all(h.archived_on and h.last_survey_on and h.archived_on <= date.today() for h in archived)


def test_worker_needs_redis(app):
    result = app.test_cli_runner().invoke(args=["hardship", "worker", "--burst"])
    assert result.exit_code == 2 and "REDIS_URL" in result.output
