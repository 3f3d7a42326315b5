"""The consolidated summary of a union's subtree (SPEC 6.1), computed directly from the base records.

This is the exact path and the oracle: the fast path of SPEC 6.2 (:mod:`hardship.reports.figures`, figures
kept per union and period) returns exactly what :func:`summary` returns, counting each union's own records with
:func:`count` and building the result with :func:`assemble`. Nothing here is cached or precomputed.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy import select

from hardship.aid.models import PROGRAM_TYPES, AidBatch, AidItem, AidProgram
from hardship.aid.queries import paid_in_period
from hardship.archives import queries as archive_queries
from hardship.archives.models import CATEGORIES, FLOWS, REASONS, STATUSES, Household
from hardship.core.db import db, instant, period_bounds, shanghai_date  # noqa: F401 (the reports' callers)
from hardship.core.money import format_fen
from hardship.desk import queries as desk_queries
from hardship.funds import queries as funds_queries
from hardship.funds.models import SOURCES, FundEntry, FundLot
from tenants.models import Tenant
from tenants.scoping import path_range, subtree_filter, system_scope

#: the money fields of the funds section, in the ledger's order, then its aging balances
FUND_FIELDS = (*funds_queries.MONEY_FIELDS, "warning", "overdue")


# ---------------------------------------------------------------- the sections

def _empty_households() -> dict:
    return {"by_status": dict.fromkeys(STATUSES, 0), "by_category": dict.fromkeys(CATEGORIES, 0),
            "by_reason": dict.fromkeys(REASONS, 0), **dict.fromkeys(FLOWS, 0), "stock": 0}


def empty_aid_row() -> dict:
    return {"amount": 0, "households": 0, "person_times": 0, "goods_value": 0}


def _empty_aid() -> dict:
    return {"by_type": {t: empty_aid_row() for t in PROGRAM_TYPES},
            "by_source": {s: empty_aid_row() for s in SOURCES}, "total": empty_aid_row()}


class _Node:
    """The figures of one part of the tree (a union's own records, a child's subtree, ...) while counting."""

    def __init__(self):
        self.households = _empty_households()
        self.aid = _empty_aid()
        #: households aided, as sets, per program type, source and in all (a household counts once in each)
        self.aided = {"by_type": {t: set() for t in PROGRAM_TYPES}, "by_source": {s: set() for s in SOURCES},
                      "total": set()}
        #: what the batch being counted drew per source
        self.batch_sources: dict[str, int] = {}

    def figures(self) -> dict:
        return {"households": self.households, "aid": self.aid}


def empty_figures() -> dict:
    return _Node().figures()


def add_figures(total: dict, part: dict) -> dict:
    """Add ``part``'s counts and amounts into ``total`` (nested dicts of numbers, keys of either), in place."""
    for key, value in part.items():
        if isinstance(value, dict):
            add_figures(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value
    return total


def _household_figures(where, start: date, end: date, bucket) -> list[dict]:
    """Per household that ``where`` selects, its bucket (``bucket(tenant_id, path)`` of its union) and its
    figures for the period: its status, category and primary reason at the period's end
    (:class:`hardship.archives.queries.HouseholdState`) and its flows in the period."""
    rows = db.session.execute(
        archive_queries.history_until(instant(end), Tenant.id, Tenant.path)
        .join(Tenant, Tenant.id == Household.tenant_id).where(where)).all()
    start_at = instant(start)
    out: dict[int, dict] = {}
    for hid, category_now, reason_now, tenant_id, path, at, action, before, after, changes in rows:
        figures = out.get(hid)
        if figures is None:
            figures = out[hid] = {"bucket": bucket(tenant_id, path), **dict.fromkeys(FLOWS, 0),
                                  "state": archive_queries.HouseholdState(category_now, reason_now)}
        figures["state"].apply(after, changes)
        if at < start_at:
            continue
        flow = archive_queries.flow_of(action, before, after)
        if flow:
            figures[flow] += 1
    for figures in out.values():
        figures["status"], figures["category"], figures["reason"] = figures.pop("state").final()
    return list(out.values())


def _add_household(node: _Node, h: dict) -> None:
    figures = node.households
    figures["by_status"][h["status"]] = figures["by_status"].get(h["status"], 0) + 1
    if h["status"] == "archived":
        figures["stock"] += 1
        figures["by_category"][h["category"]] = figures["by_category"].get(h["category"], 0) + 1
        figures["by_reason"][h["reason"]] = figures["by_reason"].get(h["reason"], 0) + 1
    for flow in FLOWS:
        figures[flow] += h[flow]


def _aid_rows(where, start: date, end: date):
    """The paid items of the batches that ``where`` selects paid in the period, and what each batch drew per
    source.

    ``where`` selects the batches (of a subtree the caller resolved in the reader's scope); their programs (often
    of a union above, e.g. a county's warmth program paid by an enterprise) and the ledger entries of their
    payment (kept by the paying union) are facts of those batches, read under the system scope: a union's aid
    figures are the same whoever reads them, and figures kept by the fast path do not depend on who counted
    them first."""
    with system_scope():
        return _read_aid_rows(where, start, end)


def _read_aid_rows(where, start: date, end: date):
    items = db.session.execute(
        select(AidBatch.id, Tenant.id, Tenant.path, AidProgram.type, AidItem.household_id, AidItem.id_index, AidItem.amount,
               sa.func.coalesce(AidItem.goods_value, 0))
        .join(Tenant, Tenant.id == AidBatch.tenant_id)
        .join(AidProgram, AidProgram.id == AidBatch.program_id)
        .join(AidItem, AidItem.batch_id == AidBatch.id)
        .where(where, paid_in_period(start, end))
        .order_by(AidBatch.id, AidItem.id)).all()
    batch_ids = sorted({row[0] for row in items})
    drawn: dict[int, dict[str, int]] = {}
    if batch_ids:
        for batch_id, source, amount in db.session.execute(
                select(AidBatch.id, FundLot.source, sa.func.sum(FundEntry.amount))
                .join(FundEntry, FundEntry.transaction_id == AidBatch.transaction_id)
                .join(FundLot, FundLot.id == FundEntry.lot_id)
                .where(AidBatch.id.in_(batch_ids), FundEntry.category == "disbursed")
                .group_by(AidBatch.id, FundLot.source)).all():
            drawn.setdefault(batch_id, {})[source] = -int(amount)
    return items, drawn


def _add_aid(node: _Node, program_type: str, recipient: str, amount: int, goods_value: int,
             drawn: dict[str, int] | None) -> None:
    """Count one paid item; ``drawn`` (what its batch drew per source) is given with the batch's first item."""
    rows = node.aid
    sources = node.batch_sources
    for row, aided in ((rows["total"], node.aided["total"]),
                       (rows["by_type"].setdefault(program_type, empty_aid_row()),
                        node.aided["by_type"].setdefault(program_type, set()))):
        row["amount"] += amount
        row["goods_value"] += goods_value
        row["person_times"] += 1
        aided.add(recipient)
        row["households"] = len(aided)
    if drawn is not None:
        sources.clear()
        sources.update(drawn)
        for source, fen in drawn.items():
            rows["by_source"].setdefault(source, empty_aid_row())["amount"] += fen
    for source in sources:
        row = rows["by_source"].setdefault(source, empty_aid_row())
        aided = node.aided["by_source"].setdefault(source, set())
        row["person_times"] += 1
        aided.add(recipient)
        row["households"] = len(aided)


def _funds_and_matching(tenant: Tenant, children: list[Tenant], year: int, today: date) -> tuple[dict, dict]:
    """The funds and matching sections of the union's own lots (key None) and of each child's subtree (the
    child's id): the ledger's rows of the whole subtree (``funds.queries.balances`` and ``matching``, from one
    read: ``balances_and_matching``) added up per part, as those functions total them."""
    balances, matched, unions = funds_queries.balances_and_matching(tenant, year, subtree=True, today=today)

    def part(code: str):
        path = unions[code].path
        return next((c.id for c in children if path.startswith(c.path)), None)

    keys = [None, *(c.id for c in children)]
    funds = {key: dict.fromkeys(FUND_FIELDS, 0) for key in keys}
    for row in balances["rows"]:
        figures = funds[part(row["tenant"])]
        for name in funds_queries.MONEY_FIELDS:
            figures[name] += row[name]
        if row["aging"] in ("warning", "overdue"):
            figures[row["aging"]] += row["balance"]
    matching = {key: {"required": 0, "achieved": 0} for key in keys}
    for row in matched:
        figures = matching[part(row["tenant"])]
        figures["required"] += row["required"]
        figures["achieved"] += row["achieved"]
    return funds, matching


def _whole(parts: dict) -> dict:
    total: dict = {}
    for figures in parts.values():
        add_figures(total, figures)
    return total


def _with_ratio(matching: dict) -> dict:
    required, achieved = matching["required"], matching["achieved"]
    return {"required": required, "achieved": achieved,
            "ratio": round(achieved / required, 4) if required else 0.0}


def _desk(figures: dict) -> dict:
    return {"received": figures["received"], "closed": figures["closed"], "open": figures["open"],
            "closure_rate": figures["closure_rate"], "overdue": figures["overdue_open"]}


def children_of(tenant: Tenant) -> list[Tenant]:
    return db.session.scalars(select(Tenant).where(Tenant.parent_id == tenant.id, subtree_filter(Tenant))
                              .order_by(Tenant.code)).all()


def summary(tenant: Tenant, year: int, month: int | None = None, *, today: date | None = None) -> dict:
    """The consolidated figures of ``tenant``'s whole subtree for ``year`` (or ``month`` of it), with the same
    sections for the union's own records (``own``) and for each direct child's subtree (``children``), so that
    ``own`` plus the children equals the whole for every count and amount except the ones noted below.

    A record belongs to the union in whose subtree its tenant lies, by the stored tenant path. The period runs
    from the first day of the year (month) to the first day of the next, in Asia/Shanghai calendar dates;
    history times (stored in UTC) are read in that zone. Amounts are fen.

    ``households`` (the archive, from ``household_events``, the household history): ``by_status`` counts each
    household by the status its last history entry before the period's end left it in (households with no
    history before the end are not counted); ``stock`` (存量) those archived then; ``by_category`` and
    ``by_reason`` split the stock by the household's category and primary reason at the period's end (as its
    application and later corrections in the history left them). The flows count history entries inside the period:
    ``newly_archived`` entries into ``archived`` (by archiving or publicity ending); ``relieved`` relief records
    (解困); ``exited`` and ``cancelled`` entries into those statuses; ``returned`` reopenings (返困). A household
    archived, exited and archived again in one period counts twice in ``newly_archived``. An entry counts when it
    was written: a publicity that ended without objection is archived by the entry written when the archive is
    next read (``archives.operations.settle_publicity``), which may fall in a later period than the day the
    publicity ended.

    ``aid`` (hardship/aid): items paid (or received) of the batches of the subtree paid in the period
    (``paid_on``), counted for the union that prepared the batch. ``by_type`` per program type: ``amount``,
    ``households`` (distinct recipients: households, or named persons by their blind index), ``person_times``
    (items), ``goods_value`` (物资折款: the items' goods, quantity × unit value when proposed; ``amount`` is cash only). ``by_source``: ``amount`` is what the batches'
    disbursements drew from lots of that source (the ledger's entries); ``households`` and ``person_times``
    count the items of every batch that drew on that source (a batch drawn on two sources counts in both). The
    source amounts come from the lots of the union that paid (often the one running the program, above the
    batch's union): they are read whoever reads (:func:`_aid_rows`), so a reader below that union sees them too.
    Recipients are distinct per union that paid: one aided by two unions of the subtree counts once for each
    (as the unions' own report forms count them), so every figure of ``households`` and ``aid`` adds up: ``own``
    plus the children equals the whole.

    ``funds`` (from :mod:`hardship.funds.queries`, the ledger's own figures): the running totals of the lots of
    fiscal year ``year`` held in the subtree (received, allocated in and out, disbursed, returned, balance)
    and the balances in ``warning`` and ``overdue`` on ``today``; the same for a month as for its year (lots
    are kept per fiscal year). Allocations between two unions of the subtree appear both in and out.
    ``matching``: required and achieved of fiscal ``year`` summed over the subtree's unions
    (``funds.queries.matching``), ``ratio`` achieved / required.

    ``desk`` (from :func:`hardship.desk.queries.figures`): cases received in the period by the unions of the
    subtree, of those closed, the closure rate (办结率, closed / received), open, and open past their deadline
    on ``today`` (``overdue``).
    """
    start, end = period_bounds(year, month)
    children = children_of(tenant)

    def bucket(_tenant_id: int, path: str):
        for child in children:
            if path.startswith(child.path):
                return child.id
        return None

    parts = count(start, end, bucket, households=sa.and_(path_range(Tenant.path, tenant.path),
                                                         subtree_filter(Household)),
                  batches=sa.and_(path_range(Tenant.path, tenant.path), subtree_filter(AidBatch)))
    return assemble(tenant, children, year, month, parts, today=today, exact=True)


def count(start: date, end: date, bucket, *, households, batches) -> dict:
    """The household and aid figures of the period of the households and batches that the clauses select
    (over ``Household``, ``AidBatch`` and the ``Tenant`` of each), per bucket: ``bucket(tenant_id, path)`` of
    the record's union. Each bucket's figures add up with the others' (aid recipients are distinct per union)."""
    nodes: dict = {}

    def node(key) -> _Node:
        found = nodes.get(key)
        if found is None:
            found = nodes[key] = _Node()
        return found

    for h in _household_figures(households, start, end, bucket):
        _add_household(node(h["bucket"]), h)

    items, drawn = _aid_rows(batches, start, end)
    previous = None
    for batch_id, tenant_id, path, program_type, household_id, id_index, amount, goods_value in items:
        recipient = (tenant_id, household_id) if household_id is not None else (tenant_id, id_index)
        first = batch_id != previous
        previous = batch_id
        _add_aid(node(bucket(tenant_id, path)), program_type, recipient, amount, int(goods_value),
                 drawn.get(batch_id, {}) if first else None)
    return {key: found.figures() for key, found in nodes.items()}


def assemble(tenant: Tenant, children: list[Tenant], year: int, month: int | None, parts: dict, *,
             today: date | None = None, exact: bool) -> dict:
    """The summary of :func:`summary` from the counted household and aid figures of the union's own records
    (``parts[None]``) and of each child's subtree (``parts[child.id]``), with the funds, matching and desk
    figures read from their modules."""
    today = today or date.today()
    start, end = period_bounds(year, month)
    own = parts.get(None) or empty_figures()
    by_child = {c.id: parts.get(c.id) or empty_figures() for c in children}
    whole = add_figures(empty_figures(), own)
    for figures in by_child.values():
        add_figures(whole, figures)

    desk = desk_queries.figures(tenant, year, month, today=today, children=children)
    desk_children = {row["tenant"]: row for row in desk["children"]}
    desk_own = {name: desk[name] - sum(row[name] for row in desk["children"])
                for name in ("received", "closed", "open", "overdue_open")}
    desk_own["closure_rate"] = round(desk_own["closed"] / desk_own["received"], 4) if desk_own["received"] else 0.0

    funds, matching = _funds_and_matching(tenant, children, year, today)

    def sections(union: Tenant, figures: dict, funds: dict, matching: dict, desk_figures: dict) -> dict:
        return {"tenant": union.code, "name": union.name, "level": union.level,
                "households": figures["households"], "aid": figures["aid"], "funds": funds,
                "matching": _with_ratio(matching), "desk": _desk(desk_figures)}

    result = sections(tenant, whole, _whole(funds), _whole(matching), desk)
    result.update({"year": year, "month": month, "start": start.isoformat(),
                   "end": date.fromordinal(end.toordinal() - 1).isoformat(),
                   "exact": exact,
                   "own": sections(tenant, own, funds[None], matching[None], desk_own),
                   "children": [sections(c, by_child[c.id], funds[c.id], matching[c.id], desk_children[c.code])
                                for c in children]})
    return result


# ---------------------------------------------------------------- the API shape

def _money_section(section: dict) -> dict:
    return {k: format_fen(v) for k, v in section.items()}


def _aid_out(aid: dict) -> dict:
    def row(r):
        return {**r, "amount": format_fen(r["amount"]), "goods_value": format_fen(r["goods_value"])}

    return {"by_type": {k: row(v) for k, v in aid["by_type"].items()},
            "by_source": {k: row(v) for k, v in aid["by_source"].items()}, "total": row(aid["total"])}


def _part_out(part: dict) -> dict:
    matching = part["matching"]
    return {**part, "aid": _aid_out(part["aid"]), "funds": _money_section(part["funds"]),
            "matching": {"required": format_fen(matching["required"]), "achieved": format_fen(matching["achieved"]),
                         "ratio": matching["ratio"]}}


def format_summary(result: dict) -> dict:
    """The API shape of appendix A: money as decimal strings."""
    out = _part_out({k: v for k, v in result.items() if k not in ("own", "children")})
    out["own"] = _part_out(result["own"])
    out["children"] = [_part_out(c) for c in result["children"]]
    return out
