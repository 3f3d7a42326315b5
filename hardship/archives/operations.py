"""Archive operations: the only code that changes households (UI, API, importer and CLI call these)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hardship import audit
from hardship.accounts.operations import require
from hardship.archives.models import (
    CANCEL_REASONS,
    CLOSED,
    Household,
    HouseholdEvent,
    Objection,
    Person,
    Relief,
    Survey,
)
from hardship.core import crypto
from hardship.core.db import db
from hardship.core.errors import Conflict, Forbidden, ValidationFailed
from hardship.core.money import format_fen
from tenants import settings as tenant_settings
from tenants.models import Tenant
from tenants.scoping import system_scope

# ---------------------------------------------------------------- who keeps which archive

def archive_keeper(tenant: Tenant) -> Tenant:
    """The county-level union keeping the archive for ``tenant``: the nearest ancestor-or-self whose
    level keeps the archive (else the parent, else itself). Reads ancestors deliberately."""
    codes = tenant.path.strip("/").split("/")
    with system_scope():
        chain = {t.code: t for t in db.session.scalars(select(Tenant).where(Tenant.code.in_(codes)))}
        for code in reversed(codes):
            t = chain[code]
            if t.plugin is not None and t.plugin.keeps_archive:
                return t
    return chain[codes[-2]] if len(codes) > 1 else tenant


def _is_keeper(actor, household_or_keeper_id) -> bool:
    keeper_id = getattr(household_or_keeper_id, "archive_tenant_id", household_or_keeper_id)
    return actor is None or actor.tenant_id == keeper_id


# ---------------------------------------------------------------- history

def _event(household: Household, action: str, actor, *, from_status=None, to_status=None, reason="",
           changes=None) -> HouseholdEvent:
    event = HouseholdEvent(tenant_id=household.tenant_id, household_id=household.id, user_id=getattr(actor, "id", None),
                           username=getattr(actor, "username", None), action=action, episode=household.episode,
                           from_status=from_status, to_status=to_status, reason=reason or "", changes=changes or {})
    db.session.add(event)
    audit.record(f"household.{action}", household_tenant(household), household, user=actor,
                 detail={"from": from_status, "to": to_status, "reason": reason or ""})
    return event


def household_tenant(household: Household) -> Tenant:
    return db.session.scalar(select(Tenant).where(Tenant.id == household.tenant_id))


# ---------------------------------------------------------------- one person, one archive

#: IN-lists stay short: PostgreSQL cannot estimate the RLS filter and long lists drift into scans
LOOKUP_CHUNK = 100


def holder_of(id_numbers: list[str]) -> dict[str, str]:
    """For each ID number held by an open household anywhere, the holding union's *name* only.
    A deliberate, read-only widening of the scope (SPEC 3.5). Two steps, the people by blind index
    and then the few holding unions: a single join lets PostgreSQL start from the tenants and read
    every household of the deployment."""
    indexes = {crypto.blind_index(n): n for n in id_numbers}
    if not indexes:
        return {}
    keys = list(indexes)
    with system_scope():
        found: dict[str, int] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            found.update(db.session.execute(select(Person.id_index, Person.household_id).where(
                Person.id_index.in_(keys[start:start + LOOKUP_CHUNK]), Person.active.is_(True))).all())
        if not found:
            return {}
        households = sorted(set(found.values()))
        names: dict[int, str] = {}
        for start in range(0, len(households), LOOKUP_CHUNK):
            names.update(db.session.execute(
                select(Household.id, Tenant.name).join(Tenant, Tenant.id == Household.tenant_id)
                .where(Household.id.in_(households[start:start + LOOKUP_CHUNK]))).all())
    return {indexes[index]: names[household_id] for index, household_id in found.items()}


def _duplicate_conflict(holders: dict[str, str], clean: dict) -> Conflict:
    fields: dict = {}
    union = next(iter(holders.values()))
    people = [("head", clean["head"])] + [(f"members.{i}", m) for i, m in enumerate(clean["members"])]
    for prefix, person in people:
        if person.get("id_number") in holders:
            fields[f"{prefix}.id_number"] = [_l("Already in an open household archive of %(union)s.",
                                                union=holders[person["id_number"]])]
    return Conflict(_l("This person is already in the hardship archive of %(union)s: one person, one archive.",
                       union=union), fields=fields, holder=union)


# ---------------------------------------------------------------- register

def require_register(tenant: Tenant, actor) -> None:
    """Who registers households in ``tenant``: the union itself, or the union keeping its archive (403
    otherwise); for a single registration and a bulk import alike."""
    require(actor, "households.register")
    if not may_register_in(tenant, actor):
        raise Forbidden(_l("Only the union itself or the union keeping its archive registers households."))


def household_columns(clean: dict, *, tenant_id: int, keeper_id: int, applied_on: date, import_key: str | None,
                      created_by_id: int | None) -> dict:
    """A new application's ``households`` columns from ``schemas.HouseholdIn``'s clean values (personal data
    encrypted): the one mapping for a single registration and a bulk import alike."""
    return {
        "tenant_id": tenant_id, "archive_tenant_id": keeper_id, "status": "applied", "episode": 1,
        "category": clean["category"], "primary_reason": clean["primary_reason"],
        "secondary_reasons": clean["secondary_reasons"], "income_per_capita": clean["income_per_capita"],
        "subsistence": clean["subsistence"], "medical_insurance": clean["medical_insurance"],
        "address_enc": crypto.encrypt(clean["address"], "households.address"), "bank_name": clean["bank_name"],
        "card_enc": crypto.encrypt(clean["card_number"], "households.card"), "card_luhn_ok": clean["card_luhn_ok"],
        "needs": clean["needs"], "cadre_first": clean["cadre_first"], "cadre_second": clean["cadre_second"],
        "head_name": clean["head"]["name"], "applied_on": applied_on, "import_key": import_key,
        "created_by_id": created_by_id,
    }


def person_columns(person: dict, tenant_id: int) -> dict:
    """A new household member's ``persons`` columns (not the household's id) from one person of
    ``schemas.HouseholdIn``'s clean values: ID number and phone encrypted, the ID number's blind index."""
    return {
        "tenant_id": tenant_id, "role": person["role"], "name": person["name"],
        "id_enc": crypto.encrypt(person["id_number"], "persons.id"), "id_index": crypto.blind_index(person["id_number"]),
        "gender": person["gender"], "birth_date": person["birth_date"],
        "phone_enc": crypto.encrypt(person["phone"], "persons.phone"), "relation": person["relation"],
        "health": person["health"], "occupation": person["occupation"], "job": person["job"],
        "income": person["income"], "union_member": person["union_member"], "model_worker": person["model_worker"],
        "model_worker_grade": person["model_worker_grade"], "migrant_worker": person["migrant_worker"],
        "active": True,
    }


def application_changes(clean: dict) -> dict:
    """What an application's history event records of it (register and import alike)."""
    return {"category": clean["category"], "reasons": [clean["primary_reason"], *clean["secondary_reasons"]],
            "income_per_capita": format_fen(clean["income_per_capita"]), "members": len(clean["members"])}


