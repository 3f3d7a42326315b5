"""Reads of the aid module shared by the API, the pages and the command line: programs visible from a scope
(a program is read by its owner's subtree and by every union below its owner), batches with their items and
history, the approval queue, and the rows of the bank file and the signature sheet."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select

from hardship.aid.models import (
    BATCH_STATUSES,
    ITEM_STATUSES,
    KINDS,
    PROGRAM_TYPES,
    AidBatch,
    AidBatchEvent,
    AidItem,
    AidProgram,
)
from hardship.archives.masking import mask_id, mask_phone
from hardship.core import crypto
from hardship.core.db import db, page_of, period_bounds
from hardship.core.errors import NotFound
from hardship.core.money import format_fen
from tenants.models import Tenant
from tenants.scoping import NOTHING, SYSTEM, current_scope, get_owned, subtree_filter, system_scope


def visible_programs():
    """The WHERE clause of the programs the scope may read: its subtree's, and those of the unions above it."""
    path = current_scope()
    if path == SYSTEM:
        return sa.true()
    if path == NOTHING:
        return sa.false()
    return sa.or_(subtree_filter(AidProgram), sa.literal(path).startswith(AidProgram.tenant_path))


def _programs():
    return select(AidProgram).where(visible_programs()).execution_options(include_all_tenants=True)


