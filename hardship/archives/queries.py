"""Reading the archive: lists with filters, one household with masking, history, overdue surveys.

Every unmasked view of personal data is written to the audit log (SPEC 3.8).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hardship import audit
from hardship.archives import masking
from hardship.archives.masking import may_see_personal_data
from hardship.archives.models import (
    Household,
    HouseholdEvent,
    Objection,
    Person,
    Relief,
    Survey,
)
from hardship.archives.operations import household_tenant, settle_publicity
from hardship.core import crypto
from hardship.core.db import db, instant, page_of
from hardship.core.errors import NotFound, ValidationFailed
from hardship.core.fields import search_pattern
from hardship.core.idcard import FieldError, parse_id_number
from hardship.core.money import format_fen
from tenants import settings as tenant_settings
from tenants.models import Tenant
from tenants.scoping import get_owned, subtree_filter


def get_household(household_id, tenant: Tenant | None = None) -> Household:
    """One household inside the scope (and under ``tenant`` when given), else 404."""
    settle_publicity()
    return get_owned(Household, household_id, tenant)


def get_objection(household: Household, objection_id) -> Objection:
    """One objection of the household, else 404."""
    objection = db.session.scalar(select(Objection).where(Objection.id == objection_id,
                                                          Objection.household_id == household.id))
    if objection is None:
        raise NotFound()
    return objection


def _recorded(changes: dict | None, category, reason):
    """The category and primary reason a history entry leaves the household with: an application records them
    (``category``, ``reasons``), a correction each changed field (``fields``: ``before`` and ``after``)."""
    changes = changes or {}
    category = changes.get("category", category)
    if changes.get("reasons"):
        reason = changes["reasons"][0]
    for entry in changes.get("fields", ()) if isinstance(changes.get("fields"), list) else ():
        if entry.get("field") == "category" and entry.get("after"):
            category = entry["after"]
        elif entry.get("field") == "reasons" and entry.get("after"):
            reason = entry["after"][0]
    return category, reason


class HouseholdState:
    """A household's status, category and primary reason as its history leaves them, entry by entry: the one
    rule of "the household at a date", for the statistics (SPEC 6.1) and the archive list as of a date."""

    __slots__ = ("status", "category", "reason", "_now")

    def __init__(self, category_now: str | None, reason_now: str | None):
        self.status = self.category = self.reason = None
        self._now = (category_now, reason_now)

    def apply(self, to_status: str, changes: dict | None) -> None:
        """One entry of :func:`history_until`, oldest first."""
        self.status = to_status
        self.category, self.reason = _recorded(changes, self.category, self.reason)

    def final(self) -> tuple[str | None, str | None, str | None]:
        """The status, category and primary reason; a history that never recorded the category or reason
        (none on this platform) leaves today's values."""
        return self.status, self.category or self._now[0], self.reason or self._now[1]


def history_until(end: datetime, *columns):
    """The status entries of the households' histories before the instant ``end``, each household's oldest
    first, as ``Household.id, Household.category, Household.primary_reason, *columns, at, action,
    from_status, to_status, changes`` (add the selection with ``.where``; a household with no entry before
    ``end`` did not exist yet)."""
    return (select(Household.id, Household.category, Household.primary_reason, *columns, HouseholdEvent.at,
                   HouseholdEvent.action, HouseholdEvent.from_status, HouseholdEvent.to_status, HouseholdEvent.changes)
            .select_from(Household).join(HouseholdEvent, HouseholdEvent.household_id == Household.id)
            .where(HouseholdEvent.at < end, HouseholdEvent.to_status.is_not(None))
            .order_by(Household.id, HouseholdEvent.at, HouseholdEvent.id))


def flow_of(action: str, before: str | None, after: str | None) -> str | None:
    """The flow of :data:`models.FLOWS` a history entry is, or None: the one rule the statistics count by and the
    archive list filters by."""
    if after == "archived" and before != "archived":
        return "newly_archived"
    if action == "relieve":
        return "relieved"
    if after == "exited" and before != "exited":
        return "exited"
    if after == "cancelled" and before != "cancelled":
        return "cancelled"
    if action == "reopen":
        return "returned"
    return None


def households_with_flow(where, flow: str, since: date, until: date | None) -> list[int]:
    """The households that ``where`` selects with an entry of ``flow`` (:func:`flow_of`) from the start of
    ``since`` to the end of ``until`` (Asia/Shanghai days; no ``until``: up to now): the households behind a
    flow figure of the statistics (a household that did it twice in the period is listed once)."""
    stmt = (select(HouseholdEvent.household_id, HouseholdEvent.action, HouseholdEvent.from_status,
                   HouseholdEvent.to_status)
            .join(Household, Household.id == HouseholdEvent.household_id)
            .where(where, HouseholdEvent.at >= instant(since), HouseholdEvent.to_status.is_not(None)))
    if until is not None:
        stmt = stmt.where(HouseholdEvent.at < instant(date.fromordinal(until.toordinal() + 1)))
    return sorted({hid for hid, action, before, after in db.session.execute(stmt)
                   if flow_of(action, before, after) == flow})


