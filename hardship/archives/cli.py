"""The archive on the command line: ``flask --app wsgi hardship rotate-pii``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from hardship.core.db import db


@click.command("rotate-pii")
@with_appcontext
def rotate_pii_command():
    """Re-encrypt personal data written with an older key of PII_KEYS with the current (first) key."""
    from hardship.archives.keys import rotate_personal_data

    done: dict[str, int] = {}
    for table, count in rotate_personal_data():
        db.session.commit()  # each batch: a rotation stopped half-way is completed by running it again
        done[table] = count
    for table, count in done.items():
        click.echo(f"{table}: {count} rows re-encrypted")


commands = [rotate_pii_command]