def get_program(program_id) -> AidProgram:
    """A program the scope may read, else 404."""
    try:
        program_id = int(program_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < program_id < 2**31:
        raise NotFound()
    program = db.session.scalar(_programs().where(AidProgram.id == program_id))
    if program is None:
        raise NotFound()
    return program


def programs_for(tenant: Tenant, year: int | None = None) -> list[AidProgram]:
    """The programs ``tenant`` runs or takes part in (those of the unions above it), newest first."""
    stmt = _programs().where(sa.or_(AidProgram.tenant_id == tenant.id,
                                    sa.literal(tenant.path).startswith(AidProgram.tenant_path)))
    if year is not None:
        stmt = stmt.where(AidProgram.year == year)
    return db.session.scalars(stmt.order_by(AidProgram.year.desc(), AidProgram.id.desc())).all()


def _names(ids) -> dict[int, tuple[str, str]]:
    """``{tenant id: (code, name)}`` of the unions the scope may read; others are read under their own path by
    the caller when needed."""
    ids = set(ids)
    if not ids:
        return {}
    return {i: (c, n) for i, c, n in db.session.execute(select(Tenant.id, Tenant.code, Tenant.name)
                                                        .where(Tenant.id.in_(ids)))}


def program_dict(program: AidProgram, owner: Tenant | None = None) -> dict:
    if owner is None:
        from hardship.aid.operations import owner_of

        owner = owner_of(program)
    return {"id": program.id, "tenant": owner.code, "tenant_name": owner.name, "type": program.type,
            "type_label": str(PROGRAM_TYPES.get(program.type, program.type)), "year": program.year,
            "name": program.name, "starts_on": program.starts_on and program.starts_on.isoformat(),
            "ends_on": program.ends_on and program.ends_on.isoformat(), "sources": list(program.sources),
            "allow_non_archived": program.allow_non_archived,
            "approval_threshold": format_fen(program.approval_threshold),
            "standards": [{"kind": s["kind"], "kind_label": str(KINDS.get(s["kind"], s["kind"])),
                           **{k: format_fen(s.get(k)) for k in ("min", "max", "max_with_head")}}
                          for s in program.standards]}


def get_batch(batch_id) -> AidBatch:
    return get_owned(AidBatch, batch_id)


def get_item(batch: AidBatch, item_id) -> AidItem:
    item = get_owned(AidItem, item_id)
    if item.batch_id != batch.id:
        raise NotFound()
    return item


def _decrypt_item(item: AidItem) -> tuple[str | None, str | None]:
    """An item's ID number and phone in clear: a person's own, a household's head's."""
    if item.household_id is None:
        return (crypto.decrypt(item.id_enc, "aid_items.id", item.row_key),
                crypto.decrypt(item.phone_enc, "aid_items.phone", item.row_key))
    from hardship.archives.models import Person

    head = db.session.scalar(select(Person).where(Person.household_id == item.household_id, Person.role == "head"))
    if head is None:
        return None, None
    return (crypto.decrypt(head.id_enc, "persons.id", head.row_key),
            crypto.decrypt(head.phone_enc, "persons.phone", head.row_key))


def goods_names(program_ids_and_goods) -> dict[int, tuple[str, str]]:
    """``{goods item id: (name, unit)}`` of the goods named by ``(program id, goods item id)`` pairs, each read
    under the paying union's scope (the program's owner keeps the stock; a union below it may not read it
    otherwise)."""
    from hardship.goods.models import GoodsItem
    from tenants.scoping import scope

    wanted: dict[int, set[int]] = {}
    for program_id, goods_id in program_ids_and_goods:
        if goods_id is not None:
            wanted.setdefault(program_id, set()).add(goods_id)
    if not wanted:
        return {}
    programs = db.session.scalars(_programs().where(AidProgram.id.in_(list(wanted)))).all()
    out = {}
    for program in programs:
        with scope(program.tenant_path):
            out.update({i: (n, u) for i, n, u in db.session.execute(
                select(GoodsItem.id, GoodsItem.name, GoodsItem.unit).where(
                    GoodsItem.id.in_(wanted[program.id]), GoodsItem.tenant_id == program.tenant_id))})
    return out


def goods_choices(program: AidProgram) -> list[tuple[int, str, str, int, int]]:
    """The goods the union running ``program`` keeps, for the batch editor: ``(id, name, unit, unit value in
    fen, stock)``, read under that union's scope."""
    from hardship.goods.models import GoodsItem
    from tenants.scoping import scope

    with scope(program.tenant_path):
        return [tuple(r) for r in db.session.execute(
            select(GoodsItem.id, GoodsItem.name, GoodsItem.unit, GoodsItem.unit_value, GoodsItem.stock)
            .where(GoodsItem.tenant_id == program.tenant_id).order_by(GoodsItem.id))]


def goods_label(item: AidItem, names: dict) -> str | None:
    """What an item hands out, as the signature sheet says it: ``大米 2袋``."""
    if item.goods_item_id is None:
        return None
    name, unit = names.get(item.goods_item_id, ("", ""))
    return f"{name} {item.quantity}{unit}".strip()


def goods_dict(item: AidItem, names: dict) -> dict | None:
    if item.goods_item_id is None:
        return None
    name, unit = names.get(item.goods_item_id, ("", ""))
    return {"item": item.goods_item_id, "name": name, "unit": unit, "quantity": item.quantity,
            "value": format_fen(item.goods_value), "label": goods_label(item, names)}


def item_dict(item: AidItem, names: dict | None = None) -> dict:
    number, phone = _decrypt_item(item)
    if names is None:
        names = goods_names([(item.program_id, item.goods_item_id)])
    return {"id": item.id, "kind": item.kind, "kind_label": str(KINDS.get(item.kind, item.kind)),
            "household": item.household_id, "name": item.name, "id_number": mask_id(number),
            "phone": mask_phone(phone), "reason": item.reason, "amount": format_fen(item.amount),
            "goods": goods_dict(item, names), "value": format_fen(item.amount + (item.goods_value or 0)),
            "needs_head": item.needs_head, "override_reason": item.override_reason, "status": item.status,
            "status_label": str(ITEM_STATUSES.get(item.status, item.status)), "signed_by": item.signed_by,
            "received_on": item.received_on and item.received_on.isoformat()}


def _usernames(ids) -> dict[int, str]:
    from hardship.accounts.models import User
    from tenants.scoping import system_scope

    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    with system_scope():
        return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def batch_totals(batch_ids) -> dict[int, tuple[int, int, bool]]:
    """``{batch id: (total fen, items, any item needs the head)}``."""
    if not batch_ids:
        return {}
    rows = db.session.execute(select(AidItem.batch_id, sa.func.coalesce(sa.func.sum(AidItem.amount), 0),
                                     sa.func.count(), sa.func.max(sa.cast(AidItem.needs_head, sa.Integer)))
                              .where(AidItem.batch_id.in_(list(batch_ids))).group_by(AidItem.batch_id)).all()
    return {b: (int(total), n, bool(head)) for b, total, n, head in rows}


def batch_dict(batch: AidBatch, program: AidProgram | None = None) -> dict:
    from hardship.aid.audit_actions import ACTIONS
    from hardship.aid.operations import items_of, program_of

    program = program or program_of(batch)
    items = items_of(batch)
    events = db.session.scalars(select(AidBatchEvent).where(AidBatchEvent.batch_id == batch.id)
                                .order_by(AidBatchEvent.id)).all()
    users = _usernames([batch.approved_by_id, batch.head_approved_by_id])
    code, name = _names([batch.tenant_id]).get(batch.tenant_id, ("", ""))
    names = goods_names([(i.program_id, i.goods_item_id) for i in items])
    return {"id": batch.id, "program": program.id, "program_name": program.name, "tenant": code, "tenant_name": name,
            "status": batch.status, "status_label": str(BATCH_STATUSES[batch.status]), "note": batch.note,
            "created_by": batch.created_by, "total": format_fen(sum(i.amount for i in items)),
            "goods_total": format_fen(sum(i.goods_value or 0 for i in items)), "count": len(items),
            "needs_head": any(i.needs_head for i in items),
            "approved_by": users.get(batch.approved_by_id), "head_approved_by": users.get(batch.head_approved_by_id),
            "reject_reason": batch.reject_reason, "transaction": batch.transaction_id,
            "paid_on": batch.paid_on and batch.paid_on.isoformat(),
            "items": [item_dict(i, names) for i in items],
            "history": [{"at": e.at.isoformat(), "username": e.username, "action": e.action,
                         "action_label": str(ACTIONS.get(e.action, e.action)), "from_status": e.from_status,
                         "to_status": e.to_status, "reason": e.reason} for e in events]}


def pending_steps(batch: AidBatch, head_needed: bool) -> list[str]:
    """What the batch waits for: ``approver`` and/or ``head`` signatures, or ``pay``."""
    if batch.status == "approved":
        return ["pay"]
    if batch.status != "submitted":
        return []
    steps = []
    if head_needed and batch.head_approved_by_id is None:
        steps.append("head")
    if batch.approved_by_id is None:
        steps.append("approver")
    return steps


def batch_rows(batches: list[AidBatch], keep_pending: bool = False) -> list[dict]:
    totals = batch_totals([b.id for b in batches])
    names = _names({b.tenant_id for b in batches})
    programs = {p.id: p for p in db.session.scalars(_programs().where(
        AidProgram.id.in_({b.program_id for b in batches})))} if batches else {}
    rows = []
    for b in batches:
        total, count, head = totals.get(b.id, (0, 0, False))
        code, name = names.get(b.tenant_id, ("", ""))
        program = programs.get(b.program_id)
        rows.append({"id": b.id, "program": b.program_id, "program_name": program.name if program else "",
                     "tenant": code, "tenant_name": name, "status": b.status,
                     "status_label": str(BATCH_STATUSES[b.status]), "total": format_fen(total), "count": count,
                     "needs_head": head, "waiting_for": next(iter(pending_steps(b, head)), None),
                     **({"_pending": pending_steps(b, head)} if keep_pending else {})})
    return rows


def program_batches(program: AidProgram, status: str | None = None) -> list[AidBatch]:
    stmt = select(AidBatch).where(AidBatch.program_id == program.id)
    if status:
        stmt = stmt.where(AidBatch.status == status)
    return db.session.scalars(stmt.order_by(AidBatch.id)).all()


def queue(tenant: Tenant, actor) -> list[dict]:
    """The batches of ``tenant``'s programs waiting for what ``actor`` may do: an approver's signature, a head's,
    or payment by the finance officer (``actor`` ``None``: all of them)."""
    batches = db.session.scalars(select(AidBatch).join(AidProgram, AidProgram.id == AidBatch.program_id)
                                 .where(AidProgram.tenant_id == tenant.id,
                                        AidBatch.status.in_(("submitted", "approved")))
                                 .order_by(AidBatch.id)).all()
    wanted = []
    if actor is None or actor.can("aid.approve_large"):
        wanted.append("head")
    if actor is None or "approver" in actor.roles:
        wanted.append("approver")
    if actor is None or actor.can("aid.pay"):
        wanted.append("pay")
    rows = []
    for row in batch_rows(batches, keep_pending=True):
        pending = row.pop("_pending")
        step = next((s for s in wanted if s in pending), None)
        if step is not None:
            rows.append({**row, "waiting_for": step})
    return rows


def payment_rows(batch: AidBatch) -> tuple[list[dict], list[dict]]:
    """The items paid by bank transfer (archived households with a card) and those paid in person, each with
    the recipient's data in clear (the caller masks or audits)."""
    from hardship.archives.models import Household

    bank, in_person = [], []
    items = db.session.scalars(select(AidItem).where(AidItem.batch_id == batch.id).order_by(AidItem.id)).all()
    names = goods_names([(i.program_id, i.goods_item_id) for i in items])
    for item in items:
        number, phone = _decrypt_item(item)
        row = {"item": item, "name": item.name, "id_number": number, "phone": phone, "reason": item.reason,
               "amount": item.amount, "goods": goods_label(item, names)}
        household = None
        if item.household_id is not None:
            household = db.session.scalar(select(Household).where(Household.id == item.household_id))
        card = household and crypto.decrypt(household.card_enc, "households.card", household.row_key)
        if card and item.amount > 0:  # the bank file lists cash only; goods are signed for in person
            bank.append({**row, "bank": household.bank_name or "", "card": card})
            if row["goods"]:
                in_person.append({**row, "amount": None})
        else:  # goods only: no cash to sign for
            in_person.append({**row, "amount": row["amount"] if row["amount"] or not row["goods"] else None})
    return bank, in_person


def program_totals(program: AidProgram, today=None) -> dict:
    """A program's figures in the reader's subtree: by beneficiary kind, by union below, by fund source (from the
    ledger's entries of its payments), paid and received, and the items paid but not received once the
    program's period is over."""
    from datetime import date

    from hardship.funds.models import FundEntry

    today = today or date.today()
    rows = db.session.execute(select(AidItem.kind, AidItem.status, AidItem.amount, AidItem.goods_value, AidItem.name,
                                     AidItem.id, AidBatch.id, AidBatch.tenant_id)
                              .join(AidBatch, AidBatch.id == AidItem.batch_id)
                              .where(AidItem.program_id == program.id)).all()
    names = _names({r[7] for r in rows})
    by_kind: dict[str, list[int]] = {}
    by_union: dict[int, list[int]] = {}
    paid = received = goods_paid = goods_received = 0
    late = []
    ended = program.ends_on is not None and program.ends_on < today
    for kind, status, amount, goods, name, item_id, batch_id, tenant_id in rows:
        if status not in ("paid", "received"):
            continue
        goods = goods or 0
        paid += amount
        goods_paid += goods
        received += amount if status == "received" else 0
        goods_received += goods if status == "received" else 0
        for bucket, key in ((by_kind, kind), (by_union, tenant_id)):
            bucket.setdefault(key, [0, 0, 0])
            bucket[key][0] += amount
            bucket[key][1] += 1
            bucket[key][2] += goods
        if status == "paid" and ended:
            late.append({"batch": batch_id, "item": item_id, "name": name, "amount": format_fen(amount)})
    transactions = [t for t in db.session.scalars(select(AidBatch.transaction_id).where(
        AidBatch.program_id == program.id, AidBatch.transaction_id.is_not(None)))]
    by_source: dict[str, int] = {}
    if transactions:
        for account, amount in db.session.execute(select(FundEntry.account, sa.func.sum(FundEntry.amount)).where(
                FundEntry.transaction_id.in_(transactions), FundEntry.account.like("aid:%"))
                .group_by(FundEntry.account)):
            by_source[account.split(":", 1)[1]] = int(amount)
    return {"program": program.id, "paid": format_fen(paid), "received": format_fen(received),
            "goods_paid": format_fen(goods_paid), "goods_received": format_fen(goods_received),
            "by_kind": [{"kind": k, "kind_label": str(KINDS.get(k, k)), "amount": format_fen(v[0]),
                         "goods": format_fen(v[2]), "count": v[1]} for k, v in sorted(by_kind.items())],
            "by_union": [{"tenant": names.get(t, ("", ""))[0], "tenant_name": names.get(t, ("", ""))[1],
                          "amount": format_fen(v[0]), "goods": format_fen(v[2]), "count": v[1]}
                         for t, v in sorted(by_union.items())],
            "by_source": [{"source": s, "amount": format_fen(v)} for s, v in sorted(by_source.items())],
            "not_received": late}


def household_history(household) -> list[dict]:
    """A household's aid (cash and goods), newest first: the items of it you may see, with their program."""
    rows = db.session.execute(select(AidItem, AidBatch.status).join(AidBatch, AidBatch.id == AidItem.batch_id)
                              .where(AidItem.household_id == household.id)
                              .order_by(AidItem.id.desc())).all()
    programs = {p.id: p for p in db.session.scalars(_programs().where(
        AidProgram.id.in_({item.program_id for item, _s in rows})))} if rows else {}
    names = goods_names([(item.program_id, item.goods_item_id) for item, _s in rows])
    out = []
    for item, batch_status in rows:
        program = programs.get(item.program_id)
        out.append({"program": item.program_id, "program_name": program.name if program else "",
                    "type": program.type if program else "", "year": program.year if program else None,
                    "batch": item.batch_id, "batch_status": batch_status, "item": item.id,
                    "amount": format_fen(item.amount), "goods": goods_label(item, names),
                    "goods_value": format_fen(item.goods_value), "status": item.status,
                    "status_label": str(ITEM_STATUSES.get(item.status, item.status)),
                    "received_on": item.received_on and item.received_on.isoformat()})
    return out


def never_assisted(tenant: Tenant, year: int, page: int | None = None, per_page: int = 50) -> tuple[list[dict], int]:
    """The archived households of ``tenant``'s subtree that no paid item of a program of ``year`` reached (SPEC
    3.4: "never assisted this year"), by archive number, and how many there are: all of them, or one ``page``."""
    from hardship.archives.models import Household

    aided = (select(AidItem.household_id).join(AidProgram, AidProgram.id == AidItem.program_id)
             .where(AidItem.household_id.is_not(None), AidItem.status.in_(("paid", "received")),
                    AidProgram.year == year).execution_options(include_all_tenants=True))
    stmt = select(Household.id, Household.head_name, Household.tenant_id).where(
        Household.status == "archived", subtree_filter(Household, tenant.path),
        Household.id.not_in(aided)).order_by(Household.id)
    if page is None:
        rows = db.session.execute(stmt).all()
        total = len(rows)
    else:
        rows, total = page_of(stmt, page, per_page)
    names = _names({r.tenant_id for r in rows})
    return [{"household": r.id, "name": r.head_name, "tenant": names.get(r.tenant_id, ("", ""))[0],
             "tenant_name": names.get(r.tenant_id, ("", ""))[1]} for r in rows], total


def batches_of_references(references) -> dict[str, int]:
    """``{"aid_item:<id>": batch id}`` for the goods hand-outs of aid items the scope may read (the goods
    stock's page links a hand-out to its batch)."""
    ids = {}
    for reference in references:
        kind, _sep, number = (reference or "").partition(":")
        if kind == "aid_item" and number.isdigit() and int(number) < 2**31:
            ids[int(number)] = reference
    if not ids:
        return {}
    return {ids[i]: b for i, b in db.session.execute(select(AidItem.id, AidItem.batch_id)
                                                     .where(AidItem.id.in_(list(ids))))}


def batch_visits(batch: AidBatch) -> list[dict]:
    """The follow-up visits (回访) of the batch's items, newest first (SPEC 5.6)."""
    from hardship.aid.models import AidVisit

    rows = db.session.execute(select(AidVisit, AidItem.name).join(AidItem, AidItem.id == AidVisit.item_id)
                              .where(AidItem.batch_id == batch.id)
                              .order_by(AidVisit.visited_on.desc(), AidVisit.id.desc())).all()
    return [{"id": v.id, "item": v.item_id, "name": name, "visited_on": v.visited_on.isoformat(),
             "visitors": list(v.visitors or ()), "notes": v.notes, "relieved": v.relieved} for v, name in rows]


#: an item counted as aid paid: of a paid batch, itself paid or received (a refused or returned item is not)
PAID_ITEM_STATUSES = ("paid", "received")


def paid_in_period(start, end):
    """The WHERE clause (over ``AidBatch`` and ``AidItem``) of the items counted as aid paid from ``start`` to
    before ``end``: of a batch paid in the period (``paid_on``), the item paid or received. The summary, the
    warmth form and the list behind their figures (:func:`paid_items`) count by it."""
    return sa.and_(AidBatch.status == "paid", AidBatch.paid_on >= start, AidBatch.paid_on < end,
                   AidItem.status.in_(PAID_ITEM_STATUSES))


def drew_on(source: str):
    """The WHERE clause of the batches whose payment drew on the fund ``source`` (the summary's aid by source
    counts their items' households and person-times)."""
    from hardship.funds.models import FundEntry, FundLot

    return AidBatch.transaction_id.in_(
        select(FundEntry.transaction_id).join(FundLot, FundLot.id == FundEntry.lot_id)
        .where(FundLot.source == source, FundEntry.category == "disbursed"))


def paid_items(tenant: Tenant, start, end, *, program_type: str | None = None, source: str | None = None,
               page: int = 1, per_page: int = 50) -> tuple[list[dict], dict]:
    """The items behind the summary's aid figures of ``tenant``'s subtree for the period (:func:`paid_in_period`),
    of one program type or of the batches that drew on one source if given, newest payment first: one
    ``page`` of rows, and the totals over all of them as the summary counts them (``count`` items =
    person-times, ``households`` distinct recipients per paying union, ``amount`` and ``goods_value`` in fen).

    Read under the system scope, as the summary reads them (:func:`hardship.reports.queries._aid_rows`): the
    batches are those of ``tenant``'s subtree (which the caller resolved in the reader's scope); their programs
    are often of a union above it and their payments are kept by the paying union. The rows carry the
    recipient's name, never an ID number, phone or card: nothing here needs unmasking."""
    from tenants.scoping import path_range

    where = [paid_in_period(start, end), path_range(Tenant.path, tenant.path)]
    if program_type:
        where.append(AidProgram.type == program_type)
    if source:
        where.append(drew_on(source))

    def joined(stmt):
        return (stmt.select_from(AidItem).join(AidBatch, AidBatch.id == AidItem.batch_id)
                .join(Tenant, Tenant.id == AidBatch.tenant_id).join(AidProgram, AidProgram.id == AidBatch.program_id)
                .where(*where).execution_options(include_all_tenants=True))

    with system_scope():
        count, amount, goods = db.session.execute(joined(select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(AidItem.amount), 0),
            sa.func.coalesce(sa.func.sum(AidItem.goods_value), 0)))).one()
        person = sa.case((AidItem.household_id.is_(None), AidItem.id_index), else_=None)
        recipients = joined(select(AidBatch.tenant_id, AidItem.household_id, person).distinct()).subquery()
        households = db.session.scalar(select(sa.func.count()).select_from(recipients))
        rows, _ = page_of(joined(select(
            AidItem.id, AidItem.batch_id, AidBatch.paid_on, Tenant.code, Tenant.name, AidProgram.id, AidProgram.name,
            AidProgram.type, AidItem.kind, AidItem.name, AidItem.household_id, AidItem.amount,
            sa.func.coalesce(AidItem.goods_value, 0), AidItem.status))
            .order_by(AidBatch.paid_on.desc(), AidItem.batch_id.desc(), AidItem.id), page, per_page, count=False)
    items = [{"id": r[0], "batch": r[1], "paid_on": r[2].isoformat(), "tenant": r[3], "tenant_name": r[4],
              "program": r[5], "program_name": r[6], "program_type": r[7],
              "program_type_label": str(PROGRAM_TYPES.get(r[7], r[7])), "kind": r[8],
              "kind_label": str(KINDS.get(r[8], r[8])), "name": r[9], "household": r[10], "amount": int(r[11]),
              "goods_value": int(r[12]), "status": r[13], "status_label": str(ITEM_STATUSES.get(r[13], r[13]))}
             for r in rows]
    return items, {"count": count, "households": households, "amount": int(amount), "goods_value": int(goods)}


