"""Aid operations: the only code that changes programs, batches and items (the API, the pages, the command
line and the demo call these). They receive clean values (loaded through :mod:`hardship.aid.schemas`),
enforce the rules of SPEC 5 and never commit: the request, the command or the job owns the transaction.

* Standards: an item's amount is checked against its program's standard for its beneficiary kind; above
  the maximum and up to ``max_with_head``, or at or above the approval threshold, it needs the head.
* No duplicate aid: every pending or paid item holds its claims (``AidClaim``), inserted with ``ON CONFLICT
  DO NOTHING`` on the UNIQUE ``(claim_key, person_index)``: of two unions proposing one person at the same
  moment, the second insert waits for the first transaction and then inserts nothing: it is refused,
  naming only the union that holds the claim. Removing an item releases its claims.
* Payment: one disbursement through the ledger (``hardship.funds.operations.disburse``): every item paid and
  the lots debited, or nothing.
* Goods (SPEC 5.7): an item may hand out goods of the paying union's stock beside or instead of cash; their
  value (物资折款, quantity x unit value) counts toward the standard. Paying the batch hands them out
  (``hardship.goods.operations.hand_out``, reference ``aid_item:<id>``) in the payment's transaction: a stock
  that is short refuses the whole payment (409), and nothing is written.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from hardship import audit
from hardship.accounts.operations import require
from hardship.aid.models import (
    EDITABLE,
    HOUSEHOLD_KINDS,
    ITEM_STATUSES,
    KINDS,
    YEARLY_TYPES,
    AidBatch,
    AidBatchEvent,
    AidClaim,
    AidItem,
    AidProgram,
)
from hardship.archives.models import Household
from hardship.core import crypto
from hardship.core.db import db, insert_or_skip, utcnow
from hardship.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hardship.core.money import MAX_FEN, format_fen
from hardship.funds import operations as funds
from hardship.funds.models import SOURCES, FundLot
from hardship.goods import operations as goods_ops
from hardship.goods.models import GoodsItem
from tenants.models import Tenant
from tenants.scoping import get_owned, scope

YUAN = 100
#: a program's approval threshold unless it names one (SPEC 5.1)
DEFAULT_THRESHOLD = 1000 * YUAN
DEFAULT_SOURCES = list(SOURCES)


def _std(kind, low=None, high=None, head=None) -> dict:
    return {"kind": kind, "min": low, "max": high, "max_with_head": head}


#: each type's defaults (SPEC 5.1: warmth from the 2017 city plan; emergency 300-500, up to 1,000 with the head)
TYPE_DEFAULTS = {
    "warmth": {"allow_non_archived": True, "standards": [
        _std("archived", 600 * YUAN), _std("model_worker", 900 * YUAN), _std("frontline", None, 500 * YUAN)]},
    "emergency": {"allow_non_archived": True, "standards": [
        _std("archived", 300 * YUAN, 500 * YUAN, 1000 * YUAN), _std("non_archived", 300 * YUAN, 500 * YUAN, 1000 * YUAN)]},
    "model_worker": {"allow_non_archived": False, "standards": [_std("model_worker", 900 * YUAN)]},
    "frontline": {"allow_non_archived": True, "standards": [_std("frontline", None, 500 * YUAN)]},
}
#: any other type: archived households, no bounds
GENERIC_DEFAULTS = {"allow_non_archived": False, "standards": [_std("archived")]}


def defaults_for(program_type: str) -> dict:
    """The standards and rules a new program of ``program_type`` starts with."""
    found = TYPE_DEFAULTS.get(program_type, GENERIC_DEFAULTS)
    return {"allow_non_archived": found["allow_non_archived"], "standards": [dict(s) for s in found["standards"]],
            "sources": list(DEFAULT_SOURCES), "approval_threshold": DEFAULT_THRESHOLD}


# ---------------------------------------------------------------- history and audit

def _event(batch: AidBatch, action: str, actor, *, before: str | None = None, reason: str = "",
           detail: dict | None = None, tenant: Tenant | None = None) -> None:
    """One step of the batch's history and its audit event, in the caller's transaction."""
    db.session.add(AidBatchEvent(tenant_id=batch.tenant_id, batch_id=batch.id, user_id=getattr(actor, "id", None),
                                 username=getattr(actor, "username", None), action=action, from_status=before,
                                 to_status=batch.status, reason=reason or "", detail=detail or {}))
    owner = tenant or db.session.scalar(select(Tenant).where(Tenant.id == batch.tenant_id))
    audit.record(f"aid.{action}", owner, batch, detail={"batch": batch.id, "status": batch.status,
                                                        "reason": reason or "", **(detail or {})}, user=actor)


# ---------------------------------------------------------------- programs

def owner_of(program: AidProgram) -> Tenant:
    """The union that runs ``program``, read under its own scope: a deliberate, read-only widening for the
    unions below it (an enterprise may not read its county's row otherwise)."""
    with scope(program.tenant_path):
        owner = db.session.scalar(select(Tenant).where(Tenant.id == program.tenant_id))
    if owner is None:
        raise NotFound()
    return owner


def _program_values(clean: dict, base: dict) -> dict:
    values = dict(base)
    for name in ("name", "starts_on", "ends_on"):
        if name in clean:
            values[name] = clean[name]
    for name in ("sources", "allow_non_archived", "approval_threshold", "standards"):
        if clean.get(name) is not None:
            values[name] = clean[name]
    if not values.get("sources"):
        raise ValidationFailed(fields={"sources": [_l("Name at least one fund source.")]})
    values["sources"] = list(dict.fromkeys(values["sources"]))
    values["standards"] = [_std(s["kind"], s.get("min"), s.get("max"), s.get("max_with_head"))
                           for s in values["standards"]]
    return values


def create_program(tenant: Tenant, clean: dict, actor=None) -> AidProgram:
    """A program of ``tenant`` (loaded :class:`~hardship.aid.schemas.ProgramIn`), filled with its type's
    defaults where the input is silent."""
    require(actor, "aid.prepare")
    if actor is not None and actor.tenant_id != tenant.id:
        raise Forbidden(_l("A program is opened by the union that runs it."))
    values = _program_values(clean, {**defaults_for(clean["type"]), "starts_on": None, "ends_on": None})
    program = AidProgram(tenant_id=tenant.id, tenant_path=tenant.path, type=clean["type"], year=clean["year"],
                         created_by_id=getattr(actor, "id", None), **values)
    db.session.add(program)
    db.session.flush()
    audit.record("aid.program_create", tenant, program, detail={"name": program.name, "type": program.type,
                                                                "year": program.year}, user=actor)
    return program


def update_program(program: AidProgram, clean: dict, actor=None) -> AidProgram:
    require(actor, "aid.prepare")
    owner = owner_of(program)
    if actor is not None and actor.tenant_id != owner.id:
        raise Forbidden(_l("A program is changed by the union that runs it."))
    current = {name: getattr(program, name) for name in ("name", "starts_on", "ends_on", "sources",
                                                        "allow_non_archived", "approval_threshold", "standards")}
    for name, value in _program_values(clean, current).items():
        setattr(program, name, value)
    db.session.flush()
    audit.record("aid.program_update", owner, program, detail={"name": program.name}, user=actor)
    return program


# ---------------------------------------------------------------- items

def _yuan(fen: int) -> str:
    return format_fen(fen, grouped=True)


def check_amount(program: AidProgram, kind: str, amount: int) -> tuple[list[str], bool]:
    """The problems of ``amount`` for a recipient of ``kind`` under ``program``'s standards, and whether it
    needs the head's approval."""
    standard = program.standard(kind)
    if standard is None:
        return [_l("This program has no standard for %(kind)s.", kind=KINDS[kind])], False
    problems, needs_head = [], amount >= program.approval_threshold
    low, high, head = standard.get("min"), standard.get("max"), standard.get("max_with_head")
    if low is not None and amount < low:
        problems.append(_l("Below the standard: at least %(min)s yuan for %(kind)s.", min=_yuan(low), kind=KINDS[kind]))
    if high is not None and amount > high:
        if head is not None and amount <= head:
            needs_head = True
        else:
            problems.append(_l("Above the standard: at most %(max)s yuan for %(kind)s.",
                               max=_yuan(head if head is not None else high), kind=KINDS[kind]))
    return problems, needs_head


def _household_problems(household: Household, kind: str) -> list[str]:
    problems = []
    if household.status != "archived":
        problems.append(_l("The household is not archived; only archived households receive aid as such."))
    head = household.head
    if kind == "model_worker" and not (head and head.model_worker):
        problems.append(_l("The head of this household is not a model worker."))
    return problems


def goods_item_of(program: AidProgram, goods_item_id: int) -> GoodsItem | None:
    """A goods item of the union that runs (and pays) ``program``, read under that union's scope (a deliberate,
    read-only widening like :func:`owner_of`: an enterprise proposes its county's goods); ``None`` otherwise."""
    with scope(program.tenant_path):
        return db.session.scalar(select(GoodsItem).where(GoodsItem.id == goods_item_id,
                                                         GoodsItem.tenant_id == program.tenant_id))


def _goods_columns(program: AidProgram, goods: dict | None) -> dict:
    """The goods columns of an item from a loaded :class:`~hardship.aid.schemas.GoodsIn`, or 422 naming the
    field: the goods must be an item of the paying union's stock."""
    if goods is None:
        return {"goods_item_id": None, "quantity": None, "goods_value": None}
    found = goods_item_of(program, goods["item"])
    if found is None:
        raise ValidationFailed(fields={"goods.item": [_l("No such goods item in the stock of the union that pays "
                                                         "this program.")]})
    value = goods["quantity"] * found.unit_value
    if value > MAX_FEN:
        raise ValidationFailed(fields={"goods.quantity": [_l("Worth more than %(max)s yuan at once.",
                                                             max=_yuan(MAX_FEN))]})
    return {"goods_item_id": found.id, "quantity": goods["quantity"], "goods_value": value}


def item_value(item: AidItem) -> int:
    """What an item is worth for the standards: its cash and its goods' value (物资折款)."""
    return item.amount + (item.goods_value or 0)


def _recipient(program: AidProgram, batch_tenant: Tenant, data: dict, actor) -> dict:
    """The columns of a new item from a loaded :class:`~hardship.aid.schemas.ItemIn`, or 422 naming the field
    and the problem."""
    override = data.get("override_reason")
    require(actor, "aid.approve_large" if override else "aid.prepare")  # an override is the head's
    if override and program.type not in YEARLY_TYPES:
        raise ValidationFailed(fields={"override_reason": [_l("Only living and emergency aid is limited to once "
                                                              "a year; there is nothing to override.")]})
    if data.get("household") is not None:
        kind = data.get("kind") or "archived"
        if kind not in HOUSEHOLD_KINDS:
            raise ValidationFailed(fields={"kind": [_l("A household is aided as an archived household or a model "
                                                       "worker.")]})
        try:
            household = get_owned(Household, data["household"], batch_tenant)
        except NotFound:
            raise ValidationFailed(fields={"household": [_l("No such household in the archive of %(union)s.",
                                                            union=batch_tenant.name)]}) from None
        problems = _household_problems(household, kind)
        if problems:
            raise ValidationFailed(fields={"household": problems})
        head = household.head
        columns = {"household_id": household.id, "name": household.head_name, "id_index": head.id_index,
                   "reason": data.get("reason") or ""}
    else:
        person = data["person"]
        kind = data.get("kind") or "non_archived"
        if kind in HOUSEHOLD_KINDS:
            raise ValidationFailed(fields={"kind": [_l("An archived household is named by its household, not as a "
                                                       "person.")]})
        if not program.allow_non_archived:
            raise ValidationFailed(fields={"person": [_l("This program does not allow recipients who are not "
                                                         "archived.")]})
        number = person["id_number"].number
        columns = {"household_id": None, "name": person["name"], "id_index": crypto.blind_index(number),
                   "reason": person.get("reason") or data.get("reason") or "",
                   "_id": number, "_phone": person.get("phone")}
    goods = _goods_columns(program, data.get("goods"))
    problems, needs_head = check_amount(program, kind, data["amount"] + (goods["goods_value"] or 0))
    if problems:
        raise ValidationFailed(fields={"amount": problems})
    return {**columns, **goods, "kind": kind, "amount": data["amount"], "needs_head": needs_head,
            "override_reason": override or None, "override_by_id": getattr(actor, "id", None) if override else None}


def _claim_keys(program: AidProgram, item: AidItem) -> list[str]:
    keys = [f"p:{program.id}"]
    if program.type in YEARLY_TYPES and not item.override_reason:
        keys.append(f"y:{program.year}:relief")
    return keys


_CLAIMS = AidClaim.__table__


def _claim(program: AidProgram, item: AidItem, holder: Tenant, *, skip: bool = False) -> bool:
    """Insert ``item``'s claims; when one is held already: ``False`` with ``skip``, else 409 naming the union
    that holds it (only its name)."""
    conn = db.session.connection()
    statement = insert_or_skip(_CLAIMS, conn.dialect.name, ["claim_key", "person_index"]).returning(_CLAIMS.c.id)
    for key in _claim_keys(program, item):
        inserted = conn.execute(statement, {"claim_key": key, "person_index": item.id_index, "item_id": item.id,
                                            "holder_name": holder.name, "created_at": utcnow()}).first()
        if inserted is None:
            if skip:
                return False
            held_by = conn.execute(select(_CLAIMS.c.holder_name).where(
                _CLAIMS.c.claim_key == key, _CLAIMS.c.person_index == item.id_index)).scalar() or ""
            if key.startswith("p:"):
                message = _l("%(name)s is already proposed or paid in this program by %(union)s: no duplicate aid.",
                             name=item.name, union=held_by)
            else:
                message = _l("%(name)s already received living or emergency aid in %(year)d from %(union)s; a "
                             "second time this year needs the head's override with a reason.",
                             name=item.name, year=program.year, union=held_by)
            raise Conflict(message, fields={"items": [message]})
    return True


def _add_item(batch: AidBatch, program: AidProgram, tenant: Tenant, data: dict, actor, *, skip=False) -> AidItem | None:
    columns = _recipient(program, tenant, data, actor)
    number, phone = columns.pop("_id", None), columns.pop("_phone", None)
    item = AidItem(tenant_id=batch.tenant_id, batch_id=batch.id, program_id=program.id, **columns)
    item.row_key = crypto.new_row_key()
    if columns["household_id"] is None:
        item.id_enc = crypto.encrypt(number, "aid_items.id", item.row_key)
        item.phone_enc = crypto.encrypt(phone, "aid_items.phone", item.row_key) if phone else None
    db.session.add(item)
    db.session.flush()
    if not _claim(program, item, tenant, skip=skip):
        db.session.delete(item)
        db.session.flush()
        return None
    return item


def _editable(batch: AidBatch) -> None:
    if batch.status not in EDITABLE:
        raise Conflict(_l("The batch can no longer be changed (it is %(status)s).", status=_status(batch.status)))


def _status(status: str) -> str:
    from hardship.aid.models import BATCH_STATUSES

    return str(BATCH_STATUSES.get(status, status))


def program_of(batch: AidBatch) -> AidProgram:
    from hardship.aid.queries import get_program

    return get_program(batch.program_id)


def tenant_of(batch: AidBatch) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == batch.tenant_id))
    if tenant is None:
        raise NotFound()
    return tenant