def states_at(where, day: date) -> dict[int, tuple[str | None, str | None, str | None]]:
    """Per household that ``where`` selects and that existed then, its status, category and primary reason at
    the end of ``day`` (Asia/Shanghai), by :class:`HouseholdState`."""
    states: dict[int, HouseholdState] = {}
    end = instant(date.fromordinal(day.toordinal() + 1))
    for hid, category_now, reason_now, _at, _action, _before, after, changes in db.session.execute(
            history_until(end).where(where)):
        state = states.get(hid)
        if state is None:
            state = states[hid] = HouseholdState(category_now, reason_now)
        state.apply(after, changes)
    return {hid: state.final() for hid, state in states.items()}


def list_query(tenant: Tenant, *, status=None, category=None, reason=None, main_reason=None, q=None, child=None,
               overdue=False, as_of: date | None = None, flow: str | None = None, since: date | None = None,
               today: date | None = None, intervals: dict | None = None):
    """The filtered archive of ``tenant``'s subtree, by ``schemas.HouseholdFilters``' clean values (``child``:
    one direct child's subtree; ``overdue``: only the archived households whose home survey is overdue,
    SPEC 3.4, by the keeping unions' ``intervals`` when the caller has read them already with
    :func:`survey_intervals`). ``as_of``: ``status``, ``category`` and ``main_reason`` are the household's at
    the end of that day (:func:`states_at`, as the statistics count them), the other filters today's record.
    ``flow`` (with ``since``): only the households with an entry of that flow from ``since`` to the end of
    ``as_of`` (or up to now) (:func:`households_with_flow`)."""
    settle_publicity()
    root_path = tenant.path
    if child:
        from tenants.scoping import get_tenant

        child_tenant = get_tenant(child)
        if not child_tenant.path.startswith(tenant.path):
            raise ValidationFailed(fields={"child": [_l("Not a union below %(name)s.", name=tenant.name)]})
        root_path = child_tenant.path
    stmt = select(Household).where(subtree_filter(Household, root_path))
    if flow:
        wanted = households_with_flow(subtree_filter(Household, root_path), flow, since, as_of)
        stmt = stmt.where(Household.id.in_(sa.bindparam("flow_ids", wanted, expanding=True, literal_execute=True)))
    if as_of is not None:
        wanted = [hid for hid, (was, kind, main) in states_at(subtree_filter(Household, root_path), as_of).items()
                  if status in (None, was) and category in (None, kind) and main_reason in (None, main)]
        # the ids inline (a past year's list may hold more than a statement's bound parameters allow)
        stmt = stmt.where(Household.id.in_(sa.bindparam("as_of_ids", wanted, expanding=True, literal_execute=True)))
        status = category = main_reason = None
    if status:
        stmt = stmt.where(Household.status == status)
    if category:
        stmt = stmt.where(Household.category == category)
    if reason:
        # reasons come from a fixed set of plain words, so the JSON text match is exact and safe
        stmt = stmt.where(sa.or_(Household.primary_reason == reason,
                                 sa.cast(Household.secondary_reasons, sa.Text).like(f'%"{reason}"%')))
    if main_reason:
        stmt = stmt.where(Household.primary_reason == main_reason)
    if q:
        try:
            number = parse_id_number(q).number
        except FieldError:
            number = None
        if number:
            stmt = stmt.where(Household.id.in_(select(Person.household_id).where(
                Person.id_index == crypto.blind_index(number))))
        else:
            stmt = stmt.where(Household.id.in_(select(Person.household_id).where(
                Person.name.like(search_pattern(q), escape="\\"))))
    if overdue:
        stmt = stmt.where(*_overdue_conditions(tenant, today, intervals))
    return stmt


def household_page(stmt, page: int, per_page: int = 50):
    """One page of a household query, newest first, with the total count."""
    return page_of(stmt.order_by(Household.id.desc()).options(selectinload(Household.people)), page, per_page)


def _tenant_names(ids) -> dict[int, tuple[str, str]]:
    ids = set(ids)
    if not ids:
        return {}
    return {t.id: (t.code, t.name) for t in db.session.scalars(select(Tenant).where(Tenant.id.in_(ids)))}


