"""Masked means not rebuildable (SPEC 3.8): a masked ID number hides the birth-date digits, so a masked reader
sees no birth date beside it, only its year, on every page, API response, export and print view, and in the
household's history."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest

from hardship.api import load_data
from hardship.archives import operations as ops
from hardship.archives.models import HouseholdEvent
from hardship.archives.schemas import HouseholdIn
from hardship.core.db import db
from tenants.scoping import get_tenant
from tests.conftest import system
from tests.fixtures.households import household_body, make_id

HEAD_BORN, MEMBER_BORN = date(1968, 4, 15), date(1995, 11, 3)
HEAD_ID = make_id("130102", HEAD_BORN, serial=207)
MEMBER_ID = make_id("130102", MEMBER_BORN, serial=31, male=False)
CARD = "6222020200112233446"

#: every reader that may read the archive but not see the household's personal data, at their union
MASKED = [("c_auditor", "C01"), ("c_approver", "C01"), ("c_clerk", "C01"), ("p_clerk", "P01"),
          ("p_approver", "P01"), ("k_auditor", "K0101"), ("k_chair", "K0101")]


def _spellings(born: date) -> list[str]:
    """The ways a birth date can be written."""
    return [born.isoformat(), f"{born:%Y%m%d}", f"{born.year}年{born.month}月{born.day}日", f"{born:%Y年%m月%d日}",
            f"{born.year}/{born.month}/{born.day}", f"{born:%Y/%m/%d}", f"{born:%Y.%m.%d}",
            f"{born:%m/%d/%Y}", f"{born:%d.%m.%Y}"]


FORBIDDEN = [HEAD_ID, MEMBER_ID, HEAD_ID[:17], MEMBER_ID[:17], CARD, *_spellings(HEAD_BORN),
             *_spellings(MEMBER_BORN)]


@pytest.fixture
def household(app, tree):
    tree.user("K0101", roles=("clerk",), username="k_clerk")
    tree.user("K0101", roles=("auditor",), username="k_auditor")
    tree.user("K0101", roles=("head",), username="k_chair")
    tree.user("C01", roles=("auditor",), username="c_auditor")
    tree.user("C01", roles=("approver",), username="c_approver")
    tree.user("C01", roles=("clerk",), username="c_clerk")
    tree.user("P01", roles=("clerk",), username="p_clerk")
    tree.user("P01", roles=("approver",), username="p_approver")
    tree.user("P01", roles=("reviewer",), username="p_reviewer")
    body = household_body("E0101001", head_id=HEAD_ID, members=[MEMBER_ID])
    body["bank"]["card_number"] = CARD
    with system(app):
        h = ops.register_household(get_tenant("E0101001"), load_data(HouseholdIn, body))
        db.session.flush()
        # a correction as the history keeps it: each personal field before and after
        db.session.add(HouseholdEvent(
            tenant_id=h.tenant_id, household_id=h.id, action="edit", episode=1, reason="更正",
            changes={"before": {"head.id_number": HEAD_ID, "head.birth_date": HEAD_BORN.isoformat(),
                                "members.0.phone": "13987654321"},
                     "after": {"head.id_number": MEMBER_ID, "head.birth_date": MEMBER_BORN.isoformat(),
                               "bank.card_number": CARD},
                     "fields": [{"field": "members.0.id_number", "before": MEMBER_ID, "after": HEAD_ID}]}))
        db.session.commit()
        return h.id


def _login(client, username):
    from tests.conftest import PASSWORD, csrf_from

    with client.session_transaction() as session:
        session.clear()
    page = client.get("/login")
    resp = client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert resp.status_code == 302


def _cells(content: bytes) -> list:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
            if cell.value is not None]


def _xlsx_text(content: bytes) -> str:
    """Every cell as text, dates in every spelling, and the serial number Excel keeps a date as."""
    out = []
    for value in _cells(content):
        if isinstance(value, datetime | date):
            day = value.date() if isinstance(value, datetime) else value
            out += _spellings(day)
        elif isinstance(value, int | float):
            out.append(str(value))
            for born in (HEAD_BORN, MEMBER_BORN):
                if value == (born - date(1899, 12, 30)).days:
                    out.append(born.isoformat())
        else:
            out.append(str(value))
    return "\n".join(out)


def _outputs(client, api_as, username, tenant, hid) -> dict[str, str]:
    """Everything ``username`` can read about the household: pages, API responses, exports, print view."""
    _login(client, username)
    api = api_as(username)
    got = {}
    for name, resp in [
        ("household page", client.get(f"/t/{tenant}/archive/{hid}")),
        ("print view", client.get(f"/t/{tenant}/archive/{hid}", headers={"Accept": "text/html"})),
        ("list page", client.get(f"/t/{tenant}/archive")),
        ("search page", client.get(f"/t/{tenant}/archive?q=张三")),
        ("API household", api.get(f"/api/v1/households/{hid}")),
        ("API list", api.get(f"/api/v1/households?tenant={tenant}")),
        ("API history", api.get(f"/api/v1/households/{hid}/history")),
    ]:
        got[name] = (resp.status_code, resp.get_data(as_text=True))
    for name, resp in [("xlsx export", client.get(f"/t/{tenant}/archive/export.xlsx")),
                       ("API xlsx export", api.get(f"/api/v1/households/export.xlsx?tenant={tenant}"))]:
        got[name] = (resp.status_code, _xlsx_text(resp.data) if resp.status_code == 200 else resp.get_data(as_text=True))
    return got


@pytest.mark.parametrize("username, tenant", MASKED)
def test_a_masked_reader_rebuilds_no_id_number_and_no_birth_date(app, client, api_as, household, username, tenant):
    outputs = _outputs(client, api_as, username, tenant, household)
    for name, (status, text) in outputs.items():
        assert status == 200, (name, status, text[:300])
        found = [value for value in FORBIDDEN if value in text]
        assert found == [], f"{username} reads {found} in the {name}"
    # what remains: the masked number and the year of birth
    assert HEAD_ID[:6] + "********" + HEAD_ID[-4:] in outputs["API household"][1]
    detail = api_as(username).get(f"/api/v1/households/{household}").json
    assert detail["masked"] is True
    assert detail["head"]["birth_date"] is None and detail["head"]["birth_year"] == 1968
    assert detail["members"][0]["birth_date"] is None and detail["members"][0]["birth_year"] == 1995
    assert "1968年" in outputs["household page"][1]
    assert "出生年份" in outputs["xlsx export"][1] and "1968" in outputs["xlsx export"][1]


def test_the_keeper_reads_everything(app, client, api_as, household):
    outputs = _outputs(client, api_as, "k_clerk", "K0101", household)
    detail = api_as("k_clerk").get(f"/api/v1/households/{household}").json
    assert detail["masked"] is False and detail["head"]["id_number"] == HEAD_ID
    assert detail["head"]["birth_date"] == "1968-04-15" and detail["head"]["birth_year"] == 1968
    assert "1968-04-15" in outputs["household page"][1] and HEAD_ID in outputs["household page"][1]
    assert HEAD_ID in outputs["xlsx export"][1] and HEAD_ID in outputs["API history"][1]


def test_a_reviewer_reads_only_the_masked_list(app, client, api_as, household):
    """The households behind a figure of the dashboard (SPEC 6.5) are the list page's, masked; nothing else."""
    for name, (status, text) in _outputs(client, api_as, "p_reviewer", "P01", household).items():
        assert status == (200 if name in ("list page", "search page") else 403), name
        assert not [value for value in FORBIDDEN if value in text], name
    assert HEAD_ID[:6] + "********" + HEAD_ID[-4:] in client.get("/t/P01/archive").get_data(as_text=True)


def test_masks():
    from hardship.archives.masking import mask_address, mask_card, mask_id, mask_phone

    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_phone("13812341234") == "138****1234" and mask_phone("0311-86012345") == "0311****2345"
    assert mask_card("6222020200112233446") == "6222***********3446"
    assert mask_address("石家庄市长安区建设北大街1号") == "石家庄市长安****"


def test_history_values_are_masked_one_by_one():
    from hardship.archives.masking import mask_changes

    masked = mask_changes({"before": {"head.id_number": HEAD_ID, "head.birth_date": "1968-04-15",
                                      "address": "石家庄市长安区建设北大街1号", "income": "800.00"},
                           "note": f"旧号 {HEAD_ID}，卡 {CARD}，电话 13987654321"})
    assert masked["before"] == {"head.id_number": HEAD_ID[:6] + "********" + HEAD_ID[-4:],
                                "head.birth_date": 1968, "address": "石家庄市长安****", "income": "800.00"}
    assert HEAD_ID not in masked["note"] and CARD not in masked["note"] and "13987654321" not in masked["note"]
