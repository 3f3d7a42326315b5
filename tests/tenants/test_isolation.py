"""Subtree isolation (SPEC 2.3 / 8.2), as a matrix generated from ``app.url_map``.

A user reads its own tenant and every descendant; anything outside that subtree does not exist
for it: 404 with exactly the body of a record that does not exist at all, never 403. Inside
the subtree, an action the user's roles do not allow is 403.

Every rule of the URL map that takes an argument is tested with every method, so a new route is
covered without editing this file, as long as each of its URL arguments has a sample in
:data:`SAMPLES` (or is declared not tenant-scoped in :data:`UNSCOPED`). A rule with an argument
that has neither fails, asking for a sample: it is never skipped.

For each rule and method, with the samples (all of subtree C01, under K0101):

* ``c02_all`` (sibling subtree) and ``e0101001_all`` (below K0101, so K0101 is outside its
  subtree) get 404, and for the API the same JSON body as for an absent record (``ZZ99``,
  ``999999``, ...); for the UI the same page content;
* when a rule takes both a tenant and a record, the outsider also gets 404 for the record
  addressed through its *own* tenant (``/t/C02/users/<id of a K0101 user>``);
* ``c01_all`` (same subtree, every role) does not get 404.

The tenant tree is the ``tree`` fixture of ``conftest.py``:
P01 > C01 > K0101 > E0101001, C01 > K0102, P01 > C02 > K0201 > E0201001.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from hardship.app import create_app
from tests.conftest import IS_PG, TEST_CONFIG, csrf_from
from tests.fixtures.households import household_body, make_id

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

#: the subtree the samples belong to, and who looks at them
INSIDER = "c01_all"  # same subtree, every role of its level
OUTSIDERS = ("c02_all", "e0101001_all")  # sibling subtree; a descendant of the sample tenant
OUTSIDER_TENANT = {"c02_all": "C02", "e0101001_all": "E0101001"}


# --------------------------------------------------------------------------------------------
# The sample registry: one entry per URL argument name.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """How to obtain a value of one URL argument inside subtree C01 (``make(ctx)``), and a value
    that does not exist anywhere (``absent``). ``tenant`` marks arguments that name a tenant."""

    make: Callable[[SampleContext], object]
    absent: object
    tenant: bool = False


class SampleContext:
    """What a sample maker may use; values are computed once per test."""

    def __init__(self, app, factory, api_as):
        self.app, self.factory, self.api_as = app, factory, api_as
        self._cache: dict = {}

    def once(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def user_id(self, username: str) -> int:
        from hardship.accounts.models import User
        from hardship.core.db import db
        from tests.conftest import system

        with system(self.app):
            return db.session.scalar(sa.select(User.id).where(User.username == username))


def _k0101_job(ctx: SampleContext) -> str:
    """A finished job of K0101 (the directory export runs inline when REDIS_URL is unset)."""

    def make():
        resp = ctx.api_as("k0101_all").post("/api/v1/tenants/K0101/exports")
        assert resp.status_code == 202, resp.get_data(as_text=True)
        return resp.json["job"]

    return ctx.once("job", make)


def _k0101_household(ctx: SampleContext) -> int:
    """A household held by K0101 itself (a worker with no enterprise union), registered by its clerk."""
    def make():
        resp = ctx.api_as("k0101_all").post("/api/v1/households", json=household_body("K0101"))
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.json["id"]

    return ctx.once("household", make)


def _k0101_objection(ctx: SampleContext) -> int:
    """A publicity objection on K0101's household (surveyed and publicized first)."""
    def make():
        api, hid = ctx.api_as("k0101_all"), _k0101_household(ctx)
        survey = {"visited_on": "2026-01-05", "visitors": ["王五"], "findings": "属实", "income_per_capita": "800.00"}
        assert api.post(f"/api/v1/households/{hid}/surveys", json=survey).status_code == 201
        assert api.post(f"/api/v1/households/{hid}/transitions", json={"action": "publicize"}).status_code == 200
        resp = api.post(f"/api/v1/households/{hid}/objections", json={"text": "群众反映收入不实"})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.json["id"]

    return ctx.once("objection", make)


