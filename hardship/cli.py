"""The command line: ``flask --app wsgi hardship ...`` (SPEC 8.4): ``init`` and ``demo`` here; every module's
own commands are in its ``cli.py`` (``commands``), which the app factory adds to this group."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import create_engine, select

from hardship.core.cli import fail
from hardship.core.db import db
from hardship.core.errors import AppError

cli = AppGroup("hardship", help="工会困难职工帮扶平台 commands.")


def upgrade_database() -> None:
    """Bring the database to the latest schema (idempotent) and set up the runtime role.

    The development revisions were squashed into one baseline before the first deployment (issue 13). A
    database stamped with a revision that no longer exists (a developer's old ``instance/hardship.db``) is
    refused with a message to delete it and run ``hardship init`` again, not migrated: it holds only test
    data, and a second path to the schema would have to be kept and tested for nobody."""
    import flask_migrate
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from tenants.rls import setup_runtime_role

    engine = create_engine(current_app.config["DATABASE_OWNER_URL"])
    try:
        with engine.connect() as conn:
            stamped = set(MigrationContext.configure(conn).get_current_heads())
        script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        unknown = stamped - {revision.revision for revision in script.walk_revisions()}
        if unknown:
            url = engine.url
            remedy = (f"delete the file {url.database}" if url.get_backend_name() == "sqlite"
                      else f"drop the database {url.database} and create it empty")
            raise click.ClickException(
                f"the database was made by an older development version (revision {', '.join(sorted(unknown))}, "
                f"which no longer exists: the migrations were squashed into one baseline); {remedy}, "
                "then run `hardship init` again")
        flask_migrate.upgrade()
        with engine.begin() as conn:
            setup_runtime_role(conn, current_app.config["DATABASE_RUNTIME_ROLE"])
    finally:
        engine.dispose()


def analyze_database() -> None:
    """Refresh PostgreSQL's planner statistics (``ANALYZE``, as the owner) after a bulk load. Autovacuum does
    it within minutes on a production server; until then, or on a server where it is off, the planner knows
    nothing of the rows just written and picks plans that read a whole table per row (a generated province's
    summary after one change took 1.3 s instead of 4 ms). Nothing to do on SQLite."""
    url = current_app.config["DATABASE_OWNER_URL"]
    if not str(url).startswith("postgresql"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


@cli.command("init")
@click.option("--root", "root_code", help="Code of the root tenant to create, e.g. P01.")
@click.option("--root-name", help="Name of the root tenant, e.g. 河北省总工会.")
@click.option("--root-level", default="province", show_default=True, help="Level key of the root tenant.")
def init_command(root_code, root_name, root_level):
    """Bring the database to the latest schema and optionally create the root tenant."""
    from hardship.api import load_data
    from tenants.models import Tenant
    from tenants.operations import create_tenant
    from tenants.schemas import TenantCreate
    from tenants.scoping import system_scope

    upgrade_database()
    click.echo("database is at the latest schema")
    if not root_code:
        return
    with system_scope():
        existing = db.session.scalar(select(Tenant).where(Tenant.code == root_code.upper()))
        if existing is not None:
            click.echo(f"root tenant {existing.code} ({existing.name}) already exists")
            return
        try:
            data = load_data(TenantCreate, {"code": root_code, "name": root_name or root_code, "level": root_level},
                             partial=("parent",))
            tenant = create_tenant(None, data["code"], data["name"], data["level"])
            db.session.commit()
        except AppError as exc:
            db.session.rollback()
            fail(exc)
        click.echo(f"created root tenant {tenant.code} ({tenant.name}, {tenant.level})")



@cli.command("demo")
@click.option("--password", default=None, help="Password for every demo user (default: Demo@2026).")
def demo_command(password):
    """Load the demo province (idempotent) and print its logins."""
    from hardship import demo

    upgrade_database()
    logins = demo.load(password or demo.DEMO_PASSWORD)
    db.session.commit()
    click.echo(demo.format_logins(logins, password or demo.DEMO_PASSWORD))
