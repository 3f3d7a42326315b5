"""Background jobs on the command line: ``flask --app wsgi hardship jobs ...``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

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