def _k0101_transaction(ctx: SampleContext) -> int:
    """A receipt of K0101 in the special-fund ledger, posted by its finance officer."""
    def make():
        resp = ctx.api_as("k0101_all").post("/api/v1/funds/receipts", json={"tenant": "K0101", **FUNDS_BODY},
                                            headers={"Idempotency-Key": "isolation-sample"})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.json["id"]

    return ctx.once("fund_transaction", make)


def _k0101_goods(ctx: SampleContext) -> int:
    """A goods item of K0101 with some stock, recorded by its clerk."""
    def make():
        api = ctx.api_as("k0101_all")
        resp = api.post("/api/v1/goods", json={"tenant": "K0101", **GOODS_BODY})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        received = api.post(f"/api/v1/goods/{resp.json['id']}/receipts",
                            json={"quantity": 10, "date": "2026-03-01", "document_no": "捐赠1号"})
        assert received.status_code == 201, received.get_data(as_text=True)
        return resp.json["id"]

    return ctx.once("goods", make)


#: a goods item without its tenant
GOODS_BODY = {"name": "大米", "unit": "袋", "unit_value": "50.00"}
def _k0102_program(ctx: SampleContext) -> int:
    """An aid program of K0102 (a program is read by its subtree and the unions below it: K0102 is outside
    E0101001's view, as K0101 is, and inside C01's)."""
    def make():
        resp = ctx.api_as("k0102_all").post("/api/v1/programs", json={
            "tenant": "K0102", "type": "warmth", "year": 2026, "name": "隔离测试项目", "sources": ["central_finance"]})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.json["id"]

    return ctx.once("aid_program", make)


def _k0101_batch(ctx: SampleContext) -> dict:
    """A draft aid batch of K0101 under its own program, with one non-archived person."""
    def make():
        api = ctx.api_as("k0101_all")
        resp = api.post("/api/v1/programs", json={"tenant": "K0101", "type": "warmth", "year": 2026,
                                                  "name": "隔离测试项目", "sources": ["central_finance"]})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        person = {"name": "隔离测试", "id_number": make_id(), "reason": "春节坚守一线"}
        resp = api.post(f"/api/v1/programs/{resp.json['id']}/batches", json={
            "tenant": "K0101", "items": [{"person": person, "kind": "frontline", "amount": "500.00"}]})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return {"batch": resp.json["id"], "item": resp.json["items"][0]["id"]}

    return ctx.once("aid_batch", make)
#: a service-desk case without its tenant
CASE_BODY = {"kind": "petition", "channel": "visit", "category": "unpaid_wages", "person": {"name": "赵六"},
             "subject": "企业拖欠工资"}


def _k0101_case(ctx: SampleContext) -> int:
    """A service-desk case registered at K0101's window and held there (not referred down)."""
    def make():
        resp = ctx.api_as("k0101_all").post("/api/v1/cases", json={"tenant": "K0101", **CASE_BODY})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.json["id"]

    return ctx.once("case", make)


#: a report filing without its tenant
FILING_BODY = {"form": "monthly_funds", "year": 2026, "month": 11}


def _k0101_filing(ctx: SampleContext) -> int:
    """K0101's monthly report filed upward to C01."""
    def make():
        resp = ctx.api_as("k0101_all").post("/api/v1/reports/filings", json={"tenant": "K0101", **FILING_BODY})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.json["id"]

    return ctx.once("filing", make)


#: a ledger posting without its tenant (receipts; returns add ``to``)
FUNDS_BODY = {"source": "central_finance", "fiscal_year": 2026, "amount": "100.00", "document_no": "隔离测试1号",
              "date": "2026-03-01"}


