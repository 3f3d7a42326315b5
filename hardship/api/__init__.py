"""The JSON API under ``/api/v1``: one blueprint, one route decorator, one error format.

Domain modules add their endpoints in their own ``api.py`` with :func:`route`. A handler
runs the fixed sequence of STYLE.md: resolve the URL's objects inside the caller's subtree
(404), check the caller's roles (403), parse the body with :func:`load_body` (400/422),
call one operation, return. :func:`route` commits once at the end; any exception rolls back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, wraps

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import RAISE, Schema, ValidationError, validate

from hardship.core.db import commit, db
from hardship.core.errors import BadRequest, Unauthorized, ValidationFailed

api = Blueprint("api", __name__, url_prefix="/api/v1")


@dataclass
class EndpointDoc:
    rule: str
    methods: tuple[str, ...]
    summary: str
    tags: tuple[str, ...]
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    auth: bool = True
    extra_responses: dict = field(default_factory=dict)
    #: a multipart/form-data body (file uploads), documented but parsed by the handler
    form: type[Schema] | None = None
    #: request headers the endpoint reads (OpenAPI parameter objects ``in: header``)
    headers: tuple[dict, ...] = ()


ENDPOINTS: list[EndpointDoc] = []


class BaseSchema(Schema):
    """API schemas refuse unknown fields."""

    class Meta:
        unknown = RAISE


def between(low: int, high: int) -> validate.Range:
    """A range validator whose message is translated (marshmallow formats its own before we see it)."""
    return validate.Range(low, high, error=_l("Must be from {min} to {max}."))


#: marshmallow's own English messages, marked for translation so that they follow Accept-Language
MARSHMALLOW_MESSAGES = {
    "Missing data for required field.": _l("Required."),
    "Unknown field.": _l("Unknown field."),
    "Field may not be null.": _l("Field may not be null."),
    "Invalid input type.": _l("Invalid input type."),
    "Not a valid string.": _l("Not a valid string."),
    "Not a valid integer.": _l("Not a valid integer."),
    "Not a valid number.": _l("Not a valid number."),
    "Number too large.": _l("Number too large."),
    "Special numeric values (nan or infinity) are not permitted.": _l("Special numeric values (nan or infinity) are not permitted."),
    "Not a valid boolean.": _l("Not a valid boolean."),
    "Not a valid list.": _l("Not a valid list."),
    "Not a valid mapping type.": _l("Not a valid mapping type."),
    "Not a valid date.": _l("Not a valid date."),
    "Not a valid datetime.": _l("Not a valid datetime."),
    "Invalid value.": _l("Invalid value."),
    "Invalid input.": _l("Invalid input."),
    "Invalid data.": _l("Invalid data."),
}


def translate_messages(messages):
    """Translate marshmallow's messages (nested dicts/lists of strings) for the current locale."""
    if isinstance(messages, dict):
        return {k: translate_messages(v) for k, v in messages.items()}
    if isinstance(messages, list | tuple):
        return [translate_messages(m) for m in messages]
    text = str(messages)
    return str(MARSHMALLOW_MESSAGES.get(text, text))


@cache
def _schema(schema_cls: type[Schema]) -> Schema:
    """One instance per schema class, reused: marshmallow keeps nothing of a load on the instance, and
    building one deep-copies all its fields (a good part of a small request's time)."""
    return schema_cls()


def flatten_messages(messages, prefix: str = "") -> dict:
    """marshmallow's nested messages as one level keyed by field path (``head.id_number``,
    ``members.0.name``): the error format of SPEC 8.2, which the forms and the importer map to their inputs."""
    if not isinstance(messages, dict):
        return {prefix or "_schema": messages}
    flat: dict = {}
    for key, value in messages.items():
        path = prefix if key == "_schema" and prefix else f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten_messages(value, path))
        else:
            flat.setdefault(path, value)
    return flat


def load_data(schema_cls: type[Schema], data, partial=False) -> dict:
    """``data`` (a dict) loaded with ``schema_cls``, or :class:`ValidationFailed` with the messages translated
    and keyed by field path: for a request's body and query, a form's data, the command line's options and
    a spreadsheet's row."""
    try:
        return _schema(schema_cls).load(data, partial=partial)
    except ValidationError as exc:
        raise ValidationFailed(fields=translate_messages(flatten_messages(exc.messages))) from None


def json_object() -> dict:
    """The request's JSON body as a dict (empty body: ``{}``); 400 when it is not a JSON object."""
    if request.mimetype not in ("application/json", "") and (request.content_length or request.form or request.files):
        raise BadRequest(_l("The body must be JSON (Content-Type: application/json)."))
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if request.mimetype != "application/json":
        raise BadRequest(_l("The body must be JSON (Content-Type: application/json)."))
    data = request.get_json(silent=True)  # a body nested too deeply was refused before (core.security)
    if data is None:
        raise BadRequest(_l("The body is not valid JSON."))
    if not isinstance(data, dict):
        raise BadRequest(_l("The body must be a JSON object."))
    return data


def load_body(schema_cls: type[Schema], partial=False) -> dict:
    """Parse the JSON body with ``schema_cls``: 400 when it is not a JSON object, 422 when invalid."""
    return load_data(schema_cls, json_object(), partial=partial)


def load_query(schema_cls: type[Schema]) -> dict:
    return load_data(schema_cls, request.args.to_dict())


def dumped(fn, response: type[Schema] | None):
    """``fn`` with its result dumped through ``response`` (a handler returns objects or a dict, optionally with
    a status code and headers), so the OpenAPI document is what the API sends; a :class:`Response` is left
    alone. The dump runs before the commit, while the objects are still loaded in the request's scope."""
    if response is None:
        return fn

    @wraps(fn)
    def dump(**kwargs):
        result = fn(**kwargs)
        body, *status_and_headers = result if isinstance(result, tuple) else (result,)
        if isinstance(body, Response):
            return result
        body = _schema(response).dump(body)
        return (body, *status_and_headers) if status_and_headers else body

    return dump


def route(rule: str, methods=("GET",), *, summary: str = "", tags=(), body=None, query=None,
          response=None, status: int = 200, auth: bool = True, responses: dict | None = None, form=None,
          headers: tuple[dict, ...] = ()):
    """Register an API endpoint and its documentation (``form``: a multipart/form-data body schema); the
    handler's result (optionally with a status code and response headers) is dumped through ``response``
    (:func:`dumped`)."""

    def decorator(fn):
        fn = dumped(fn, response)

        @wraps(fn)
        def wrapper(**kwargs):
            if auth and not current_user.is_authenticated:
                raise Unauthorized(g.get("auth_error"))
            try:
                result = fn(**kwargs)
                commit()  # a connection lost while committing: 503 outcome_unknown
            except BaseException:
                db.session.rollback()
                raise
            code, response_headers = status, {}
            if isinstance(result, tuple):
                result, code, *more = result
                response_headers = more[0] if more else {}
            if hasattr(result, "status_code"):
                return result
            if code == 204:
                return Response(status=204, headers=response_headers)
            return jsonify(result), code, response_headers

        api.add_url_rule(rule, fn.__name__, wrapper, methods=list(methods))
        ENDPOINTS.append(EndpointDoc(rule, tuple(methods), summary or (fn.__doc__ or "").strip().split("\n")[0],
                                     tuple(tags), body, query, response, status, auth, responses or {}, form,
                                     tuple(headers)))
        return wrapper

    return decorator


_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    return _ARG.sub(r"{\1}", rule)
