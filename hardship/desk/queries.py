"""Reading the service desk: one case with its person masked or not, its history, the queues with their filters,
and the figures per union and period (shared by the pages, the API, the export and the command line)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship import audit
from hardship.accounts.models import User
from hardship.archives import masking
from hardship.core import crypto
from hardship.core.db import db, page_of
from hardship.core.errors import ValidationFailed
from hardship.core.money import format_fen
from hardship.desk.models import CATEGORIES, CHANNELS, KINDS, Case, CaseEvent
from hardship.desk.schemas import RECORD_FIELDS
from tenants.models import Tenant
from tenants.scoping import get_owned, get_tenant, path_range, subtree_filter, system_scope, within

PER_PAGE = 50
EXPORT_LIMIT = 10000


def get_case(case_id, tenant: Tenant | None = None) -> Case:
    """One case inside the scope (and under ``tenant`` when given), else 404."""
    return get_owned(Case, case_id, tenant)


def may_see_personal_data(user, case: Case) -> bool:
    """In full to the clerk and approver of the union that registered the case and of the union holding it (the
    one it was referred to), as the archive shows a household to those who keep it (SPEC 3.8)."""
    if user is None:
        return True
    if getattr(user, "tenant_id", None) not in (case.owner_tenant_id, case.tenant_id):
        return False
    return bool({"clerk", "approver"} & set(getattr(user, "roles", ())))


def _names(ids, model=Tenant) -> dict:
    """Usernames by user id (inside the scope), or ``(code, name)`` of unions by id: those read under the system
    scope, a deliberate, read-only widening to codes and names, so that a union a case was referred to reads who
    registered and referred it (its ancestors, outside its subtree)."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    if model is User:
        return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    with system_scope():
        return {i: (code, name) for i, code, name in db.session.execute(
            select(Tenant.id, Tenant.code, Tenant.name).where(Tenant.id.in_(ids)))}


def _record(case: Case) -> dict:
    record = {}
    for name in RECORD_FIELDS[case.kind]:
        value = getattr(case, name)
        if name in ("legal_claimed", "legal_won") and value is not None:
            value = format_fen(value)
        elif isinstance(value, date):
            value = value.isoformat()
        record[name] = value
    return record


def case_rows(cases, user, *, log_unmasked: str | None = None, today: date | None = None) -> list[dict]:
    """Cases as the API and the pages show them to ``user``: the person's ID number and phone masked, and any
    identifier in the subject, unless ``user`` may see them, exactly as the archive shows a household's head
    (the name in full); an unmasked view is audited when ``log_unmasked`` names where."""
    cases = list(cases)
    tenants = _names([c.tenant_id for c in cases] + [c.owner_tenant_id for c in cases])
    handlers = _names([c.handler_id for c in cases], User)
    rows, unmasked = [], []
    for case in cases:
        clear = may_see_personal_data(user, case)
        number = crypto.decrypt(case.id_enc, "desk_cases.id", case.row_key)
        phone = crypto.decrypt(case.phone_enc, "desk_cases.phone", case.row_key)
        if clear:
            unmasked.append(case.id)
        owner, holder = tenants.get(case.owner_tenant_id), tenants.get(case.tenant_id)
        rows.append({
            "id": case.id, "tenant": owner[0] if owner else "", "tenant_name": owner[1] if owner else "",
            "held_by": holder[0] if holder else "", "held_by_name": holder[1] if holder else "",
            "kind": case.kind, "channel": case.channel, "category": case.category, "status": case.status,
            "person": {"name": case.person_name,
                       "id_number": number if clear else masking.mask_id(number),
                       "phone": phone if clear else masking.mask_phone(phone),
                       "enterprise": case.enterprise, "household": case.household_id},
            "subject": case.subject if clear else masking.mask_text(case.subject),
            "received_on": case.received_on.isoformat(), "deadline": case.deadline.isoformat(),
            "overdue": case.overdue(today), "handler": handlers.get(case.handler_id),
            "result": case.result, "satisfaction": case.satisfaction,
            "closed_on": case.closed_on.isoformat() if case.closed_on else None,
            "attachments": list(case.attachments or []), "record": _record(case), "masked": not clear,
        })
    if unmasked and log_unmasked and getattr(user, "tenant_id", None) is not None:
        audit.record("desk.view_unmasked", tenant_of_user(user), object_type="Case",
                     object_id=unmasked[0] if len(unmasked) == 1 else None,
                     detail={"cases": unmasked, "where": log_unmasked}, user=user)
    return rows


