"""The app as it runs in production, for the benchmarks through HTTP: gunicorn serving ``wsgi:app`` on a free
localhost port, on a given database, with the configuration the benchmark's own app used to write the data
(``CONFIG``: the same secret and PII keys, so that the server reads what the setup encrypted)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: the configuration of the benchmarks' apps and of the server they start (``ARGON2_PROFILE`` fast: logins and
#: tokens are set-up, not what is measured)
CONFIG = {"SECRET_KEY": "bench", "PII_KEYS": "k1:" + "A" * 43 + "=", "PII_INDEX_KEY": "bench-index",
          "ARGON2_PROFILE": "fast", "TESTING": False}

#: gunicorn options added to every benchmark's server, e.g. ``-k gthread --threads 4``
GUNICORN_EXTRA = os.environ.get("BENCH_GUNICORN_ARGS", "").split()


def app(url: str):
    """The app of a benchmark's set-up on ``url`` (the same configuration as the server's)."""
    from hardship.app import create_app

    return create_app({**CONFIG, "SQLALCHEMY_DATABASE_URI": url, "DATABASE_OWNER_URL": url})


@contextmanager
def gunicorn(url: str, workers: int = 2, ready_path: str = "/api/v1/openapi.json") -> Iterator[int]:
    """gunicorn with ``workers`` sync workers serving ``wsgi:app`` on ``url``'s database; yields its port once
    ``ready_path`` answers, and stops it afterwards (also on failure)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_OWNER_URL": url,
           "HARDSHIP_INSTANCE": tempfile.mkdtemp(prefix="hardship-bench-"),
           **{key: str(value) for key, value in CONFIG.items() if key != "TESTING"}}
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), *GUNICORN_EXTRA,
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"], cwd=REPO, env=env)
    try:
        for _ in range(300):  # until it answers
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {server.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", ready_path)
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"gunicorn did not answer on port {port} within 30 s")
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