# ---------------------------------------------------------------- batches

def create_batch(program: AidProgram, tenant: Tenant, clean: dict, actor=None) -> AidBatch:
    """A batch of ``tenant`` under ``program`` with its first items (loaded :class:`~hardship.aid.schemas.BatchIn`);
    ``tenant`` is the program's union or one below it."""
    require(actor, "aid.prepare")
    if not tenant.path.startswith(program.tenant_path):
        raise ValidationFailed(fields={"tenant": [_l("Batches of this program are prepared by its union or the "
                                                     "unions below it.")]})
    batch = AidBatch(tenant_id=tenant.id, program_id=program.id, note=clean.get("note") or "",
                     created_by_id=getattr(actor, "id", None), created_by=getattr(actor, "username", None))
    db.session.add(batch)
    db.session.flush()
    _event(batch, "batch_create", actor, tenant=tenant, detail={"program": program.name})
    for index, data in enumerate(clean.get("items") or ()):
        try:
            _add_item(batch, program, tenant, data, actor)
        except ValidationFailed as exc:
            raise ValidationFailed(fields={f"items.{index}.{k}": v for k, v in exc.fields.items()}) from None
    return batch


def add_items(batch: AidBatch, items: list[dict], actor=None) -> list[AidItem]:
    """Add loaded :class:`~hardship.aid.schemas.ItemIn` items to a draft or rejected batch (a preparer; an item
    with an ``override_reason``: a head, whose reason is recorded in the batch's history)."""
    if not items:
        require(actor, "aid.prepare")
    _editable(batch)
    program, tenant = program_of(batch), tenant_of(batch)
    added = []
    for index, data in enumerate(items):
        try:
            added.append(_add_item(batch, program, tenant, data, actor))
        except ValidationFailed as exc:
            raise ValidationFailed(fields={f"items.{index}.{k}": v for k, v in exc.fields.items()}) from None
    overrides = [i.id for i in added if i.override_reason]
    _event(batch, "items_add", actor, before=batch.status, tenant=tenant,
           detail={"count": len(added), **({"overrides": overrides} if overrides else {})},
           reason="; ".join(i.override_reason for i in added if i.override_reason))
    return added