def tenant_of_user(user) -> Tenant:
    return db.session.scalar(select(Tenant).where(Tenant.id == user.tenant_id))


def case_detail(case: Case, user) -> dict:
    return case_rows([case], user, log_unmasked="detail")[0]


def history(case: Case, user) -> list[dict]:
    """The case's history visible to ``user`` (a union the case was referred to sees it from its referral on);
    the notes masked as the person is."""
    clear = may_see_personal_data(user, case)
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, subtree_filter(CaseEvent))
                                .order_by(CaseEvent.at, CaseEvent.id)).all()
    unions = _names(e.actor_tenant_id for e in events)
    return [{"id": e.id, "at": e.at.isoformat(), "username": e.username,
             "union": unions[e.actor_tenant_id][1] if e.actor_tenant_id in unions else None,
             "action": e.action, "note": e.note if clear else masking.mask_text(e.note),
             "detail": dict(e.detail or {})} for e in events]


# ---------------------------------------------------------------- queues

def _below(tenant: Tenant, child: str | None) -> Tenant:
    if not child:
        return tenant
    below = get_tenant(child)
    if below.id == tenant.id or not below.path.startswith(tenant.path):
        raise ValidationFailed(fields={"child": [_l("Not a union below %(name)s.", name=tenant.name)]})
    return below


def queue_query(tenant: Tenant, user, queue: str = "open", *, kind=None, channel=None, category=None,
                date_from=None, date_to=None, child=None):
    """The cases of one queue of ``tenant``, filtered (``child``: registered in the subtree of that union below):
    ``mine`` (the caller's open cases), ``open`` (not closed), ``referred_to_us``, ``referred_by_us`` (waiting or
    answered), ``closed``."""
    root = _below(tenant, child)
    owners = select(Tenant.id).where(path_range(Tenant.path, root.path))
    stmt = select(Case).where(subtree_filter(Case))
    if queue == "mine":
        stmt = stmt.where(Case.handler_id == getattr(user, "id", None), Case.status != "closed")
    elif queue == "referred_to_us":
        stmt = stmt.where(Case.tenant_id == tenant.id, Case.owner_tenant_id != tenant.id)
    elif queue == "referred_by_us":
        stmt = stmt.where(Case.owner_tenant_id == tenant.id, Case.tenant_id != tenant.id,
                          Case.status.in_(("referred", "answered")))
    elif queue == "closed":
        stmt = stmt.where(Case.status == "closed")
    else:
        stmt = stmt.where(Case.status != "closed")
    if queue in ("open", "closed"):
        stmt = stmt.where(Case.owner_tenant_id.in_(owners) if child else Case.owner_tenant_id == tenant.id)
    for column, value in ((Case.kind, kind), (Case.channel, channel), (Case.category, category)):
        if value:
            stmt = stmt.where(column == value)
    if date_from:
        stmt = stmt.where(Case.received_on >= date_from)
    if date_to:
        stmt = stmt.where(Case.received_on <= date_to)
    return stmt


def case_page(stmt, page: int):
    return page_of(stmt.order_by(Case.deadline, Case.id), page, PER_PAGE)


# ---------------------------------------------------------------- figures

def _empty() -> dict:
    return {"received": 0, "closed": 0, "closure_rate": 0.0, "open": 0, "overdue_open": 0,
            "by_kind": dict.fromkeys(KINDS, 0), "by_channel": dict.fromkeys(CHANNELS, 0),
            "by_category": dict.fromkeys(CATEGORIES, 0)}


def _add(figures: dict, kind, channel, category, status, overdue, count) -> None:
    figures["received"] += count
    if status == "closed":
        figures["closed"] += count
    else:
        figures["open"] += count
        if overdue:
            figures["overdue_open"] += count
    figures["by_kind"][kind] = figures["by_kind"].get(kind, 0) + count
    figures["by_channel"][channel] = figures["by_channel"].get(channel, 0) + count
    figures["by_category"][category] = figures["by_category"].get(category, 0) + count


