"""The command line: ``flask --app wsgi hardship ...`` (SPEC 8.4)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import create_engine, select

from hardship.core.db import db
from hardship.core.errors import AppError

cli = AppGroup("hardship", help="工会困难职工帮扶平台 commands.")


def _fail(exc: AppError) -> None:
    message = str(exc.message)
    if exc.fields:
        message += " " + "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                                   for k, v in exc.fields.items())
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


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
            _fail(exc)
        click.echo(f"created root tenant {tenant.code} ({tenant.name}, {tenant.level})")


@cli.command("create-user")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--roles", required=True, help="Comma-separated, e.g. admin,clerk.")
@click.option("--display-name", default="")
def create_user_command(tenant_code, username, password, roles, display_name):
    """Create a user in a tenant."""
    from hardship.accounts.operations import create_user
    from hardship.accounts.schemas import UserCreate
    from hardship.api import load_data
    from hardship.core.errors import NotFound
    from tenants.scoping import get_tenant, system_scope

    with system_scope():
        try:
            tenant = get_tenant(tenant_code)
        except NotFound:
            click.echo(f"error: there is no tenant with the code {tenant_code.upper()}", err=True)
            sys.exit(2)
        try:
            data = load_data(UserCreate, {"username": username, "password": password, "display_name": display_name,
                                          "roles": [r.strip() for r in roles.split(",") if r.strip()]})
            user = create_user(tenant, data["username"], data["password"], data["roles"], data["display_name"])
            db.session.commit()
        except AppError as exc:
            db.session.rollback()
            _fail(exc)
        click.echo(f"created user {user.username} in {tenant.code} with roles {','.join(user.roles)}")


@cli.command("demo")
@click.option("--password", default=None, help="Password for every demo user (default: Demo@2026).")
def demo_command(password):
    """Load the demo province (idempotent) and print its logins."""
    from hardship import demo

    upgrade_database()
    logins = demo.load(password or demo.DEMO_PASSWORD)
    db.session.commit()
    click.echo(demo.format_logins(logins, password or demo.DEMO_PASSWORD))


@cli.command("worker")
@click.option("--queues", default="default,imports,reports", show_default=True)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker_command(queues, burst):
    """Run a background job worker (RQ) on the configured Redis."""
    from hardship.core.jobs import QUEUES, run_worker

    if not current_app.config.get("REDIS_URL"):
        click.echo("error: REDIS_URL is not set; without it jobs run inline and no worker is needed", err=True)
        sys.exit(2)
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in names if q not in QUEUES]
    if unknown:
        click.echo(f"error: unknown queues {unknown}; known: {', '.join(QUEUES)}", err=True)
        sys.exit(2)
    run_worker(names, burst=burst)


@cli.command("rotate-pii")
def rotate_pii_command():
    """Re-encrypt personal data written with an older key of PII_KEYS with the current (first) key."""
    from hardship.archives.keys import rotate_personal_data

    done: dict[str, int] = {}
    for table, count in rotate_personal_data():
        db.session.commit()  # each batch: a rotation stopped half-way is completed by running it again
        done[table] = count
    for table, count in done.items():
        click.echo(f"{table}: {count} rows re-encrypted")


@cli.command("import-households")
@click.option("--tenant", "tenant_code", required=True, help="Code of the importing union, e.g. K0101.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the verdicts.")
@click.option("--verdicts", "verdicts_path", type=click.Path(dir_okay=False),
              help="Also write the verdicts (xlsx) to this file.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_households_command(tenant_code, lang, verdicts_path, file):
    """Import households from an xlsx or csv FILE, in this process, and print the verdicts.

    The same job as the upload page and POST /api/v1/imports/households; exits 2 when the file is
    refused as a whole (nothing imported), 0 otherwise (rejected rows are listed)."""
    import os

    from flask_babel import force_locale

    from hardship.archives.importing.files import MAX_BYTES, ImportRefused
    from hardship.archives.importing.job import start_household_import
    from hardship.core.errors import NotFound
    from hardship.core.i18n import LOCALES
    from hardship.jobs.models import Job
    from tenants.scoping import get_tenant, system_scope

    with system_scope(), force_locale(LOCALES[lang]):
        try:
            tenant = get_tenant(tenant_code)
        except NotFound:
            click.echo(f"error: there is no tenant with the code {tenant_code.upper()}", err=True)
            sys.exit(2)
        with open(file, "rb") as fh:
            content = fh.read(MAX_BYTES + 1)
        try:
            run = start_household_import(tenant, os.path.basename(file), content, locale=LOCALES[lang], inline=True)
        except ImportRefused as exc:
            db.session.rollback()
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(2)
        except AppError as exc:
            db.session.rollback()
            _fail(exc)
        job_id = run.id
        db.session.commit()  # the upload and its job; the job runs inline as the commit ends
        job = db.session.scalar(select(Job).where(Job.id == job_id))
        result = dict(job.result or {})
        if job.status != "finished":
            click.echo(f"error: {result.get('refused') or job.error}", err=True)
            sys.exit(2)
        click.echo(f"{result.get('file')}: {job.total} rows; imported {result['imported']}, already imported "
                   f"{result['already_imported']}, rejected rows {result['rejected_rows']} (job {job.id})")
        for verdict in result.get("rejected", []):
            click.echo(f"  row {verdict['row']}: {verdict['column'] or verdict['field']} ({verdict['field']}): "
                       f"{verdict['message']}")
        if not result.get("rejected_complete", True):
            click.echo("  ... (the verdicts file lists every rejected row)")
        if verdicts_path:
            with open(verdicts_path, "wb") as fh:
                fh.write(job.output)
            click.echo(f"verdicts written to {verdicts_path}")


@cli.command("reconcile")
def reconcile_command():
    """Recompute every fund lot from the ledger's entries and check that every transaction sums to zero;
    print each difference and exit 1 if there is any."""
    from sqlalchemy import func

    from hardship.funds.models import FundLot, FundTransaction
    from hardship.funds.reconcile import reconcile
    from tenants.scoping import system_scope

    with system_scope():
        differences = reconcile()
        lots = db.session.scalar(select(func.count()).select_from(FundLot))
        transactions = db.session.scalar(select(func.count()).select_from(FundTransaction))
        db.session.rollback()
    for difference in differences:
        click.echo(str(difference))
    if differences:
        click.echo(f"{len(differences)} differences in {lots} lots and {transactions} transactions", err=True)
        sys.exit(1)
    click.echo(f"ledger reconciled: {lots} lots and {transactions} transactions, no differences")


def _register_groups() -> None:
    from hardship.funds.cli import funds_cli
    from hardship.jobs.cli import jobs_cli

    cli.add_command(funds_cli)
    cli.add_command(jobs_cli)


_register_groups()
