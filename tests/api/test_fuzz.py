"""Schemathesis over the app's OpenAPI document: the document is valid OpenAPI 3.0, and no
generated request, valid or not, makes the API answer 5xx.

The run is one test function (the per-test ``app`` fixture undoes its writes afterwards, so
the ``tree`` data lives exactly as long as the whole run). Every operation is fuzzed as the
all-roles provincial user ``p01_all`` with a bearer token:

* positive and negative cases with freely generated path and query parameters, and
* positive cases from a *hinted* copy of the document, where parameters and fields that name
  records (``code``, ``user_id``, ``job_id``, ``tenant``, ``parent``, ``level``, ``roles``, ...)
  draw from real values of the tree (plus an absent one) or match the app's formats, so requests
  get past the 404 of an unknown code and the 422 of a malformed username and reach the
  operations themselves (creating unions and users, changing users, exporting);
* the free-form settings body (not described by the document) with every setting key and any
  JSON value.

Bounded: ``MAX_EXAMPLES`` per operation and pass, no deadline, no shrinking (a 5xx is
recorded with its curl reproduction and the run goes on), and a budget of this process's CPU time (the
requests run in it), so a machine busy with other work does not cut the run short.
"""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings

pytestmark = pytest.mark.fuzz

FUZZ_USER = "p01_all"
#: per operation, positive pass (``HARDSHIP_FUZZ_EXAMPLES=200`` for a longer hunt; the budget scales)
MAX_EXAMPLES = int(os.environ.get("HARDSHIP_FUZZ_EXAMPLES", "25"))
NEGATIVE_EXAMPLES = max(1, MAX_EXAMPLES * 3 // 5)  # per operation, negative pass
HINTED_EXAMPLES = MAX_EXAMPLES  # per operation, positive pass over the hinted document
BUDGET_SECONDS = 150 * max(1, MAX_EXAMPLES // 25)
OPENAPI_PATH = "/api/v1/openapi.json"


def test_openapi_document_is_valid_openapi_30(app, client):
    import schemathesis
    from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

    resp = client.get(OPENAPI_PATH)
    assert resp.status_code == 200 and resp.is_json
    doc = resp.get_json()
    assert str(doc.get("openapi", "")).startswith("3.0."), doc.get("openapi")
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in OPENAPI_30_VALIDATOR.iter_errors(doc)]
    assert not errors, "the OpenAPI document is not valid 3.0:\n" + "\n".join(errors[:20])

    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)
    schema.validate()
    broken = [str(r.err()) for r in schema.get_all_operations() if not _is_ok(r)]
    assert not broken, broken

    # every documented operation exists in the URL map, and every API rule is documented
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != OPENAPI_PATH:
            from hardship.api import openapi_path

            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.add((openapi_path(rule.rule), method))
    assert documented == routed, {"undocumented": routed - documented, "not routed": documented - routed}


def _is_ok(result) -> bool:
    try:
        result.ok()
    except Exception:
        return False
    return True


