"""Shared fixtures.

The database is picked from ``DATABASE_URL`` (PostgreSQL in CI) or is a temporary SQLite file.
It is brought to the latest migration once per session (as ``hardship init`` does). Each test then
runs on one connection inside a transaction that is rolled back at its end: the session joins it
with savepoints, so the code's own commits commit only a savepoint. A test whose data must be seen
by another connection (a live server or worker, its own engine, threads) asks for ``committed``:
its commits are real and the tables are emptied after it.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import flask
import pytest
import sqlalchemy as sa
from flask_sqlalchemy.query import Query
from flask_sqlalchemy.session import Session as FlaskSession

_TMP = tempfile.mkdtemp(prefix="hardship-tests-")
os.environ.setdefault("HARDSHIP_INSTANCE", _TMP)

from hardship.app import create_app  # noqa: E402
from hardship.config import normalise_database_url  # noqa: E402
from hardship.core.db import db  # noqa: E402


def _database_of_this_worker(url: str) -> str:
    """Under pytest-xdist (``make test`` runs two workers) each worker has a database of its own: SQLite
    files already differ (``_TMP`` is per process); on PostgreSQL it is ``<name>_<worker>`` on the same
    server, created here when missing. Exported, so worker processes and subprocesses use it too."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        if not conn.execute(sa.text("select 1 from pg_database where datname = :n"), {"n": name}).scalar():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    os.environ["DATABASE_URL"] = url = base.set(database=name).render_as_string(hide_password=False)
    return url


DATABASE_URL = _database_of_this_worker(
    normalise_database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{_TMP}/test.db"))
IS_PG = DATABASE_URL.startswith("postgresql")


def pytest_configure(config):
    """The runtime role is one per server: create it once, before xdist workers migrate their databases
    side by side (two ``CREATE ROLE`` at the same moment would collide)."""
    if IS_PG and not os.environ.get("PYTEST_XDIST_WORKER"):
        from tenants.rls import ensure_runtime_role

        engine = sa.create_engine(DATABASE_URL, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            ensure_runtime_role(conn, create_app(dict(TEST_CONFIG)).config["DATABASE_RUNTIME_ROLE"])
        engine.dispose()
PASSWORD = "Secret-123!"

TEST_CONFIG = {
    "TESTING": True,
    "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
    "SECRET_KEY": "test-secret-key",
    "PII_KEYS": "k1:" + "A" * 43 + "=",
    "ARGON2_PROFILE": "fast",
    "RQ_QUEUE_PREFIX": f"test-{secrets.token_hex(4)}-",
    "SERVER_NAME": None,
}


def _reset_schema() -> None:
    engine = sa.create_engine(DATABASE_URL)
    with engine.begin() as conn:
        if IS_PG:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    if not IS_PG:
        path = DATABASE_URL.removeprefix("sqlite:///")
        if os.path.exists(path):
            os.remove(path)


@pytest.fixture(scope="session")
def _app():
    _reset_schema()
    app = create_app(dict(TEST_CONFIG))
    with app.app_context():
        from hardship.cli import upgrade_database

        upgrade_database()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _empty_database() -> None:
    engine = sa.create_engine(DATABASE_URL)
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with engine.begin() as conn:
        if IS_PG:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))
    engine.dispose()


class SecondConnection(RuntimeError):
    """Something committed on a connection other than the test's own while the test runs in a rolled-back
    transaction: that work is real and outlives the test, and the test's own data is invisible to it."""


_HINT = ("this test runs in a transaction rolled back at its end, so other connections and threads "
         "neither see its data nor may commit: ask for the `committed` fixture")


class _JoinedSession(FlaskSession):
    """Flask-SQLAlchemy's session, but on the test's connection (its ``get_bind`` picks engines only)."""

    def get_bind(self, *args, **kwargs):
        return self.bind


def _scope_of_context(owner: threading.Thread):
    def scopefunc():
        if threading.current_thread() is not owner:
            raise SecondConnection(f"db.session used from thread {threading.current_thread().name}: {_HINT}")
        return id(flask.g._get_current_object())  # one session per app context, as Flask-SQLAlchemy has

    return scopefunc


@contextmanager
def _rolled_back(app):
    """Run the test on one connection in a transaction rolled back at the end (see the module's docstring)."""
    with app.app_context():
        engine, original = db.engine, db.session
        db.session.remove()
    conn = engine.connect()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # pysqlite begins only before a write, and would commit at DDL: we say BEGIN ourselves
        dbapi = conn.connection.dbapi_connection
        level, dbapi.isolation_level = dbapi.isolation_level, None
    outer = conn.begin()
    if sqlite:
        conn.exec_driver_sql("BEGIN")

    def refuse_other_commits(other):
        if other is not conn:
            raise SecondConnection(f"COMMIT on a second connection: {_HINT}")

    sa.event.listen(sa.engine.Engine, "commit", refuse_other_commits)
    db.session = sa.orm.scoped_session(
        sa.orm.sessionmaker(class_=_JoinedSession, db=db, query_cls=Query, bind=conn,
                            join_transaction_mode="create_savepoint"),
        scopefunc=_scope_of_context(threading.current_thread()))
    try:
        yield
    finally:
        db.session = original
        sa.event.remove(sa.engine.Engine, "commit", refuse_other_commits)
        if outer.is_active:
            outer.rollback()
        if sqlite:
            dbapi.isolation_level = level
        conn.close()


