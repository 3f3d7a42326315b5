"""The OpenAPI document, built with apispec from the endpoints registered by :func:`hardship.api.route`."""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from hardship.api import ENDPOINTS, api, openapi_path

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

_STATUS_TEXT = {400: "Malformed request", 401: "Not authenticated", 403: "Not allowed to your roles",
                404: "Absent or outside your subtree", 409: "Conflict", 422: "Validation failed",
                429: "Too many failed logins"}


def _path_params(rule: str) -> list[dict]:
    import re

    params = []
    for conv, name in re.findall(r"<(?:([^:<>]+):)?([^<>]+)>", rule):
        schema = {"type": "integer", "minimum": 1} if conv == "int" else {"type": "string"}
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
    return params


def build_spec() -> dict:
    spec = APISpec(
        title="工会困难职工帮扶平台 API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        servers=[{"url": "/"}],
    )
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
                codes |= {404}
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
