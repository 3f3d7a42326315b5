"""Accounts on the command line: ``flask --app wsgi hardship create-user ...``."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from hardship.core.cli import fail
from hardship.core.db import db
from hardship.core.errors import AppError


@click.command("create-user")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--roles", required=True, help="Comma-separated, e.g. admin,clerk.")
@click.option("--display-name", default="")
@with_appcontext
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
            fail(exc)
        click.echo(f"created user {user.username} in {tenant.code} with roles {','.join(user.roles)}")


commands = [create_user_command]
