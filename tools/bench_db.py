"""What the benchmarks share: the scratch database of a run (on a PostgreSQL server a database of its own,
dropped at the end; otherwise a SQLite file in ``folder``), the generated province, the p95."""

from __future__ import annotations

import math
import secrets
import time
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


def p95(values: list[float]) -> float:
    """The 95th percentile by the nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def generate_province(households: int, today) -> float:
    """In the application's context: the schema brought up to date, ``hardship generate``'s province of
    ``households`` written and committed, PostgreSQL's statistics refreshed (as ``hardship generate`` does, and
    autovacuum would soon after in production); the seconds the generation and its commit took."""
    from hardship.cli import analyze_database, upgrade_database
    from hardship.core.db import db
    from hardship.reports.generate import generate

    upgrade_database()
    started = time.perf_counter()
    generate(households, today=today)
    db.session.commit()
    seconds = round(time.perf_counter() - started, 1)
    analyze_database()
    return seconds
