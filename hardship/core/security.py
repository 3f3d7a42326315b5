"""Security headers on every response; requests carrying NUL characters, and JSON bodies nested too deeply, are
refused."""

from flask import request
from flask_babel import lazy_gettext as _l

#: how deeply a JSON body may nest (the deepest body of the API nests 3 levels)
MAX_JSON_DEPTH = 16

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _has_nul(value) -> bool:
    """True if a string, or any key or string inside a JSON value, contains U+0000."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def nests_too_deeply(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``raw`` nests arrays and objects deeper than ``limit`` (read before parsing, so a
    hostile body never reaches a recursive parser or encoder)."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def refuse_nul() -> None:
    """``before_request``: PostgreSQL text cannot hold NUL, so a path, query, form field or JSON
    string containing one would fail in the database (500); refuse it up front (400). A JSON body nested
    deeper than :data:`MAX_JSON_DEPTH` is refused before it is parsed (400): parsing it could exhaust the stack."""
    from hardship.core.errors import BadRequest

    if request.is_json and nests_too_deeply(request.get_data(cache=True)):
        raise BadRequest(_l("The body nests too deeply (at most %(n)d levels).", n=MAX_JSON_DEPTH))
    if (_has_nul(request.path) or any(_has_nul(k) or _has_nul(v) for k, v in request.args.items(multi=True))
            or any(_has_nul(k) or _has_nul(v) for k, v in request.form.items(multi=True))
            or (request.is_json and _json_has_nul())):
        raise BadRequest()


def _json_has_nul() -> bool:
    """Whether the JSON body holds a NUL: JSON writes one only as ``\\u0000``, so the body is parsed only when
    that text is in it (a hostile body nested thousands deep is left to the API's depth check)."""
    if b"\\u0000" not in request.get_data(cache=True):
        return False
    try:
        return _has_nul(request.get_json(silent=True))
    except RecursionError:
        return True  # too deep to look into: refused all the same


def init_app(app) -> None:
    app.before_request(refuse_nul)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html" or request.path.startswith("/api/") or "attachment" in \
                response.headers.get("Content-Disposition", ""):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
