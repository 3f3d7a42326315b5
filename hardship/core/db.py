"""The database handle, metadata naming convention and shared column types."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from hardship.core.errors import OutcomeUnknown

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC timestamps on PostgreSQL and SQLite alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def commit() -> None:
    """Commit the session's transaction: what every owner of a transaction calls (the API's routes, the pages,
    the command line). Pending changes are flushed first, so their errors stay "nothing was saved". A COMMIT
    that fails because the connection was lost may or may not have been carried out: that is
    :class:`~hardship.core.errors.OutcomeUnknown` (503), never "nothing was saved"."""
    session = db.session
    session.flush()
    try:
        session.commit()
    except sa.exc.DBAPIError as exc:
        lost = exc.connection_invalidated or (isinstance(exc, sa.exc.OperationalError)
                                              and session.get_bind().dialect.name == "postgresql")
        session.rollback()
        if lost:
            raise OutcomeUnknown() from exc
        raise