def _rate(figures: dict) -> dict:
    figures["closure_rate"] = round(figures["closed"] / figures["received"], 4) if figures["received"] else 0.0
    return figures


def _received_in(year: int | None, month: int | None) -> list:
    """The WHERE clauses of the cases received in a year, or a month of it (none: every case)."""
    if not year:
        return []
    start = date(year, month or 1, 1)
    end = date(year + (month == 12 if month else 1), (month % 12 + 1) if month else 1, 1)
    return [Case.received_on >= start, Case.received_on < end]


def figures(tenant: Tenant, year: int | None = None, month: int | None = None, today: date | None = None, *,
            children: list[Tenant] | None = None) -> dict:
    """The desk's figures of ``tenant``'s subtree for the cases received in the period (a year, or a month of
    it; no year: every case): received, of those closed (so the closure rate 办结率 = closed / received), open,
    open past their deadline today, by kind, channel and category; and the same for each direct child union,
    rolled up over its subtree. A case counts for the union that registered it. ``children``: the direct child
    unions in the scope, by code, when the caller has read them."""
    today = today or date.today()
    period = _received_in(year, month)
    overdue = sa.and_(Case.status != "closed", Case.deadline < today)
    rows = db.session.execute(
        select(Case.owner_tenant_id, Case.kind, Case.channel, Case.category, Case.status,
               sa.case((overdue, 1), else_=0).label("overdue"), sa.func.count())
        .where(*within(Case.owner_tenant_id, tenant.path), *period)
        .group_by(Case.owner_tenant_id, Case.kind, Case.channel, Case.category, Case.status, "overdue")
        .execution_options(include_all_tenants=True)).all()
    if children is None:  # the caller may have read them (the summary)
        children = db.session.scalars(select(Tenant).where(Tenant.parent_id == tenant.id, subtree_filter(Tenant))
                                      .order_by(Tenant.code)).all()
    owner_paths = {t.id: t.path for t in db.session.scalars(
        select(Tenant).where(Tenant.id.in_({r[0] for r in rows})))} if rows else {}
    total = _empty()
    per_child = {c.id: _empty() for c in children}
    for owner_id, kind, channel, category, status, is_overdue, count in rows:
        _add(total, kind, channel, category, status, is_overdue, count)
        path = owner_paths.get(owner_id, "")
        for child in children:
            if path.startswith(child.path):
                _add(per_child[child.id], kind, channel, category, status, is_overdue, count)
                break
    return {"tenant": tenant.code, "year": year, "month": month, **_rate(total),
            "children": [{"tenant": c.code, "name": c.name, **_rate(per_child[c.id])} for c in children]}


def kind_figures(tenant: Tenant, year: int | None = None, month: int | None = None, *, subtree: bool = False) -> dict:
    """The cases registered by ``tenant`` (or, with ``subtree``, by any union of its subtree) and received in the
    period (as :func:`figures` counts them), per kind: ``{kind: {"received", "closed"}}`` for every kind, and of
    the job referrals those whose person was placed (``job_placed``), of the trainings those completed
    (``training_completed``). Each case is one person once (人次)."""
    owners = select(Tenant.id).where(path_range(Tenant.path, tenant.path) if subtree else Tenant.id == tenant.id)
    closed = sa.func.coalesce(sa.func.sum(sa.case((Case.status == "closed", 1), else_=0)), 0)
    placed = sa.func.coalesce(sa.func.sum(sa.case((Case.job_placed.is_(True), 1), else_=0)), 0)
    completed = sa.func.coalesce(sa.func.sum(sa.case((Case.training_completed.is_(True), 1), else_=0)), 0)
    out = {kind: {"received": 0, "closed": 0} for kind in KINDS}
    out.update(job_placed=0, training_completed=0)
    for kind, received, closed_count, placed_count, completed_count in db.session.execute(
            select(Case.kind, sa.func.count(), closed, placed, completed)
            .where(subtree_filter(Case), Case.owner_tenant_id.in_(owners), *_received_in(year, month))
            .group_by(Case.kind)).all():
        out[kind] = {"received": int(received), "closed": int(closed_count)}
        out["job_placed"] += int(placed_count) if kind == "job_referral" else 0
        out["training_completed"] += int(completed_count) if kind == "training" else 0
    return out