SAMPLES: dict[str, Sample] = {
    # API: /api/v1/tenants/<code>/...
    "code": Sample(lambda ctx: "K0101", absent="ZZ99", tenant=True),
    # UI: /t/<tenant_code>/...
    "tenant_code": Sample(lambda ctx: "K0101", absent="ZZ99", tenant=True),
    "user_id": Sample(lambda ctx: ctx.user_id("k0101_all"), absent=999999),
    "job_id": Sample(_k0101_job, absent="00000000-0000-4000-8000-000000000000"),
    "household_id": Sample(_k0101_household, absent=999999),
    "transaction_id": Sample(_k0101_transaction, absent=999999),
    "objection_id": Sample(_k0101_objection, absent=999999),
    "goods_id": Sample(_k0101_goods, absent=999999),
    "program_id": Sample(_k0102_program, absent=999999),
    "batch_id": Sample(lambda ctx: _k0101_batch(ctx)["batch"], absent=999999),
    "item_id": Sample(lambda ctx: _k0101_batch(ctx)["item"], absent=999999),
    "case_id": Sample(_k0101_case, absent=999999),
    "filing_id": Sample(_k0101_filing, absent=999999),
}

#: URL arguments that do not address tenant data (the value used when building the URL, and why)
UNSCOPED: dict[str, tuple[object, str]] = {
    "filename": ("css/app.css", "static files are public"),
    "lang": ("en", "the language switch"),
    "action": ("close", "the name of a case page's action (the case is the scoped argument)"),
    "form": ("warmth", "the name of a report form (the tenant is the scoped argument)"),
}

#: required fields of API query schemas other than ``tenant`` (for the query-tenant test)
QUERY_SAMPLES: dict[str, object] = {"year": 2026, "form": "monthly_funds", "month": 11}

#: body fields that name a tenant, and a valid body per endpoint that has one
BODY_TENANT_FIELDS = ("parent", "tenant")
BODY_SAMPLES: dict[str, dict] = {
    "api.create_tenant": {"code": "E0101999", "name": "隔离测试企业工会", "level": "enterprise"},
    "api.create_household": {k: v for k, v in household_body().items() if k != "tenant"},
    "api.post_receipt": FUNDS_BODY,
    "api.post_return": {**FUNDS_BODY, "to": "finance"},
    "api.create_goods_item": GOODS_BODY,
    "api.create_program": {"type": "warmth", "year": 2026, "name": "隔离测试项目", "sources": ["central_finance"]},
    "api.create_batch": {"items": []},
    "api.create_case": CASE_BODY,
    "api.start_form_job": {"year": 2026},
    "api.file_report": FILING_BODY,
}

_ARG_RE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _missing_sample_message(what: str, names) -> str:
    return (f"{what}: no isolation sample for URL argument(s) {sorted(names)}. Register one in SAMPLES "
            f"(a value inside subtree C01 and an absent value) in tests/tenants/test_isolation.py, or, if the "
            f"argument does not address tenant data, in UNSCOPED with the reason.")


# --------------------------------------------------------------------------------------------
# Collecting the rules: one application built at collection time.
# --------------------------------------------------------------------------------------------


_APP_CACHE: list = []


def _collection_app():
    """One application for collecting rules (it never touches the database)."""
    if not _APP_CACHE:
        _APP_CACHE.append(create_app(dict(TEST_CONFIG)))
    return _APP_CACHE[0]


def _rule_params():
    app = _collection_app()
    params = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        args = set(rule.arguments)
        if not args or args <= set(UNSCOPED):
            continue
        for method in sorted(rule.methods & set(HTTP_METHODS)):
            params.append(pytest.param(rule.rule, rule.endpoint, method, id=f"{method} {rule.rule}"))
    return params


