"""The OpenAPI document, built with apispec from the endpoints registered by :func:`hardship.api.route`."""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from hardship.api import ENDPOINTS, api, openapi_path
from hardship.core import fields
from hardship.core.security import MAX_JSON_DEPTH

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object"},
            },
        }
    },
}

_STATUS_TEXT = {400: f"Malformed request: a body that is not a JSON object, not valid JSON or nested deeper than "
                     f"{MAX_JSON_DEPTH} levels; a parameter or text holding U+0000",
                401: "Not authenticated", 403: "Not allowed to your roles", 404: "Absent or outside your subtree",
                409: "Conflict", 422: "Validation failed", 429: "Too many failed logins"}


def _path_params(rule: str) -> list[dict]:
    import re

    params = []
    for conv, name in re.findall(r"<(?:([^:<>]+):)?([^<>]+)>", rule):
        schema = {"type": "integer", "minimum": 1} if conv == "int" else {"type": "string"}
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
    return params


#: the OpenAPI type and format of each input field of :mod:`hardship.core.fields` (a subclass finds its base's)
FIELD_TYPES = {**dict.fromkeys((fields.Text, fields.Name, fields.IdNumber, fields.Phone, fields.BankCard, fields.Fen,
                                fields.Choice), ("string", None)),
               fields.Flag: ("boolean", None), fields.Year: ("integer", None), fields.Day: ("string", "date")}


def _input_field_limits(self, field, **kwargs) -> dict:
    """The limits an input field of :mod:`hardship.core.fields` enforces, as OpenAPI properties."""
    if isinstance(field, fields.Text) and field.max_length is not None:
        return {"maxLength": field.max_length}
    if isinstance(field, fields.Year):
        return {"minimum": fields.FIRST_YEAR, "maximum": fields.LAST_YEAR}
    if isinstance(field, fields.Choice):
        return {"enum": list(field.choices) + ([None] if field.allow_none else [])}
    return {}


def build_spec() -> dict:
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(
        title="工会困难职工帮扶平台 API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[marshmallow_plugin],
        servers=[{"url": "/"}],
    )
    for field_cls, type_and_format in FIELD_TYPES.items():
        marshmallow_plugin.map_to_openapi_type(field_cls, *type_and_format)
    marshmallow_plugin.converter.add_attribute_function(_input_field_limits)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", ERROR_SCHEMA)
    error_ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    paths: dict[str, dict] = {}
    for ep in ENDPOINTS:
        path = api.url_prefix + openapi_path(ep.rule)
        for method in ep.methods:
            op: dict = {"summary": ep.summary, "tags": list(ep.tags) or ["misc"],
                        "operationId": f"{method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}"}
            params = _path_params(ep.rule)
            if ep.query is not None:
                params.append({"in": "query", "schema": ep.query})
            params.extend({"in": "header", **header} for header in ep.headers)
            if params:
                op["parameters"] = params
            if ep.body is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ep.body}}}
            if ep.form is not None:
                op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": ep.form}}}
            ok: dict = {"description": "OK"}
            if ep.response is not None:
                ok["content"] = {"application/json": {"schema": ep.response}}
            responses = {str(ep.status): ok}
            has_body = ep.body is not None or ep.form is not None
            codes = {400, 422} if has_body or ep.query is not None else set()
            if ep.auth:
                codes |= {401, 403}
                op["security"] = [{"bearer": []}]
            if params or has_body:
                codes |= {400, 404}
            codes |= set(ep.extra_responses)
            for code in sorted(codes):
                responses[str(code)] = {"description": _STATUS_TEXT.get(code, "Error"), **error_ref}
            op["responses"] = responses
            paths.setdefault(path, {})[method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    doc = spec.to_dict()
    return doc


@api.route("/openapi.json")
def openapi_json():
    return jsonify(build_spec())
