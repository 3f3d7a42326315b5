"""Demo households for ``hardship demo``: a few hundred across the demo counties, in every status.

Everything goes through the archive operations (system actor, ``today`` moved back so the dates
look like a real year of work). ID numbers, phones and cards come from a local deterministic
generator; each household carries ``import_key = "demo:<county>:<n>"``, so loading twice adds
nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from hardship.api import load_data
from hardship.archives import operations as ops
from hardship.archives.models import Household
from hardship.archives.schemas import HouseholdIn
from hardship.core.db import db
from hardship.core.errors import AppError
from hardship.core.idcard import check_char, luhn_ok
from tenants.models import Tenant

PER_COUNTY = 50
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀兰", "霞", "平", "刚", "桂英", "建国", "建华", "志强", "海燕", "玉兰", "国庆", "春梅"]
STREETS = ["建设北大街", "中山东路", "和平西路", "胜利南街", "裕华路", "体育大街", "红旗大街", "槐安路"]
JOBS = ["钳工", "焊工", "纺织工", "装配工", "电工", "保洁员", "司机", "车工", "仓管员", "炉前工"]
FINDINGS = ["家中一人长期患病，医疗支出大，收入低", "配偶下岗，子女上学，家庭收入低于当地标准",
            "本人因工致残，家庭主要劳动力缺失", "房屋受灾，家庭积蓄不足", "单亲抚养子女，收入微薄"]
CATEGORY_CYCLE = ["deep", "relative", "relative", "accident", "deep"]
REASON_CYCLE = [["illness", "low_income"], ["education"], ["disability", "illness"], ["unemployment", "education"],
                ["single_parent"], ["disaster"], ["accident", "low_income"], ["low_income"], ["other"]]
#: the status each of 20 households in a row ends in (and whether its survey is overdue)
PLAN = ["applied", "applied", "surveyed", "surveyed", "publicizing", "objection", "archived", "archived", "archived",
        "archived", "archived", "relieved", "overdue", "exited", "exited", "cancelled", "rejected", "rejected",
        "reopened", "rearchived"]


def id_number(region: str, born: date, seq: int, male: bool) -> str:
    """A valid ID number: ``seq`` (0..499) makes it unique within a region and birth date."""
    base = f"{region}{born:%Y%m%d}{seq * 2 + (1 if male else 0):03d}"
    return base + check_char(base)


def card_number(n: int, valid: bool = True) -> str:
    base = f"622202{n:012d}"
    digit = next(d for d in range(10) if luhn_ok(base + str(d)))
    return base + str(digit if valid else (digit + 1) % 10)


def _body(county: Tenant, division: str, j: int) -> dict:
    seq = j * 4  # head and up to three members: 4 sequence numbers per household
    g = int(division) + j
    male = j % 3 != 1
    head_born = date(1966 + j % 25, 1 + j % 12, 1 + j % 28)
    body = {
        "head": {"name": SURNAMES[g % len(SURNAMES)] + GIVEN[j % len(GIVEN)],
                 "id_number": id_number(division, head_born, seq, male), "phone": f"139{g % 100:02d}{j:06d}",
                 "job": JOBS[j % len(JOBS)], "model_worker": j % 17 == 0,
                 "model_worker_grade": "市级劳模" if j % 17 == 0 else "", "migrant_worker": j % 6 == 0},
        "members": [],
        "category": CATEGORY_CYCLE[j % len(CATEGORY_CYCLE)], "reasons": REASON_CYCLE[j % len(REASON_CYCLE)],
        "income_per_capita": f"{400 + g * 37 % 900}.00",
        "subsistence": ["none", "none", "dibao", "edge"][j % 4],
        "medical_insurance": ["employee", "employee", "resident"][j % 3],
        "address": f"{county.name[:-3]}{STREETS[j % len(STREETS)]}{j + 1}号",
        "bank": {"name": "中国工商银行", "card_number": card_number(g * 100 + j, valid=j % 23 != 7),
                 "confirmed": True},
        "needs": ["医疗救助", "子女助学", "生活救助", "就业援助"][j % 4],
        "cadres": {"first": "工会主席", "second": "工会干事"},
    }
    if j % 4 != 3:
        body["members"].append({"name": SURNAMES[(g + 7) % len(SURNAMES)] + GIVEN[(j + 5) % len(GIVEN)],
                                "id_number": id_number(division, date(head_born.year + 1, head_born.month, 3),
                                                       seq + 1, not male),
                                "relation": "spouse", "health": ["健康", "慢性病", "重病"][j % 3], "income": "0.00"})
    for k in range(j % 3):
        body["members"].append({"name": body["head"]["name"][0] + GIVEN[(j + k + 11) % len(GIVEN)],
                                "id_number": id_number(division, date(2006 + (j + k) % 12, 1 + k, 9), seq + 2 + k,
                                                       k % 2 == 0),
                                "relation": "child", "health": "健康", "occupation": "在校学生", "income": "0.00"})
    return body


def _survey(h, when: date, j: int) -> None:
    ops.record_survey(h, {"visited_on": when, "visitors": ["工会干事", "社区网格员"], "findings": FINDINGS[j % len(FINDINGS)],
                          "income_per_capita": (380 + j * 29 % 800) * 100})


def _archive(h, start: date, j: int) -> None:
    _survey(h, start + timedelta(days=5), j)
    ops.transition(h, "publicize", today=start + timedelta(days=10))
    if h.status == "publicizing":
        ops.transition(h, "archive", today=max(h.publicity_ends_on, start + timedelta(days=16)))


def _play(h, plan: str, start: date, today: date, j: int) -> None:
    """Take a freshly registered household (applied on ``start``) to the plan's status."""
    if plan == "applied":
        return
    if plan == "surveyed":
        _survey(h, start + timedelta(days=3), j)
    elif plan in ("publicizing", "objection"):
        _survey(h, today - timedelta(days=6), j)
        ops.transition(h, "publicize", today=today - timedelta(days=1))
        if plan == "objection" and h.status == "publicizing":
            ops.record_objection(h, "有群众反映其家庭有经营收入，待核实", today=today)
    elif plan == "rejected":
        _survey(h, start + timedelta(days=4), j)
        ops.transition(h, "reject", "入户核实家庭收入高于当地困难职工认定标准", today=start + timedelta(days=8))
    else:
        _archive(h, start, j)
        if plan == "overdue":
            return  # last surveyed on registration, long ago
        if plan in ("archived", "relieved"):
            _survey(h, today - timedelta(days=(j * 7) % 150), j)
        if plan == "relieved":
            ops.transition(h, "relieve", "子女就业，家庭收入稳定", today=today - timedelta(days=20),
                           detail={"year": (today - timedelta(days=20)).year})
        elif plan in ("exited", "reopened", "rearchived"):
            ops.transition(h, "exit", "家庭收入连续六个月超过当地困难职工认定标准", today=start + timedelta(days=120))
        elif plan == "cancelled":
            ops.transition(h, "cancel", "retirement: 本人已办理退休", today=start + timedelta(days=150))
        if plan in ("reopened", "rearchived"):
            ops.transition(h, "reopen", "因病返困，重新申请", today=start + timedelta(days=200))
        if plan == "rearchived":
            _archive(h, start + timedelta(days=200), j)


