"""Configuration from environment variables, with safe defaults.

| variable | default | meaning |
|---|---|---|
| ``DATABASE_URL`` | ``sqlite:///<instance>/hardship.db`` | runtime database |
| ``DATABASE_OWNER_URL`` | ``DATABASE_URL`` | connection used by ``hardship init`` / migrations (table owner) |
| ``DATABASE_RUNTIME_ROLE`` | ``hardship_app`` | PostgreSQL role the app switches to (``SET ROLE``) so that row-level security applies |
| ``REDIS_URL`` | unset | RQ + Redis; unset means jobs run inline in the request |
| ``RQ_QUEUE_PREFIX`` | empty | prefix of the RQ queue names (several instances or test runs on one Redis) |
| ``JOB_HEARTBEAT_SECONDS`` | ``60`` | a running job's heartbeat expires after this; then ``jobs sweep`` marks it failed |
| ``SECRET_KEY`` | generated into ``instance/secret_key`` | session signing |
| ``PII_KEYS`` | generated into ``instance/pii_keys`` | comma-separated ``id:base64key`` list, first is current (rotation) |
| ``PII_INDEX_KEY`` | generated into ``instance/pii_index_key`` | HMAC key of the ID-number blind index |
| ``SESSION_COOKIE_SECURE`` | ``0`` | set ``1`` behind HTTPS |
| ``API_TOKEN_HOURS`` | ``12`` | bearer token lifetime |
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def _instance_secret(instance: Path, name: str, make) -> str:
    """Read ``instance/<name>``, creating it with ``make()`` on first run (mode 0600)."""
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and pick the psycopg 3 driver; refuse another PostgreSQL
    driver (the ledger's one-round-trip postings and the scope's pipelined look-ups use psycopg 3's
    pipeline mode, which no other driver has)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgresql+") and not url.startswith("postgresql+psycopg://"):
        driver = url[len("postgresql+"):].split(":", 1)[0]
        raise ValueError(f"DATABASE_URL：不支持数据库驱动 {driver}，请使用 postgresql:// 或 postgresql+psycopg://"
                         f"（psycopg 3）。 / DATABASE_URL: the driver {driver} is not supported; use postgresql:// "
                         "or postgresql+psycopg:// (psycopg 3).")
    return url


def load(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment and ``overrides``."""
    env = os.environ
    overrides = overrides or {}
    instance = Path(instance_path)
    db_url = overrides.get("SQLALCHEMY_DATABASE_URI") or env.get("DATABASE_URL") or (
        f"sqlite:///{instance / 'hardship.db'}"
    )
    db_url = normalise_database_url(db_url)
    owner_url = normalise_database_url(
        overrides.get("DATABASE_OWNER_URL") or env.get("DATABASE_OWNER_URL") or db_url
    )
    # explicit overrides (tests, embedding) beat the environment, which beats generated files
    secret = overrides.get("SECRET_KEY") or env.get("SECRET_KEY") or _instance_secret(
        instance, "secret_key", lambda: secrets.token_urlsafe(48)
    )
    pii = overrides.get("PII_KEYS") or env.get("PII_KEYS") or _instance_secret(
        instance, "pii_keys",
        lambda: "k1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    )
    pii_index = overrides.get("PII_INDEX_KEY") or env.get("PII_INDEX_KEY") or _instance_secret(
        instance, "pii_index_key", lambda: secrets.token_urlsafe(32)
    )
    # PostgreSQL: no ping before each checkout by default (it cost two round trips a request). A connection
    # that died with a database restart fails the one request that meets it; SQLAlchemy then discards the
    # whole pool, and a retry (safe for postings: Idempotency-Key) gets a fresh connection. Set
    # DATABASE_PRE_PING=1 where connections die silently (e.g. behind a firewall that drops idle ones).
    # TCP keepalives make a silently dropped connection fail within about a minute instead of hanging.
    engine_options: dict = {"pool_pre_ping": env.get("DATABASE_PRE_PING", "0") == "1", "pool_recycle": 3600,
                            "connect_args": {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                                             "keepalives_count": 3}}
    if db_url.startswith("sqlite"):
        engine_options = {"connect_args": {"timeout": 30}}
    cfg = {
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "DATABASE_OWNER_URL": owner_url,
        "DATABASE_RUNTIME_ROLE": env.get("DATABASE_RUNTIME_ROLE", "hardship_app"),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "RQ_QUEUE_PREFIX": env.get("RQ_QUEUE_PREFIX", ""),
        "JOB_HEARTBEAT_SECONDS": float(env.get("JOB_HEARTBEAT_SECONDS", "60")),
        "SECRET_KEY": secret,
        "PII_KEYS": pii,
        "PII_INDEX_KEY": pii_index,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "API_TOKEN_HOURS": int(env.get("API_TOKEN_HOURS", "12")),
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_MINUTES": 15,
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("TZ_NAME", "Asia/Shanghai"),
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
        "WTF_CSRF_TIME_LIMIT": None,
        "ARGON2_PROFILE": env.get("ARGON2_PROFILE", "default"),
        "PAGE_SIZE": 50,
        # request bodies: imports are limited to 20 MB (SPEC 3.7); nothing else needs more than a few KB
        "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
        "JSON_SORT_KEYS": False,
    }
    cfg.update(overrides)
    return cfg