def summary_rows(households, user, *, log_unmasked=True) -> list[dict]:
    """List rows: head name, masked (or not) ID and phone, status, category, income, union."""
    names = _tenant_names(h.tenant_id for h in households)
    rows = []
    unmasked = []
    for h in households:
        head = h.head
        clear = may_see_personal_data(user, h)
        read = masking.Decrypted()
        number = read(head.id_enc, "persons.id", head.row_key, "head.id_number") if head else None
        phone = read(head.phone_enc, "persons.phone", head.row_key, "head.phone") if head else None
        if clear:
            unmasked.append(h.id)
        code, name = names.get(h.tenant_id, ("", ""))
        shown = masking.person(number, phone, None, clear)
        rows.append({
            "id": h.id, "tenant": code, "tenant_name": name, "status": h.status, "episode": h.episode,
            "category": h.category, "reasons": [h.primary_reason, *h.secondary_reasons],
            "head": {"name": h.head_name, "id_number": shown["id_number"], "phone": shown["phone"]},
            "income_per_capita": format_fen(h.income_per_capita), "last_survey_on": _iso(h.last_survey_on),
            "applied_on": _iso(h.applied_on), "masked": not clear, "unreadable": read.unreadable,
        })
    if unmasked and log_unmasked and user is not None:
        audit.record("household.view_unmasked", user.tenant, object_type="Household", user=user,
                     detail={"households": unmasked[:200], "count": len(unmasked), "where": "list"})
    return rows


def _iso(d: date | None):
    return d.isoformat() if d else None


def household_detail(h: Household, user) -> dict:
    """The whole household for one reader: personal data masked unless the reader keeps the record. A value
    that fails to decrypt on this row (``masking.Decrypted``) is ``None``, its field named in ``unreadable`` and
    the read written to the audit log (``household.unreadable``)."""
    clear = may_see_personal_data(user, h)
    read = masking.Decrypted()
    people = []
    members = 0
    for p in h.people:
        place = "head" if p.role == "head" else f"members.{members}"
        members += p.role != "head"
        number = read(p.id_enc, "persons.id", p.row_key, f"{place}.id_number")
        phone = read(p.phone_enc, "persons.phone", p.row_key, f"{place}.phone")
        people.append({
            "id": p.id, "role": p.role, "name": p.name, "gender": p.gender, "relation": p.relation,
            **masking.person(number, phone, p.birth_date, clear),
            "health": p.health, "occupation": p.occupation, "job": p.job, "income": format_fen(p.income),
            "union_member": p.union_member, "model_worker": p.model_worker,
            "model_worker_grade": p.model_worker_grade, "migrant_worker": p.migrant_worker,
        })
    tenant = household_tenant(h)
    shown = masking.household(read(h.address_enc, "households.address", h.row_key, "address"),
                              read(h.card_enc, "households.card", h.row_key, "bank.card_number"), clear)
    surveys = db.session.scalars(select(Survey).where(Survey.household_id == h.id).order_by(Survey.visited_on)).all()
    objections = db.session.scalars(select(Objection).where(Objection.household_id == h.id)
                                    .order_by(Objection.id)).all()
    reliefs = db.session.scalars(select(Relief).where(Relief.household_id == h.id).order_by(Relief.id)).all()
    if clear and user is not None:
        audit.record("household.view_unmasked", tenant, h, user=user, detail={"where": "detail"})
    if read.unreadable:
        audit.record("household.unreadable", tenant, h, user=user, detail={"fields": list(read.unreadable)})

    def text(value):  # what people wrote about the household may quote a number
        return masking.history(value, clear)

    return {
        "id": h.id, "tenant": tenant.code, "tenant_name": tenant.name, "status": h.status, "episode": h.episode,
        "category": h.category, "reasons": [h.primary_reason, *h.secondary_reasons],
        "income_per_capita": format_fen(h.income_per_capita), "subsistence": h.subsistence,
        "medical_insurance": h.medical_insurance, "address": shown["address"],
        "bank": {"name": h.bank_name, "card_number": shown["card_number"], "luhn_ok": h.card_luhn_ok},
        "needs": text(h.needs), "cadres": {"first": h.cadre_first, "second": h.cadre_second},
        "applied_on": _iso(h.applied_on), "publicity_ends_on": _iso(h.publicity_ends_on),
        "archived_on": _iso(h.archived_on), "closed_on": _iso(h.closed_on), "close_reason": text(h.close_reason),
        "last_survey_on": _iso(h.last_survey_on),
        "head": next((p for p in people if p["role"] == "head"), None),
        "members": [p for p in people if p["role"] == "member"],
        "surveys": [{"id": s.id, "visited_on": s.visited_on.isoformat(), "visitors": s.visitors,
                     "findings": text(s.findings), "income_per_capita": format_fen(s.income_per_capita)} for s in surveys],
        "objections": [{"id": o.id, "raised_on": o.raised_on.isoformat(), "text": text(o.text), "episode": o.episode,
                        "outcome": o.outcome, "resolution": text(o.resolution), "resolved_on": _iso(o.resolved_on)}
                       for o in objections],
        "reliefs": [{"year": r.year, "relieved_on": r.relieved_on.isoformat(), "note": text(r.note)} for r in reliefs],
        "masked": not clear, "unreadable": read.unreadable,
    }