@pytest.fixture
def committed():
    """Opt in to real commits (the tables are emptied after the test): for tests whose data another
    connection must see. ``live_server`` and ``rq_worker`` ask for it themselves."""
    return True


def worker_env() -> dict:
    """The environment of a worker process started as in production, on the tests' database and queues."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PYTEST_"))}
    env.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": os.environ.get("REDIS_URL", ""),
                "HARDSHIP_INSTANCE": os.environ["HARDSHIP_INSTANCE"], "ARGON2_PROFILE": "fast",
                **{key: TEST_CONFIG[key] for key in ("RQ_QUEUE_PREFIX", "SECRET_KEY", "PII_KEYS")}})
    return env


@pytest.fixture
def rq_worker(committed, app):
    """``rq_worker()`` runs ``hardship worker --burst`` in a subprocess, as in production, on ``REDIS_URL``;
    returns the finished process."""

    def run(timeout: int = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "hardship", "worker", "--burst"],
                              cwd=Path(__file__).resolve().parents[1], env=worker_env(), capture_output=True, text=True,
                              timeout=timeout)

    return run


@pytest.fixture
def app(_app, request):
    """The application; the test's writes are undone at its end (rolled back, or emptied with ``committed``)."""
    _app.config.update(WTF_CSRF_ENABLED=True, REDIS_URL=None)
    if "committed" in request.fixturenames:
        try:
            yield _app
        finally:
            with _app.app_context():
                db.session.remove()
            _empty_database()
        return
    with _rolled_back(_app):
        try:
            yield _app
        finally:
            with _app.app_context():
                db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False
    yield
    app.config["WTF_CSRF_ENABLED"] = True


@contextmanager
def system(app):
    """An app context under the system scope, for setting up and inspecting data."""
    from tenants.scoping import system_scope

    with app.app_context(), system_scope():
        yield


@pytest.fixture
def factory(app):
    """Callables that create committed test data."""
    return Factory(app)


class Factory:
    def __init__(self, app):
        self.app = app

    def tenant(self, code, parent=None, level=None, name=None, division_code=None):
        from tenants.models import Tenant
        from tenants.operations import create_tenant

        with system(self.app):
            parent_obj = db.session.scalar(sa.select(Tenant).where(Tenant.code == parent)) if parent else None
            t = create_tenant(parent_obj, code, name or f"{code}工会", level or _guess_level(code), division_code)
            db.session.commit()
            return code and t.code

    def user(self, tenant_code, roles=("admin",), username=None, password=PASSWORD):
        from hardship.accounts.operations import create_user
        from tenants.scoping import get_tenant

        username = username or f"{tenant_code.lower()}_{'_'.join(roles)}"
        with system(self.app):
            create_user(get_tenant(tenant_code), username, password, list(roles))
            db.session.commit()
        return username

    def token(self, username) -> str:
        from hardship.accounts.models import User
        from hardship.accounts.operations import issue_token

        with system(self.app):
            user = db.session.scalar(sa.select(User).where(User.username == username))
            token, _row = issue_token(user)
            db.session.commit()
        return token


def _guess_level(code: str) -> str:
    return {"P": "province", "C": "city", "K": "county", "E": "enterprise", "I": "industry"}.get(code[0], "enterprise")


ALL_ROLES = ("admin", "clerk", "approver", "head", "finance", "auditor", "reviewer")


@pytest.fixture
def tree(factory):
    """P01 > C01 > K0101 > E0101001, C01 > K0102, P01 > C02 > K0201 > E0201001; an all-roles user
    ``<code>_all`` at every tenant (enterprise: the roles it has)."""
    factory.tenant("P01", name="河北省总工会", level="province")
    for code, parent in [("C01", "P01"), ("C02", "P01"), ("K0101", "C01"), ("K0102", "C01"), ("K0201", "C02"),
                         ("E0101001", "K0101"), ("E0201001", "K0201")]:
        factory.tenant(code, parent=parent)
    from tenants.levels import registry

    for code in ["P01", "C01", "C02", "K0101", "K0102", "K0201", "E0101001", "E0201001"]:
        level = registry.get(_guess_level(code))
        factory.user(code, roles=level.roles, username=f"{code.lower()}_all")
    return factory


class ApiClient:
    """A test client that sends a bearer token and JSON."""

    def __init__(self, client, token=None, lang=None):
        self.client, self.token, self.lang = client, token, lang

    def _headers(self, headers=None):
        h = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if self.lang:
            h["Accept-Language"] = self.lang
        h.update(headers or {})
        return h

    def request(self, method, path, json=None, headers=None, **kw):
        return self.client.open(path, method=method, json=json, headers=self._headers(headers), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture
def api_as(client, factory):
    """``api_as("c01_all")`` -> an :class:`ApiClient` authenticated as that user."""

    def make(username=None, lang=None):
        return ApiClient(client, factory.token(username) if username else None, lang)

    return make


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token in page"
    return match.group(1)


@pytest.fixture
def login(client):
    """``login("c01_all")`` logs the test client in through the real login form."""

    def do(username, password=PASSWORD):
        page = client.get("/login")
        resp = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_from(page.get_data(as_text=True))})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return resp

    return do
