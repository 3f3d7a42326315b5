"""The household import on the command line: ``flask --app wsgi hardship import-households ...``."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hardship.core.cli import fail
from hardship.core.db import db
from hardship.core.errors import AppError


@click.command("import-households")
@click.option("--tenant", "tenant_code", required=True, help="Code of the importing union, e.g. K0101.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the verdicts.")
@click.option("--verdicts", "verdicts_path", type=click.Path(dir_okay=False),
              help="Also write the verdicts (xlsx) to this file.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
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
            fail(exc)
        job, result = run_committed(run)
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


def run_committed(run):
    """Commit the upload and its job (started ``inline``: it runs as the commit ends) and read its record back:
    ``(job, result)``; a job that did not finish prints ``error: ...`` and exits 2. Also the aid module's
    ``upload-items``."""
    from hardship.jobs.models import Job

    job_id = run.id
    db.session.commit()
    job = db.session.scalar(select(Job).where(Job.id == job_id))
    result = dict(job.result or {})
    if job.status != "finished":
        click.echo(f"error: {result.get('refused') or job.error}", err=True)
        sys.exit(2)
    return job, result


commands = [import_households_command]
