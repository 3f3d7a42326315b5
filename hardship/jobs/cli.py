"""Background jobs on the command line: ``flask --app wsgi hardship worker`` and ``... hardship jobs sweep``."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext


@click.command("worker")
@click.option("--queues", default="default,imports,reports", show_default=True)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@with_appcontext
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


jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("sweep")
def sweep_command():
    """Mark as failed the jobs recorded as running whose process has stopped (a killed worker), keeping what
    they had done and dropping their stored uploads. Workers do this by themselves when they start and
    periodically."""
    from hardship.core.jobs import sweep

    swept = sweep()
    for job_id in swept:
        click.echo(f"job {job_id}: its process stopped; marked as failed")
    click.echo(f"{len(swept)} jobs marked as failed")


commands = [worker_command, jobs_cli]
