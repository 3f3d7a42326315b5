"""Live server and Playwright fixtures for the browser tests.

The live server runs the ``app`` fixture's application in a background thread, so it sees the
committed test data; the browser is the Debian chromium package (no Playwright browser downloads).
Import the fixtures into a test module with ``pytest_plugins = ["tests.browser_support"]``; fixtures browser, live_server, ...``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: how long a single Playwright action or expectation may take, in milliseconds
TIMEOUT_MS = 15_000


_ITERABLES = "tests.response_iterables"


class _ClosingHandler(WSGIRequestHandler):
    """Werkzeug's handler, but every response iterable is closed even when the browser drops the connection
    while the body is sent: werkzeug's own clean-up reads the socket first and, when that read fails too,
    never closes the iterable, so a static file stays open until the garbage collector warns about it
    (which ``filterwarnings = error`` makes a failure in whichever test is running then)."""

    def make_environ(self):
        environ = super().make_environ()
        environ[_ITERABLES] = self._iterables = []
        return environ

    def run_wsgi(self):
        try:
            super().run_wsgi()
        finally:
            for iterable in getattr(self, "_iterables", ()):
                iterable.close()


class _ClosedOnce:
    """A response iterable whose ``close`` runs once, however often it is called."""

    def __init__(self, iterable):
        self._iterable, self._closed = iterable, False

    def __iter__(self):
        return iter(self._iterable)

    def close(self):
        if not self._closed:
            self._closed = True
            if hasattr(self._iterable, "close"):
                self._iterable.close()


def _remember_iterables(app):
    def wsgi(environ, start_response):
        iterable = _ClosedOnce(app(environ, start_response))
        environ.get(_ITERABLES, []).append(iterable)
        return iterable

    return wsgi


@pytest.fixture
def live_server(committed, app):
    """The app served on ``127.0.0.1`` at a free port in a background thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, _remember_iterables(app), threaded=True,
                         request_handler=_ClosingHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per test module (skipped when chromium is not installed)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    pw = sync_api.sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@dataclass
class PageLog:
    """What a page did: every request URL, console errors and uncaught page errors."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def foreign_requests(self, base_url: str) -> list[str]:
        """Requests to any host other than the live server's (``data:``/``about:`` are local)."""
        host = urlsplit(base_url).hostname
        return [u for u in self.requests
                if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).hostname != host]


@pytest.fixture
def page_log():
    return PageLog()


@pytest.fixture
def page(browser, live_server, page_log):
    """A fresh context (own cookies) and page in Chinese (``Accept-Language: zh-CN``), whose
    requests and console errors are recorded in ``page_log``."""
    context = browser.new_context(locale="zh-CN", base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        pg = context.new_page()
        pg.on("request", lambda req: page_log.requests.append(req.url))
        pg.on("console", lambda msg: page_log.console_errors.append(f"{msg.text} @ {msg.location}")
              if msg.type == "error" else None)
        pg.on("pageerror", lambda exc: page_log.page_errors.append(str(exc)))
        yield pg
        pg.close()
    finally:
        context.close()

