"""The pages stop typing where the rules would refuse it: each text input's maxlength is its schema's."""

from __future__ import annotations

import re

from hardship.archives.schemas import HouseholdIn
from hardship.core.fields import max_length_of
from hardship.web import SchemaLimits


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_declared_limit_names_a_rule(app):
    forms = [f for f in _subclasses(SchemaLimits) if f.limits]
    assert len(forms) >= 8, forms  # archives, funds, accounts and tenants forms
    for form in forms:
        schema, paths = form.limits
        for name, path in paths.items():
            assert isinstance(max_length_of(schema, path), int), (form.__name__, name, path)


def _maxlength(html: str, name: str) -> int:
    tag = re.search(rf'<(?:input|textarea)[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert tag, name
    found = re.search(r'maxlength="(\d+)"', tag[0])
    assert found, tag[0]
    return int(found[1])


def test_registration_page_limits(client, login, tree):
    tree.user("E0101001", roles=("clerk",), username="e_clerk")
    login("e_clerk")
    html = client.get("/t/E0101001/archive/new").get_data(as_text=True)
    assert _maxlength(html, "head_name") == 50 == max_length_of(HouseholdIn, "head.name")
    assert _maxlength(html, "address") == max_length_of(HouseholdIn, "address") == 200
    assert _maxlength(html, "member_3_occupation") == max_length_of(HouseholdIn, "members.occupation")
    assert _maxlength(html, "bank_name") == 50


def test_funds_page_limits(client, login, tree):
    tree.user("C01", roles=("finance",), username="c01_fin")
    login("c01_fin")
    html = client.get("/t/C01/funds/receipts/new", follow_redirects=True).get_data(as_text=True)
    assert _maxlength(html, "document_no") == 100 and _maxlength(html, "note") == 500


def test_tenant_page_limits(client, login, tree):
    login("c01_all")
    html = client.get("/t/C01/children/new").get_data(as_text=True)
    assert _maxlength(html, "name") == 100 and _maxlength(html, "division_code") == 6