def _query_tenant_params():
    _collection_app()  # imports every api module, filling ENDPOINTS
    from hardship.api import ENDPOINTS, api

    params = []
    for ep in ENDPOINTS:
        if ep.query is None or "tenant" not in ep.query._declared_fields:
            continue
        for method in ep.methods:
            rule = api.url_prefix + ep.rule
            params.append(pytest.param(rule, ep.query, method, id=f"{method} {rule}?tenant="))
    return params


def _body_tenant_params():
    _collection_app()
    from hardship.api import ENDPOINTS, api

    params = []
    for ep in ENDPOINTS:
        if ep.body is None:
            continue
        fields = [f for f in BODY_TENANT_FIELDS if f in ep.body._declared_fields]
        for field in fields:
            for method in ep.methods:
                rule = api.url_prefix + ep.rule
                endpoint = f"api.{_endpoint_name(ep)}"
                params.append(pytest.param(rule, endpoint, method, field, id=f"{method} {rule} body.{field}"))
    return params


def _endpoint_name(ep) -> str:
    from hardship.api import api

    app = _collection_app()
    for rule in app.url_map.iter_rules():
        if rule.rule == api.url_prefix + ep.rule and set(ep.methods) <= rule.methods:
            return rule.endpoint.split(".", 1)[1]
    raise LookupError(ep.rule)


RULES = _rule_params()
QUERY_TENANT_RULES = _query_tenant_params()
BODY_TENANT_RULES = _body_tenant_params()


def test_matrix_is_not_empty():
    """The generated matrix covers the API and the UI (a guard against collecting nothing)."""
    rules = {p.values[0] for p in RULES}
    assert any(r.startswith("/api/v1/") for r in rules) and any(r.startswith("/t/") for r in rules), rules
    assert QUERY_TENANT_RULES, "no API query schema with a tenant field was found"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _build(rule: str, values: dict) -> str:
    return _ARG_RE.sub(lambda m: str(values[m.group(1)]), rule)


def _is_api(rule: str) -> bool:
    return rule.startswith("/api/")


def _main(html: str) -> str:
    """The page's content without the parts that depend on the URL or carry a fresh CSRF token."""
    match = re.search(r"<main>(.*)</main>", html, re.S)
    return match.group(1).strip() if match else html


class UiSession:
    """The test client logged in through the real login form as one user at a time."""

    def __init__(self, client, login):
        self.client, self.login, self.user, self.token = client, login, None, None

    def become(self, username: str) -> None:
        if self.user == username:
            return
        with self.client.session_transaction() as session:
            session.clear()
        self.login(username)
        home = self.client.get(f"/t/{_home_tenant(username)}/")
        assert home.status_code == 200, home.status_code
        self.user, self.token = username, csrf_from(home.get_data(as_text=True))

    def request(self, method: str, url: str):
        data = {"csrf_token": self.token} if method != "GET" else None
        return self.client.open(url, method=method, data=data)


def _home_tenant(username: str) -> str:
    return username.rsplit("_", 1)[0].upper()


class Caller:
    """Sends requests to one rule as a given user, over the API (bearer token) or the UI (session)."""

    def __init__(self, api_as, ui: UiSession):
        self.api_as, self.ui = api_as, ui
        self._api_clients: dict = {}

    def __call__(self, username: str, method: str, rule: str, values: dict, json=None):
        url = _build(rule, values)
        if _is_api(rule):
            if username not in self._api_clients:
                self._api_clients[username] = self.api_as(username)
            body = json if json is not None else ({} if method in ("POST", "PUT", "PATCH") else None)
            resp = self._api_clients[username].request(method, url, json=body)
        else:
            self.ui.become(username)
            resp = self.ui.request(method, url)
        return url, resp


def _describe(resp) -> str:
    if resp.is_json:
        return f"{resp.status_code} {resp.get_json()}"
    return f"{resp.status_code} {resp.get_data(as_text=True)[:300]!r}"