def remove_item(batch: AidBatch, item: AidItem, actor=None) -> None:
    require(actor, "aid.prepare")
    _editable(batch)
    if item.batch_id != batch.id:
        raise NotFound()
    db.session.execute(delete(AidClaim).where(AidClaim.item_id == item.id))
    name = item.name
    db.session.delete(item)
    db.session.flush()
    _event(batch, "item_remove", actor, before=batch.status, detail={"name": name})


def propose_eligible(batch: AidBatch, clean: dict, actor=None) -> tuple[int, int]:
    """Every archived household of the batch's union (and below) not yet proposed or paid in the program, at
    ``amount`` (default: the standard's minimum): ``(added, skipped)``."""
    require(actor, "aid.prepare")
    _editable(batch)
    program, tenant = program_of(batch), tenant_of(batch)
    kind = clean.get("kind") or "archived"
    standard = program.standard(kind)
    amount = clean.get("amount") or (standard or {}).get("min")
    if amount is None:
        raise ValidationFailed(fields={"amount": [_l("Name the amount: the standard has no minimum.")]})
    from tenants.scoping import subtree_filter

    households = db.session.scalars(select(Household).where(
        Household.status == "archived", subtree_filter(Household, tenant.path)).order_by(Household.id)).all()
    claimed = set(db.session.execute(select(_CLAIMS.c.person_index).where(
        _CLAIMS.c.claim_key == f"p:{program.id}")).scalars())
    added = skipped = 0
    for household in households:
        head = household.head
        if head is None or head.id_index in claimed or (kind == "model_worker" and not head.model_worker):
            skipped += 1
            continue
        item = _add_item(batch, program, tenant, {"household": household.id, "kind": kind, "amount": amount,
                                                  "reason": ""}, actor, skip=True)
        if item is None:
            skipped += 1
        else:
            added += 1
    _event(batch, "propose", actor, before=batch.status, tenant=tenant, detail={"count": added, "skipped": skipped})
    return added, skipped


