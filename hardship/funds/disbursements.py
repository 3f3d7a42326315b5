"""Disbursements (发放, called by the aid module): which lots pay, oldest fiscal year first (SPEC 4.5), and
the posting that pays them, through :func:`hardship.funds.ledger.post`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.accounts.operations import require
from hardship.core.db import db
from hardship.core.errors import Conflict, ValidationFailed
from hardship.core.money import format_fen
from hardship.funds import ledger
from hardship.funds.ledger import Leg, Posted, insufficient, request_hash
from hardship.funds.models import EXTERNAL, SOURCES, FundLot
from tenants.models import Tenant


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
    key = ledger.check_idempotency_key(idempotency_key)
    fen, sources, lot_id, day = options["amount"], list(options["sources"]), options["lot"], options["date"]
    document_no, reference, purpose, note = (options["document_no"], options["reference"], options["purpose"],
                                             options["note"])
    digest = request_hash("disbursement", tenant=tenant.code, amount=fen, sources=sources, lot=lot_id,
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
