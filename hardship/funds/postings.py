"""Receipts, allocations, returns and reversals: each checks its rules (who posts, which unions, the fiscal
year, the direct-child rule, what a reversal may undo), plans its legs and hands them to
:func:`hardship.funds.ledger.post`, the one write path. None commits: the caller owns the transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.core.db import db, utcnow
from hardship.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hardship.core.fields import FIRST_YEAR
from hardship.funds import ledger
from hardship.funds.ledger import Leg, Posted, request_hash, union_scope
from hardship.funds.models import EXTERNAL, FundEntry, FundLot, FundTransaction
from tenants.models import Tenant
from tenants.scoping import scope, subtree_filter

#: the fields of a receipt, allocation or return the operations read (``PostingIn``'s, loaded; and
#: ``confirm_separate``, which is not part of the request's fingerprint: see ``ledger.check_duplicate``)
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


def _posting_union(actor, tenant: Tenant, message) -> None:
    """Postings are made by the union whose money it is (the command line may post anywhere)."""
    if actor is not None and actor.tenant_id != tenant.id:
        raise Forbidden(message)


# ---------------------------------------------------------------- receipts, allocations, returns

def post_receipt(tenant: Tenant, data: dict, actor=None, *, idempotency_key: str | None = None) -> Posted:
    """Receipt (入账): money enters the tree at ``tenant`` from outside (finance, donors, the union's own funds)."""
    require(actor, "funds.post")
    _posting_union(actor, tenant, _l("Receipts are posted by the finance officer of the receiving union."))
    key = ledger.check_idempotency_key(idempotency_key)
    clean = _posting(data)
    source, year, amount = clean["source"], clean["fiscal_year"], clean["amount"]
    digest = request_hash("receipt", tenant=tenant.code, **clean)
    header = {"document_no": clean["document_no"], "posted_on": clean["date"], "source": source,
              "fiscal_year": year, "amount": amount, "to_tenant_id": tenant.id, "note": clean["note"]}
    return ledger.post("receipt", owner_id=tenant.id, poster=tenant, actor=actor, key=key, request_hash=digest,
                       header=header, confirm_separate=data.get("confirm_separate", False), legs=[
                           Leg(tenant, amount, "received", source, year),
                           Leg(tenant, -amount, EXTERNAL, account=f"outside:{source}")])


def allocate_funds(parent: Tenant, child: Tenant, data: dict, actor=None, *,
                   idempotency_key: str | None = None) -> Posted:
    """Allocation (下拨): ``parent`` moves money from its lot to a direct child's lot of the same source and
    fiscal year, optionally earmarked for a program type."""
    require(actor, "funds.post")
    _posting_union(actor, parent, _l("Allocations are posted by the finance officer of the allocating union."))
    key = ledger.check_idempotency_key(idempotency_key)
    clean = _posting(data, "purpose")
    if child.parent_id != parent.id:
        raise ValidationFailed(fields={"to": [_l("%(child)s is not a direct child of %(parent)s; allocations go one "
                                                 "level down.", child=child.name, parent=parent.name)]})
    source, year, amount = clean["source"], clean["fiscal_year"], clean["amount"]
    digest = request_hash("allocation", parent=parent.code, child=child.code, **clean)
    header = {"document_no": clean["document_no"], "posted_on": clean["date"], "source": source,
              "fiscal_year": year, "amount": amount, "from_tenant_id": parent.id, "to_tenant_id": child.id,
              "purpose": clean["purpose"], "note": clean["note"]}
    return ledger.post("allocation", owner_id=child.id, poster=parent, actor=actor, key=key, request_hash=digest,
                       header=header, confirm_separate=data.get("confirm_separate", False), legs=[
                           Leg(parent, -amount, "allocated_out", source, year),
                           Leg(child, amount, "allocated_in", source, year)])


def return_funds(tenant: Tenant, data: dict, actor=None, *, idempotency_key: str | None = None) -> Posted:
    """Return (退回): money leaves the tree back to finance (``to="finance"``) or goes back up to the parent's
    lot of the same source and year (``to="parent"``)."""
    require(actor, "funds.post")
    _posting_union(actor, tenant, _l("Returns are posted by the finance officer of the returning union."))
    key = ledger.check_idempotency_key(idempotency_key)
    clean = _posting(data, "to")
    source, year, amount = clean["source"], clean["fiscal_year"], clean["amount"]
    parent = None
    if clean["to"] == "parent":
        parent = parent_of(tenant)
        if parent is None:
            raise ValidationFailed(fields={"to": [_l("%(union)s has no parent union; return to finance.",
                                                     union=tenant.name)]})
    digest = request_hash("return", tenant=tenant.code, **clean)
    header = {"document_no": clean["document_no"], "posted_on": clean["date"], "source": source,
              "fiscal_year": year, "amount": amount, "from_tenant_id": tenant.id,
              "to_tenant_id": parent.id if parent else None,
              "destination": clean["to"], "note": clean["note"]}

    back = (Leg(tenant, amount, EXTERNAL, account=f"outside:{source}") if parent is None
            else Leg(parent, amount, "returned_in", source, year))
    return ledger.post("return", owner_id=tenant.id, poster=tenant, actor=actor, key=key, request_hash=digest,
                       header=header, legs=[Leg(tenant, -amount, "returned_out", source, year), back], parent=parent,
                       confirm_separate=data.get("confirm_separate", False))


# ---------------------------------------------------------------- reversals

def require_ledger_reader(actor) -> None:
    """The transaction list is read by those who read the ledger and by approvers, who reverse postings."""
    if actor is not None and not (actor.can("funds.read") or actor.can("funds.reverse")):
        raise Forbidden()


def reversal_of(tx: FundTransaction) -> FundTransaction | None:
    return db.session.scalar(select(FundTransaction).where(FundTransaction.reverses_id == tx.id,
                                                           subtree_filter(FundTransaction)))


def local_day(moment: datetime) -> date:
    """The day of ``moment`` (UTC) where the unions are (the configured time zone, Asia/Shanghai)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")).date()


def may_reverse_as(user, tx: FundTransaction) -> bool:
    """Who reverses ``tx``: an approver of the union that posted it; or the finance officer who posted it, on
    the day it was written (to correct their own mistake at once; later it is the approver's decision)."""
    if user is None or user.tenant_id != tx.poster_tenant_id:
        return False
    if user.can("funds.reverse"):
        return True
    return (user.can("funds.post") and tx.posted_by_id is not None and tx.posted_by_id == user.id
            and local_day(tx.created_at) == local_day(utcnow()))


def may_reverse(user, tx: FundTransaction, reversed_by: int | None = None, known: bool = False) -> bool:
    """Whether ``user`` may reverse ``tx`` now (for the UI's links; :func:`may_reverse_as`).
    ``known``: the caller already read ``reversed_by`` (the id of the reversal, if any) for a whole page."""
    if tx.kind in ("reversal", "disbursement") or not may_reverse_as(user, tx):
        return False
    return reversed_by is None if known else reversal_of(tx) is None


def require_reverser(actor) -> None:
    """Those who may reverse some posting (approvers; finance officers their own of the day): the pages and
    the API check this before they read the request, :func:`reverse_transaction` the posting's rule."""
    if actor is not None and not (actor.can("funds.reverse") or actor.can("funds.post")):
        raise Forbidden()


def reverse_transaction(tx: FundTransaction, data: dict, actor=None, *, idempotency_key: str | None = None,
                        allow_disbursement: bool = False) -> Posted:
    """Reversal (冲销): a new transaction whose entries undo ``tx``'s, with its own document number and date.

    Posted by an approver of the union that posted ``tx``, or by the finance officer who posted it on the day
    it was written (:func:`may_reverse_as`). A reversal cannot be reversed, a transaction
    is reversed at most once, and money is only taken back if the lot still holds it (the reversal of an
    allocation never overdraws the child). Disbursements are reversed through the aid module
    (``allow_disbursement``), which keeps its batches in step.
    """
    require_reverser(actor)
    if actor is not None and not may_reverse_as(actor, tx):
        raise Forbidden(_l("A posting is reversed by an approver of the union that posted it, or by the finance "
                           "officer who posted it on the same day."))
    key = ledger.check_idempotency_key(idempotency_key)
    document_no, on, note = data["document_no"], data["date"], data["note"]
    if on < tx.posted_on:
        raise ValidationFailed(fields={"date": [_l("Not before the date of the posting it reverses (%(d)s).",
                                                   d=tx.posted_on.isoformat())]})
    poster = db.session.scalar(select(Tenant).where(Tenant.id == tx.poster_tenant_id))
    if poster is None:
        raise NotFound()
    digest = request_hash("reversal", transaction=tx.id, document_no=document_no, date=on, note=note)
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