def item_problems(program: AidProgram, item: AidItem) -> list[str]:
    """What is wrong with ``item`` now (the program may have changed, a household may have left the archive)."""
    problems, _needs_head = check_amount(program, item.kind, item_value(item))
    if item.household_id is not None:
        household = db.session.scalar(select(Household).where(Household.id == item.household_id))
        if household is None:
            problems.append(_l("The household is no longer in the archive you may see."))
        else:
            problems.extend(_household_problems(household, item.kind))
    elif not program.allow_non_archived:
        problems.append(_l("This program does not allow recipients who are not archived."))
    return problems


def items_of(batch: AidBatch) -> list[AidItem]:
    return db.session.scalars(select(AidItem).where(AidItem.batch_id == batch.id).order_by(AidItem.id)).all()


def submit_batch(batch: AidBatch, clean: dict | None = None, actor=None) -> AidBatch:
    require(actor, "aid.prepare")
    _editable(batch)
    program = program_of(batch)
    items = items_of(batch)
    if not items:
        raise Conflict(_l("The batch has no items."))
    failing = {}
    for item in items:
        problems = item_problems(program, item)
        if problems:
            failing[f"items.{item.id}"] = [_l("%(name)s: %(problems)s", name=item.name,
                                              problems="; ".join(str(p) for p in problems))]
        else:
            item.needs_head = check_amount(program, item.kind, item_value(item))[1]
    if failing:
        raise Conflict(_l("%(n)d items do not meet the program's rules; correct or remove them first.",
                          n=len(failing)), fields=failing)
    before, batch.status = batch.status, "submitted"
    batch.approved_by_id = batch.head_approved_by_id = None
    batch.reject_reason = None
    db.session.flush()
    _event(batch, "submit", actor, before=before, reason=(clean or {}).get("note") or "")
    return batch


