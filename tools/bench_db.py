"""The scratch database of a benchmark run: on a PostgreSQL server a database of its own, dropped at the end;
otherwise a SQLite file in ``folder``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scratch_database(database_url: str | None, folder: str) -> Iterator[tuple[str, str]]:
    """``(url, backend)`` of a fresh database for one run (``backend`` is ``postgresql`` or ``sqlite``)."""
    if not (database_url and database_url.startswith(("postgres://", "postgresql"))):
        yield f"sqlite:///{folder}/bench.db", "sqlite"
        return
    import sqlalchemy as sa

    from hardship.config import normalise_database_url

    server = normalise_database_url(database_url)
    name = f"hardship_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False), "postgresql"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