def register_household(tenant: Tenant, clean: dict, actor=None, *, import_key: str | None = None,
                       today: date | None = None) -> Household:
    """Apply for a household (SPEC 3.3 ``applied``) from ``schemas.HouseholdIn``'s clean values: by the
    clerk of its enterprise union, or by the clerk of the county-level union keeping the archive for the
    enterprises below it."""
    require_register(tenant, actor)
    keeper = archive_keeper(tenant)
    numbers = [p["id_number"] for p in [clean["head"], *clean["members"]]]
    holders = holder_of(numbers)
    if holders:
        raise _duplicate_conflict(holders, clean)
    household = Household(**household_columns(clean, tenant_id=tenant.id, keeper_id=keeper.id,
                                              applied_on=today or date.today(), import_key=import_key,
                                              created_by_id=getattr(actor, "id", None)))
    for p in [clean["head"], *clean["members"]]:
        household.people.append(Person(**person_columns(p, tenant.id)))
    try:
        with db.session.begin_nested():
            db.session.add(household)
            db.session.flush()
    except IntegrityError:
        holders = holder_of(numbers)  # lost a race with another registration
        if holders:
            raise _duplicate_conflict(holders, clean) from None
        raise
    _event(household, "apply", actor, to_status="applied", changes=application_changes(clean))
    return household


# ---------------------------------------------------------------- surveys

def record_survey(household: Household, clean: dict, actor=None) -> Survey:
    """Record a home survey from ``schemas.SurveyIn``'s clean values (by the clerk of the union keeping the
    archive); an ``applied`` household becomes ``surveyed``; the verified income replaces the declared one."""
    require(actor, "households.survey")
    if not _is_keeper(actor, household):
        raise Forbidden(_l("Home surveys are recorded by the union keeping the archive."))
    if household.status in CLOSED:
        raise Conflict(_l("The household is %(status)s; surveys are recorded for open households.",
                          status=status_label(household.status)), status=household.status)
    visited_on, income = clean["visited_on"], clean["income_per_capita"]
    survey = Survey(tenant_id=household.tenant_id, household_id=household.id, visited_on=visited_on,
                    visitors=clean["visitors"], findings=clean["findings"], income_per_capita=income,
                    recorded_by_id=getattr(actor, "id", None))
    db.session.add(survey)
    before = {"status": household.status, "income_per_capita": format_fen(household.income_per_capita),
              "last_survey_on": household.last_survey_on.isoformat() if household.last_survey_on else None}
    household.income_per_capita = income
    if household.last_survey_on is None or visited_on > household.last_survey_on:
        household.last_survey_on = visited_on
    new_status = "surveyed" if household.status == "applied" else household.status
    household.status = new_status
    db.session.flush()
    _event(household, "survey", actor, from_status=before["status"], to_status=new_status, changes={
        "before": before, "after": {"status": new_status, "income_per_capita": format_fen(income),
                                    "last_survey_on": household.last_survey_on.isoformat()},
        "survey": survey.id})
    return survey


