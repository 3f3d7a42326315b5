"""The four report forms of SPEC 6.3 as xlsx. The household, aid-by-type and fund-year figures are taken from
the summary (:func:`hardship.reports.figures.summary`, equal to the base records); the figures the summary does
not hold are read per part from the module that owns them (no second implementation of any figure). Each part
is one row: each direct child with its whole subtree, then the union's own records (``subtree=False``).

Each form: a Chinese title, the union and the period in the header, the unit of money, one row per direct child
(its whole subtree), the union's own row (本级) and a total row (合计: the sum of the rows above; rates recomputed
from the summed counts). Money in 万元 with four decimals, except ``monthly_funds`` (元, two decimals). Text cells
are text, numbers numbers; no formulas. Printed on A4 landscape, one page wide.

The form's headers are the official Chinese forms' own wording (the forms are Chinese documents in every locale).

Where each form's figures come from:

* ``warmth`` (:func:`hardship.aid.queries.campaign_figures`): the items paid in the year's batches of the warmth
  campaign's programs (types ``warmth``, ``model_worker``, ``frontline``, ``migrant``), each item in one group:
  慰问农民工 every item of a ``migrant`` (农民工帮扶) program (an item records no migrant kind; the program type is
  what says so); otherwise by the item's beneficiary kind: 慰问困难劳模 ``model_worker``, 慰问一线职工
  ``frontline``, 慰问困难职工 the archived households and named non-archived persons, of which 建档困难职工 the
  archived households (``archived``). 户数/人数 are distinct recipients per row (the total adds the rows), 金额
  is cash; 物资折款 the items' goods; 资金来源 what those batches' payments drew per source (the ledger's
  ``aid:<source>`` entries); 合计 cash plus goods.
* ``center_annual``: the desk columns from :func:`hardship.desk.queries.kind_figures` (cases received in the
  year): 信访接待 件数 the ``petition`` cases and 办结率 their closed share; 法律援助 件数 the ``legal_aid`` cases;
  职业介绍 人次 the ``job_referral`` cases and 成功人次 those whose person was placed; 技能培训 人次 the
  ``training`` cases (a case is one person once).
* ``monthly_funds``: :func:`hardship.funds.queries.monthly_statement` over every fiscal year's lots of the part,
  by transaction date: 上月结余 the balance before the month; 本月收入 per source what entered the lots of that
  source (received, allocated in from the parent, returned in by a child); 本月下拨 allocated down; 本月退回
  returned out (to finance or to the parent); 本月结余 the balance at the month's end (so 本月结余 = 上月结余 +
  收入 - 下拨 - 退回 - what the lots disbursed). 本月支出 by program type is the month's paid aid of the summary,
  counted for the union that prepared the batch, whereas the ledger disburses from the paying union's lots (and
  pays goods purchases too): a row of a union whose batches another union pays does not foot on its own; the
  total foots when the lots' only disbursements are those batches' payments. Allocations between two unions
  of one part count in both its 收入 and its 下拨. 物资 收入/发放/库存 (折款) from
  :func:`hardship.goods.queries.flows`: donations and purchases, hand-outs, and the stock's value at the month's
  end (stock corrections are in the stock, in neither flow).

No column is left blank for want of a source at present; :data:`NOT_COUNTED` is how one would be.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from hardship.aid import queries as aid_queries
from hardship.core.db import db
from hardship.core.xlsx import Column, Workbook
from hardship.desk import queries as desk_queries
from hardship.funds import queries as funds_queries
from hardship.funds.models import INFLOWS, SOURCES
from hardship.goods import queries as goods_queries
from hardship.reports import figures as report_figures
from hardship.reports import queries
from hardship.reports.models import FORMS as FORM_CODES
from hardship.reports.models import MONTHLY_FORMS
from tenants.models import Tenant

#: the sources of SPEC 4.2, in their Chinese names, in the ledger's order
SOURCE_NAMES = {"central_finance": "中央财政", "provincial_finance": "省级财政", "upper_union": "上级工会下拨",
                "local_matching": "地方财政配套", "own_funds": "本级工会经费", "donation": "社会捐赠"}
#: the program types of the monthly form's spending columns
SPENDING_TYPES = {"living": "生活救助", "medical": "医疗救助", "education": "金秋助学", "warmth": "送温暖",
                  "emergency": "临时救助", "model_worker": "困难劳模", "frontline": "一线职工",
                  "migrant": "农民工"}
#: the aid columns of the annual centre form: program type and name
CENTER_AID = (("living", "生活救助"), ("medical", "医疗救助"), ("education", "金秋助学"), ("warmth", "送温暖"),
              ("emergency", "临时救助"))


@dataclass(frozen=True)
class Form:
    code: str
    title: str
    monthly: bool
    unit: str


#: each form's official Chinese title and unit of money (the forms and which are monthly: ``reports.models``)
_TITLES = {"warmth": ("送温暖活动统计表", "万元"), "center_annual": ("困难职工帮扶中心统计表", "万元"),
           "monthly_funds": ("帮扶资金物资收支明细表", "元"), "relief_progress": ("解困脱困工作进度表", "万元")}
FORMS = {code: Form(code, _TITLES[code][0], code in MONTHLY_FORMS, _TITLES[code][1]) for code in FORM_CODES}


#: a figure with no source: an empty cell, never a 0 a reader would take for a count (its total blank too)
NOT_COUNTED = None


def _rate(part: int, whole: int) -> float:
    """A percentage (45.5 for 45.5%), rounded to two decimals; 0 when there is nothing to divide by."""
    return round(part * 100 / whole, 2) if whole else 0.0


# ---------------------------------------------------------------- each form: its columns and a row per part

def _warmth_columns(money: str) -> list[Column]:
    return [Column("慰问困难职工户数", "count", 10), Column("慰问困难职工金额", money, 12),
            Column("其中建档困难职工户数", "count", 10), Column("其中建档困难职工金额", money, 12),
            Column("慰问困难劳模人数", "count", 10), Column("慰问困难劳模金额", money, 12),
            Column("慰问一线职工人数", "count", 10), Column("慰问一线职工金额", money, 12),
            Column("慰问农民工人数", "count", 10), Column("慰问农民工金额", money, 12),
            Column("物资折款", money, 12),
            *[Column(f"资金来源：{name}", money, 12) for name in SOURCE_NAMES.values()],
            Column("合计", money, 12)]


def _warmth_row(campaign: dict) -> list:
    groups = []
    for group in ("hardship", "archived", "model_worker", "frontline", "migrant"):
        groups += [campaign[group]["recipients"], campaign[group]["amount"]]
    total = campaign["total"]
    return [*groups, total["goods_value"], *[campaign["by_source"][s] for s in SOURCE_NAMES],
            total["amount"] + total["goods_value"]]


def _center_columns(money: str) -> list[Column]:
    aid = []
    for _type, name in CENTER_AID:
        aid += [Column(f"{name}户次", "count", 9), Column(f"{name}金额", money, 12)]
    return [Column("在档困难职工户数：深度", "count", 9), Column("在档困难职工户数：相对", "count", 9),
            Column("在档困难职工户数：意外", "count", 9), Column("本年新建档", "count", 9),
            Column("本年解困", "count", 9), Column("本年脱困", "count", 9), Column("返困", "count", 9),
            *aid,
            Column("信访接待件数", "count", 9), Column("办结率（%）", "percent", 9), Column("法律援助件数", "count", 9),
            Column("职业介绍人次", "count", 9), Column("职业介绍成功人次", "count", 9),
            Column("技能培训人次", "count", 9),
            Column("帮扶资金收入", money, 12), Column("帮扶资金支出", money, 12), Column("帮扶资金结余", money, 12)]


def _center_row(part: dict, desk: dict) -> list:
    h, by_type, funds = part["households"], part["aid"]["by_type"], part["funds"]
    cats = h["by_category"]
    aid = []
    for program_type, _name in CENTER_AID:
        aid += [by_type[program_type]["person_times"], by_type[program_type]["amount"]]
    return [cats.get("deep", 0), cats.get("relative", 0), cats.get("accident", 0), h["newly_archived"],
            h["relieved"], h["exited"], h["returned"], *aid,
            desk["petition"]["received"], _rate(desk["petition"]["closed"], desk["petition"]["received"]),
            desk["legal_aid"]["received"], desk["job_referral"]["received"], desk["job_placed"],
            desk["training"]["received"],
            funds["received"], funds["disbursed"], funds["balance"]]


def _monthly_columns(money: str) -> list[Column]:
    return [Column("上月结余", money, 12),
            *[Column(f"本月收入：{name}", money, 12) for name in SOURCE_NAMES.values()],
            Column("本月下拨", money, 12),
            *[Column(f"本月支出：{name}", money, 12) for name in SPENDING_TYPES.values()],
            Column("本月退回", money, 12), Column("本月结余", money, 12),
            Column("物资收入（折款）", money, 12), Column("物资发放（折款）", money, 12),
            Column("物资库存（折款）", money, 12)]


def _monthly_row(part: dict, statement: dict, goods: dict) -> list:
    by_type = part["aid"]["by_type"]

    def total(*fields, source=None):
        return sum(row[f] for s, row in statement.items() if source in (None, s) for f in fields)

    return [total("opening"), *[total(*INFLOWS, source=s) for s in SOURCE_NAMES], total("allocated_out"),
            *[by_type[t]["amount"] for t in SPENDING_TYPES], total("returned_out"), total("closing"),
            goods["received"], goods["handed_out"], goods["stock"]]


def _relief_columns(money: str) -> list[Column]:
    return [Column("年初在档户数", "count", 10), Column("本年新建档", "count", 10), Column("本年解困", "count", 10),
            Column("本年脱困", "count", 10), Column("本年返困", "count", 10), Column("年末在档户数", "count", 10),
            Column("解困率（%）", "percent", 10), Column("脱困率（%）", "percent", 10)]


def _relief_row(part: dict, before: dict | None) -> list:
    h = part["households"]
    start = before["households"]["stock"] if before else 0
    return [start, h["newly_archived"], h["relieved"], h["exited"], h["returned"], h["stock"], None, None]


def _relief_rates(row: list) -> list:
    """解困率 and 脱困率: relieved and exited over the households served in the year (年初在档 + 本年新建档)."""
    served = row[0] + row[1]
    return [*row[:6], _rate(row[2], served), _rate(row[3], served)]


# ---------------------------------------------------------------- the workbook

def _parts(result: dict) -> list[dict]:
    return [*result["children"], result["own"]]


def _owners(tenant: Tenant, parts: list[dict]) -> list[tuple[Tenant, bool]]:
    """Per part of the summary, the union whose records it counts and whether with its subtree: each direct
    child with its subtree, then the union's own records."""
    codes = [p["tenant"] for p in parts[:-1]]
    children = {t.code: t for t in db.session.scalars(
        select(Tenant).where(Tenant.parent_id == tenant.id, Tenant.code.in_(codes)))} if codes else {}
    return [*((children[code], True) for code in codes), (tenant, False)]


