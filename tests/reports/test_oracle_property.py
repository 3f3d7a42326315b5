"""The fast path of the summary equals the oracle (SPEC 6.2), on histories that hypothesis writes.

Each example builds, from nothing, a small tree (province P91 > city C91 > counties K9101 with the enterprise
E9101001, and K9102 with none yet; K9101 archives at once, K9102 keeps the default publicity of 5 days),
fiscal-2024/2025 money at the province, city and counties, households of the year before and a desk case,
then applies a generated sequence of operations through the domain's own operations (never raw
SQL), each at its own moment of 2025 (some in December 2024, some around Shanghai midnight), in time order:

* the archive: registering households (at an enterprise or at a county), and moving each through its
  statuses: survey, publicize, archive (explicitly or by the publicity ending, ``settle_publicity``), reject,
  exit, cancel, reopen, relief records and corrections of category and reasons; a ``burst`` takes several
  steps of one household at one moment (several status changes inside one period);
* the ledger: receipts, allocations down, returns (to the parent or to finance) and reversals of earlier
  postings, with back-dated posting days and fiscal years before (2024) and after (2026) the posting's;
* aid: a program of a county, a batch of the county or its enterprise (archived households and, for warmth,
  a frontline worker), approved and paid from the county's lots, possibly back-dated;
* the desk: cases registered (back-dated too) at any union, referred down, closed and reopened;
* a union added mid-year: the enterprise E9102001 is created under K9102 at a generated moment, two households
  are registered there at once (one taken on through its lifecycle) and later ones may be.

Every history holds the union added, a warmth batch paid, a desk case, a case closed, a reversal and a burst;
the rest (8 to 24 operations) is drawn. Refused operations are skipped before the ledger sees them where the
ledger would roll back the whole transaction (a lot short of money): see ``History.holds``.

An operation the domain refuses (409/422: a transition not open from the household's status, a lot short of
money, a reversal of a reversed posting) is undone in its savepoint and skipped. Moving a union to another
parent is not covered: ``tenants.operations`` has no such operation.

Then for every union of the tree (six), for the year and each of its twelve months, ``figures.summary`` equals
``queries.summary`` (but for ``exact``), read on a generated ``today``; and in the fast path's answer the
union's own row plus its children equal the whole for every additive figure. Each example runs in the test's
transaction and is rolled back at its end, so every example starts from an empty database. A failing example
prints its whole history in time order (it is not shrunk).
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from hardship.aid.models import PROGRAM_TYPES
from hardship.archives.models import STATUSES
from hardship.core.db import db
from hardship.core.errors import Conflict, ValidationFailed
from hardship.funds.models import SOURCES
from hardship.reports import queries
from tests.fixtures.households import household_body, unique_id
from tests.fixtures.summary import assert_same, differences
from tests.reports.conftest import clock

YEAR = 2025
#: examples per run (``HARDSHIP_ORACLE_EXAMPLES`` for a longer hunt); not shrunk: shrinking a history of
#: dozens of operations takes minutes, and the failing history is printed whole, in time order
EXAMPLES = int(os.environ.get("HARDSHIP_ORACLE_EXAMPLES", "12"))
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: the unions of the tree, parent first: (code, parent, level)
TREE = (("P91", None, "province"), ("C91", "P91", "city"), ("K9101", "C91", "county"),
        ("K9102", "C91", "county"), ("E9101001", "K9101", "enterprise"))
#: the enterprise union added mid-year under K9102 (which had none)
ADDED = "E9102001"
#: where households are registered (the added union only once it exists)
REGISTERING = ("E9101001", "K9101", "K9102", "E9101001", ADDED)
#: who posts what: receipts anywhere, allocations one level down, returns to the parent or finance
RECEIVERS = ("P91", "C91", "K9101", "K9102")
ALLOCATIONS = (("P91", "C91"), ("C91", "K9101"), ("C91", "K9102"), ("K9101", "E9101001"), ("K9102", ADDED))
RETURNERS = ("C91", "K9101", "K9102", "E9101001")
MATCHED = ("central_finance", "upper_union", "local_matching")
AMOUNTS = ("800.00", "2500.00", "12000.00", "40000.00")
#: the next step of a household, by its status (the executor picks one by the generated index)
NEXT = {"applied": ("survey", "survey", "reject"), "surveyed": ("publicize", "publicize", "reject"),
        "publicizing": ("archive", "settle", "reject"),
        "archived": ("exit", "cancel", "relieve", "correct", "exit"),
        "exited": ("reopen",), "cancelled": ("reopen",), "rejected": ()}
REASON = {"exit": "家庭收入连续六个月超过认定标准", "cancel": "death: 因病去世", "reopen": "因病返困，重新申请",
          "reject": "入户核实收入高于认定标准", "relieve": "已解困"}
ITEM_AMOUNT = {"warmth": "600.00", "living": "500.00", "medical": "1500.00"}


# ---------------------------------------------------------------- the strategy

moments = st.builds(lambda month, day, hour, minute: (month, day, hour, minute),
                    st.integers(0, 12), st.integers(1, 28), st.sampled_from((1, 4, 15, 16, 23)), st.integers(0, 59))
back_days = st.sampled_from((0, 0, 0, 9, 40, 120))
amounts = st.sampled_from(AMOUNTS)
fiscal = st.sampled_from((0, 0, -1, 1))

register = st.tuples(st.just("register"), st.integers(0, len(REGISTERING) - 1),
                     st.sampled_from(("deep", "relative", "accident")), st.integers(0, 3), st.integers(0, 4))
step = st.tuples(st.just("step"), st.integers(0, 40), st.integers(0, 4))
burst = st.tuples(st.just("burst"), st.integers(0, 40), st.integers(2, 5))
settle = st.tuples(st.just("settle"))
receipt = st.tuples(st.just("receipt"), st.sampled_from(RECEIVERS), st.sampled_from(MATCHED), fiscal, amounts,
                    back_days)
allocate = st.tuples(st.just("allocate"), st.sampled_from(ALLOCATIONS), st.sampled_from(MATCHED[:2]), fiscal,
                     amounts, back_days)
give_back = st.tuples(st.just("return"), st.sampled_from(RETURNERS), st.sampled_from(("parent", "finance")),
                      st.sampled_from(MATCHED[:2]), fiscal, st.sampled_from(AMOUNTS[:2]), back_days)
reverse = st.tuples(st.just("reverse"), st.integers(0, 20))
aid = st.tuples(st.just("aid"), st.sampled_from(("K9101", "K9102", "E9101001", "E9102001", ADDED)),
                st.sampled_from(("warmth", "living", "medical")), st.integers(0, 3), back_days)
case = st.tuples(st.just("case"), st.sampled_from(("P91", "C91", "K9101", "K9102", "E9101001", ADDED)),
                 st.sampled_from(("petition", "legal_aid", "job_referral", "training")), back_days)
case_step = st.tuples(st.just("case_step"), st.integers(0, 10), st.sampled_from(("close", "reopen", "refer", "answer")))

operation = st.one_of(register, register, step, step, step, step, step, step, burst, settle, receipt, allocate, allocate,
                      give_back, reverse, aid, case, case_step, case_step)
#: every history has a union added, an aid batch, a desk case and a reversal somewhere; the rest is drawn
histories = st.lists(st.tuples(moments, operation), min_size=8, max_size=24).flatmap(
    lambda drawn: st.tuples(st.just(drawn), *[moments] * 7).map(
        lambda t: [*t[0], (t[1], ("add_union",)), (t[2], ("aid", "E9101001", "warmth", 2, 0)),
                   (t[3], ("case", "K9101", "petition", 0)), (t[4], ("reverse", 0)), (t[5], ("burst", 1, 4)),
                   (t[6], ("case_step", 0, "close"))]))
todays = st.sampled_from((date(2025, 12, 31), date(2026, 1, 5), date(2027, 3, 1), date(2028, 2, 1)))


def at(moment: tuple) -> datetime:
    """The UTC instant of a generated moment: month 0 is December of the year before."""
    month, day, hour, minute = moment
    return datetime(YEAR - 1, 12, day, hour, minute, tzinfo=UTC) if month == 0 else \
        datetime(YEAR, month, day, hour, minute, tzinfo=UTC)


# ---------------------------------------------------------------- applying a history

class History:
    """Applies generated operations through the domain's operations (the command line's actor), at the
    moment each is given: the application's clock is moved there and ``today`` is its Shanghai date."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.numbers = itertools.count(1)
        self.households: list[int] = []
        self.postings: list[int] = []
        self.cases: list[int] = []
        self.applied: dict[str, int] = {}
        self.today = date(YEAR - 1, 12, 1)

    def tenant(self, code: str):
        from tenants.models import Tenant

        return db.session.scalar(sa.select(Tenant).where(Tenant.code == code))

    def build(self) -> None:
        from tenants.operations import create_tenant, update_settings

        with clock(self.monkeypatch, "2024-11-01T02:00:00"):
            for code, parent, level in TREE:
                create_tenant(self.tenant(parent) if parent else None, code, f"{code}工会", level)
            update_settings(self.tenant("K9101"), {"publicity_days": 0})
            self.today = date(2024, 11, 1)
            for where in range(4):  # households of the year before, in every kind of registering union
                self.op_register(where, ("deep", "relative", "accident", "deep")[where], where)
                self.op_burst(where, where + 2)
            for kind, *args in (("receipt", "P91", "upper_union", 0, "200000.00", 0),
                                ("receipt", "C91", "central_finance", -1, "100000.00", 0),
                                ("receipt", "C91", "central_finance", 0, "100000.00", 0),
                                ("allocate", ("P91", "C91"), "upper_union", 0, "50000.00", 0),
                                ("allocate", ("C91", "K9101"), "central_finance", -1, "30000.00", 0),
                                ("allocate", ("C91", "K9101"), "upper_union", 0, "20000.00", 0),
                                ("allocate", ("C91", "K9102"), "central_finance", 0, "30000.00", 0),
                                ("case", "C91", "petition", 0)):
                getattr(self, "op_" + kind)(*args)

    def apply(self, moment: tuple, op: tuple) -> None:
        when = at(moment)
        self.today = when.astimezone(SHANGHAI).date()
        with clock(self.monkeypatch, when.replace(tzinfo=None).isoformat()):
            try:
                with db.session.begin_nested():
                    done = getattr(self, "op_" + op[0])(*op[1:])
            except (Conflict, ValidationFailed):
                done = False
                assert self.tenant("P91") is not None, f"{op} rolled back the example's transaction"
        if done is not False:
            self.applied[op[0]] = self.applied.get(op[0], 0) + 1

    # ---- the archive

    def household(self, index: int):
        from hardship.archives.models import Household

        if not self.households:
            return None
        hid = self.households[index % len(self.households)]
        return db.session.scalar(sa.select(Household).where(Household.id == hid))

    def op_register(self, where: int, category: str, reason: int, then: int = 0):
        """Register a household, and take ``then`` steps of its lifecycle at once."""
        from hardship.api import load_data
        from hardship.archives.operations import register_household
        from hardship.archives.schemas import HouseholdIn

        tenant = self.tenant(REGISTERING[where])
        if tenant is None:  # the union is not added yet
            return False
        reasons = (["illness", "low_income"], ["disability"], ["unemployment", "education"], ["single_parent"])[reason]
        body = household_body(tenant.code, head_id=unique_id(next(self.numbers)), category=category, reasons=reasons)
        household = register_household(tenant, load_data(HouseholdIn, body), today=self.today)
        self.households.append(household.id)
        if then:
            self.op_burst(-1, then)

    def op_step(self, index: int, choice: int):
        household = self.household(index)
        if household is None or not NEXT[household.status]:
            return False
        action = NEXT[household.status][choice % len(NEXT[household.status])]
        return self.take(household, action)

    def op_burst(self, index: int, steps: int):
        """Several steps of one household at one moment (the history keeps their order)."""
        household = self.household(index)
        if household is None:
            return False
        for n in range(steps):
            choices = [a for a in NEXT[household.status] if a != "settle"]
            if not choices:
                break
            try:
                with db.session.begin_nested():
                    self.take(household, choices[n % len(choices)])
            except (Conflict, ValidationFailed):
                pass

    def take(self, household, action: str):
        from hardship.api import load_data
        from hardship.archives import operations as archive_ops
        from hardship.archives.schemas import HouseholdChangeIn, SurveyIn

        if action == "survey":
            archive_ops.record_survey(household, load_data(SurveyIn, {
                "visited_on": self.today.isoformat(), "visitors": ["王五"], "findings": "属实",
                "income_per_capita": "800.00"}))
        elif action == "settle":
            return archive_ops.settle_publicity(today=self.today) > 0 or False
        elif action == "correct":
            archive_ops.edit_household(household, load_data(HouseholdChangeIn, {
                "category": "relative" if household.category != "relative" else "accident",
                "reasons": ["education"] if household.primary_reason != "education" else ["other"],
                "reason": "家庭情况变化"}))
        else:
            archive_ops.transition(household, action, REASON.get(action, ""), today=self.today)

    def op_settle(self):
        return self.take(None, "settle")

    # ---- the ledger

    def _posting(self, source: str, fiscal_offset: int, amount: str, back: int, **more) -> dict:
        day = self.today - timedelta(days=back)
        return {"source": source, "fiscal_year": YEAR + fiscal_offset,
                "amount": amount, "document_no": f"测〔{YEAR}〕{next(self.numbers)}号", "date": day.isoformat(),
                **more}

    def _posted(self, posted) -> None:
        self.postings.append(posted.transaction.id)

    def holds(self, code: str, source: str, fiscal_offset: int, amount: str) -> bool:
        """Whether the union's lot holds ``amount`` (a posting the ledger refuses rolls back the whole
        transaction, the example's earlier operations with it: the history does not try one)."""
        from hardship.core.money import fen_of
        from hardship.funds.models import FundLot

        balance = db.session.scalar(sa.select(FundLot.balance).where(
            FundLot.tenant_id == self.tenant(code).id, FundLot.source == source,
            FundLot.fiscal_year == YEAR + fiscal_offset)) or 0
        return balance >= fen_of(amount)

    def op_receipt(self, code: str, source: str, fiscal_offset: int, amount: str, back: int):
        from hardship.api import load_data
        from hardship.funds import operations as fund_ops
        from hardship.funds.schemas import ReceiptIn

        clean = load_data(ReceiptIn, self._posting(source, fiscal_offset, amount, back, tenant=code))
        self._posted(fund_ops.post_receipt(self.tenant(code), clean, idempotency_key=f"t:{next(self.numbers)}"))

    def op_allocate(self, pair: tuple, source: str, fiscal_offset: int, amount: str, back: int):
        from hardship.api import load_data
        from hardship.funds import operations as fund_ops
        from hardship.funds.schemas import AllocationIn

        parent, child = pair
        if self.tenant(child) is None:  # the union is not added yet
            return False
        if not self.holds(parent, source, fiscal_offset, amount):
            return False
        clean = load_data(AllocationIn, self._posting(source, fiscal_offset, amount, back, **{"from": parent,
                                                                                              "to": child}))
        self._posted(fund_ops.allocate_funds(self.tenant(parent), self.tenant(child), clean,
                                             idempotency_key=f"t:{next(self.numbers)}"))

    def op_return(self, code: str, to: str, source: str, fiscal_offset: int, amount: str, back: int):
        from hardship.api import load_data
        from hardship.funds import operations as fund_ops
        from hardship.funds.schemas import ReturnIn

        if not self.holds(code, source, fiscal_offset, amount):
            return False
        clean = load_data(ReturnIn, self._posting(source, fiscal_offset, amount, back, tenant=code, to=to))
        self._posted(fund_ops.return_funds(self.tenant(code), clean, idempotency_key=f"t:{next(self.numbers)}"))

    def op_reverse(self, index: int):
        from hardship.api import load_data
        from hardship.funds import operations as fund_ops
        from hardship.funds.models import FundEntry, FundLot, FundTransaction
        from hardship.funds.schemas import ReversalIn

        if not self.postings:
            return False
        tx = db.session.scalar(sa.select(FundTransaction).where(
            FundTransaction.id == self.postings[-1 - index % len(self.postings)]))
        short = db.session.scalar(sa.select(sa.func.count()).select_from(FundEntry)
                                  .join(FundLot, FundLot.id == FundEntry.lot_id)
                                  .where(FundEntry.transaction_id == tx.id, FundEntry.amount > FundLot.balance))
        if short:  # the money it brought has moved on: the ledger would refuse (see ``holds``)
            return False
        clean = load_data(ReversalIn, {"document_no": f"冲〔{YEAR}〕{next(self.numbers)}号",
                                       "date": max(self.today, tx.posted_on).isoformat(), "note": "冲销"})
        fund_ops.reverse_transaction(tx, clean, idempotency_key=f"t:{next(self.numbers)}")

    # ---- aid

    def op_aid(self, code: str, program_type: str, households: int, back: int):
        """A program of the county above (or at) ``code``, a batch of ``code``, approved and paid."""
        from hardship.aid import operations as aid_ops
        from hardship.aid.schemas import BatchIn, PayIn, ProgramIn
        from hardship.api import load_data
        from hardship.archives.models import Household
        from tenants.models import Tenant

        tenant = self.tenant(code)
        if tenant is None:
            return False
        county = tenant if tenant.level == "county" else self.tenant(tenant.path.strip("/").split("/")[-2])
        program = aid_ops.create_program(county, load_data(ProgramIn, {
            "tenant": county.code, "type": program_type, "year": YEAR, "name": f"{YEAR}年{program_type}",
            "sources": list(MATCHED)}))
        archived = db.session.scalars(
            sa.select(Household.id).join(Tenant, Tenant.id == Household.tenant_id)
            .where(Household.status == "archived", Tenant.path.startswith(tenant.path))
            .order_by(Household.id).limit(households)).all()
        items = [{"household": hid, "amount": ITEM_AMOUNT[program_type]} for hid in archived]
        if program_type == "warmth":
            items.append({"person": {"name": "赵六", "id_number": unique_id(next(self.numbers), "130104"),
                                     "reason": "春节坚守一线"}, "kind": "frontline", "amount": "300.00"})
        if not items:
            return False
        batch = aid_ops.create_batch(program, tenant, load_data(BatchIn, {"tenant": code, "items": items}))
        aid_ops.submit_batch(batch)
        aid_ops.approve_batch(batch)
        aid_ops.pay_batch(batch, load_data(PayIn, {
            "document_no": f"帮〔{YEAR}〕{next(self.numbers)}号",
            "date": (self.today - timedelta(days=back)).isoformat()}))

    # ---- the desk

    def op_case(self, code: str, kind: str, back: int):
        from hardship.api import load_data
        from hardship.desk import operations as desk_ops
        from hardship.desk.schemas import CaseIn

        tenant = self.tenant(code)
        if tenant is None:
            return False
        case = desk_ops.register_case(tenant, load_data(CaseIn, {
            "tenant": code, "kind": kind, "channel": "visit", "category": "unpaid_wages",
            "person": {"name": "钱七", "phone": "13812345678"}, "subject": "企业拖欠工资",
            "received_on": (self.today - timedelta(days=back)).isoformat()}), today=self.today)
        self.cases.append(case.id)

    def op_case_step(self, index: int, action: str):
        from hardship.desk import operations as desk_ops
        from hardship.desk.models import Case
        from tenants.models import Tenant

        if not self.cases:
            return False
        case = db.session.scalar(sa.select(Case).where(Case.id == self.cases[index % len(self.cases)]))
        if action == "close":
            desk_ops.close(case, "resolved", "已解决", today=self.today)
        elif action == "reopen":
            desk_ops.reopen(case, "当事人再次反映")
        elif action == "answer":
            if case.status != "referred":
                return False
            desk_ops.answer(case, "已核实")
        else:
            owner = db.session.scalar(sa.select(Tenant).where(Tenant.id == case.owner_tenant_id))
            below = db.session.scalar(sa.select(Tenant).where(Tenant.parent_id == owner.id).order_by(Tenant.code))
            if below is None:
                return False
            desk_ops.refer(case, below, "请核实")

    # ---- the tree

    def op_add_union(self):
        """The enterprise union added under K9102, and two households registered there (one archived)."""
        from tenants.operations import create_tenant

        create_tenant(self.tenant("K9102"), ADDED, "新建企业工会", "enterprise")
        for n in range(2):
            self.op_register(REGISTERING.index(ADDED), "relative", n)
        self.op_burst(len(self.households) - 1, 3)