def _decider(batch: AidBatch, actor, message) -> AidProgram:
    program = program_of(batch)
    if actor is not None and actor.tenant_id != program.tenant_id:
        raise Forbidden(message)
    return program


def needs_head(batch: AidBatch) -> bool:
    return bool(db.session.scalar(select(sa.func.count()).select_from(AidItem).where(
        AidItem.batch_id == batch.id, AidItem.needs_head.is_(True))))


def approve_batch(batch: AidBatch, clean: dict | None = None, actor=None) -> AidBatch:
    """An approver who is not the author signs; a batch with an item that needs the head also needs a head's
    signature (another person). Approved when every signature it needs is there."""
    require(actor, "aid.approve")
    _decider(batch, actor, _l("Batches are approved by the union that runs the program."))
    if batch.status != "submitted":
        raise Conflict(_l("Only a submitted batch can be approved (it is %(status)s).", status=_status(batch.status)))
    if actor is not None and actor.id == batch.created_by_id:
        raise Forbidden(_l("The author of a batch cannot approve it."))
    head_needed = needs_head(batch)
    actor_id = getattr(actor, "id", None)
    if actor is None:  # the command line's operator (the demo): every signature at once
        step = "approve"
    elif head_needed and batch.head_approved_by_id is None and actor.can("aid.approve_large") \
            and batch.approved_by_id != actor_id:
        batch.head_approved_by_id = actor_id
        step = "head_approve"
    elif batch.approved_by_id is None and (actor is None or batch.head_approved_by_id != actor_id):
        batch.approved_by_id = actor_id
        step = "approve"
    elif head_needed and batch.head_approved_by_id is None:
        raise Forbidden(_l("An item is at or above the approval threshold: a head (chair) must approve it too."))
    else:
        raise Conflict(_l("You have already approved this batch."))
    before = batch.status
    signed_by_approver = batch.approved_by_id is not None or actor is None
    signed_by_head = not head_needed or batch.head_approved_by_id is not None or actor is None
    if signed_by_approver and signed_by_head:
        batch.status = "approved"
    db.session.flush()
    _event(batch, step, actor, before=before, reason=(clean or {}).get("note") or "")
    return batch