# ---------------------------------------------------------------- lifecycle

#: action -> (statuses it starts from, the status it leads to, whether a reason is required)
TRANSITIONS = {
    "publicize": ({"surveyed"}, "publicizing", False),
    "archive": ({"publicizing"}, "archived", False),
    "reject": ({"applied", "surveyed", "publicizing"}, "rejected", True),
    "exit": ({"archived"}, "exited", True),
    "cancel": ({"archived"}, "cancelled", True),
    "reopen": ({"exited", "cancelled"}, "applied", True),
}
ACTIONS = {"publicize": _l("Publicize"), "archive": _l("Archive"), "reject": _l("Reject"),
           "exit": _l("Exit hardship"), "cancel": _l("Cancel"), "reopen": _l("Reopen (fell back into hardship)"),
           "relieve": _l("Record relief")}


def status_label(status: str) -> str:
    from hardship.archives.models import STATUSES

    return str(STATUSES.get(status, status))


def allowed_actions(household: Household, user) -> list[str]:
    """The transitions the user may take now (for the UI's buttons)."""
    if user is None or not user.can("households.decide") or not _is_keeper(user, household):
        return []
    actions = [a for a, (sources, _t, _r) in TRANSITIONS.items() if household.status in sources]
    if household.status == "archived":
        actions.append("relieve")
    return actions


def may_record_survey(household: Household, user) -> bool:
    """Whether the user may record a home survey on this household now (for the UI's forms)."""
    return (user is None or user.can("households.survey")) and _is_keeper(user, household) \
        and household.status not in CLOSED


def may_record_objection(household: Household, user) -> bool:
    """Whether the user may record a publicity objection on this household now (for the UI's forms)."""
    return (user is None or user.can("households.survey")) and _is_keeper(user, household) \
        and household.status == "publicizing"


def may_register_in(tenant: Tenant, user) -> bool:
    """Whether the user may register households held by ``tenant`` (its own union, or one whose
    archive its union keeps)."""
    if user is None:
        return True
    if not user.can("households.register"):
        return False
    if user.tenant_id == tenant.id:
        return True
    if f"/{user.tenant.code}/" not in tenant.path:  # the keeper is an ancestor: skip the look-up
        return False
    return user.tenant_id == archive_keeper(tenant).id


def registration_tenants(tenant: Tenant, user) -> list[Tenant]:
    """The unions, among ``tenant`` and its direct children, in which the user may register households
    (a county clerk picks the worker's enterprise; an enterprise clerk gets its own union)."""
    from tenants.scoping import subtree_filter

    if user is not None and not user.can("households.register"):
        return []
    children = db.session.scalars(select(Tenant).where(Tenant.parent_id == tenant.id, subtree_filter(Tenant))
                                  .order_by(Tenant.code)).all()
    return [t for t in [tenant, *children] if may_register_in(t, user)]