# ---------------------------------------------------------------- comparing

def additive(part: dict) -> dict:
    """The figures of a part that add up over the own row and the children (rates and the aid's distinct
    households excepted)."""
    h, aid = part["households"], part["aid"]
    rows = {"total": aid["total"], **{f"type.{k}": v for k, v in aid["by_type"].items()},
            **{f"source.{k}": v for k, v in aid["by_source"].items()}}
    return {**{f"status.{k}": v for k, v in h["by_status"].items()},
            **{f"category.{k}": v for k, v in h["by_category"].items()},
            **{f"reason.{k}": v for k, v in h["by_reason"].items()},
            **{f: h[f] for f in (*queries.FLOWS, "stock")},
            **{f"aid.{name}.{f}": row[f] for name, row in rows.items() for f in ("amount", "person_times", "goods_value")},
            **{f"funds.{k}": v for k, v in part["funds"].items()},
            **{f"matching.{k}": part["matching"][k] for k in ("required", "achieved")},
            **{f"desk.{k}": part["desk"][k] for k in ("received", "closed", "open", "overdue")}}


def assert_adds_up(result: dict) -> None:
    whole = additive(result)
    parts = [additive(p) for p in (result["own"], *result["children"])]
    wrong = [f"{key}: own + children {sum(p[key] for p in parts)} != whole {value}"
             for key, value in whole.items() if sum(p[key] for p in parts) != value]
    assert not wrong, f"{result['tenant']} {result['start']}..{result['end']}:\n  " + "\n  ".join(wrong)