def reject_batch(batch: AidBatch, clean: dict, actor=None) -> AidBatch:
    require(actor, "aid.approve")
    _decider(batch, actor, _l("Batches are approved by the union that runs the program."))
    if batch.status != "submitted":
        raise Conflict(_l("Only a submitted batch can be rejected (it is %(status)s).", status=_status(batch.status)))
    before, batch.status = batch.status, "rejected"
    batch.reject_reason = clean["reason"]
    batch.approved_by_id = batch.head_approved_by_id = None
    db.session.flush()
    _event(batch, "reject", actor, before=before, reason=clean["reason"])
    return batch


def shortfall(owner: Tenant, program: AidProgram, amount: int, lot_id: int | None) -> None:
    """409 naming what each allowed source holds and the shortfall, before anything is written."""
    if lot_id is not None:
        return  # the ledger names the lot's balance
    rows = db.session.execute(select(FundLot.source, sa.func.coalesce(sa.func.sum(FundLot.balance), 0))
                              .where(FundLot.tenant_id == owner.id, FundLot.source.in_(program.sources))
                              .group_by(FundLot.source)).all()
    held = {source: int(balance) for source, balance in rows}
    available = sum(held.values())
    if available >= amount:
        return
    per_source = {s: format_fen(held.get(s, 0)) for s in program.sources}
    listing = "；".join(f"{SOURCES[s]} {_yuan(held.get(s, 0))}" for s in program.sources)
    raise Conflict(_l("Not enough money to pay this batch: %(amount)s yuan are needed, the program's sources at "
                      "%(union)s hold %(available)s yuan (%(listing)s); short by %(short)s yuan. Nothing was paid.",
                      amount=_yuan(amount), union=owner.name, available=_yuan(available), listing=listing,
                      short=_yuan(amount - available)),
                   fields={"amount": [_l("Short by %(short)s yuan.", short=_yuan(amount - available))]},
                   shortfall=format_fen(amount - available), sources=per_source)