def _same_as_absent(rule: str, resp, absent_resp) -> bool:
    if _is_api(rule):
        return resp.is_json and absent_resp.is_json and resp.get_json() == absent_resp.get_json()
    return _main(resp.get_data(as_text=True)) == _main(absent_resp.get_data(as_text=True))


@pytest.fixture
def caller(api_as, client, login):
    return Caller(api_as, UiSession(client, login))


@pytest.fixture
def samples(app, tree, api_as):
    return SampleContext(app, tree, api_as)


# --------------------------------------------------------------------------------------------
# The matrix
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "endpoint", "method"), RULES)
def test_route_isolation(rule, endpoint, method, samples, caller):
    args = set(_ARG_RE.findall(rule))
    missing = args - set(SAMPLES) - set(UNSCOPED)
    if missing:
        pytest.fail(_missing_sample_message(f"{method} {rule} ({endpoint})", missing))

    inside = {a: (UNSCOPED[a][0] if a in UNSCOPED else SAMPLES[a].make(samples)) for a in args}
    absent = {a: (UNSCOPED[a][0] if a in UNSCOPED else SAMPLES[a].absent) for a in args}
    tenant_args = {a for a in args if a in SAMPLES and SAMPLES[a].tenant}
    record_args = {a for a in args if a in SAMPLES and not SAMPLES[a].tenant}
    where = f"{method} {rule} ({endpoint})"

    problems = []
    for outsider in OUTSIDERS:
        variants = [("sample", inside, absent)]
        if tenant_args and record_args:
            # the record of subtree C01 addressed through the outsider's own tenant
            own = OUTSIDER_TENANT[outsider]
            variants.append(("own tenant + foreign record", {**inside, **dict.fromkeys(tenant_args, own)},
                             {**absent, **dict.fromkeys(tenant_args, own)}))
        for label, values, absent_values in variants:
            url, resp = caller(outsider, method, rule, values)
            absent_url, absent_resp = caller(outsider, method, rule, absent_values)
            if absent_resp.status_code != 404:
                problems.append(f"{where}: as {outsider}, the absent record {absent_url} gave "
                                f"{_describe(absent_resp)}, expected 404")
            if resp.status_code != 404:
                problems.append(f"{where}: as {outsider} ({label}), {url} is outside its subtree but gave "
                                f"{_describe(resp)}, expected 404")
            elif not _same_as_absent(rule, resp, absent_resp):
                problems.append(f"{where}: as {outsider} ({label}), {url} answered 404 with a body that differs "
                                f"from the absent record's {absent_url}:\n  {_describe(resp)}\n  "
                                f"{_describe(absent_resp)}")

    url, resp = caller(INSIDER, method, rule, inside)
    if resp.status_code == 404 or resp.status_code >= 500:
        problems.append(f"{where}: as {INSIDER} (same subtree, every role), {url} gave {_describe(resp)}")
    if problems:
        pytest.fail("\n".join(problems))