# ---------------------------------------------------------------- the tests

@settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=histories, today=todays)
def test_the_fast_path_equals_the_oracle_on_generated_histories(app, monkeypatch, history, today):
    from hardship.archives.models import Household
    from tenants.models import Tenant
    from tenants.scoping import system_scope

    with app.app_context(), system_scope():
        try:
            applied = History(monkeypatch)
            applied.build()
            ordered = sorted(history, key=lambda pair: at(pair[0]))
            note(f"today {today}; the history, in time order (UTC):\n" + "\n".join(
                f"  {at(moment):%Y-%m-%d %H:%M} {op}" for moment, op in ordered))
            for moment, op in ordered:
                applied.apply(moment, op)
            for name, count in sorted(applied.applied.items()):
                event(f"{name} applied {'several times' if count > 1 else 'once'}")
            for status in db.session.scalars(sa.select(Household.status).distinct()):
                event(f"a household ends {status}")
            unions = db.session.scalars(sa.select(Tenant).where(Tenant.path.startswith("/P91/"))
                                        .order_by(Tenant.path)).all()
            assert [t.code for t in unions if t.code == ADDED], "the union added mid-year is in the tree"
            for tenant in unions:
                for month in (None, *range(1, 13)):
                    assert_adds_up(assert_same(tenant, YEAR, month, today))
        finally:
            db.session.rollback()  # the example's writes: the next one starts from an empty database
            db.session.remove()


def test_the_comparison_names_each_figure_that_differs():
    exact = {"exact": True, "households": {"by_status": {"archived": 2}}, "children": [{"desk": {"open": 1}}]}
    fast = {"exact": False, "households": {"by_status": {"archived": 3}}, "children": [{"desk": {"open": 1}}]}
    assert differences(fast, exact) == ["households.by_status.archived: fast 3 != oracle 2"]
    assert differences(exact, exact) == []


@pytest.mark.parametrize("moment, day", [((0, 28, 16, 0), date(2024, 12, 29)), ((12, 28, 15, 59), date(2025, 12, 28)),
                                          ((3, 28, 16, 30), date(2025, 3, 29))])
def test_moments_are_read_as_shanghai_days(moment, day):
    assert at(moment).astimezone(SHANGHAI).date() == day


def test_every_status_and_program_type_is_known():
    assert set(NEXT) == set(STATUSES)
    assert set(ITEM_AMOUNT) <= set(PROGRAM_TYPES) and set(MATCHED) <= set(SOURCES)
