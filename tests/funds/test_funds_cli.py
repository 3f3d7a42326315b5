"""The ledger on the command line (``hardship funds ...``): the same operations, checks and messages as the
API; postings always name their user; refusals exit 2 and write nothing."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
import sqlalchemy as sa

from hardship.audit.models import AuditEvent
from hardship.core.db import db
from hardship.funds.models import FundTransaction
from tests.conftest import system
from tests.fixtures.funds import a_day_later, counts, lot_balances

POSTING = ["--source", "central_finance", "--fiscal-year", "2026", "--date", "2026-03-05"]


@pytest.fixture
def users(tree):
    tree.user("C01", roles=("finance",), username="c01_fin")
    tree.user("C01", roles=("approver",), username="c01_appr")
    tree.user("C01", roles=("auditor",), username="c01_aud")
    tree.user("K0101", roles=("finance",), username="k0101_fin")
    tree.user("K0101", roles=("auditor",), username="k0101_aud")
    return tree


def funds(app, *args):
    return app.test_cli_runner().invoke(args=["hardship", "funds", *args])


def _json(result) -> dict:
    """The transaction the command printed after its first line."""
    return json.loads(result.stdout.split("\n", 1)[1])


@pytest.fixture
def funded(app, users):
    """C01 received 100,000.00 and allocated 30,000.00 of it to K0101, both from the command line."""
    got = funds(app, "receipt", "--user", "c01_fin", "--tenant", "C01", "--amount", "100000.00",
                "--document-no", "财社〔2026〕12号", "--key", "receipt-1", *POSTING)
    assert got.exit_code == 0, got.output
    sent = funds(app, "allocate", "--user", "c01_fin", "--from", "C01", "--to", "K0101", "--amount", "30000",
                 "--document-no", "市工发〔2026〕5号", "--purpose", "warmth", "--key", "alloc-1", *POSTING)
    assert sent.exit_code == 0, sent.output
    return _json(sent)


def test_postings_from_the_command_line(app, funded):
    assert funded["kind"] == "allocation" and (funded["from"], funded["to"]) == ("C01", "K0101")
    assert funded["amount"] == "30000.00" and funded["purpose"] == "warmth" and funded["posted_by"] == "c01_fin"
    assert sorted((e["tenant"], e["amount"]) for e in funded["entries"]) == [("C01", "-30000.00"),
                                                                           ("K0101", "30000.00")]
    returned = funds(app, "return", "--user", "k0101_fin", "--tenant", "K0101", "--to", "parent", "--amount",
                     "1000.00", "--document-no", "县工发〔2026〕9号", "--key", "return-1", *POSTING)
    assert returned.exit_code == 0, returned.output
    with system(app):
        balances = lot_balances(db.session)
        events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.username)
                                    .where(AuditEvent.action.like("funds.%"))).all()
    assert balances[("C01", "central_finance", 2026)] == 7_100_000
    assert balances[("K0101", "central_finance", 2026)] == 2_900_000
    assert sorted(events) == [("funds.allocation", "c01_fin"), ("funds.receipt", "c01_fin"),
                              ("funds.return", "k0101_fin")]


def test_the_same_key_posts_once(app, funded):
    again = funds(app, "allocate", "--user", "c01_fin", "--from", "C01", "--to", "K0101", "--amount", "30000",
                  "--document-no", "市工发〔2026〕5号", "--purpose", "warmth", "--key", "alloc-1", *POSTING)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(f"already posted with this key: transaction #{funded['id']}")
    assert _json(again)["id"] == funded["id"]
    other = funds(app, "allocate", "--user", "c01_fin", "--from", "C01", "--to", "K0101", "--amount", "31000",
                  "--document-no", "市工发〔2026〕5号", "--key", "alloc-1", *POSTING)
    assert other.exit_code == 2 and "error:" in other.stderr
    with system(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FundTransaction)) == 2


@pytest.mark.parametrize("args, words", [
    (["--user", "nobody"], ["--user", "nobody"]),
    (["--user", "c01_aud"], ["角色无权"]),                      # an auditor does not post
    (["--user", "k0101_fin", "--from", "K0101", "--to", "K0102"], ["未找到"]),  # a sibling is not in scope
    (["--to", "E0101001"], ["to:", "直属下级"]),                 # a grandchild
    (["--to", "C02"], ["未找到"]),                              # outside the subtree
    (["--amount", "0"], ["amount:"]),
    (["--amount", "-1"], ["amount:"]),
    (["--amount", "1.001"], ["amount:", "两位小数"]),
    (["--amount", "abc"], ["amount:"]),
    (["--amount", "70000.01"], ["资金不足", "70,000.00 元"]),       # more than the balance, which is named
    (["--document-no", ""], ["document_no:", "必填"]),
    (["--source", "moon"], ["source:"]),
    (["--date", "2026-13-01"], ["date:"]),
])
def test_bad_postings_are_refused_and_write_nothing(app, funded, args, words):
    given = {"--user": "c01_fin", "--from": "C01", "--to": "K0101", "--amount": "10.00", "--document-no": "X1",
             "--key": "bad-1"}
    for name, value in zip(args[::2], args[1::2], strict=True):
        given[name] = value
    before = _written(app)
    result = funds(app, "allocate", *POSTING, *[part for pair in given.items() for part in pair])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and all(w in result.stderr for w in words), result.stderr
    assert _written(app) == before


def _written(app):
    """Transactions, entries and lots, every balance, and the number of audit events."""
    with system(app):
        found = counts(db.session), lot_balances(db.session), db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent))
        db.session.rollback()
    return found


@pytest.mark.parametrize("missing", ["--user", "--key"])
def test_a_posting_needs_a_user_and_a_key(app, users, missing):
    given = {"--user": "c01_fin", "--key": "k-1", "--tenant": "C01", "--amount": "1", "--document-no": "X"}
    del given[missing]
    result = funds(app, "receipt", *POSTING, *[part for pair in given.items() for part in pair])
    assert result.exit_code == 2 and missing in result.output
    with system(app):
        assert counts(db.session) == (0, 0, 0)


def test_reverse(monkeypatch, app, funded):
    a_day_later(monkeypatch)
    wrong = funds(app, "reverse", str(funded["id"]), "--user", "c01_fin", "--document-no", "冲〔2026〕1号",
                  "--date", "2026-03-06", "--key", "rev-0")
    assert wrong.exit_code == 2 and "审核人" in wrong.stderr  # yesterday's posting: reversals are an approver's
    done = funds(app, "reverse", str(funded["id"]), "--user", "c01_appr", "--document-no", "冲〔2026〕1号",
                 "--date", "2026-03-06", "--note", "错拨", "--key", "rev-1")
    assert done.exit_code == 0, done.output
    reversal = _json(done)
    assert reversal["kind"] == "reversal" and reversal["reverses"] == funded["id"]
    twice = funds(app, "reverse", str(funded["id"]), "--user", "c01_appr", "--document-no", "冲〔2026〕2号",
                  "--date", "2026-03-06", "--key", "rev-2")
    assert twice.exit_code == 2 and "已被冲销" in twice.stderr
    replayed = funds(app, "reverse", str(funded["id"]), "--user", "c01_appr", "--document-no", "冲〔2026〕1号",
                     "--date", "2026-03-06", "--note", "错拨", "--key", "rev-1")
    assert replayed.exit_code == 0 and _json(replayed)["id"] == reversal["id"]
    # a replayed posting says what became of it since
    allocation = funds(app, "allocate", "--user", "c01_fin", "--from", "C01", "--to", "K0101", "--amount", "30000",
                       "--document-no", "市工发〔2026〕5号", "--purpose", "warmth", "--key", "alloc-1", *POSTING)
    assert _json(allocation)["reversed_by"] == reversal["id"]
    with system(app):
        assert lot_balances(db.session)[("K0101", "central_finance", 2026)] == 0
    for bad in ["999999", "abc", "1" * 30]:
        missing = funds(app, "reverse", bad, "--user", "c01_appr", "--document-no", "冲", "--date", "2026-03-06",
                        "--key", "rev-3")
        assert missing.exit_code == 2 and "未找到" in missing.stderr


def test_balances_and_transactions(app, funded, tmp_path):
    shown = funds(app, "balances", "--tenant", "C01", "--subtree")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines[:-1]] == ["C01", "K0101"]
    assert lines[0].split("\t")[4] == "70,000.00" and lines[1].split("\t")[4] == "30,000.00"
    assert lines[-1].startswith("2 lots; balance 100,000.00")

    listed = funds(app, "transactions", "--tenant", "K0101", "--user", "k0101_aud")
    assert listed.exit_code == 0, listed.output
    rows = listed.stdout.strip().splitlines()
    assert len(rows) == 2 and rows[0].split("\t")[1] == f"#{funded['id']}" and rows[0].endswith("30000.00")
    assert rows[-1] == "1 transactions"
    only = funds(app, "transactions", "--tenant", "C01", "--kind", "receipt")
    assert only.stdout.strip().splitlines()[-1] == "1 transactions"
    earmarked = funds(app, "transactions", "--tenant", "C01", "--purpose", "warmth")
    assert earmarked.stdout.strip().splitlines()[-1] == "1 transactions" and "市工发" in earmarked.stdout

    # a reader's scope and roles hold on the command line too
    outside = funds(app, "balances", "--tenant", "C01", "--user", "k0101_aud")
    assert outside.exit_code == 2 and "未找到" in outside.stderr
    bad = funds(app, "transactions", "--tenant", "C01", "--kind", "gift", "--year", "abc")
    assert bad.exit_code == 2 and "kind:" in bad.stderr and "year:" in bad.stderr

    path = tmp_path / "balances.xlsx"
    exported = funds(app, "balances", "--tenant", "C01", "--subtree", "--user", "c01_aud", "--xlsx", str(path))
    assert exported.exit_code == 0, exported.output
    sheet = list(openpyxl.load_workbook(io.BytesIO(path.read_bytes())).active.iter_rows(values_only=True))
    assert [r[0] for r in sheet[1:3]] == ["C01", "K0101"] and sheet[1][10] == 70000.0
    path = tmp_path / "transactions.xlsx"
    assert funds(app, "transactions", "--tenant", "C01", "--xlsx", str(path)).exit_code == 0
    sheet = list(openpyxl.load_workbook(io.BytesIO(path.read_bytes())).active.iter_rows(values_only=True))
    assert len(sheet) == 3 and sheet[1][1] == "市工发〔2026〕5号"
    # a file that cannot be written: a clear error, and no audit event for an export that did not happen
    before = _written(app)
    unwritable = funds(app, "balances", "--tenant", "C01", "--xlsx", str(tmp_path / "no" / "such" / "b.xlsx"))
    assert unwritable.exit_code == 2 and unwritable.stderr.startswith("error: --xlsx:"), unwritable.output
    assert _written(app) == before
    with system(app):
        exports = db.session.execute(sa.select(AuditEvent.action, AuditEvent.username)
                                     .where(AuditEvent.action.like("funds.export%"))).all()
    import getpass

    assert sorted(exports, key=str) == [("funds.export_balances", "c01_aud"),
                                        ("funds.export_transactions", f"os:{getpass.getuser()}")]
