"""Ledger operations: the only code that changes the ledger (the UI, the API, the CLI, the demo and the
aid module call these). Each checks its posting's rules (who posts, which unions, the fiscal year, the
direct-child rule, what a reversal may undo), plans its legs and hands them to :func:`hardship.funds.ledger.post`,
the one write path. None commits: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.core.db import db
from hardship.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hardship.core.fields import FIRST_YEAR
from hardship.core.money import format_fen
from hardship.funds import ledger
from hardship.funds.ledger import Leg, Posted, insufficient, union_scope
from hardship.funds.models import EXTERNAL, SOURCES, FundEntry, FundLot, FundTransaction
from tenants.models import Tenant
from tenants.scoping import scope, subtree_filter

MAX_KEY = 100
#: the fields of a receipt, allocation or return the operations read (``PostingIn``'s, loaded)
POSTING_FIELDS = ("source", "fiscal_year", "amount", "document_no", "date", "note")


def _posting(data: dict, *extra: str) -> dict:
    """The posting's loaded fields (and ``extra`` ones), with the ledger's rule on the fiscal year: from
    :data:`FIRST_YEAR` to the year after the posting's date (next year's funds are often issued in
    advance, 提前下达)."""
    clean = {name: data[name] for name in (*POSTING_FIELDS, *extra)}
    latest = clean["date"].year + 1
    if not FIRST_YEAR <= clean["fiscal_year"] <= latest:
        raise ValidationFailed(fields={"fiscal_year": [_l("From %(low)d to %(high)d.", low=FIRST_YEAR,
                                                          high=latest)]})
    return clean


def _json_value(value):
    """Dates in a posting's request fingerprint (ISO 8601)."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def _request_hash(kind: str, **values) -> str:
    """A fingerprint of the normalised request: the same key must come with the same posting."""
    raw = json.dumps({"kind": kind, **values}, sort_keys=True, ensure_ascii=False, default=_json_value)
    return hashlib.sha256(raw.encode()).hexdigest()


# ---------------------------------------------------------------- scope and idempotency

def parent_of(tenant: Tenant) -> Tenant | None:
    """The parent union of ``tenant``, read under the parent's scope: a deliberate, read-only widening
    for returns to the parent (the parent is above a county user's subtree)."""
    if tenant.parent_id is None:
        return None
    codes = tenant.ancestor_codes
    parent_path = "/" + "/".join(codes) + "/"
    with scope(parent_path):
        parent = db.session.scalar(select(Tenant).where(Tenant.id == tenant.parent_id))
    if parent is None or parent.path != parent_path:
        raise NotFound()
    return parent


def check_idempotency_key(key) -> str | None:
    """``None`` or a key of 1 to 100 printable characters."""
    if key is None:
        return None
    key = str(key).strip()
    if not key or len(key) > MAX_KEY or any(ord(c) < 32 for c in key):
        raise ValidationFailed(fields={"idempotency_key": [_l("1 to %(n)d printable characters.", n=MAX_KEY)]})
    return key


def _posting_union(actor, tenant: Tenant, message) -> None:
    """Postings are made by the union whose money it is (the command line may post anywhere)."""
    if actor is not None and actor.tenant_id != tenant.id:
        raise Forbidden(message)


# ---------------------------------------------------------------- receipts, allocations, returns

def post_receipt(tenant: Tenant, data: dict, actor=None, *, idempotency_key: str | None = None) -> Posted:
    """Receipt (入账): money enters the tree at ``tenant`` from outside (finance, donors, the union's own funds)."""
    require(actor, "funds.post")
    _posting_union(actor, tenant, _l("Receipts are posted by the finance officer of the receiving union."))
    key = check_idempotency_key(idempotency_key)
    clean = _posting(data)
    source, year, amount = clean["source"], clean["fiscal_year"], clean["amount"]
    digest = _request_hash("receipt", tenant=tenant.code, **clean)
    header = {"document_no": clean["document_no"], "posted_on": clean["date"], "source": source,
              "fiscal_year": year, "amount": amount, "to_tenant_id": tenant.id, "note": clean["note"]}
    return ledger.post("receipt", owner_id=tenant.id, poster=tenant, actor=actor, key=key, request_hash=digest,
                       header=header, legs=lambda: [
                           Leg(tenant, amount, "received", source, year),
                           Leg(tenant, -amount, EXTERNAL, account=f"outside:{source}")])