PAID_PER_PAGE = 50
#: who reads the list of paid items: the statistics' readers and the aid's officers
PAID_ITEMS_READERS = ("stats.read", "aid.prepare", "aid.approve", "aid.pay")


def paid_items_page(tenant: Tenant, args: dict) -> dict:
    """:func:`paid_items` for the arguments of ``schemas.PaidItemsQuery`` (the period: ``year`` and ``month``, in
    Shanghai dates as the summary's): the page's rows and totals, the period's first and last day, the pages."""
    from datetime import timedelta

    start, end = period_bounds(args["year"], args.get("month"))
    items, total = paid_items(tenant, start, end, program_type=args.get("program_type"), source=args.get("source"),
                              page=args.get("page") or 1, per_page=PAID_PER_PAGE)
    return {"tenant": tenant.code, "start": start.isoformat(), "end": (end - timedelta(days=1)).isoformat(),
            "page": args.get("page") or 1, "pages": max(1, -(-total["count"] // PAID_PER_PAGE)),
            "total": total, "items": items}


def paid_items_text(result: dict) -> dict:
    """:func:`paid_items_page`'s result with its amounts as the API writes them (yuan, "900.00")."""
    def text(row: dict) -> dict:
        return {k: format_fen(v) if k in ("amount", "goods_value") else v for k, v in row.items()}

    return {**result, "total": text(result["total"]), "items": [text(row) for row in result["items"]]}


# ---------------------------------------------------------------- the warmth campaign's figures (SPEC 6.3 warmth)

#: the program types of the warmth campaign (送温暖: the 两节 visits to hardship workers, model workers in hardship,
#: frontline workers and migrant workers)
CAMPAIGN_TYPES = ("warmth", "model_worker", "frontline", "migrant")
#: who a campaign's item reached, each item in exactly one: ``migrant`` every item of a migrant workers'
#: program; else by the item's beneficiary kind: ``model_worker``, ``frontline``, and ``hardship`` (archived
#: households and named non-archived persons: 困难职工), of which ``archived`` the archived households
RECIPIENT_GROUPS = ("hardship", "archived", "model_worker", "frontline", "migrant")


def recipient_group(program_type: str, kind: str) -> str:
    """The group of :data:`RECIPIENT_GROUPS` an item of ``kind`` under a program of ``program_type`` counts in
    (``archived`` also counts in ``hardship``)."""
    if program_type == "migrant":
        return "migrant"
    return kind if kind in ("model_worker", "frontline", "archived") else "hardship"


def campaign_figures(tenant: Tenant, start, end, *, subtree: bool = False) -> dict:
    """The warmth campaign's items (programs of :data:`CAMPAIGN_TYPES`) paid (or received) in the batches paid
    from ``start`` to before ``end`` (``paid_on``) that ``tenant`` prepared (or, with ``subtree``, any union of
    its subtree), as the summary counts aid: per group of :data:`RECIPIENT_GROUPS` ``recipients`` (distinct
    households, or persons by their blind index), ``person_times`` (items), ``amount`` (cash) and
    ``goods_value`` (物资折款); ``total`` the same over every item; ``by_source`` the cash the batches' payments
    drew per fund source (the ledger's entries to ``aid:<source>``, kept by the paying union), every source
    present. Amounts in fen. The batches are those of ``tenant``; their programs (of a union above, often) and
    payments are read under the system scope, as the summary reads them
    (:func:`hardship.reports.queries._aid_rows`): the figures are the same whoever reads them."""
    with system_scope():
        return _campaign_figures(tenant, start, end, subtree=subtree)


def _campaign_figures(tenant: Tenant, start, end, *, subtree: bool) -> dict:
    from hardship.funds.models import SOURCES, FundEntry

    batches = select(AidBatch.id).where(
        subtree_filter(AidBatch, tenant.path) if subtree else AidBatch.tenant_id == tenant.id,
        AidBatch.status == "paid", AidBatch.paid_on >= start, AidBatch.paid_on < end,
        AidBatch.program_id.in_(select(AidProgram.id).where(AidProgram.type.in_(CAMPAIGN_TYPES))))
    rows = db.session.execute(
        select(AidProgram.type, AidItem.kind, AidItem.household_id, AidItem.id_index, AidItem.amount,
               sa.func.coalesce(AidItem.goods_value, 0))
        .join(AidProgram, AidProgram.id == AidItem.program_id).join(AidBatch, AidBatch.id == AidItem.batch_id)
        .where(AidItem.batch_id.in_(batches), paid_in_period(start, end))).all()
    out = {group: {"recipients": 0, "person_times": 0, "amount": 0, "goods_value": 0}
           for group in (*RECIPIENT_GROUPS, "total")}
    seen: dict[str, set] = {group: set() for group in out}
    for program_type, kind, household_id, id_index, amount, goods_value in rows:
        group = recipient_group(program_type, kind)
        recipient = f"h{household_id}" if household_id is not None else f"p{id_index}"
        for name in {group, "total", "hardship" if group == "archived" else group}:
            figures = out[name]
            figures["person_times"] += 1
            figures["amount"] += amount
            figures["goods_value"] += int(goods_value)
            seen[name].add(recipient)
            figures["recipients"] = len(seen[name])
    out["by_source"] = dict.fromkeys(SOURCES, 0)
    for account, amount in db.session.execute(
            select(FundEntry.account, sa.func.sum(FundEntry.amount))
            .where(FundEntry.transaction_id.in_(select(AidBatch.transaction_id).where(AidBatch.id.in_(batches))),
                   FundEntry.account.like("aid:%")).group_by(FundEntry.account)):
        source = account.split(":", 1)[1]
        out["by_source"][source] = out["by_source"].get(source, 0) + int(amount)
    return out