def form_rows(form: str, tenant, year: int, month: int | None = None, *, today=None,
              result: dict | None = None) -> tuple[list, list]:
    """The form's columns and its rows: ``[label_code, label_name, *figures]`` per child, then the union's
    own row, then the total (money in fen; percentages as 45.5). ``result``: the period's summary when the
    caller has it already (filing)."""
    money = "yuan" if FORMS[form].unit == "元" else "wan"
    if result is None:
        result = report_figures.summary(tenant, year, month if form == "monthly_funds" else None, today=today)
    parts = _parts(result)
    owners = _owners(tenant, parts)
    start, end = queries.period_bounds(year, month if form == "monthly_funds" else None)
    if form == "warmth":
        columns = _warmth_columns(money)
        figures = [_warmth_row(aid_queries.campaign_figures(t, start, end, subtree=sub)) for t, sub in owners]
    elif form == "center_annual":
        desk = [desk_queries.kind_figures(t, year, subtree=sub) for t, sub in owners]
        columns, figures = _center_columns(money), [_center_row(p, d) for p, d in zip(parts, desk, strict=True)]
    elif form == "monthly_funds":
        columns = _monthly_columns(money)
        figures = [_monthly_row(p, funds_queries.monthly_statement(t, year, month, subtree=sub),
                                goods_queries.flows(t, start, end, subtree=sub))
                   for p, (t, sub) in zip(parts, owners, strict=True)]
    else:
        before = report_figures.summary(tenant, year - 1, today=today)
        prior = {p["tenant"]: p for p in _parts(before)}
        prior_own = before["own"]
        figures = [_relief_row(p, prior_own if p is result["own"] else prior.get(p["tenant"])) for p in parts]
        columns = _relief_columns(money)
    total = [None if all(row[i] is NOT_COUNTED for row in figures) else sum(row[i] or 0 for row in figures)
             for i in range(len(columns))]
    for i, column in enumerate(columns):  # a rate is not added up: recomputed below from the summed counts
        if column.kind == "percent":
            total[i] = None
    if form == "center_annual":
        received = next(i for i, c in enumerate(columns) if c.header == "信访接待件数")
        total[received + 1] = _rate(sum(d["petition"]["closed"] for d in desk), total[received])
    if form == "relief_progress":
        figures = [_relief_rates(r) for r in figures]
        total = _relief_rates(total)
    rows = [[p["tenant"], p["name"] if p is not result["own"] else f"{p['name']}（本级）", *row]
            for p, row in zip(parts, figures, strict=True)]
    rows.append(["", "合计", *total])
    return columns, rows