def allocate_funds(parent: Tenant, child: Tenant, data: dict, actor=None, *,
                   idempotency_key: str | None = None) -> Posted:
    """Allocation (下拨): ``parent`` moves money from its lot to a direct child's lot of the same source and
    fiscal year, optionally earmarked for a program type."""
    require(actor, "funds.post")
    _posting_union(actor, parent, _l("Allocations are posted by the finance officer of the allocating union."))
    key = check_idempotency_key(idempotency_key)
    clean = _posting(data, "purpose")
    if child.parent_id != parent.id:
        raise ValidationFailed(fields={"to": [_l("%(child)s is not a direct child of %(parent)s; allocations go one "
                                                 "level down.", child=child.name, parent=parent.name)]})
    source, year, amount = clean["source"], clean["fiscal_year"], clean["amount"]
    digest = _request_hash("allocation", parent=parent.code, child=child.code, **clean)
    header = {"document_no": clean["document_no"], "posted_on": clean["date"], "source": source,
              "fiscal_year": year, "amount": amount, "from_tenant_id": parent.id, "to_tenant_id": child.id,
              "purpose": clean["purpose"], "note": clean["note"]}
    return ledger.post("allocation", owner_id=child.id, poster=parent, actor=actor, key=key, request_hash=digest,
                       header=header, legs=lambda: [
                           Leg(parent, -amount, "allocated_out", source, year),
                           Leg(child, amount, "allocated_in", source, year)])


def return_funds(tenant: Tenant, data: dict, actor=None, *, idempotency_key: str | None = None) -> Posted:
    """Return (退回): money leaves the tree back to finance (``to="finance"``) or goes back up to the parent's
    lot of the same source and year (``to="parent"``)."""
    require(actor, "funds.post")
    _posting_union(actor, tenant, _l("Returns are posted by the finance officer of the returning union."))
    key = check_idempotency_key(idempotency_key)
    clean = _posting(data, "to")
    source, year, amount = clean["source"], clean["fiscal_year"], clean["amount"]
    parent = None
    if clean["to"] == "parent":
        parent = parent_of(tenant)
        if parent is None:
            raise ValidationFailed(fields={"to": [_l("%(union)s has no parent union; return to finance.",
                                                     union=tenant.name)]})
    digest = _request_hash("return", tenant=tenant.code, **clean)
    header = {"document_no": clean["document_no"], "posted_on": clean["date"], "source": source,
              "fiscal_year": year, "amount": amount, "from_tenant_id": tenant.id,
              "to_tenant_id": parent.id if parent else None,
              "destination": clean["to"], "note": clean["note"]}

    def legs():
        out = Leg(tenant, -amount, "returned_out", source, year)
        if parent is None:
            return [out, Leg(tenant, amount, EXTERNAL, account=f"outside:{source}")]
        return [out, Leg(parent, amount, "returned_in", source, year)]

    return ledger.post("return", owner_id=tenant.id, poster=tenant, actor=actor, key=key, request_hash=digest,
                       header=header, legs=legs, parent=parent)


# ---------------------------------------------------------------- reversals

def require_ledger_reader(actor) -> None:
    """The transaction list is read by those who read the ledger and by approvers, who reverse postings."""
    if actor is not None and not (actor.can("funds.read") or actor.can("funds.reverse")):
        raise Forbidden()


def reversal_of(tx: FundTransaction) -> FundTransaction | None:
    return db.session.scalar(select(FundTransaction).where(FundTransaction.reverses_id == tx.id,
                                                           subtree_filter(FundTransaction)))


def may_reverse(user, tx: FundTransaction, reversed_by: int | None = None, known: bool = False) -> bool:
    """Whether ``user`` may reverse ``tx`` now (for the UI's links): an approver of the posting union.
    ``known``: the caller already read ``reversed_by`` (the id of the reversal, if any) for a whole page."""
    if not (user is not None and user.can("funds.reverse") and user.tenant_id == tx.poster_tenant_id
            and tx.kind not in ("reversal", "disbursement")):
        return False
    return reversed_by is None if known else reversal_of(tx) is None


