"""Migrations: ``hardship init`` on an empty database, models that match the migrations, and the
command line's errors.

The schema comparison makes a model change without a migration fail the suite:
run ``flask --app wsgi db migrate -m "..."`` and rename the file with its date prefix.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import DATABASE_URL, IS_PG, TEST_CONFIG, system

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO / "migrations"
ROOT_ARGS = ["--root", "P99", "--root-name", "测试省总工会", "--root-level", "province"]


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request, tmp_path):
    """The URL of a new, empty database (a temporary SQLite file, or a temporary PostgreSQL
    database on the server of ``DATABASE_URL``, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    if not IS_PG:
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    name = f"hardship_migtest_{secrets.token_hex(4)}"
    admin = sa.create_engine(DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.engine.make_url(DATABASE_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def fresh_app(empty_db_url):
    """An application on the empty database (nothing has been run on it yet)."""
    from hardship.app import create_app
    from hardship.core.db import db

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_db_url, "DATABASE_OWNER_URL": empty_db_url})
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _owner_engine(app):
    return sa.create_engine(app.config["DATABASE_OWNER_URL"], poolclass=sa.pool.NullPool)


def test_init_brings_an_empty_database_to_head_and_is_idempotent(fresh_app):
    engine = _owner_engine(fresh_app)
    try:
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == ()
            assert "tenants" not in sa.inspect(conn).get_table_names()

        runner = fresh_app.test_cli_runner()
        first = runner.invoke(args=["hardship", "init", *ROOT_ARGS])
        assert first.exit_code == 0, first.output
        assert "database is at the latest schema" in first.output
        assert "created root tenant P99 (测试省总工会, province)" in first.output

        second = runner.invoke(args=["hardship", "init", *ROOT_ARGS])
        assert second.exit_code == 0, second.output
        assert "database is at the latest schema" in second.output
        assert "root tenant P99 (测试省总工会) already exists" in second.output
        assert "created" not in second.output

        with engine.connect() as conn:
            assert set(MigrationContext.configure(conn).get_current_heads()) == set(_script().get_heads())
            assert conn.execute(sa.text("select code, path, depth, level from tenants")).all() == [
                ("P99", "/P99/", 0, "province")]
            assert conn.execute(sa.text("select action from audit_events")).scalars().all() == ["tenant.create"]
            if conn.dialect.name == "postgresql":
                assert conn.execute(sa.text("select count(*) from pg_tables where schemaname = 'public' "
                                            "and rowsecurity")).scalar() >= 5
    finally:
        engine.dispose()

    # a third run without --root just confirms the schema
    third = fresh_app.test_cli_runner().invoke(args=["hardship", "init"])
    assert third.exit_code == 0 and third.output.strip() == "database is at the latest schema"


def test_models_match_migrations(fresh_app):
    """``alembic`` autogenerate finds nothing to do: every model change has its migration."""
    from hardship.core.db import db

    result = fresh_app.test_cli_runner().invoke(args=["hardship", "init"])
    assert result.exit_code == 0, result.output
    engine = _owner_engine(fresh_app)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
            diff = compare_metadata(context, db.metadata)
    finally:
        engine.dispose()
    assert diff == [], "models and migrations differ; add a migration:\n" + "\n".join(map(repr, diff))


def test_upgrading_from_the_previous_head_keeps_the_runtime_role_reading(fresh_app):
    """The migration that keeps the scope's ids per connection (a7d3e9f1b2c4) adds a table every policy reads:
    the runtime role must read it before ``hardship init`` grants it anything more (servers still running
    meet the new schema at once); a downgrade and upgrade again gives the tree a version above any before."""
    import flask_migrate

    from hardship.core.rls import setup_runtime_role

    if not fresh_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("row-level security is a PostgreSQL matter")
    engine = _owner_engine(fresh_app)
    role = fresh_app.config["DATABASE_RUNTIME_ROLE"]

    def as_runtime(conn, sql):
        conn.execute(sa.text(f"set local role {role}"))
        conn.execute(sa.text("select set_config('app.tenant_path', '/', true)"))
        return conn.execute(sa.text(sql)).scalar()

    try:
        with fresh_app.app_context():
            flask_migrate.upgrade(revision="f6a8b1c3d5e7")
            with engine.begin() as conn:
                setup_runtime_role(conn, role)
            flask_migrate.upgrade()  # no hardship init after it
            with engine.begin() as conn:
                assert as_runtime(conn, "select count(*) from tenant_settings") == 0
                first = conn.execute(sa.text("select version from tenant_tree_version")).scalar()
            flask_migrate.downgrade(revision="f6a8b1c3d5e7")
            flask_migrate.upgrade()
            with engine.begin() as conn:
                assert as_runtime(conn, "select count(*) from tenant_settings") == 0
                assert conn.execute(sa.text("select version from tenant_tree_version")).scalar() > first
    finally:
        engine.dispose()


def test_migration_file_names_and_history():
    names = sorted(p.name for p in (MIGRATIONS / "versions").glob("*.py"))
    assert names
    for name in names:
        match = re.match(r"^(\d{8})_\w+\.py$", name)
        assert match, f"{name}: migration files are named YYYYMMDD_HHMM_<rev>_<slug>.py"
        datetime.strptime(match.group(1), "%Y%m%d")
    script = _script()
    assert len(script.get_heads()) == 1, f"several heads, merge them: {script.get_heads()}"
    revisions = list(script.walk_revisions())
    assert len(revisions) == len(names)
    # the file order (by date prefix) is the order of the history
    by_file = {Path(r.path).name: r.revision for r in revisions}
    oldest_first = [r.revision for r in reversed(revisions)]
    assert [by_file[n] for n in names] == oldest_first


def test_cli_create_user(app, tree):
    from hardship.accounts.models import User
    from hardship.core.db import db

    runner = app.test_cli_runner()

    unknown = runner.invoke(args=["hardship", "create-user", "--tenant", "X999", "--username", "someone",
                                  "--password", "Secret-123!", "--roles", "clerk"])
    assert unknown.exit_code != 0
    assert unknown.output.startswith("error: ") and "X999" in unknown.output, unknown.output
    assert "Traceback" not in unknown.output

    bad_role = runner.invoke(args=["hardship", "create-user", "--tenant", "K0101", "--username", "someone",
                                   "--password", "Secret-123!", "--roles", "clerk,superuser"])
    assert bad_role.exit_code != 0
    assert bad_role.output.startswith("error: ") and "roles" in bad_role.output and "superuser" in bad_role.output

    taken = runner.invoke(args=["hardship", "create-user", "--tenant", "K0101", "--username", "c01_all",
                                "--password", "Secret-123!", "--roles", "clerk"])
    assert taken.exit_code != 0 and taken.output.startswith("error: ") and "c01_all" in taken.output

    with system(app):
        assert db.session.scalar(sa.select(User).where(User.username == "someone")) is None

    ok = runner.invoke(args=["hardship", "create-user", "--tenant", "k0101", "--username", "someone",
                             "--password", "Secret-123!", "--roles", "clerk,approver"])
    assert ok.exit_code == 0, ok.output
    assert "created user someone in K0101 with roles" in ok.output
    with system(app):
        user = db.session.scalar(sa.select(User).where(User.username == "someone"))
        assert user.tenant.code == "K0101" and sorted(user.roles) == ["approver", "clerk"]