def test_api_fuzz_no_server_errors(app, tree, client):
    import schemathesis
    from schemathesis import GenerationMode

    from hardship.api import ENDPOINTS

    state = _FuzzState(app, tree)
    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)
    schema.validate()
    hinted = schemathesis.openapi.from_dict(_hinted_document(client.get(OPENAPI_PATH).get_json(), state.real_values()))
    hinted.validate()
    hinted.app = app
    hinted_operations = {r.ok().label: r.ok() for r in hinted.get_all_operations()}

    failures: list[str] = []
    counts: dict[str, dict[int, int]] = {}
    started = time.process_time()
    out_of_time = []

    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        passes = [("positive", operation, GenerationMode.POSITIVE, MAX_EXAMPLES),
                  ("negative", operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
                  ("hinted", hinted_operations[label], GenerationMode.POSITIVE, HINTED_EXAMPLES)]
        for pass_name, op, mode, examples in passes:
            if time.process_time() - started > BUDGET_SECONDS:
                out_of_time.append(f"{label} ({pass_name})")
                continue
            _run_pass(state, op.as_strategy(generation_mode=mode), examples, f"[{pass_name}] {label}",
                      failures, counts)

    # the settings body is free-form (its keys are the setting definitions), so the document does not
    # describe it: fuzz it here with every key and any JSON value, non-finite floats included
    if time.process_time() - started <= BUDGET_SECONDS:
        _settings_pass(state, failures, counts)
    else:
        out_of_time.append("PUT /api/v1/tenants/{code}/settings (settings bodies)")

    elapsed = time.process_time() - started
    total = sum(n for per_status in counts.values() for n in per_status.values())
    print(f"\nfuzzed {len(counts)} operations with {total} requests in {elapsed:.1f}s of CPU")
    for label, per_status in sorted(counts.items()):
        print(f"  {label}: " + ", ".join(f"{code}x{n}" for code, n in sorted(per_status.items())))
    documented = {f"{m.upper()} /api/v1{_doc_path(ep.rule)}" for ep in ENDPOINTS for m in ep.methods}
    assert documented <= set(counts), f"operations never called: {documented - set(counts)}"
    assert not failures, f"{len(failures)} server error(s) in {total} requests:\n\n" + "\n".join(failures)
    assert not out_of_time, (f"the fuzz run exceeded its budget of {BUDGET_SECONDS}s of CPU ({elapsed:.0f}s) before "
                             f"{out_of_time}; lower MAX_EXAMPLES or speed the API up")


def _run_pass(state, strategy, examples: int, name: str, failures: list, counts: dict) -> None:
    """Send ``examples`` generated cases; record (do not raise) 5xx, so nothing is shrunk or retried."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=strategy)
    def run(case):
        response = case.call(headers={"Authorization": f"Bearer {state.token_for(case)}"})
        per_status = counts.setdefault(case.operation.label, {})
        per_status[response.status_code] = per_status.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except FailureGroup as exc:
            failures.append(f"{name}: {exc}")
        if response.status_code >= 500 and not failures:
            failures.append(f"{name}: {response.status_code} {response.text[:500]}")
        state.repair()

    run()


def _settings_pass(state, failures: list, counts: dict) -> None:
    import json

    from hypothesis import strategies as st

    from tenants.settings import DEFINITIONS

    keys = sorted(DEFINITIONS)
    inner_keys = st.sampled_from(["default", "2024", "999", "warning_pct", "warning_after_years",
                                  "overdue_after_years"]) | st.text(max_size=6)
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    values = st.recursive(scalars, lambda children: st.lists(children, max_size=3)
                          | st.dictionaries(inner_keys, children, max_size=4), max_leaves=8)
    bodies = st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), values, max_size=len(keys))
    label = "PUT /api/v1/tenants/{code}/settings"
    client = state.app.test_client()

    @settings(max_examples=MAX_EXAMPLES * 2, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(body=bodies, code=st.sampled_from(["C01", "K0101", "P01"]))
    def run(body, code):
        raw = json.dumps(body)  # NaN and Infinity too, which Python's JSON parser accepts
        response = client.put(f"/api/v1/tenants/{code}/settings", data=raw,
                              headers={"Authorization": f"Bearer {state.token}", "Content-Type": "application/json"})
        per_status = counts.setdefault(label, {})
        per_status[response.status_code] = per_status.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            failures.append(f"[settings bodies] {label} {code}: {response.status_code} for {raw[:300]}")
        state.repair()

    run()


def _doc_path(rule: str) -> str:
    from hardship.api import openapi_path

    return openapi_path(rule)


class _FuzzState:
    """The fuzz user's token, kept usable: a fuzzed request may revoke the token it was sent with
    (DELETE /auth/tokens/current) or change the user; :meth:`repair` puts things back."""

    def __init__(self, app, factory):
        self.app, self.factory = app, factory
        self.token = factory.token(FUZZ_USER)
        from tenants.levels import registry

        self.roles = list(registry.get("province").roles)

    def token_for(self, case) -> str:
        if case.operation.method.upper() == "DELETE" and case.operation.path.endswith("/auth/tokens/current"):
            return self.factory.token(FUZZ_USER)  # a throw-away token, so the shared one survives
        return self.token

    def repair(self) -> None:
        from hardship.accounts.models import User
        from hardship.accounts.operations import resolve_token
        from hardship.core.db import db
        from tests.conftest import system

        with system(self.app):
            user = db.session.scalar(sa.select(User).where(User.username == FUZZ_USER))
            if not user.active or sorted(user.roles) != sorted(self.roles) or user.locked_until is not None:
                user.active, user.roles, user.locked_until, user.failed_logins = True, self.roles, None, 0
            db.session.commit()
            valid = resolve_token(self.token) is not None
            db.session.commit()
        if not valid:
            self.token = self.factory.token(FUZZ_USER)

    def real_values(self) -> dict:
        """Values that exist in the tree (the fuzz user sees all of it), and a finished job."""
        from hardship.accounts.models import User
        from hardship.core.db import db
        from tenants.models import Tenant
        from tests.conftest import ApiClient, system

        with system(self.app):
            user_ids = sorted(db.session.scalars(sa.select(User.id)))
            codes = sorted(db.session.scalars(sa.select(Tenant.code)))
        api = ApiClient(self.app.test_client(), self.token)
        resp = api.post("/api/v1/tenants/K0101/exports")
        assert resp.status_code == 202, resp.get_data(as_text=True)
        return {"codes": codes, "user_ids": user_ids, "job_ids": [resp.get_json()["job"]]}


def _hinted_document(doc: dict, real: dict) -> dict:
    """The OpenAPI document with the parameters and body fields that name records narrowed to real
    values (and one absent value) or to the app's formats. Unknown names keep their schema."""
    import copy

    from tenants.levels import ROLES, registry

    codes = {"type": "string", "enum": real["codes"] + ["ZZ99"]}
    params = {
        "code": codes,
        "tenant": codes,
        "user_id": {"type": "integer", "enum": real["user_ids"] + [999999]},
        "job_id": {"type": "string", "enum": real["job_ids"] + ["00000000-0000-4000-8000-000000000000"]},
    }
    fields = {
        "parent": codes,
        "tenant": codes,
        "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9]{1,7}$"},
        "level": {"type": "string", "enum": sorted(registry.levels) + ["nope"]},
        "roles": {"type": "array", "items": {"type": "string", "enum": sorted(ROLES) + ["nope"]},
                  "minItems": 0, "maxItems": 4},
        "username": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{2,12}$"},
        "password": {"type": "string", "minLength": 6, "maxLength": 40},
        "display_name": {"type": "string", "maxLength": 60},
        "name": {"type": "string", "maxLength": 110},
        "division_code": {"type": "string", "pattern": "^[0-9]{5,7}$", "nullable": True},
    }
    doc = copy.deepcopy(doc)

    def narrow(schema: dict) -> None:
        for name, prop in (schema.get("properties") or {}).items():
            if name in fields and "$ref" not in prop:
                prop.clear()
                prop.update(copy.deepcopy(fields[name]))

    for component in doc.get("components", {}).get("schemas", {}).values():
        narrow(component)
    for path_item in doc["paths"].values():
        for operation in path_item.values():
            for param in operation.get("parameters", []):
                if param.get("name") in params:
                    param["schema"] = copy.deepcopy(params[param["name"]])
            for media in (operation.get("requestBody") or {}).get("content", {}).values():
                narrow(media.get("schema") or {})
    return doc