def reverse_transaction(tx: FundTransaction, data: dict, actor=None, *, idempotency_key: str | None = None,
                        allow_disbursement: bool = False) -> Posted:
    """Reversal (冲销): a new transaction whose entries undo ``tx``'s, with its own document number and date.

    Posted by an approver of the union that posted ``tx``. A reversal cannot be reversed, a transaction
    is reversed at most once, and money is only taken back if the lot still holds it (the reversal of an
    allocation never overdraws the child). Disbursements are reversed through the aid module
    (``allow_disbursement``), which keeps its batches in step.
    """
    require(actor, "funds.reverse")
    if actor is not None and actor.tenant_id != tx.poster_tenant_id:
        raise Forbidden(_l("A posting is reversed by an approver of the union that posted it."))
    key = check_idempotency_key(idempotency_key)
    document_no, on, note = data["document_no"], data["date"], data["note"]
    if on < tx.posted_on:
        raise ValidationFailed(fields={"date": [_l("Not before the date of the posting it reverses (%(d)s).",
                                                   d=tx.posted_on.isoformat())]})
    poster = db.session.scalar(select(Tenant).where(Tenant.id == tx.poster_tenant_id))
    if poster is None:
        raise NotFound()
    digest = _request_hash("reversal", transaction=tx.id, document_no=document_no, date=on, note=note)
    parent_side = None
    if tx.to_tenant_id is not None and tx.to_tenant_id == poster.parent_id:
        parent_side = parent_of(poster)  # the reversal of a return to the parent takes it back from the parent

    def legs():  # after the key was looked up: a replayed reversal is returned, not refused as a second one
        if tx.kind == "reversal":
            raise Conflict(_l("A reversal cannot be reversed; post the transaction again instead."))
        if tx.kind == "disbursement" and not allow_disbursement:
            raise Conflict(_l("Disbursements are corrected in their aid batch, not here."))
        done = reversal_of(tx)
        if done is not None:
            raise Conflict(_l("This transaction has already been reversed (%(doc)s of %(on)s).",
                              doc=done.document_no, on=done.posted_on.isoformat()), reversal=done.id)
        with union_scope(parent_side or poster, parent_side):
            rows = db.session.execute(select(FundEntry, FundLot.source, FundLot.fiscal_year)
                                      .outerjoin(FundLot, FundLot.id == FundEntry.lot_id)
                                      .where(FundEntry.transaction_id == tx.id).order_by(FundEntry.id)).all()
            ids = {e.tenant_id for e, _s, _y in rows}
            tenants = {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_(ids)))}
        if sum(e.amount for e, _s, _y in rows) != 0 or set(tenants) != ids:
            raise NotFound()
        return [Leg(tenants[e.tenant_id], -e.amount, e.category, source, year, lot_id=e.lot_id, account=e.account)
                for e, source, year in rows]

    header = {"document_no": document_no, "posted_on": on, "source": tx.source, "fiscal_year": tx.fiscal_year,
              "amount": tx.amount, "from_tenant_id": tx.to_tenant_id, "to_tenant_id": tx.from_tenant_id,
              "destination": tx.destination, "purpose": tx.purpose, "reference": tx.reference, "note": note,
              "reverses_id": tx.id}
    return ledger.post("reversal", owner_id=tx.tenant_id, poster=poster, actor=actor, key=key,
                       request_hash=digest, header=header, legs=legs, parent=parent_side)


# ---------------------------------------------------------------- disbursements (called by the aid module)

def _candidate_lots(tenant: Tenant, sources, lot_id: int | None):
    stmt = select(FundLot).where(FundLot.tenant_id == tenant.id)
    if lot_id is not None:
        stmt = stmt.where(FundLot.id == lot_id)
    else:
        stmt = stmt.where(FundLot.source.in_(list(sources)), FundLot.balance > 0)
    stmt = stmt.order_by(FundLot.tenant_id, FundLot.source, FundLot.fiscal_year).execution_options(
        populate_existing=True)
    if db.session.connection().dialect.name == "postgresql":
        # lock the candidates (in the postings' lock order) so the plan holds until commit; NO KEY UPDATE, as
        # an UPDATE takes, so the foreign-key checks of concurrent entries (KEY SHARE) do not wait on it
        stmt = stmt.with_for_update(key_share=True)
    return db.session.scalars(stmt).all()


