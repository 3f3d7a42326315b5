"""Migrations: ``hardship init`` on an empty database, models that match the migrations, PostgreSQL's
row-level security objects, a downgrade that leaves nothing, migrations that import nothing of the
application, and the command line's errors.

The schema comparison makes a model change without a migration fail the suite: run
``flask --app wsgi db migrate -m "..."`` (the file is named with its date prefix) and review it.
"""

from __future__ import annotations

import ast
import re
import secrets
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.conftest import DATABASE_URL, IS_PG, TEST_CONFIG, system

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


def _upgrade(app, revision: str = "head") -> None:
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade(revision=revision)


def _check_constraints(inspector, metadata) -> tuple[set, set]:
    """The named CHECK constraints of every model's table: in the database, in the models."""
    in_db = {(t, c["name"]) for t in metadata.tables for c in inspector.get_check_constraints(t)}
    in_models = {(t.name, c.name) for t in metadata.tables.values() for c in t.constraints
                 if isinstance(c, sa.CheckConstraint)}
    return in_db, in_models


def test_models_match_migrations(fresh_app):
    """An empty database upgraded to head is the models' schema: ``alembic`` autogenerate finds nothing
    to do (tables, columns and their types, nullability and server defaults, indexes, unique constraints,
    foreign keys), the CHECK constraints are the models' and, on PostgreSQL, the tenants' path is C-collated."""
    from hardship.core.db import db

    _upgrade(fresh_app)
    engine = _owner_engine(fresh_app)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            diff = compare_metadata(context, db.metadata)
            in_db, in_models = _check_constraints(sa.inspect(conn), db.metadata)
            if conn.dialect.name == "postgresql":
                assert conn.execute(sa.text(
                    "select collation_name from information_schema.columns "
                    "where table_name = 'tenants' and column_name = 'path'")).scalar() == "C"
    finally:
        engine.dispose()
    assert diff == [], "models and migrations differ; add a migration:\n" + "\n".join(map(repr, diff))
    assert in_models and in_db == in_models


#: what the runtime role may only read and append to (the audit log, the archive's history, the ledger)
APPEND_ONLY = {"audit_events", "household_events", "fund_transactions", "fund_entries", "goods_movements",
               "aid_batch_events", "desk_case_events", "report_filing_events"}
#: what the runtime role changes only through a function that runs as the owner (a lot's balance: the ledger's)
FUNCTION_WRITTEN = {"fund_lots"}
#: tenant-owned tables the runtime role may only read (written by triggers that run as the owner)
READ_ONLY = {"report_versions"}
ROW_SECURITY_FUNCTIONS = {"hardship_scope", "hardship_scope_ids", "hardship_tree_changed_now", "hardship_tree_changed",
                          "hardship_change_lots", "hardship_reseal_event"}


