"""The database handle, metadata naming convention and shared column types."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

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


def insert_or_skip(table, dialect: str, index_elements=None, index_where=None) -> sa.Insert:
    """``INSERT INTO table ... ON CONFLICT [(index_elements) [WHERE index_where]] DO NOTHING``, the one
    insert-or-skip of the code base (PostgreSQL and SQLite spell it alike, in their own dialect's insert)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=index_elements, index_where=index_where)


def insert_rows(table: sa.Table, rows: list[dict], *, skip_conflicts_on: list[str] | None = None,
                returning: tuple = (), arrays: bool | None = None) -> sa.Result:
    """Insert ``rows`` (dicts with the same keys; columns with a per-row default among them) into ``table`` in
    one statement on the session's connection; with ``skip_conflicts_on``, a row that collides on that unique
    index is skipped. The ``returning`` columns come back for the rows inserted.

    On PostgreSQL the rows travel as one array per column, ``INSERT ... SELECT ... FROM unnest(...)``, and each
    JSON column as one JSON document (a list, the row's value picked by its position): the import's bulk
    inserts took half the time this way (docs/performance.md, "The import's inserts"). Elsewhere, or with
    ``arrays=False`` (the tests' oracle), a plain executemany."""
    session = db.session
    dialect = session.get_bind().dialect.name
    if not (dialect == "postgresql" if arrays is None else arrays):
        statement = insert_or_skip(table, dialect, skip_conflicts_on) if skip_conflicts_on else sa.insert(table)
        return session.execute(statement.returning(*returning) if returning else statement, rows)
    if dialect != "postgresql":
        raise ValueError("arrays of values are PostgreSQL's")
    from sqlalchemy.dialects.postgresql import insert

    names = list(rows[0])
    # JSON in a text array is escaped character by character (100 ms for 500 history entries): one document
    documents = [name for name in names if isinstance(table.c[name].type, sa.JSON)]
    plain = [name for name in names if name not in documents]
    unnest = sa.func.unnest(*[sa.bindparam(name, type_=sa.ARRAY(table.c[name].type)) for name in plain]) \
        .table_valued(*plain, with_ordinality="position").render_derived(name="v")
    picked, source = {}, unnest
    for name in documents:
        elements = sa.func.json_array_elements(sa.bindparam(name, type_=table.c[name].type)) \
            .table_valued("value", with_ordinality="position").render_derived(name=f"v_{name}")
        source = source.join(elements, elements.c.position == unnest.c.position)
        picked[name] = elements.c.value
    values = sa.select(*[picked[name] if name in picked else unnest.c[name] for name in names]).select_from(source)
    statement = insert(table).from_select(names, values)
    if skip_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=skip_conflicts_on)
    return session.execute(statement.returning(*returning) if returning else statement,
                           {name: [row[name] for row in rows] for name in names})


def among(column, values: list):
    """``column IN values``; on PostgreSQL one array parameter (``= ANY``) rather than a parameter per value
    (a subtree's thousand union ids: sending them one by one cost more than the query)."""
    if db.engine.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=sa.ARRAY(column.type)))
    return column.in_(values)


def page_of(stmt, page: int, per_page: int, *, count: bool = True) -> tuple[list, int | None]:
    """One page (1-based) of ``stmt`` in its own order, and the number of all its rows (``None`` without
    ``count``): every paginated list's. A statement of one entity gives its objects, else its rows."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) \
        if count else None
    result = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    rows = result.scalars().all() if len(stmt.column_descriptions) == 1 else result.all()
    return rows, total


def utcnow() -> datetime:
    return datetime.now(UTC)


#: the time zone whose calendar dates bound a period of the statistics (the offices' dates)
TZ = ZoneInfo("Asia/Shanghai")


def instant(day: date) -> datetime:
    """Midnight at the start of ``day`` in Asia/Shanghai, as a UTC instant (how history times are stored)."""
    return datetime.combine(day, time(0), tzinfo=TZ).astimezone(UTC)


def shanghai_date(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def period_bounds(year: int, month: int | None = None) -> tuple[date, date]:
    """The first day of a statistics period (a year, or a month of it) and the first day after it (Asia/Shanghai
    calendar dates)."""
    if month is None:
        return date(year, 1, 1), date(year + 1, 1, 1)
    return date(year, month, 1), date(year + (month == 12), month % 12 + 1, 1)


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