@pytest.mark.parametrize(("rule", "query_schema", "method"), QUERY_TENANT_RULES)
def test_query_tenant_isolation(rule, query_schema, method, samples, caller):
    """``?tenant=`` of another subtree is absent, like a code that exists nowhere."""
    required = {name for name, f in query_schema._declared_fields.items() if f.required and name != "tenant"}
    missing = required - set(QUERY_SAMPLES)
    if missing:
        pytest.fail(f"{method} {rule}: register a sample for the required query field(s) {sorted(missing)} "
                    f"in QUERY_SAMPLES in tests/tenants/test_isolation.py")
    args = set(_ARG_RE.findall(rule))
    missing = {a for a in args if not (a in SAMPLES and SAMPLES[a].tenant) and a not in UNSCOPED}
    if missing:
        pytest.fail(_missing_sample_message(f"{method} {rule} (query tenant)", missing)
                    + " The query-tenant test fills only tenant arguments (with the caller's own tenant).")

    problems = []
    for user, tenant, expect_404 in [("c02_all", "K0101", True), ("e0101001_all", "K0101", True),
                                     (INSIDER, "K0101", False)]:
        path = {a: (UNSCOPED[a][0] if a in UNSCOPED else _home_tenant(user)) for a in args}

        def call(code, user=user, path=path):
            query = "&".join(f"{k}={v}" for k, v in {**QUERY_SAMPLES, "tenant": code}.items()
                             if k in query_schema._declared_fields)
            return caller(user, method, rule + "?" + query, path)[1]

        resp = call(tenant)
        if expect_404:
            absent = call("ZZ99")
            if resp.status_code != 404 or resp.get_json() != absent.get_json():
                problems.append(f"{method} {rule}?tenant={tenant} as {user}: {_describe(resp)}; "
                                f"the absent tenant ZZ99 gave {_describe(absent)}")
        elif resp.status_code in (404,) or resp.status_code >= 500:
            problems.append(f"{method} {rule}?tenant={tenant} as {user}: {_describe(resp)}")
    if problems:
        pytest.fail("\n".join(problems))


@pytest.mark.parametrize(("rule", "endpoint", "method", "field"), BODY_TENANT_RULES)
def test_body_tenant_isolation(rule, endpoint, method, field, samples, caller):
    """A tenant named in a JSON body (``parent``, ``tenant``) outside the subtree is absent too."""
    if endpoint not in BODY_SAMPLES:
        pytest.fail(f"{method} {rule} ({endpoint}): its body names a tenant in {field!r}; register a valid body "
                    f"for it in BODY_SAMPLES in tests/tenants/test_isolation.py")
    args = set(_ARG_RE.findall(rule))
    if args - set(SAMPLES) - set(UNSCOPED):
        pytest.fail(_missing_sample_message(f"{method} {rule} ({endpoint})", args - set(SAMPLES) - set(UNSCOPED)))
    inside = {a: (UNSCOPED[a][0] if a in UNSCOPED else SAMPLES[a].make(samples))
              for a in args}  # URL arguments inside subtree C01
    body = BODY_SAMPLES[endpoint]
    problems = []
    for user in OUTSIDERS:
        _url, resp = caller(user, method, rule, inside, json={**body, field: "K0101"})
        _url, absent = caller(user, method, rule, inside, json={**body, field: "ZZ99"})
        if resp.status_code != 404 or resp.get_json() != absent.get_json():
            problems.append(f"{method} {rule} {field}=K0101 as {user}: {_describe(resp)}; "
                            f"{field}=ZZ99 gave {_describe(absent)}")
    _url, resp = caller(INSIDER, method, rule, inside, json={**body, field: "K0101"})
    if resp.status_code == 404 or resp.status_code >= 500:
        problems.append(f"{method} {rule} {field}=K0101 as {INSIDER}: {_describe(resp)}")
    if problems:
        pytest.fail("\n".join(problems))


def test_ui_form_tenant_outside_subtree_is_absent(client, login, tree):
    """The new-user form's tenant field is resolved inside the subtree too."""
    login("c01_all")
    page = client.get("/t/C01/users")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    form = {"csrf_token": token, "tenant": "K0201", "username": "leak_test", "password": "Secret-123!",
            "roles": ["clerk"]}
    assert client.post("/t/C01/users", data=form).status_code == 404
    assert client.post("/t/C01/users", data={**form, "tenant": "ZZ99"}).status_code == 404


# --------------------------------------------------------------------------------------------
# The ORM safety net
# --------------------------------------------------------------------------------------------