def period_text(year: int, month: int | None) -> str:
    return f"{year}年{month}月" if month else f"{year}年度"


def frozen(columns: list[Column], rows: list) -> dict:
    """A form's columns and rows as JSON, kept with a filed version (``ReportFiling.sheet``)."""
    return {"columns": [{"header": c.header, "kind": c.kind, "width": c.width} for c in columns], "rows": rows}


def thawed(sheet: dict) -> tuple[list[Column], list]:
    """The columns and rows of a form kept by :func:`frozen`."""
    return [Column(c["header"], c["kind"], c["width"]) for c in sheet["columns"]], sheet["rows"]


def build(form: str, tenant, year: int, month: int | None = None, *, today=None) -> tuple[bytes, str]:
    """The form's workbook of today's records and its file name."""
    month = month if FORMS[form].monthly else None
    return workbook(form, tenant, year, month, *form_rows(form, tenant, year, month, today=today))


def workbook(form: str, tenant, year: int, month: int | None, columns: list[Column], rows: list,
             *, version: int | None = None) -> tuple[bytes, str]:
    """The workbook of a form's columns and rows (live, or as a filed ``version`` froze them) and its file
    name."""
    spec = FORMS[form]
    suffix = f"-第{version}版上报" if version else ""
    month = month if spec.monthly else None
    book = Workbook()
    all_columns = [Column("单位代码", "code", 12), Column("单位", "text", 24), *columns]
    sheet = book.sheet(spec.title, all_columns, header=False, freeze=False)
    last = len(all_columns) - 1
    sheet.merge_text(0, 0, last, spec.title, bold=True, font_size=16, align="center")
    sheet.merge_text(1, 0, last, f"填报单位：{tenant.name}（{tenant.code}）    统计期间：{period_text(year, month)}"
                                 f"    金额单位：{spec.unit}"
                                 + (f"    上报版本：第{version}版" if version else ""))
    sheet.row = 2
    sheet.append([c.header for c in all_columns], kinds=["text"] * len(all_columns), heading=True)
    for row in rows:
        sheet.append(row)
    sheet.print_a4_landscape(repeat_rows=(0, 2))
    return book.close(), f"{tenant.code}-{spec.title}-{period_text(year, month)}{suffix}.xlsx"


__all__ = ["FORMS", "SOURCES", "build", "form_rows", "frozen", "period_text", "thawed", "workbook"]
