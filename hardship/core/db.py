"""The database handle, metadata naming convention and shared column types."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.attributes import set_committed_value

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


def labelled_columns(model, prefix: str) -> tuple[list, dict[str, str]]:
    """``model``'s columns labelled ``<prefix><column>`` for a Core select that joins several tables, and
    the map from those labels to the attribute names :func:`adopt` takes."""
    mapper = sa.inspect(model)
    columns, names = [], {}
    for column in model.__table__.columns:
        columns.append(column.label(prefix + column.name))
        names[prefix + column.name] = mapper.get_property_by_column(column).key
    return columns, names


def adopt(model, values: dict):
    """A persistent ``model`` instance for a row just read or written with a Core statement (``values``:
    its columns by attribute name), without another query: the instance already in the session's identity
    map (its expired attributes filled in from ``values``), else one built from ``values`` as the ORM's
    loading builds a loaded instance (``sqlalchemy.orm.loading``: a new instance, its values straight into
    its dict, its identity key set and the state put in the identity map; a column not in ``values`` is
    expired, so it is read on first access). For hot paths where the ORM's loading, or ``session.add`` of a
    detached instance, cost more than the statement."""
    session = db.session()
    manager, identity_class, columns = _adoption(model)
    key = (identity_class, (values["id"],), None)
    identity_map = session.identity_map
    existing = identity_map.get(key)
    if existing is not None:
        for name in sa.inspect(existing).expired_attributes & values.keys():
            set_committed_value(existing, name, values[name])
        return existing
    obj = manager.new_instance()
    obj.__dict__.update(values)
    state = sa.inspect(obj)
    state.key = key
    state.identity_token = None
    state.session_id = session.hash_key
    identity_map._add_unpresent(state, key)
    missing = columns - values.keys()
    if missing:
        state.expired_attributes.update(missing)
    return obj


@cache
def _adoption(model) -> tuple:
    """``model``'s class manager, the class its identity keys name and its column attributes' names."""
    mapper = sa.inspect(model)
    return mapper.class_manager, mapper._identity_class, frozenset(prop.key for prop in mapper.column_attrs)


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


def connection_lost(conn, exc: Exception) -> bool:
    """Whether ``conn``'s DBAPI connection broke (a driver error met it dead); if so it is invalidated, and
    with it every pooled connection of its generation, as SQLAlchemy does on a disconnect it sees itself
    (a database restart kills them all: the next request then gets a fresh one, not another dead one)."""
    if not getattr(conn.connection.dbapi_connection, "broken", False):
        return False
    conn.engine.pool._invalidate(conn.connection, exc, _checkin=False)
    conn.invalidate(exc)
    return True


def driver_error(conn, exc: Exception, statement: str, params) -> sa.exc.DBAPIError:
    """A driver error raised by code that used ``conn``'s DBAPI connection directly (psycopg's pipeline
    mode, which SQLAlchemy does not wrap), as SQLAlchemy would have raised it, so the app's handlers treat
    it alike (``OperationalError``: busy or unavailable, nothing saved). A connection that broke is
    invalidated, so the pool never hands it out again."""
    broken = connection_lost(conn, exc)
    return sa.exc.DBAPIError.instance(statement, params, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect,
                                      connection_invalidated=broken)
