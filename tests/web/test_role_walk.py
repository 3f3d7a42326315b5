"""A walk through the demo province in a real browser as each role of issue 14 (enterprise clerk, county clerk,
county approver, city finance, county finance, provincial reviewer, auditor, admin) at 1,024 px: every page
reached from the menu (and one step further) is screenshotted to ``/tmp/hardship-role-walk`` and checked for
what a Chinese page must never show: raw JSON, an internal code or field path, an English word, a table column
squeezed to one character per line, a request leaving the server, a script error."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hardship.core.db import db

pytest_plugins = ["tests.browser_support"]
pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/hardship-role-walk")
ROLES = [("e0101001_clerk", "企业办事员"), ("k0101_clerk", "县级办事员"), ("k0101_approver", "县级审批人"),
         ("c01_finance", "市级财务"), ("k0101_finance", "县级财务"), ("p01_reviewer", "省级审阅人"),
         ("c01_auditor", "市级审计"), ("c01_admin", "市级管理员")]
#: pages per role, at most (the menu's pages and the first links found on them)
PAGES_PER_ROLE = 14
#: Latin words a Chinese page may show: the language switch, file kinds, units and abbreviations people use
ALLOWED_WORDS = {"English", "xlsx", "Excel", "csv", "CSV", "UTF", "API", "ID", "SHA"}

JSON = re.compile(r'\{\s*"|"\s*:\s*[\[{"\d]')
DOTTED_CODE = re.compile(r"\b[a-z]{2,}\.[a-z_]{2,}\b")
SNAKE_CODE = re.compile(r"\b[a-z]{2,}_[a-z_]{2,}\b")
LATIN_WORD = re.compile(r"\b[A-Za-z]{3,}\b")

#: the table cells of running text that wraps at two characters a line or fewer (a column squeezed by its
#: neighbours); a cell laid out in lines of its own (a list of labelled values) is not running text
SQUEEZED = """() => [...document.querySelectorAll('td, th')].filter(c => {
  const text = c.innerText.trim();
  if (text.length < 3 || c.offsetParent === null || c.querySelector('dl, ul, ol, table, div, p, br')) return false;
  const range = document.createRange(); range.selectNodeContents(c);
  const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
  return lines >= 3 && text.replace(/\\s/g, '').length / lines <= 2.5;
}).map(c => c.innerText.trim().slice(0, 20))"""


@pytest.fixture
def demo(app, monkeypatch):
    """The demo province (twenty households a county: every state of the demo's plan), committed."""
    from hardship import demo as demo_module
    from hardship.archives import demo as archive_demo

    monkeypatch.setattr(archive_demo, "PER_COUNTY", 20)
    with app.app_context():
        demo_module.load()
        db.session.commit()
    return demo_module.DEMO_PASSWORD


def _log_in(page, username, password):
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_load_state()


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("main a[href], nav a[href]", "els => els.map(e => e.getAttribute('href'))")
    out = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.netloc and parts.netloc != urlsplit(base).netloc:
            continue
        path = parts.path
        if not path.startswith("/t/") or path.endswith((".xlsx", "/output")) or "export" in path:
            continue
        out.append(path + (f"?{parts.query}" if parts.query and "page=" not in parts.query else ""))
    return out


def _problems(page) -> list[str]:
    text = page.inner_text("body")
    found = []
    for name, pattern in [("JSON", JSON), ("code", DOTTED_CODE), ("code", SNAKE_CODE)]:
        found += [f"{name}: {m}" for m in set(pattern.findall(text))]
    usernames = set(re.findall(r"\b[a-z]\d+_[a-z]+\b", text))
    words = {w for w in LATIN_WORD.findall(text) if w not in ALLOWED_WORDS and not re.fullmatch(r"[A-Z]\d*", w)}
    words -= {part for name in usernames for part in name.split("_")}
    found += [f"English: {w}" for w in sorted(words)]
    found += [f"squeezed column: {c}" for c in page.evaluate(SQUEEZED)]
    return found


def _walk(page, base: str, username: str, password: str) -> tuple[set, dict]:
    """Log in as ``username`` and visit its pages; the pages seen and, per page, what it must not show."""
    page.context.clear_cookies()
    _log_in(page, username, password)
    home = urlsplit(page.url).path
    assert home.startswith("/t/"), f"{username}: {page.url}"
    queue, seen, report = [home], set(), {}
    while queue and len(seen) < PAGES_PER_ROLE:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(path)
        assert response is not None and response.status < 400, f"{username} {path}: {response and response.status}"
        shot = SHOTS / f"{username}-{len(seen):02d}.png"
        page.screenshot(path=str(shot), full_page=True)
        problems = _problems(page)
        if problems:
            report[f"{path} ({shot.name})"] = problems
        queue += [link for link in _links(page, base) if link not in seen]
    return seen, report


def test_role_walk(page, page_log, live_server, demo):
    """Every role in turn, on one demo province (loading it once per role cost 40 s of ``make test``)."""
    page.set_viewport_size({"width": 1024, "height": 800})
    SHOTS.mkdir(exist_ok=True)
    failures = []
    for username, role in ROLES:
        seen, report = _walk(page, live_server, username, demo)
        if len(seen) < 3:
            failures.append(f"{role} {username}: only {sorted(seen)}")
        failures += [f"{role} {username} {where}: {', '.join(sorted(found))}" for where, found in report.items()]
    assert not failures, "what a Chinese page must not show:\n  " + "\n  ".join(failures)
    assert page_log.page_errors == [] and page_log.console_errors == []
    assert page_log.foreign_requests(live_server) == []