def test_head_has_the_row_level_security_objects(fresh_app):
    """On PostgreSQL, after ``hardship init``: row-level security and the ``tenant_subtree`` policy on
    ``tenants`` and on exactly the tables of the tenant-owned models, the scope's functions, the tree's
    version and its trigger; PUBLIC may run none of the functions that run as the owner; the runtime role
    may not rewrite the append-only tables, nor update or delete the lots (it changes them through
    ``hardship_change_lots``, which runs as the owner)."""
    from hardship.core.db import db

    if not fresh_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("row-level security is a PostgreSQL matter")
    result = fresh_app.test_cli_runner().invoke(args=["hardship", "init"])
    assert result.exit_code == 0, result.output
    owned = {t.name for t in db.metadata.tables.values() if "tenant_id" in t.c}
    assert APPEND_ONLY < owned
    role = fresh_app.config["DATABASE_RUNTIME_ROLE"]
    engine = _owner_engine(fresh_app)
    try:
        with engine.connect() as conn:
            def rows(sql, **params):
                return set(conn.execute(sa.text(sql), params).all())

            secured = rows("select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                           "where n.nspname = 'public' and c.relkind = 'r' and c.relrowsecurity")
            policies = rows("select tablename, policyname from pg_policies where schemaname = 'public'")
            functions = rows("select p.proname, p.prosecdef, has_function_privilege('public', p.oid, 'EXECUTE') "
                             "from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                             "where n.nspname = 'public'")
            triggers = rows("select tgname, tgfoid::regproc::text from pg_trigger "
                            "where tgrelid = 'public.tenants'::regclass and not tgisinternal")
            version = conn.execute(sa.text("select version from tenant_tree_version")).scalar()
            sequence = conn.execute(sa.text("select to_regclass('public.tenant_tree_version_seq')")).scalar()
            may = {(table, privilege) for table in owned | {"tenant_tree_version"}
                   for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")
                   if conn.execute(sa.text("select has_table_privilege(:r, :t, :p)"),
                                   {"r": role, "t": f"public.{table}", "p": privilege}).scalar()}
    finally:
        engine.dispose()
    assert secured == {(t,) for t in owned | {"tenants"}}
    assert policies == {(t, "tenant_subtree") for t in owned | {"tenants"}}
    assert ROW_SECURITY_FUNCTIONS <= {name for name, _definer, _public in functions}
    owners = {name for name, definer, _public in functions if definer}
    assert {"hardship_tree_changed_now", "hardship_tree_changed", "hardship_change_lots",
            "hardship_reseal_event", "hardship_report_changed_households",
            "hardship_report_changed_household_events", "hardship_report_changed_aid_items"} <= owners
    assert not {name for name, definer, public in functions if definer and public}, functions
    assert triggers == {("tenants_tree_changed", "hardship_tree_changed")}
    assert version is not None and sequence is not None
    for table in owned:
        expected = {"SELECT"} if table in READ_ONLY else {"SELECT", "INSERT"} | (
            set() if table in APPEND_ONLY | FUNCTION_WRITTEN else {"UPDATE", "DELETE"})
        assert {p for t, p in may if t == table} == expected, table
    assert {p for t, p in may if t == "tenant_tree_version"} == {"SELECT"}


def _ours(conn) -> dict[str, set]:
    """What of ours the database holds: tables (but Alembic's own), and on PostgreSQL functions,
    sequences, policies and triggers in the public schema."""
    found = {"tables": set(sa.inspect(conn).get_table_names()) - {"alembic_version"}}
    if conn.dialect.name == "postgresql":
        for kind, sql in {
            "functions": "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                         "where n.nspname = 'public'",
            "sequences": "select sequence_name from information_schema.sequences where sequence_schema = 'public'",
            "policies": "select policyname from pg_policies where schemaname = 'public'",
            "triggers": "select t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid "
                        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' "
                        "and not t.tgisinternal",
        }.items():
            found[kind] = set(conn.execute(sa.text(sql)).scalars())
    return found


def test_downgrade_to_base_leaves_nothing_of_ours(fresh_app):
    """Downgrading the head drops every table, function and sequence it made; upgrading again works, and on
    PostgreSQL the tree's version then starts above any number it gave before."""
    from hardship.core.db import db

    engine = _owner_engine(fresh_app)
    try:
        _upgrade(fresh_app)
        with engine.connect() as conn:
            made = _ours(conn)
            first = (conn.execute(sa.text("select version from tenant_tree_version")).scalar()
                     if conn.dialect.name == "postgresql" else 0)
        assert made["tables"] == set(db.metadata.tables)
        if "functions" in made:
            assert ROW_SECURITY_FUNCTIONS <= made["functions"] and "tenant_tree_version_seq" in made["sequences"]
        with fresh_app.app_context():
            import flask_migrate

            flask_migrate.downgrade(revision="base")
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == ()
            assert all(not objects for objects in _ours(conn).values()), _ours(conn)
        _upgrade(fresh_app)
        with engine.connect() as conn:
            assert _ours(conn) == made
            if conn.dialect.name == "postgresql":
                assert conn.execute(sa.text("select version from tenant_tree_version")).scalar() > first
    finally:
        engine.dispose()


def test_the_aid_recount_drops_the_kept_figures(fresh_app):
    """Figures kept before the aid counting was mended (5b1e7c9d3a20) are dropped, to be counted again."""
    engine = _owner_engine(fresh_app)
    try:
        _upgrade(fresh_app, "9f3a6c2e1b7d")
        with engine.begin() as conn:
            conn.execute(sa.text("insert into tenants (code, name, level, path, depth, active, created_at) "
                                 "values ('P98', '测试', 'province', '/P98/', 0, :yes, CURRENT_TIMESTAMP)"),
                         {"yes": True})
            tenant = conn.execute(sa.text("select id from tenants where code = 'P98'")).scalar()
            conn.execute(sa.text("insert into report_figures (tenant_id, year, month, version, figures, counted_at) "
                                 "values (:t, 2026, 0, 1, '{}', CURRENT_TIMESTAMP)"), {"t": tenant})
        _upgrade(fresh_app)
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from report_figures")).scalar() == 0
            assert conn.execute(sa.text("select count(*) from tenants where code = 'P98'")).scalar() == 1
    finally:
        engine.dispose()


def test_a_database_of_a_removed_revision_is_refused(fresh_app):
    """A database stamped with a development revision squashed into the baseline (an old
    ``instance/hardship.db``) is left alone, with a message that says what to do."""
    engine = _owner_engine(fresh_app)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("create table alembic_version (version_num varchar(32) primary key)"))
            conn.execute(sa.text("insert into alembic_version values ('a7d3e9f1b2c4')"))
        result = fresh_app.test_cli_runner().invoke(args=["hardship", "init"])
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == ("a7d3e9f1b2c4",)
            assert not _ours(conn)["tables"]
    finally:
        engine.dispose()
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    database = sa.engine.make_url(fresh_app.config["DATABASE_OWNER_URL"]).database
    remedy = f"delete the file {database}" if database.endswith(".db") else f"drop the database {database}"
    assert "a7d3e9f1b2c4" in result.output and remedy in result.output and "hardship init" in result.output


#: the application's top-level packages, which a migration may not import
APP_PACKAGES = {p.name for p in REPO.iterdir() if (p / "__init__.py").is_file()}


def _application_imports(source: str) -> list[str]:
    imported = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            imported.append(node.module)
    return [name for name in imported if name.split(".")[0] in APP_PACKAGES]


def test_migrations_import_nothing_of_the_application():
    """Migrations are frozen text: an application change never changes what an old migration does."""
    assert {"hardship", "tenants"} <= APP_PACKAGES
    assert _application_imports("import hardship.core.db\nfrom tenants import rls\nfrom alembic import op") == [
        "hardship.core.db", "tenants"]
    files = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert files
    for path in files:
        assert _application_imports(path.read_text(encoding="utf-8")) == [], path.name
    # nor does the template new migrations start from
    template = (MIGRATIONS / "script.py.mako").read_text(encoding="utf-8")
    assert not re.search(rf"^\s*(from|import)\s+({'|'.join(APP_PACKAGES)})\b", template, re.M)


def test_an_autogenerated_migration_imports_nothing_of_the_application(tmp_path):
    """``db migrate`` writes a new migration as frozen text too: the template imports no application
    package and an application type (``UTCDateTime``) is written as the SQLAlchemy type it stores as."""
    import flask_migrate

    from hardship.app import create_app
    from hardship.core.db import db

    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, directory, ignore=shutil.ignore_patterns("versions", "__pycache__"))
    (directory / "versions").mkdir()
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "DATABASE_OWNER_URL": url})
    with app.app_context():
        flask_migrate.migrate(directory=str(directory), message="everything")
        db.engine.dispose()
    [written] = (directory / "versions").glob("*.py")
    source = written.read_text(encoding="utf-8")
    assert "op.create_table('audit_events'" in source and "sa.DateTime(timezone=True)" in source
    assert _application_imports(source) == []


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