def pay_batch(batch: AidBatch, clean: dict, actor=None):
    """Pay an approved batch: one disbursement of its total from the program union's lots (oldest fiscal year
    first among the program's sources, or the named lot), every item paid; or nothing (409)."""
    require(actor, "aid.pay")
    program = _decider(batch, actor, _l("Batches are paid by the union that runs the program."))
    if batch.status != "approved":
        raise Conflict(_l("Only an approved batch can be paid (it is %(status)s).", status=_status(batch.status)))
    owner = owner_of(program)
    items = items_of(batch)
    total = sum(i.amount for i in items)
    with_goods = [i for i in items if i.goods_item_id is not None]
    if total <= 0 and not with_goods:
        raise Conflict(_l("The batch has nothing to pay."))
    stock = goods_shortfall(owner, with_goods)
    if total > 0:
        shortfall(owner, program, total, clean.get("lot"))
    goods_total = 0
    for item in with_goods:  # each a conditional update: a stock taken meanwhile refuses (409), nothing written
        goods_total += goods_ops.hand_out(owner, stock[item.goods_item_id], item.quantity,
                                          reference=f"aid_item:{item.id}", actor=actor, day=clean["date"],
                                          note=item.name)
    posted = None
    if total > 0:
        posted = funds.disburse(owner, {"amount": total, "sources": program.sources, "lot": clean.get("lot"),
                                        "document_no": clean["document_no"], "date": clean["date"],
                                        "reference": f"batch:{batch.id}", "purpose": program.type,
                                        "note": clean.get("note") or ""},
                                actor, idempotency_key=f"aid-batch-{batch.id}")
    for item in items:
        item.status = "paid"
    before, batch.status = batch.status, "paid"
    batch.transaction_id = posted.transaction.id if posted is not None else None
    batch.paid_on = clean["date"]
    db.session.flush()
    _event(batch, "pay", actor, before=before, detail={"amount": format_fen(total), "transaction": batch.transaction_id,
                                                       "goods": format_fen(goods_total),
                                                       "document_no": clean["document_no"]})
    return posted