# --------------------------------------------------------------------------------------------
# Regressions found by fuzzing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/tenants/C%0001", None),
    ("GET", "/api/v1/jobs/a%00b", None),
    ("GET", "/api/v1/audit?tenant=C01&action=a%00b", None),
    ("PATCH", "/api/v1/users/{user_id}", {"display_name": "a\x00b"}),
    ("POST", "/api/v1/tenants", {"parent": "C01", "code": "K0199", "name": "a\x00b", "level": "county"}),
    ("POST", "/api/v1/tenants/C01/users", {"username": "abc", "password": "x\x00xxxxxxxx", "roles": ["admin"]}),
    ("PUT", "/api/v1/tenants/C01/settings", {"a\x00": 1}),
    ("POST", "/api/v1/auth/tokens", {"username": "p01_all\x00", "password": "x"}),
])
def test_nul_characters_are_a_bad_request(api_as, tree, method, path, body):
    """PostgreSQL text cannot hold U+0000: such requests are refused with 400, not failed with 500."""
    from hardship.accounts.models import User
    from hardship.core.db import db
    from tests.conftest import system

    with system(tree.app):
        user_id = db.session.scalar(sa.select(User.id).where(User.username == "k0101_all"))
    resp = api_as("p01_all").request(method, path.format(user_id=user_id), json=body)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.json["error"]["code"] == "bad_request"


def test_nul_in_a_form_is_a_bad_request(client):
    from tests.conftest import csrf_from

    page = client.get("/login")
    resp = client.post("/login", data={"username": "p01_all\x00", "password": "x",
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 400


def test_setting_error_messages_are_whole_messages(api_as, tree):
    """A validator's lazy message used to reach marshmallow unconverted and come back as one list
    item per character."""
    resp = api_as("p01_all").put("/api/v1/tenants/C01/settings", json={"matching_ratio": {"default": 99}})
    assert resp.status_code == 422
    messages = resp.json["error"]["fields"]["matching_ratio"]
    assert len(messages) == 1 and len(messages[0]) > 5, messages


def test_ids_beyond_the_column_range_are_absent(api_as, client, login, tree):
    """PostgreSQL INTEGER ids are 32-bit: a larger id in the URL used to fail in the database (500)."""
    huge = 113259068696
    api = api_as("p01_all")
    resp = api.patch(f"/api/v1/users/{huge}", json={"active": False})
    assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"
    assert api.patch(f"/api/v1/users/{2**31}", json={}).status_code == 404
    login("p01_all")
    assert client.get(f"/t/P01/users/{huge}").status_code == 404
