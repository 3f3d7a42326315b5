"""The message catalogs are complete and the UI follows the chosen language.

Source strings are English; ``zh_Hans_CN`` (the default UI locale) and ``en`` are both full
catalogs. When a test here fails because of a new or changed string, run::

    make extract        # refresh translations/messages.pot and merge it into both catalogs
    # translate the new entries in translations/zh_Hans_CN/LC_MESSAGES/messages.po,
    # copy msgid to msgstr in translations/en/LC_MESSAGES/messages.po, drop "#, fuzzy"
    make translations   # compile the .mo files the running app reads
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
LOCALES = ("zh_Hans_CN", "en")

#: ``%(name)s``, ``%(n)d``, ``%s`` (not ``%%``) and ``{name}`` / ``{0}`` / ``{}``
PLACEHOLDER_RE = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]|\{[^{}]*\}")


def _makefile_keywords() -> list[str]:
    """The extra ``-k`` keywords of the Makefile's ``extract`` target, so the test extracts what it does."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next((ln for ln in makefile.splitlines() if "pybabel" in ln and " extract " in ln), "")
    keywords = re.findall(r"(?:-k|--keywords?)[ =](\S+)", line)
    assert keywords, "could not find the pybabel extract line (with -k keywords) in the Makefile"
    return keywords


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER_RE.findall(text.replace("%%", "").replace("{{", "").replace("}}", "")))


def _read_po(path: Path):
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    with path.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages extracted from the current source, exactly as ``make extract`` does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    args = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(pot),
            "--no-location", "--sort-output"]
    for keyword in _makefile_keywords():
        args += ["-k", keyword]
    CommandLineInterface().run([*args, str(ROOT)])
    catalog = _read_po(pot)
    messages = {m.id: m for m in catalog if m.id}
    assert "Log in" in messages, "extraction found no messages; is babel.cfg right?"
    return messages


@pytest.fixture(scope="module")
def catalogs():
    return {locale: _read_po(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po") for locale in LOCALES}


def test_template_is_up_to_date(extracted):
    committed = {m.id for m in _read_po(TRANSLATIONS / "messages.pot") if m.id}
    new, gone = sorted(set(extracted) - committed, key=str), sorted(committed - set(extracted), key=str)
    assert not new and not gone, (
        "translations/messages.pot is out of date; run `make extract`.\n"
        f"Not in the template: {new}\nNo longer in the source: {gone}")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_string_is_translated(extracted, catalogs, locale):
    catalog = catalogs[locale]
    problems = []
    for msgid in sorted(extracted, key=str):
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"missing:      {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy:        {msgid!r}")
        elif not all(s.strip() for s in _strings(entry)):
            problems.append(f"untranslated: {msgid!r}")
        elif entry.pluralizable and len(_strings(entry)) != catalog.num_plurals:
            problems.append(f"needs {catalog.num_plurals} plural form(s): {msgid!r}")
    assert not problems, (
        f"{len(problems)} message(s) not translated in translations/{locale}/LC_MESSAGES/messages.po "
        "(run `make extract`, translate, then `make translations`):\n" + "\n".join(problems))


def test_english_catalog_repeats_the_source(catalogs):
    """``en`` is a complete catalog whose translations are the (English) source strings."""
    wrong = [m.id for m in catalogs["en"] if m.id and m.string and _strings(m) != _ids(m)]
    assert not wrong, f"in the en catalog msgstr should equal msgid (msgid_plural for the plural form): {wrong}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_are_kept(catalogs, locale):
    catalog = catalogs[locale]
    wrong = []
    for m in catalog:
        if not m.id:
            continue
        ids, strings = _ids(m), _strings(m)
        for n, text in enumerate(strings):
            if not text:
                continue
            source = ids[min(n, len(ids) - 1)] if m.pluralizable else ids[0]
            # languages with one plural form use the plural msgid's placeholders
            if m.pluralizable and catalog.num_plurals == 1:
                source = ids[-1]
            if _placeholders(text) != _placeholders(source):
                wrong.append(f"{source!r}: {_placeholders(source)} -> {text!r}: {_placeholders(text)}")
    assert not wrong, f"placeholders changed in {locale}:\n" + "\n".join(wrong)
    assert not list(catalog.check()), f"babel reports format errors in {locale}: {list(catalog.check())}"


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogs_match(catalogs, locale):
    """The app reads the .mo files; they are build products of `make translations` (or `make install`)."""
    mo = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo.is_file(), f"{mo.relative_to(ROOT)} is missing; run `make translations`"
    with mo.open("rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    source = {m.id: m.string for m in catalogs[locale] if m.id and m.string and not m.fuzzy}
    assert compiled == source, f"{mo.relative_to(ROOT)} is stale; run `make translations`"


def _page(client, path="/login", **headers) -> str:
    resp = client.get(path, headers=headers)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_login_page_is_chinese_by_default(client):
    html = _page(client)
    assert 'lang="zh-CN"' in html
    for text in ("登录", "用户名", "密码", "工会困难职工帮扶平台"):
        assert text in html
    for text in ("Log in", "Username", "Password"):
        assert text not in html


def test_login_page_follows_accept_language(client):
    html = _page(client, **{"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="en"' in html
    for text in ("Log in", "Username", "Password", "Union hardship assistance"):
        assert text in html
    for text in ("登录", "用户名", "密码"):
        assert text not in html
    assert "登录" in _page(client, **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "登录" in _page(client, **{"Accept-Language": "fr"})  # unsupported: the default


def test_language_cookie_switches_the_ui(client):
    resp = client.get("/lang/en?next=/login")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/login")
    assert "lang=en" in resp.headers["Set-Cookie"]
    # the cookie wins over the browser's languages
    for headers in ({}, {"Accept-Language": "zh-CN"}):
        html = _page(client, **headers)
        assert "Log in" in html and "Username" in html and "登录" not in html

    client.get("/lang/zh")
    html = _page(client, **{"Accept-Language": "en"})
    assert "登录" in html and "Log in" not in html
