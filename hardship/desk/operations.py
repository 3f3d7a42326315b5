"""Service-desk operations: the only code that changes cases (the API, the pages, the command line and the demo
call these). Each writes the case's history entry and its audit event in the caller's transaction and never
commits.

Who may do what (SPEC 7, 2.3): the union that registered a case (its *owner*) assigns it, refers it down to a
union below it, replies to the person, records its kind's details, closes and reopens it; the union it was
referred to answers it (and nobody else may). Both need ``desk.handle`` at their union.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship import audit
from hardship.accounts.models import User
from hardship.accounts.operations import require
from hardship.archives.models import CLOSED, Household, Person
from hardship.core import crypto
from hardship.core.db import db
from hardship.core.errors import Conflict, Forbidden, ValidationFailed
from hardship.desk.models import KINDS, Case, CaseEvent
from hardship.desk.schemas import RECORD_FIELDS
from tenants import settings as tenant_settings
from tenants.models import Tenant

NOT_OWNER = _l("Only the union that registered this case may do this.")
NOT_REFERRED_HERE = _l("Only the union this case was referred to may answer it.")


# ---------------------------------------------------------------- helpers

def tenant_of(tenant_id: int) -> Tenant:
    return db.session.scalar(select(Tenant).where(Tenant.id == tenant_id))


def deadline_days(tenant: Tenant, kind: str) -> int:
    """Days to handle a case of ``kind`` at ``tenant``: ``desk_deadline_days_by_kind`` where set for the kind,
    else ``desk_deadline_days``."""
    values = tenant_settings.effective(tenant)
    by_kind = values["desk_deadline_days_by_kind"]["value"] or {}
    return int(by_kind.get(kind) or values["desk_deadline_days"]["value"])


def household_of(id_number: str | None) -> int | None:
    """The open household (visible in the scope) whose head or member has this ID number, by the archive's
    blind index; ``None`` when there is none."""
    if not id_number:
        return None
    return db.session.scalar(
        select(Person.household_id).join(Household, Household.id == Person.household_id)
        .where(Person.id_index == crypto.blind_index(id_number), Person.active.is_(True),
               Household.status.notin_(CLOSED)).limit(1))


def _require_owner(case: Case, actor) -> None:
    require(actor, "desk.handle")
    if actor is not None and actor.tenant_id != case.owner_tenant_id:
        raise Forbidden(NOT_OWNER)


def _require_state(case: Case, *states: str) -> None:
    if case.status not in states:
        messages = {"closed": _l("The case is closed; reopen it first."),
                    "referred": _l("The case is waiting for the answer of the union it was referred to."),
                    "open": _l("The case was not referred down, or was answered already."),
                    "answered": _l("The case was answered already.")}
        raise Conflict(messages.get(case.status))


def _event(case: Case, action: str, actor, note: str = "", detail: dict | None = None) -> CaseEvent:
    event = CaseEvent(tenant_id=case.tenant_id, case_id=case.id, user_id=getattr(actor, "id", None),
                      username=getattr(actor, "username", None), actor_tenant_id=getattr(actor, "tenant_id", None),
                      action=action, note=note or "", detail=detail or {})
    db.session.add(event)
    acting = tenant_of(actor.tenant_id) if actor is not None else tenant_of(case.owner_tenant_id)
    audit.record(f"desk.{action}", acting, case, user=actor,
                 detail={"kind": case.kind, "status": case.status, **(detail or {})})
    return event


def _handler(tenant: Tenant, username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username, User.tenant_id == tenant.id))
    if user is None or not user.can("desk.handle"):
        raise ValidationFailed(fields={"handler": [_l("Not a user of %(union)s who handles service-desk cases.",
                                                      union=tenant.name)]})
    return user


# ---------------------------------------------------------------- registration

def register_case(tenant: Tenant, clean: dict, actor=None, today: date | None = None) -> Case:
    """Register a case at ``tenant``'s window from ``schemas.CaseIn``'s clean values (by its own clerk or
    approver): the deadline from the settings unless given, the person's personal data sealed, the link to the
    household when the ID number is in an open archive."""
    require(actor, "desk.handle")
    if actor is not None and actor.tenant_id != tenant.id:
        raise Forbidden(_l("A case is registered at your own union's window."))
    today = today or date.today()
    received = clean.get("received_on") or today
    deadline = clean.get("deadline") or received + timedelta(days=deadline_days(tenant, clean["kind"]))
    person = clean["person"]
    number = person["id_number"].number if person.get("id_number") else None
    handler = _handler(tenant, clean["handler"]) if clean.get("handler") else None
    case = Case(tenant_id=tenant.id, owner_tenant_id=tenant.id, row_key=crypto.new_row_key(), kind=clean["kind"],
                channel=clean["channel"], category=clean["category"], status="open", person_name=person["name"],
                enterprise=person.get("enterprise") or "", subject=clean["subject"], received_on=received,
                deadline=deadline, handler_id=handler.id if handler else None,
                attachments=[{"name": a["name"], "date": (a.get("date") or today).isoformat()}
                             for a in clean.get("attachments") or []],
                created_by_id=getattr(actor, "id", None), household_id=household_of(number))
    case.id_enc = crypto.encrypt(number, "desk_cases.id", case.row_key)
    case.id_index = crypto.blind_index(number) if number else None
    case.phone_enc = crypto.encrypt(person.get("phone"), "desk_cases.phone", case.row_key)
    db.session.add(case)
    db.session.flush()
    _event(case, "register", actor, detail={"channel": case.channel, "category": case.category,
                                            "deadline": case.deadline.isoformat()})
    return case


# ---------------------------------------------------------------- actions

def assign(case: Case, handler_username: str, note: str = "", actor=None) -> Case:
    _require_owner(case, actor)
    _require_state(case, "open", "referred", "answered")
    handler = _handler(tenant_of(case.owner_tenant_id), handler_username)
    case.handler_id = handler.id
    _event(case, "assign", actor, note, {"handler": handler.username})
    return case


def refer(case: Case, to: Tenant, note: str = "", actor=None) -> Case:
    """Refer the case down to ``to``, a union below its owner (a direct child or deeper; resolved inside the
    caller's subtree, so one outside it is 404 before this is called)."""
    _require_owner(case, actor)
    _require_state(case, "open", "answered")
    owner = tenant_of(case.owner_tenant_id)
    if to.id == owner.id or not to.path.startswith(owner.path):
        raise ValidationFailed(fields={"to": [_l("Not a union below %(union)s.", union=owner.name)]})
    case.tenant_id = to.id
    case.status = "referred"
    _event(case, "refer", actor, note, {"to": to.code})
    return case


def answer(case: Case, text: str, actor=None) -> Case:
    """The answer of the union the case was referred to; the owner reads it and decides."""
    require(actor, "desk.handle")
    if not case.referred or (actor is not None and actor.tenant_id != case.tenant_id):
        raise Forbidden(NOT_REFERRED_HERE)
    _require_state(case, "referred")
    case.status = "answered"
    _event(case, "answer", actor, text)
    return case


def reply(case: Case, text: str, actor=None) -> Case:
    """A reply given to the person (by letter, phone or at the window), kept in the history."""
    _require_owner(case, actor)
    _require_state(case, "open", "referred", "answered")
    _event(case, "reply", actor, text)
    return case


def close(case: Case, result: str, note: str = "", satisfaction: str | None = None, actor=None,
          today: date | None = None) -> Case:
    _require_owner(case, actor)
    _require_state(case, "open", "answered")
    case.status, case.result, case.satisfaction = "closed", result, satisfaction
    case.closed_on = today or date.today()
    _event(case, "close", actor, note, {"result": result, "satisfaction": satisfaction})
    return case


def reopen(case: Case, reason: str, actor=None) -> Case:
    _require_owner(case, actor)
    _require_state(case, "closed")
    case.status, case.result, case.satisfaction, case.closed_on = "open", None, None, None
    _event(case, "reopen", actor, reason)
    return case


def update_record(case: Case, clean: dict, given, actor=None) -> Case:
    """Set the given fields of the case's kind-specific record (``schemas.CaseRecordIn``); a field of another kind's
    record is refused."""
    _require_owner(case, actor)
    own = RECORD_FIELDS[case.kind]
    wrong = [name for name in given if name not in own]
    if wrong:
        raise ValidationFailed(fields={name: [_l("Not part of the record of a %(kind)s case.",
                                                 kind=KINDS[case.kind])] for name in wrong})
    changed = {}
    for name in own:
        if name in given:
            setattr(case, name, clean[name])
            value = clean[name]
            changed[name] = value.isoformat() if isinstance(value, date) else value
    if not changed:
        raise ValidationFailed(fields={"_schema": [_l("Give at least one field of the case's record.")]})
    _event(case, "record", actor, detail=changed)
    return case


def add_attachment(case: Case, clean: dict, actor=None, today: date | None = None) -> Case:
    _require_owner(case, actor)
    entry = {"name": clean["name"], "date": (clean.get("date") or today or date.today()).isoformat()}
    case.attachments = [*(case.attachments or []), entry]
    _event(case, "attach", actor, detail={"attachment": entry["name"]})
    return case