def history(h: Household, user=None, *, log_unmasked: bool = True) -> list[dict]:
    """Every event of the household, oldest first, for one reader: a correction's personal values decrypted,
    and everything personal masked (``masking.history``) unless ``user`` keeps the record (an unmasked read is
    written to the audit log unless the caller's page has done so already); ``change_fields`` are the other
    recorded values, labelled for people."""
    from hardship.archives.audit_actions import HISTORY_FIELDS
    from hardship.audit.registry import labelled_fields

    clear = may_see_personal_data(user, h)
    events = db.session.scalars(select(HouseholdEvent).where(HouseholdEvent.household_id == h.id)
                                .order_by(HouseholdEvent.id)).all()
    rows = []
    read = masking.Decrypted()
    for e in events:
        changes = masking.history(_decrypted_changes(e.changes, h.row_key, read), clear)
        rows.append({"id": e.id, "at": e.at.isoformat(), "username": e.username, "action": e.action,
                     "episode": e.episode, "from_status": e.from_status, "to_status": e.to_status,
                     "reason": masking.history(e.reason, clear), "changes": changes,
                     "change_fields": labelled_fields(HISTORY_FIELDS, {k: v for k, v in changes.items() if k != "fields"})})
    personal = any(entry.get("sealed") for e in events for entry in (e.changes or {}).get("fields", ()))
    if clear and personal and log_unmasked and user is not None:
        audit.record("household.view_unmasked", household_tenant(h), h, user=user, detail={"where": "history"})
    return rows


def _decrypted_changes(changes: dict | None, row_key: str, read: masking.Decrypted) -> dict:
    """A correction's field-by-field changes with its personal values decrypted (masking is the caller's); a
    value that fails to decrypt is ``None`` and its key listed in the entry's ``unreadable``."""
    from hardship.archives.keys import sealed_values

    if not changes or "fields" not in changes:
        return changes or {}
    fields = []
    for entry in changes["fields"]:
        entry = dict(entry)
        for key in sealed_values(entry):
            entry[key] = read(entry[key], "household_events.changes", row_key, key)
            if entry[key] is None:
                entry.setdefault("unreadable", []).append(key)
        entry.pop("sealed", None)
        fields.append(entry)
    return {**changes, "fields": fields}


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day when it is shorter)."""
    import calendar

    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def survey_intervals(tenant: Tenant) -> dict[int, list[int]]:
    """The survey interval in months (setting ``survey_interval_months``) of every union that keeps the
    archive of an archived household in ``tenant``'s subtree, as ``{months: [keeping union ids]}``.

    The interval is the keeping union's, not the reader's: a county that surveys every 6 months keeps
    to its own rule in its city's list too. A keeping union may lie above the reader (an enterprise's
    households are kept by its county): it is read under the system scope, for its settings only."""
    from tenants.scoping import system_scope

    keeper_ids = db.session.scalars(select(Household.archive_tenant_id).distinct().where(
        subtree_filter(Household, tenant.path), Household.status == "archived")).all()
    if not keeper_ids:
        return {}
    with system_scope():
        keepers = db.session.scalars(select(Tenant).where(Tenant.id.in_(keeper_ids))).all()
        months = tenant_settings.values_of(keepers, "survey_interval_months")
    by_months: dict[int, list[int]] = {}
    for keeper_id, value in sorted(months.items()):
        by_months.setdefault(int(value), []).append(keeper_id)
    return dict(sorted(by_months.items()))


def _overdue_conditions(tenant: Tenant, today: date | None = None, intervals: dict | None = None) -> tuple:
    """Archived and never surveyed, or last surveyed before the keeping union's interval ago (SPEC 3.4)."""
    today = today or date.today()
    intervals = survey_intervals(tenant) if intervals is None else intervals
    stale = [sa.and_(Household.archive_tenant_id.in_(ids), Household.last_survey_on < months_before(today, months))
             for months, ids in intervals.items()]
    return Household.status == "archived", sa.or_(Household.last_survey_on.is_(None), *stale)