def goods_shortfall(owner: Tenant, items: list[AidItem]) -> dict[int, GoodsItem]:
    """The paying union's goods items of ``items``; 409 naming every goods item whose stock is short of what
    the batch hands out (and by how much), before anything is written."""
    if not items:
        return {}
    found = {g.id: g for g in db.session.scalars(select(GoodsItem).where(
        GoodsItem.id.in_({i.goods_item_id for i in items}), GoodsItem.tenant_id == owner.id))}
    needed: dict[int, int] = {}
    for item in items:
        if item.goods_item_id not in found:
            raise Conflict(_l("%(name)s: the goods are not in the stock of %(union)s, which pays this program.",
                              name=item.name, union=owner.name))
        needed[item.goods_item_id] = needed.get(item.goods_item_id, 0) + item.quantity
    short = [(found[g], n) for g, n in needed.items() if found[g].stock < n]
    if short:
        listing = "；".join(str(_l("%(goods)s: %(needed)d %(unit)s needed, %(stock)d %(unit)s in stock, short by "
                                  "%(short)d %(unit)s", goods=g.name, needed=n, stock=g.stock, short=n - g.stock,
                                  unit=g.unit)) for g, n in short)
        raise Conflict(_l("Not enough goods in stock to pay this batch (%(listing)s). Nothing was paid or handed "
                          "out.", listing=listing),
                       fields={"goods": [listing]},
                       goods={g.name: {"needed": n, "stock": g.stock, "short": n - g.stock} for g, n in short})
    return found


def _same_name(a: str, b: str) -> bool:
    def norm(s):
        return "".join(str(s).split()).replace("•", "·").replace("・", "·")

    return norm(a) == norm(b)


def confirm_receipt(batch: AidBatch, item: AidItem, clean: dict, actor=None) -> AidItem:
    """The recipient signed for the item (实名制): the signer must be the recipient (不允许代签代领)."""
    require(actor, "aid.prepare")
    if item.batch_id != batch.id:
        raise NotFound()
    if batch.status != "paid" or item.status != "paid":
        raise Conflict(_l("Only a paid item can be signed for (it is %(status)s).",
                          status=str(ITEM_STATUSES.get(item.status, item.status))))
    if not _same_name(clean["signed_by"], item.name):
        raise ValidationFailed(fields={"signed_by": [_l("The signer must be the recipient, %(name)s: no proxy "
                                                        "signing or collecting.", name=item.name)]})
    item.status, item.signed_by = "received", clean["signed_by"]
    item.received_on = clean.get("date") or date.today()
    db.session.flush()
    _event(batch, "receipt", actor, before=batch.status, detail={"name": item.name, "item": item.id})
    return item


def record_visit(batch: AidBatch, item: AidItem, clean: dict, actor=None):
    """A follow-up visit to a paid item's recipient (SPEC 5.6); with ``relieved``, relief (解困) is recorded on
    the household too, by the archive's own rule (an approver of the union keeping the archive)."""
    from hardship.aid.models import AidVisit

    if item.batch_id != batch.id:
        raise NotFound()
    if not clean.get("relieved"):
        require(actor, "aid.prepare")
    if item.status not in ("paid", "received"):
        raise Conflict(_l("Follow-up visits are recorded for paid items."))
    visit = AidVisit(tenant_id=item.tenant_id, item_id=item.id, visited_on=clean["visited_on"],
                     visitors=list(clean["visitors"]), notes=clean["notes"], relieved=bool(clean.get("relieved")),
                     recorded_by_id=getattr(actor, "id", None))
    db.session.add(visit)
    if visit.relieved:
        if item.household_id is None:
            raise ValidationFailed(fields={"relieved": [_l("Relief is recorded for archived households only.")]})
        from hardship.archives import operations as archives

        household = db.session.scalar(select(Household).where(Household.id == item.household_id))
        if household is None:
            raise NotFound()
        archives.record_relief(household, clean["notes"], actor, today=clean["visited_on"])
    db.session.flush()
    _event(batch, "visit", actor, before=batch.status, detail={"name": item.name, "item": item.id},
           reason=clean["notes"][:200])
    return visit