def transition(household: Household, action: str, reason: str = "", actor=None, today: date | None = None,
               detail: dict | None = None) -> Household:
    """Move a household through SPEC 3.3 (decisions by an approver of the union keeping the archive)."""
    today = today or date.today()
    if action == "relieve":
        record_relief(household, reason, actor, today=today, year=(detail or {}).get("year"))
        return household
    if action not in TRANSITIONS:
        raise ValidationFailed(fields={"action": [_l("Choose one of: %(choices)s.", choices=", ".join(ACTIONS))]})
    require(actor, "households.decide")
    if not _is_keeper(actor, household):
        raise Forbidden(_l("Decisions on households are taken by the union keeping the archive."))
    sources, target, needs_reason = TRANSITIONS[action]
    reason = (reason or "").strip()
    if household.status not in sources:
        raise Conflict(_l("The household is %(status)s; %(action)s is not possible now.",
                          status=status_label(household.status), action=str(ACTIONS[action])),
                       status=household.status)
    if needs_reason and not reason:
        raise ValidationFailed(fields={"reason": [_l("Give a reason.")]})
    if action == "cancel":
        kind = reason.split(":", 1)[0].split("：", 1)[0].strip()
        if kind not in CANCEL_REASONS:
            raise ValidationFailed(fields={"reason": [_l(
                "Start with the kind of cancellation (%(kinds)s), e.g. \"death: ...\".",
                kinds=", ".join(CANCEL_REASONS))]})
    before = household.status
    changes: dict = {}
    publicity_days = None
    if action == "publicize":
        publicity_days = int(tenant_settings.get(household_tenant(household), "publicity_days"))
    try:
        # the changes go inside the savepoint: reopening can collide with the one-person rule
        with db.session.begin_nested():
            target = _apply_transition(household, action, target, reason, today, publicity_days, changes)
            db.session.flush()
    except IntegrityError:
        with db.session.no_autoflush:
            numbers = [crypto.decrypt(p.id_enc, "persons.id") for p in household.people]
            holders = holder_of(numbers)
        union = next(iter(holders.values()), "")
        raise Conflict(_l("This person is already in the hardship archive of %(union)s: one person, one archive.",
                          union=union), holder=union) from None
    _event(household, action, actor, from_status=before, to_status=target, reason=reason, changes=changes)
    return household


def _apply_transition(household, action, target, reason, today, publicity_days, changes) -> str:
    if action == "publicize":
        if publicity_days == 0:
            target = "archived"
            household.archived_on = today
            changes["publicity_days"] = 0
        else:
            household.publicity_ends_on = today + timedelta(days=publicity_days)
            changes["publicity_ends_on"] = household.publicity_ends_on.isoformat()
    elif action == "archive":
        if household.publicity_ends_on and today < household.publicity_ends_on:
            raise Conflict(_l("The publicity period runs until %(d)s.", d=household.publicity_ends_on.isoformat()),
                           status=household.status)
        household.archived_on = today
    elif action in ("reject", "exit", "cancel"):
        household.closed_on, household.close_reason = today, reason
        _set_people_active(household, False)
    elif action == "reopen":
        household.episode += 1
        household.closed_on = household.close_reason = household.publicity_ends_on = household.archived_on = None
        household.applied_on = today
        _set_people_active(household, True)
    household.status = target
    return target


def _set_people_active(household: Household, active: bool) -> None:
    for person in household.people:
        person.active = active


def record_objection(household: Household, text: str, actor=None, today: date | None = None) -> Objection:
    """Record an objection raised during publicity (``schemas.ObjectionIn``'s clean text); the household then
    waits for a decision."""
    require(actor, "households.survey")
    if not _is_keeper(actor, household):
        raise Forbidden(_l("Objections are recorded by the union keeping the archive."))
    if household.status != "publicizing":
        raise Conflict(_l("The household is %(status)s; objections are recorded during publicity.",
                          status=status_label(household.status)), status=household.status)
    objection = Objection(tenant_id=household.tenant_id, household_id=household.id, episode=household.episode,
                          raised_on=today or date.today(), text=text, recorded_by_id=getattr(actor, "id", None))
    db.session.add(objection)
    db.session.flush()
    _event(household, "objection", actor, from_status=household.status, to_status=household.status, reason=text)
    return objection


def record_relief(household: Household, note: str, actor=None, today: date | None = None, year=None) -> Relief:
    require(actor, "households.decide")
    if not _is_keeper(actor, household):
        raise Forbidden(_l("Decisions on households are taken by the union keeping the archive."))
    if household.status != "archived":
        raise Conflict(_l("The household is %(status)s; relief is recorded for archived households.",
                          status=status_label(household.status)), status=household.status)
    today = today or date.today()
    year = year or today.year
    relief = Relief(tenant_id=household.tenant_id, household_id=household.id, year=year, relieved_on=today,
                    note=(note or "")[:1000], recorded_by_id=getattr(actor, "id", None))
    db.session.add(relief)
    db.session.flush()
    _event(household, "relieve", actor, from_status="archived", to_status="archived", reason=note or "",
           changes={"year": year})
    return relief


def settle_publicity(today: date | None = None) -> int:
    """Archive the households, in the current scope, whose publicity ended without objection
    (evaluated whenever the archive is read, so no stale status is ever shown)."""
    today = today or date.today()
    has_objection = sa.exists().where(Objection.household_id == Household.id, Objection.episode == Household.episode)
    due = db.session.scalars(select(Household).where(
        Household.status == "publicizing", Household.publicity_ends_on <= today, ~has_objection)).all()
    for household in due:
        household.status, household.archived_on = "archived", household.publicity_ends_on
        _event(household, "archive", None, from_status="publicizing", to_status="archived",
               reason=str(_l("Publicity ended without objection.")))
    if due:
        db.session.flush()
    return len(due)