def test_orm_safety_net_without_filters(app, tree):
    """An ORM query with no filter at all, under a user's scope, sees only that user's subtree."""
    from hardship.accounts.models import User
    from hardship.core.db import db
    from tenants.models import Tenant
    from tenants.scoping import scope
    from tests.conftest import system

    with system(app):
        paths = dict(db.session.execute(sa.select(Tenant.code, Tenant.path)).all())
        ids = dict(db.session.execute(sa.select(Tenant.code, Tenant.id)).all())
        k0101_user = db.session.scalar(sa.select(User.id).where(User.username == "k0101_all"))
    c02_subtree = {"C02", "K0201", "E0201001"}

    with app.app_context():
        db.session.remove()  # a fresh session: nothing in the identity map
        with scope(paths["C02"]):
            assert set(db.session.scalars(sa.select(Tenant.code))) == c02_subtree
            assert {t.code for t in db.session.scalars(sa.select(Tenant))} == c02_subtree
            users = db.session.scalars(sa.select(User)).all()
            assert {u.username for u in users} == {"c02_all", "k0201_all", "e0201001_all"}
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)) == len(c02_subtree)
            assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 3
            # by primary key, by a filter naming the other subtree, and through a join
            assert db.session.get(Tenant, ids["K0101"]) is None
            assert db.session.get(User, k0101_user) is None
            assert db.session.scalar(sa.select(Tenant).where(Tenant.code == "C01")) is None
            assert db.session.scalars(sa.select(User).join(Tenant, Tenant.id == User.tenant_id)
                                      .where(Tenant.code == "K0101")).all() == []
            # bulk UPDATE and DELETE are scoped as well
            changed = db.session.execute(sa.update(User).values(display_name="scoped"))
            assert changed.rowcount == 3
            if IS_PG:
                # row-level security: even raw SQL sees only the subtree
                raw = set(db.session.execute(sa.text("select code from tenants")).scalars())
                assert raw == c02_subtree
            db.session.rollback()
        db.session.remove()

        # an ancestor's scope sees the descendants, and a leaf's scope sees only itself
        with scope(paths["E0101001"]):
            assert set(db.session.scalars(sa.select(Tenant.code))) == {"E0101001"}
            assert {u.username for u in db.session.scalars(sa.select(User))} == {"e0101001_all"}
            db.session.rollback()
        db.session.remove()

        # no scope at all: nothing
        with scope(None):
            assert db.session.scalars(sa.select(Tenant)).all() == []
            assert db.session.scalars(sa.select(User)).all() == []
            db.session.rollback()
        db.session.remove()

    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)
                                 .where(User.display_name == "scoped")) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 8


def test_every_rule_argument_has_a_sample():
    """Lists every unregistered argument at once (the matrix fails per route too)."""
    app = _collection_app()
    missing = {}
    for rule in app.url_map.iter_rules():
        unknown = set(rule.arguments) - set(SAMPLES) - set(UNSCOPED)
        if unknown:
            missing[f"{rule.rule} ({rule.endpoint})"] = sorted(unknown)
    assert not missing, _missing_sample_message(", ".join(missing), {a for v in missing.values() for a in v})


def test_writes_outside_the_scope_are_refused(app, tree):
    """The flush guard: an object loaded under the system scope cannot be written from a user's scope."""
    from hardship.accounts.models import User
    from hardship.audit.models import AuditEvent
    from hardship.core.db import db
    from hardship.core.errors import NotFound
    from tenants.models import Tenant
    from tenants.scoping import scope
    from tests.conftest import system

    with system(app):
        c02_user = db.session.scalar(sa.select(User).where(User.username == "c02_all"))
        c02_id = db.session.scalar(sa.select(Tenant.id).where(Tenant.code == "C02"))
        with scope("/P01/C01/"):
            c02_user.display_name = "hijacked"
            with pytest.raises(NotFound):
                db.session.flush()
            db.session.rollback()
            db.session.add(AuditEvent(tenant_id=c02_id, action="forged", object_type="x", detail={}))
            with pytest.raises(NotFound):
                db.session.flush()
            db.session.rollback()
    with system(app):
        assert db.session.scalar(sa.select(User.display_name).where(User.username == "c02_all")) != "hijacked"
