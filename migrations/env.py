"""Alembic environment: migrations run as the database owner (``DATABASE_OWNER_URL``), never as
the runtime role, on their own engine (no ``SET ROLE``)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, pool, types

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = current_app.extensions["migrate"].db.metadata
owner_url = current_app.config["DATABASE_OWNER_URL"]


def render_item(type_, obj, autogen_context):
    """An application type (e.g. ``UTCDateTime``) is written as the SQLAlchemy type it stores as, so a new
    migration never imports the application (migrations are frozen text)."""
    if type_ == "type" and isinstance(obj, types.TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations_offline():
    context.configure(url=owner_url, target_metadata=target_metadata, literal_binds=True,
                      render_item=render_item, render_as_batch=owner_url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(owner_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                          render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
