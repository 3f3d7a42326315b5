"""Locale selection: the user's explicit choice (cookie), then ``Accept-Language``, then Chinese."""

from __future__ import annotations

from flask import request

LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
COOKIE = "lang"


def select_locale() -> str:
    if request:
        chosen = request.cookies.get(COOKIE)
        if chosen in LOCALES and not request.path.startswith("/api/"):
            return LOCALES[chosen]
        best = request.accept_languages.best_match(["zh", "zh-CN", "zh-Hans", "en", "en-US", "en-GB"])
        if best:
            return LOCALES["en" if best.startswith("en") else "zh"]
    return LOCALES["zh"]


def current_lang() -> str:
    from flask_babel import get_locale

    return "en" if str(get_locale()).startswith("en") else "zh"