def load_households(counties, today: date | None = None) -> int:
    """Register the demo households of ``counties`` (``(code, name, division)``) that are missing;
    returns how many were added. Runs under the caller's (system) scope; the caller commits."""
    today = today or date.today()
    existing = set(db.session.scalars(select(Household.import_key).where(Household.import_key.like("demo:%"))))
    codes = [code for code, _name, _division in counties]
    tenants = {t.code: t for t in db.session.scalars(select(Tenant).where(
        Tenant.code.in_(codes) | Tenant.parent_id.in_(select(Tenant.id).where(Tenant.code.in_(codes)))))}
    added = 0
    for code, _name, division in counties:
        county = tenants.get(code)
        if county is None:
            continue
        enterprises = sorted((t for t in tenants.values() if t.parent_id == county.id), key=lambda t: t.code)
        for j in range(PER_COUNTY):
            key = f"demo:{code}:{j}"
            if key in existing:
                continue
            holder = county if j % 10 == 9 or not enterprises else enterprises[j % len(enterprises)]
            plan = PLAN[j % len(PLAN)]
            ago = {"applied": 3 + j % 20, "surveyed": 10 + j % 30, "publicizing": 12, "objection": 12,
                   "rejected": 40 + j % 60}.get(plan, 230 + (j * 11) % 150)
            start = today - timedelta(days=ago)
            try:
                with db.session.begin_nested():
                    clean = load_data(HouseholdIn, {**_body(county, division, j), "tenant": holder.code})
                    h = ops.register_household(holder, clean, import_key=key, today=start)
                    _play(h, plan, start, today, j)
            except AppError:  # a demo person already holds an archive: leave this one out
                continue
            added += 1
    return added
