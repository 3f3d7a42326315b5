"""A generated province for statistics at scale: ``hardship generate --profile small|medium|large``.

The province ``GP`` (生成演示省总工会) with its cities ``GC01..``, counties ``GK0101..`` and enterprises
``GE0101001..``; households in every status and category with valid, unique ID numbers; three years of
special-fund postings per city and county; this year's warmth campaign of each county paid (aid); the
service desk's cases of every kind and state in each county (desk).

How it is written:

* unions through :func:`tenants.operations.create_tenant` (a few hundred at most);
* households through the archive import's landing pieces: each body is loaded with
  ``schemas.HouseholdIn`` (the one validator), mapped with ``household_columns`` / ``person_columns``
  (encryption bound to the row key, the blind index of each ID number) and landed in bulk with
  :func:`hardship.core.db.insert_rows` (``unnest`` arrays on PostgreSQL); each household's history is
  written as the chain of events its status implies (apply, survey, publicize, archive, exit / cancel,
  reopen, reject), so the summary, which reads the history, counts it in its status;
* the ledger through the ledger's real write path (``hardship.funds.operations``): ``hardship reconcile``
  checks it; aid batches through the aid operations (paid from the ledger), desk cases through
  ``hardship.desk.demo.load_cases`` (the desk's operations). These are a few thousand rows at most.

Not generated (yet): goods, filings, relief records, home-survey rows (the history records the surveys).

Re-running refuses: when the province ``GP`` exists, :class:`AlreadyGenerated` (the command exits 2).
Deterministic: the same profile writes the same province (but for the encryption's random row keys).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from hardship.api import load_data
from hardship.archives import operations as archive_ops
from hardship.archives.models import Household, HouseholdEvent, Person
from hardship.archives.schemas import HouseholdIn
from hardship.core.db import db, insert_rows
from hardship.core.idcard import check_char, luhn_ok
from tenants.models import Tenant
from tenants.operations import create_tenant
from tenants.scoping import system_scope

ROOT = "GP"
#: households per profile
PROFILES = {"small": 300, "medium": 100_000, "large": 500_000}
BATCH = 2_000
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超"]
#: division codes 14xxxx (山西), apart from the demo province's 13xxxx: no ID number of the demo collides
CITY_NAMES = ["太原", "大同", "阳泉", "长治", "晋城", "朔州", "晋中", "运城", "忻州", "临汾", "吕梁", "古交"]
ENTERPRISES = ["钢铁集团", "纺织有限公司", "机械制造厂", "食品有限公司", "建筑工程公司", "化工有限公司", "煤矿",
               "物流有限公司", "电力公司", "制药厂"]
CATEGORIES = ["deep", "relative", "relative", "accident", "deep"]
REASONS = [["illness", "low_income"], ["education"], ["disability", "illness"], ["unemployment", "education"],
           ["single_parent"], ["disaster"], ["accident", "low_income"], ["low_income"], ["other"]]
#: the end state of each household in a cycle of 20: (status, path of actions)
PLANS = [
    ("applied", ()), ("surveyed", ("survey",)), ("publicizing", ("survey", "publicize")),
    *[("archived", ("survey", "publicize", "archive"))] * 9,
    ("exited", ("survey", "publicize", "archive", "exit")), ("exited", ("survey", "publicize", "archive", "exit")),
    ("cancelled", ("survey", "publicize", "archive", "cancel")),
    ("rejected", ("reject",)), ("rejected", ("survey", "reject")),
    ("applied", ("survey", "publicize", "archive", "exit", "reopen")),
    ("archived", ("survey", "publicize", "archive", "cancel", "reopen", "survey", "publicize", "archive")),
    ("archived", ("survey", "publicize", "archive")),
]
TARGET = {"survey": "surveyed", "publicize": "publicizing", "archive": "archived", "exit": "exited",
          "cancel": "cancelled", "reopen": "applied", "reject": "rejected"}
REASON_TEXT = {"exit": "家庭收入连续六个月超过当地困难职工认定标准", "cancel": "retirement: 本人已办理退休",
               "reopen": "因病返困，重新申请", "reject": "入户核实家庭收入高于当地困难职工认定标准"}


class AlreadyGenerated(Exception):
    """The generated province exists already: generating refuses to write it twice."""


@dataclass
class Shape:
    cities: int
    counties: int  # per city
    enterprises: int  # per county

    @classmethod
    def for_households(cls, n: int) -> Shape:
        if n <= 1_000:
            return cls(2, 2, 3)
        if n <= 20_000:
            return cls(4, 4, 5)
        if n <= 200_000:
            return cls(10, 8, 10)
        return cls(12, 10, 20)


@dataclass
class Result:
    households: int = 0
    people: int = 0
    tenants: int = 0
    postings: int = 0
    aid_batches: int = 0
    aid_items: int = 0
    desk_cases: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_category: Counter = field(default_factory=Counter)


def id_number(region: str, born: date, seq: int) -> str:
    base = f"{region}{born:%Y%m%d}{seq:03d}"
    return base + check_char(base)


def card_number(n: int) -> str:
    base = f"622202{n:012d}"
    return base + next(str(d) for d in range(10) if luhn_ok(base + str(d)))


def _body(county: Tenant, holder: Tenant, i: int) -> dict:
    """The application of the county's ``i``-th household: ID numbers unique by (region, birth date,
    sequence): heads born from 1966-01-01 and children from 2006-01-01, a day per 250 households."""
    region, day, slot = county.division_code, i // 250, (i % 250) * 4
    head_born = date(1966, 1, 1) + timedelta(days=day)
    body = {
        "tenant": holder.code,
        "head": {"name": SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)],
                 "id_number": id_number(region, head_born, slot), "phone": f"139{i % 100_000_000:08d}"},
        "members": [], "category": CATEGORIES[i % len(CATEGORIES)], "reasons": REASONS[i % len(REASONS)],
        "income_per_capita": f"{400 + i * 37 % 900}.00", "subsistence": ["none", "none", "dibao", "edge"][i % 4],
        "medical_insurance": ["employee", "employee", "resident"][i % 3],
        "address": f"{county.name[:-3]}建设路{i + 1}号",
        "bank": {"name": "中国工商银行", "card_number": card_number(int(region) * 100_000 + i), "confirmed": True},
        "needs": "生活救助", "cadres": {"first": "工会主席", "second": "工会干事"},
    }
    if i % 4 != 3:
        body["members"].append({"name": SURNAMES[(i + 7) % len(SURNAMES)] + GIVEN[(i + 5) % len(GIVEN)],
                                "id_number": id_number(region, head_born, slot + 1), "relation": "spouse",
                                "health": "健康", "income": "0.00"})
    for k in range(i % 3):
        body["members"].append({"name": body["head"]["name"][0] + GIVEN[(i + k + 11) % len(GIVEN)],
                                "id_number": id_number(region, date(2006, 1, 1) + timedelta(days=day), slot + 2 + k),
                                "relation": "child", "health": "健康", "income": "0.00"})
    return body


def _tenants(shape: Shape) -> tuple[Tenant, list[tuple[Tenant, list[Tenant]]]]:
    province = create_tenant(None, ROOT, "生成演示省总工会", "province", "140000")
    counties = []
    for c in range(1, shape.cities + 1):
        city_name = CITY_NAMES[(c - 1) % len(CITY_NAMES)] + ("" if c <= len(CITY_NAMES) else str(c))
        city = create_tenant(province, f"GC{c:02d}", f"{city_name}市总工会", "city", f"14{c:02d}00")
        for k in range(1, shape.counties + 1):
            county = create_tenant(city, f"GK{c:02d}{k:02d}", f"{city_name}第{k}区总工会", "county",
                                   f"14{c:02d}{k:02d}")
            enterprises = [create_tenant(county, f"GE{c:02d}{k:02d}{e:03d}",
                                         f"{city_name}{k}区{ENTERPRISES[(e - 1) % len(ENTERPRISES)]}{e}工会",
                                         "enterprise") for e in range(1, shape.enterprises + 1)]
            counties.append((county, enterprises))
    return province, counties


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _households(county: Tenant, enterprises: list[Tenant], start: int, count: int, today: date,
                result: Result, progress) -> None:
    """Land ``count`` households of the county in batches (see the module)."""
    for first in range(start, start + count, BATCH):
        numbers = range(first, min(first + BATCH, start + count))
        households, plans, cleans = [], [], []
        for i in numbers:
            holder = county if i % 10 == 9 else enterprises[i % len(enterprises)]
            clean = load_data(HouseholdIn, _body(county, holder, i))
            status, actions = PLANS[i % len(PLANS)]
            applied_on = today - timedelta(days=60 + (i * 37) % 1000)  # three years, every step before today
            row = archive_ops.household_columns(clean, tenant_id=holder.id, keeper_id=county.id,
                                                applied_on=applied_on, import_key=f"gen:{county.code}:{i}",
                                                created_by_id=None)
            days = {step: applied_on + timedelta(days=7 * step) for step in range(1, len(actions) + 1)}  # weekly
            row.update(status=status, episode=1 + actions.count("reopen"),
                       last_survey_on=max((days[s] for s, a in enumerate(actions, 1) if a == "survey"), default=None),
                       publicity_ends_on=max((days[s] + timedelta(days=7) for s, a in enumerate(actions, 1)
                                              if a == "publicize"), default=None),
                       archived_on=max((days[s] for s, a in enumerate(actions, 1) if a == "archive"), default=None),
                       closed_on=days[len(actions)] if status in ("exited", "cancelled", "rejected") else None,
                       close_reason=REASON_TEXT[actions[-1]][:200] if status in ("exited", "cancelled", "rejected")
                       else None)
            households.append(row)
            plans.append((holder, clean, applied_on, actions, days))
            cleans.append(clean)
            result.by_status[status] += 1
            result.by_category[clean["category"]] += 1
        table = Household.__table__
        ids = dict(insert_rows(table, households, returning=(table.c.import_key, table.c.id)).all())
        people, events = [], []
        for row, (holder, clean, applied_on, actions, days) in zip(households, plans, strict=True):
            hid = ids[row["import_key"]]
            # a closed household no longer holds its people (SPEC 3.5): its people are inactive
            active = row["status"] not in ("exited", "cancelled", "rejected")
            for person in [clean["head"], *clean["members"]]:
                people.append({**archive_ops.person_columns(person, holder.id), "household_id": hid,
                               "active": active})
            changes = archive_ops.application_changes(clean)
            events.append(_event(holder, hid, _at(applied_on, 1), "apply", 1, None, "applied", "", changes))
            status, episode = "applied", 1
            for step, action in enumerate(actions, start=1):
                target = TARGET[action]
                if action == "reopen":
                    episode += 1
                events.append(_event(holder, hid, _at(days[step], 2), action, episode, status, target,
                                     REASON_TEXT.get(action, ""), {}))
                status = target
        insert_rows(Person.__table__, people)
        insert_rows(HouseholdEvent.__table__, events)
        result.households += len(households)
        result.people += len(people)
        progress(result.households)


def _event(holder, hid, at, action, episode, before, after, reason, changes) -> dict:
    return {"tenant_id": holder.id, "household_id": hid, "at": at, "user_id": None, "username": "generate",
            "action": action, "episode": episode, "from_status": before, "to_status": after, "reason": reason,
            "changes": changes}


def _ledger(province: Tenant, counties: list[tuple[Tenant, list[Tenant]]], today: date, result: Result) -> None:
    """Three years of postings through the ledger's write path: the province receives the upper union's
    money and allocates it to its cities; each city receives central finance, allocates to its counties;
    the counties pay most of it out; the current year is partly spent."""
    from hardship.funds import operations as fund_ops
    from hardship.funds.schemas import AllocationIn, DisbursementIn, ReceiptIn

    counter = iter(range(1, 10_000_000))

    def key() -> str:
        result.postings += 1
        return f"gen:{next(counter)}"

    def on(year, month, day) -> str:
        return min(date(year, month, day), today).isoformat()

    cities = {}
    for county, _e in counties:
        cities.setdefault(county.parent_id, []).append(county)
    city_tenants = {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_(cities)))}
    for year in (today.year - 2, today.year - 1, today.year):
        base = {"fiscal_year": year, "source": "upper_union"}
        fund_ops.post_receipt(province, load_data(ReceiptIn, {**base, "tenant": ROOT, "amount": "5000000.00",
                                                               "document_no": f"总工办发〔{year}〕8号",
                                                               "date": on(year, 2, 20)}), idempotency_key=key())
        for city_id, city_counties in sorted(cities.items()):
            city = city_tenants[city_id]
            fund_ops.allocate_funds(province, city, load_data(AllocationIn, {
                **base, "amount": "100000.00", "document_no": f"冀工发〔{year}〕3号", "date": on(year, 2, 28),
                "from": ROOT, "to": city.code}), idempotency_key=key())
            fund_ops.post_receipt(city, load_data(ReceiptIn, {
                "fiscal_year": year, "source": "central_finance", "tenant": city.code,
                "amount": f"{200000 * len(city_counties)}.00", "document_no": f"冀财社〔{year}〕35号",
                "date": on(year, 3, 1)}), idempotency_key=key())
            for county in city_counties:
                fund_ops.allocate_funds(city, county, load_data(AllocationIn, {
                    "fiscal_year": year, "source": "central_finance", "amount": "150000.00",
                    "document_no": f"{city.code}工发〔{year}〕6号", "date": on(year, 3, 12), "from": city.code,
                    "to": county.code, "purpose": "warmth"}), idempotency_key=key())
                spent = "140000.00" if year < today.year else "30000.00"
                fund_ops.disburse(county, load_data(DisbursementIn, {
                    "amount": spent, "sources": ["central_finance"], "document_no": f"{county.code}帮〔{year}〕1号",
                    "date": on(year, 12, 20) if year < today.year else on(year, 9, 28), "purpose": "warmth",
                    "reference": "generate"}), idempotency_key=key())


def _aid(counties: list[tuple[Tenant, list[Tenant]]], today: date, result: Result) -> None:
    """This year's warmth campaign of each county, through the aid operations: its first enterprise proposes
    its archived households at the standard's minimum; approved and paid from the county's lots."""
    from hardship.aid import operations as aid_ops

    for county, enterprises in counties:
        program = aid_ops.create_program(county, {
            "type": "warmth", "year": today.year, "name": f"{today.year}年两节送温暖", "starts_on": None,
            "ends_on": None, "sources": ["central_finance"]})
        batch = aid_ops.create_batch(program, enterprises[0], {"note": "", "items": []})
        added, _skipped = aid_ops.propose_eligible(batch, {"kind": "archived", "amount": None})
        if not added:
            continue
        aid_ops.submit_batch(batch)
        aid_ops.approve_batch(batch)
        aid_ops.pay_batch(batch, {"document_no": f"{county.code}帮〔{today.year}〕30号", "date": today, "lot": None,
                                  "note": ""})
        result.aid_batches += 1
        result.aid_items += added


def generate(households: int, *, today: date | None = None, progress=lambda done: None) -> Result:
    """Write the generated province with ``households`` households (the caller commits). Refuses with
    :class:`AlreadyGenerated` when it exists."""
    today = today or date.today()
    result = Result()
    with system_scope():
        if db.session.scalar(select(Tenant.id).where(Tenant.code == ROOT)) is not None:
            raise AlreadyGenerated(ROOT)
        shape = Shape.for_households(households)
        province, counties = _tenants(shape)
        result.tenants = 1 + shape.cities + len(counties) * (1 + shape.enterprises)
        db.session.flush()
        share, extra = divmod(households, len(counties))
        for n, (county, enterprises) in enumerate(counties):
            _households(county, enterprises, 0, share + (n < extra), today, result, progress)
        _ledger(province, counties, today, result)
        _aid(counties, today, result)
        from hardship.desk.demo import load_cases  # the desk's cases through its operations, 8 to a county

        result.desk_cases = load_cases([county.code for county, _e in counties], today=today)
        db.session.flush()
    return result