def plan_disbursement(tenant: Tenant, amount: int, sources, *, lot_id: int | None = None) -> list[tuple[FundLot, int]]:
    """Which lots pay ``amount`` (fen): the named lot, or the oldest fiscal year first among ``sources``
    (SPEC 4.5; within a year, in the order of ``sources``). 409 when the money is not there."""
    sources = [s for s in dict.fromkeys(sources or ()) if s in SOURCES]
    if lot_id is None and not sources:
        raise ValidationFailed(fields={"sources": [_l("Name at least one fund source.")]})
    lots = _candidate_lots(tenant, sources, lot_id)
    if lot_id is not None:
        if not lots:
            raise ValidationFailed(fields={"lot": [_l("Not a fund lot of %(union)s.", union=tenant.name)]})
        lot = lots[0]
        if sources and lot.source not in sources:
            raise ValidationFailed(fields={"lot": [_l("This lot's source is not allowed here; allowed: %(s)s.",
                                                      s=", ".join(sources))]})
        if lot.balance < amount:
            raise insufficient(tenant.name, lot.source, lot.fiscal_year, amount, lot.balance, lot.id)
        return [(lot, amount)]
    order = {s: i for i, s in enumerate(sources)}
    lots = sorted(lots, key=lambda lot: (lot.fiscal_year, order[lot.source], lot.id))
    available = sum(lot.balance for lot in lots)
    if available < amount:
        raise Conflict(_l("Not enough money: %(union)s holds %(balance)s yuan of the allowed sources "
                          "(%(sources)s); %(amount)s yuan are needed.", union=tenant.name,
                          balance=format_fen(available), sources=", ".join(sources), amount=format_fen(amount)),
                       fields={"amount": [_l("More than the balance (%(balance)s).", balance=format_fen(available))]},
                       balance=format_fen(available))
    plan, rest = [], amount
    for lot in lots:
        if rest == 0:
            break
        part = min(rest, lot.balance)
        plan.append((lot, part))
        rest -= part
    return plan


def disburse(tenant: Tenant, options: dict, actor=None, *, idempotency_key: str | None = None) -> Posted:
    """Disbursement (发放): pay ``options["amount"]`` (fen) of aid from ``tenant``'s lots, the named ``lot`` or
    those :func:`plan_disbursement` chooses among ``sources``; one transaction, one debit per lot.
    ``options``: a loaded :class:`~hardship.funds.schemas.DisbursementIn`; its ``reference`` names what it
    pays (``batch:5``). The caller (the aid module) has checked the batch; this checks the money."""
    require(actor, "aid.pay")
    key = check_idempotency_key(idempotency_key)
    fen, sources, lot_id, day = options["amount"], list(options["sources"]), options["lot"], options["date"]
    document_no, reference, purpose, note = (options["document_no"], options["reference"], options["purpose"],
                                             options["note"])
    digest = _request_hash("disbursement", tenant=tenant.code, amount=fen, sources=sources, lot=lot_id,
                           document_no=document_no, date=day, reference=reference, purpose=purpose, note=note)

    def legs():
        plan = plan_disbursement(tenant, fen, sources, lot_id=lot_id)
        out = []
        for lot, part in plan:
            out.append(Leg(tenant, -part, "disbursed", lot.source, lot.fiscal_year, lot.id))
            out.append(Leg(tenant, part, EXTERNAL, account=f"aid:{lot.source}"))
        return out

    header = {"document_no": document_no, "posted_on": day, "amount": fen, "from_tenant_id": tenant.id,
              "destination": "recipients", "purpose": purpose, "reference": reference, "note": note}
    # the transaction records one source and year when all its lots share them
    return ledger.post("disbursement", owner_id=tenant.id, poster=tenant, actor=actor, key=key, request_hash=digest,
                       header=header, legs=legs)
