"""What every module's command line shares (``flask --app wsgi hardship ...``; the commands live with their
module in ``<module>/cli.py``, each listing them in ``commands``)."""

from __future__ import annotations

import sys

import click

from hardship.core.errors import AppError


def fail(exc: AppError) -> None:
    """Print a refused input as ``error: ...`` naming each field and its problem, and exit 2."""
    message = str(exc.message)
    if exc.fields:
        message += " " + "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                                   for k, v in exc.fields.items())
    click.echo(f"error: {message}", err=True)
    sys.exit(2)
