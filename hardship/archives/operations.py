"""Archive operations: the only code that changes households (UI, API, importer and CLI call these)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext
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
           changes=None, audit_detail: dict | None = None) -> HouseholdEvent:
    event = HouseholdEvent(tenant_id=household.tenant_id, household_id=household.id, user_id=getattr(actor, "id", None),
                           username=getattr(actor, "username", None), action=action, episode=household.episode,
                           from_status=from_status, to_status=to_status, reason=reason or "", changes=changes or {})
    db.session.add(event)
    audit.record(f"household.{action}", household_tenant(household), household, user=actor,
                 detail={"from": from_status, "to": to_status, "reason": reason or "", **(audit_detail or {})})
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


def _duplicate_conflict(holders: dict[str, str], places: list[tuple[str, str]]) -> Conflict:
    """409 naming only the holding union, with a message at each ``(field path, ID number)`` it holds."""
    fields: dict = {}
    union = next(iter(holders.values()))
    for prefix, number in places:
        if number in holders:
            fields[f"{prefix}.id_number"] = [_l("Already in an open household archive of %(union)s.",
                                                union=holders[number])]
    return Conflict(_l("This person is already in the hardship archive of %(union)s: one person, one archive.",
                       union=union), fields=fields, holder=union)


def _places(clean: dict) -> list[tuple[str, str]]:
    return [("head", clean["head"]["id_number"])] + [(f"members.{i}", m["id_number"])
                                                     for i, m in enumerate(clean["members"])]


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
    encrypted, bound to the new row's key): the one mapping for a single registration and a bulk import alike."""
    row_key = crypto.new_row_key()
    return {
        "row_key": row_key, "tenant_id": tenant_id, "archive_tenant_id": keeper_id, "status": "applied", "episode": 1,
        "category": clean["category"], "primary_reason": clean["primary_reason"],
        "secondary_reasons": clean["secondary_reasons"], "income_per_capita": clean["income_per_capita"],
        "subsistence": clean["subsistence"], "medical_insurance": clean["medical_insurance"],
        "address_enc": crypto.encrypt(clean["address"], "households.address", row_key),
        "bank_name": clean["bank_name"], "card_enc": crypto.encrypt(clean["card_number"], "households.card", row_key),
        "card_luhn_ok": clean["card_luhn_ok"],
        "needs": clean["needs"], "cadre_first": clean["cadre_first"], "cadre_second": clean["cadre_second"],
        "head_name": clean["head"]["name"], "applied_on": applied_on, "import_key": import_key,
        "created_by_id": created_by_id,
    }


def person_columns(person: dict, tenant_id: int) -> dict:
    """A new household member's ``persons`` columns (not the household's id) from one person of
    ``schemas.HouseholdIn``'s clean values: ID number and phone encrypted (bound to the new row's key), the ID
    number's blind index."""
    row_key = crypto.new_row_key()
    return {
        "row_key": row_key, "tenant_id": tenant_id, "role": person["role"], "name": person["name"],
        **sealed_person(person, row_key), "gender": person["gender"], "birth_date": person["birth_date"],
        "relation": person["relation"],
        "health": person["health"], "occupation": person["occupation"], "job": person["job"],
        "income": person["income"], "union_member": person["union_member"], "model_worker": person["model_worker"],
        "model_worker_grade": person["model_worker_grade"], "migrant_worker": person["migrant_worker"],
        "active": True,
    }


def sealed_person(values: dict, row_key: str) -> dict:
    """The encrypted columns (bound to the person's ``row_key``) of the ID number (with its blind index) and the
    phone among a person's ``values``."""
    columns = {}
    if "id_number" in values:
        columns.update(id_enc=crypto.encrypt(values["id_number"], "persons.id", row_key),
                       id_index=crypto.blind_index(values["id_number"]))
    if "phone" in values:
        columns["phone_enc"] = crypto.encrypt(values["phone"], "persons.phone", row_key)
    return columns


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
        raise _duplicate_conflict(holders, _places(clean))
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
            raise _duplicate_conflict(holders, _places(clean)) from None
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


def _cancel_kind(reason: str) -> tuple[str, str]:
    """A cancellation's reason split into its kind and the rest (``death: 因病去世``, also with ``：``)."""
    head, _sep, rest = reason.replace("：", ":", 1).partition(":")
    return head.strip(), rest.strip()


def readable_reason(reason: str | None) -> str:
    """A reason for people: a cancellation's kind by its label (``retirement: 已退休`` -> ``退休：已退休``)."""
    kind, rest = _cancel_kind(reason or "")
    if kind in CANCEL_REASONS:
        return gettext("%(label)s: %(value)s", label=CANCEL_REASONS[kind], value=rest)
    return reason or ""


#: what the history calls each corrected field
FIELD_LABELS = {
    "category": _l("Hardship category"), "reasons": _l("Reasons"), "income_per_capita": _l("Monthly income per person (yuan)"),
    "subsistence": _l("Minimum subsistence"), "medical_insurance": _l("Medical insurance"), "address": _l("Address"),
    "bank_name": _l("Bank"), "card_number": _l("Card number"), "card_luhn_ok": _l("Card number passes the Luhn check"),
    "needs": _l("Needs"), "cadre_first": _l("First responsible person"), "cadre_second": _l("Second responsible person"),
    "name": _l("Full name"), "id_number": _l("ID number"), "phone": _l("Phone"), "relation": _l("Relation"),
    "health": _l("Health"), "occupation": _l("School or work"), "job": _l("Type of work"),
    "income": _l("Monthly income (yuan)"), "union_member": _l("Union member"), "model_worker": _l("Model worker"),
    "model_worker_grade": _l("Model worker grade"), "migrant_worker": _l("Migrant worker"), "member": _l("Member"),
}


def status_label(status: str) -> str:
    from hardship.archives.models import STATUSES

    return str(STATUSES.get(status, status))


def allowed_actions(household: Household, user, today: date | None = None) -> list[str]:
    """The transitions the user may take now (for the UI's buttons): archiving only once the publicity has
    ended with no open objection."""
    if user is None or not user.can("households.decide") or not _is_keeper(user, household):
        return []
    actions = [a for a, (sources, _t, _r) in TRANSITIONS.items() if household.status in sources]
    if "archive" in actions and ((household.publicity_ends_on and (today or date.today()) < household.publicity_ends_on)
                                 or open_objections(household)):
        actions.remove("archive")
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
        if _cancel_kind(reason)[0] not in CANCEL_REASONS:
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
            numbers = [crypto.decrypt(p.id_enc, "persons.id", p.row_key) for p in household.people]
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
        if open_objections(household):
            raise Conflict(_l("An objection raised during the publicity is not resolved yet."),
                           status=household.status)
        household.archived_on = today
    elif action in ("reject", "withdraw", "exit", "cancel"):
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
    has_objection = sa.exists().where(Objection.household_id == Household.id, Objection.episode == Household.episode,
                                      Objection.outcome.is_(None))
    due = db.session.scalars(select(Household).where(
        Household.status == "publicizing", Household.publicity_ends_on <= today, ~has_objection)).all()
    for household in due:
        household.status, household.archived_on = "archived", household.publicity_ends_on
        _event(household, "archive", None, from_status="publicizing", to_status="archived",
               reason=str(_l("Publicity ended without objection.")))
    if due:
        db.session.flush()
    return len(due)


# ---------------------------------------------------------------- corrections (SPEC 3.3)

#: what a correction changes, in the order the history lists it: the household's own fields ...
HOUSEHOLD_FIELDS = ("category", "reasons", "income_per_capita", "subsistence", "medical_insurance", "address",
                    "bank_name", "card_number", "card_luhn_ok", "needs", "cadre_first", "cadre_second")
#: ... and each person's
PERSON_FIELDS = ("name", "id_number", "phone", "relation", "health", "occupation", "job", "income",
                 "union_member", "model_worker", "model_worker_grade", "migrant_worker")
#: values stored encrypted in the history, and masked for a masked reader
PERSONAL_FIELDS = frozenset({"id_number", "phone", "address", "card_number"})
#: amounts in fen, shown as yuan in the history
_FEN_FIELDS = frozenset({"income_per_capita", "income"})


def edit_refusal(household: Household, user):
    """Why the user may not correct the household now (an error to raise), or ``None``: the clerk or approver
    of the union keeping the archive, and the registering union's clerk while the household is ``applied``;
    a closed household is not corrected (it is reopened first)."""
    if household.status in CLOSED:
        return Conflict(_l("The household is %(status)s; only open households are corrected.",
                           status=status_label(household.status)), status=household.status)
    if user is None:
        return None
    if _is_keeper(user, household) and (user.can("households.survey") or user.can("households.decide")):
        return None
    if user.tenant_id == household.tenant_id and user.can("households.register"):
        if household.status == "applied":
            return None
        return Forbidden(_l("The household is %(status)s: from the home survey on, it is corrected by the union "
                            "keeping the archive.", status=status_label(household.status)))
    return Forbidden(_l("Households are corrected by the union keeping the archive."))


def may_edit(household: Household, user) -> bool:
    """Whether the user may correct the household now (for the UI's link)."""
    return edit_refusal(household, user) is None


def _decrypt(token, column: str, row_key: str):
    """A current value for a correction: one that fails to decrypt on its row (``masking.Decrypted``) is ``None``,
    so that the correction can replace it."""
    from hardship.archives.masking import Decrypted

    return Decrypted()(token, column, row_key, column)


def _id_number(person: Person) -> str | None:
    return _decrypt(person.id_enc, "persons.id", person.row_key)


def _history_value(field: str, value, row_key: str):
    """A value as the history keeps it: personal data encrypted (bound to the household's ``row_key``: the event
    row does not exist yet), amounts in yuan, dates as text."""
    if value is None:
        return None
    if field in PERSONAL_FIELDS:
        return crypto.encrypt(value, "household_events.changes", row_key)
    if field in _FEN_FIELDS:
        return format_fen(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _change(field: str, before, after, row_key: str, person: Person | None = None, **extra) -> dict:
    entry = {"field": field, "before": _history_value(field, before, row_key),
             "after": _history_value(field, after, row_key),
             **extra}
    if field in PERSONAL_FIELDS or "id_number" in extra:
        entry["sealed"] = True
    if person is not None:
        entry.update(person=person.id, role=person.role, name=person.name)
    return entry


def _household_now(household: Household) -> dict:
    return {"category": household.category, "reasons": [household.primary_reason, *household.secondary_reasons],
            "income_per_capita": household.income_per_capita, "subsistence": household.subsistence,
            "medical_insurance": household.medical_insurance,
            "address": _decrypt(household.address_enc, "households.address", household.row_key),
            "bank_name": household.bank_name,
            "card_number": _decrypt(household.card_enc, "households.card", household.row_key),
            "card_luhn_ok": household.card_luhn_ok, "needs": household.needs, "cadre_first": household.cadre_first,
            "cadre_second": household.cadre_second}


def _person_now(person: Person) -> dict:
    return {**{f: getattr(person, f) for f in PERSON_FIELDS if f not in ("id_number", "phone")},
            "id_number": _id_number(person),
            "phone": _decrypt(person.phone_enc, "persons.phone", person.row_key)}


def _set_household(household: Household, field: str, value) -> None:
    if field == "reasons":
        household.primary_reason, household.secondary_reasons = value[0], list(value[1:])
    elif field == "address":
        household.address_enc = crypto.encrypt(value, "households.address", household.row_key)
    elif field == "card_number":
        household.card_enc = crypto.encrypt(value, "households.card", household.row_key)
    else:
        setattr(household, field, value)


def _set_person(person: Person, field: str, value, clean: dict) -> None:
    if field in ("id_number", "phone"):
        for column, sealed in sealed_person({field: value}, person.row_key).items():
            setattr(person, column, sealed)
        if field == "id_number":
            person.gender, person.birth_date = clean["gender"], clean["birth_date"]
    else:
        setattr(person, field, value)


def _person_edits(person: Person, clean: dict) -> list[dict]:
    now = _person_now(person)
    entries = []
    for field in PERSON_FIELDS:
        if field in clean and clean[field] != now[field]:
            entries.append(_change(field, now[field], clean[field], person.household.row_key, person))
            _set_person(person, field, clean[field], clean)
    if person.role == "head" and "name" in clean:
        person.household.head_name = person.name
    return entries


def edit_household(household: Household, clean: dict, actor=None) -> Household:
    """Correct a household from ``schemas.HouseholdChangeIn``'s clean values, with a reason (SPEC 3.3): its own
    fields, the head's, and members changed, removed or added. Every rule of a registration applies: the same
    ID number twice in the household is 422, an ID number in another open archive is 409 naming only its
    union (SPEC 3.5). The history keeps each changed field, before and after (personal data encrypted);
    nothing changed is 422."""
    refusal = edit_refusal(household, actor)
    if refusal is not None:
        raise refusal
    by_id = {p.id: p for p in household.people if p.role == "member"}
    unknown = {f"{m['place']}.id": [_l("Not a member of this household.")]
               for m in clean.get("members", ()) if "id" in m and m["id"] not in by_id}
    if unknown:
        raise ValidationFailed(fields=unknown)
    before_ids = {_id_number(p) for p in household.people}
    places = [(place, number) for place, number in _final_places(household, clean, by_id) if number]
    _refuse_twice(places)
    new_numbers = [number for _place, number in places if number not in before_ids]
    holders = holder_of(new_numbers)
    if holders:
        raise _duplicate_conflict(holders, places)
    entries: list[dict] = []
    try:
        with db.session.begin_nested():
            entries = _apply_edits(household, clean, by_id)
            db.session.flush()
    except IntegrityError:
        holders = holder_of(new_numbers)  # lost a race with another registration or correction
        if holders:
            raise _duplicate_conflict(holders, places) from None
        raise
    if not entries:
        raise ValidationFailed(_l("Nothing was changed."))
    _event(household, "edit", actor, from_status=household.status, to_status=household.status,
           reason=clean["reason"], changes={"fields": entries},
           audit_detail={"fields": sorted({e["field"] for e in entries})})
    return household


def _final_places(household: Household, clean: dict, by_id: dict) -> list[tuple[str, str]]:
    """Each person's ID number after the correction, at the field path that names it (``head``, ``members.3``;
    a member left untouched: ``members.id<id>``, never shown)."""
    changed = {m["id"]: m for m in clean.get("members", ()) if "id" in m}
    head = household.head
    places = [("head", clean.get("head", {}).get("id_number") or _id_number(head))]
    for member_id, person in by_id.items():
        change = changed.get(member_id)
        if change is None:
            places.append((f"members.id{member_id}", _id_number(person)))
        elif not change.get("remove"):
            places.append((change["place"], change.get("id_number") or _id_number(person)))
    places += [(m["place"], m["id_number"]) for m in clean.get("members", ()) if "id" not in m]
    return places


def _refuse_twice(places: list[tuple[str, str]]) -> None:
    from hardship.archives.schemas import SAME_ID_TWICE

    seen: dict[str, str] = {}
    errors = {}
    for place, number in places:
        if number in seen:
            shown = place if not place.startswith("members.id") else seen[number]
            errors[f"{shown}.id_number"] = [SAME_ID_TWICE]
        seen.setdefault(number, place)
    if errors:
        raise ValidationFailed(fields=errors)


def _apply_edits(household: Household, clean: dict, by_id: dict) -> list[dict]:
    now = _household_now(household)
    wanted = {field: clean[field] for field in HOUSEHOLD_FIELDS if field in clean}
    if "primary_reason" in clean:
        wanted["reasons"] = [clean["primary_reason"], *clean["secondary_reasons"]]
    entries = []
    for field in HOUSEHOLD_FIELDS:
        if field in wanted and wanted[field] != now[field]:
            entries.append(_change(field, now[field], wanted[field], household.row_key))
            _set_household(household, field, wanted[field])
    if "head" in clean:
        entries += _person_edits(household.head, clean["head"])
    members = clean.get("members", ())
    for change in (m for m in members if m.get("remove")):  # removals first: a removed number may be reused
        person = by_id[change["id"]]
        entries.append(_change("member", person.name, None, household.row_key, person, op="remove",
                               id_number=_history_value("id_number", _id_number(person), household.row_key)))
        household.people.remove(person)
    db.session.flush()
    for change in (m for m in members if "id" in m and not m.get("remove")):
        entries += _person_edits(by_id[change["id"]], change)
    for change in (m for m in members if "id" not in m):
        person = Person(**person_columns({**change, "role": "member"}, household.tenant_id))
        household.people.append(person)
        db.session.flush()
        entries.append(_change("member", None, person.name, household.row_key, person, op="add",
                               id_number=_history_value("id_number", change["id_number"], household.row_key)))
    return entries


# ---------------------------------------------------------------- objections and withdrawal

OUTCOMES = {"upheld": _l("Upheld: back to the home survey"), "dismissed": _l("Dismissed: the publicity resumes")}


def open_objections(household: Household) -> list[Objection]:
    """The objections of the household's current episode not yet resolved."""
    return db.session.scalars(select(Objection).where(
        Objection.household_id == household.id, Objection.episode == household.episode,
        Objection.outcome.is_(None)).order_by(Objection.id)).all()


def may_resolve_objections(household: Household, user) -> bool:
    """Whether the user may decide the household's publicity objections now (the rule of :func:`resolve_objection`,
    for the page's buttons)."""
    return (household.status == "publicizing" and user is not None and user.can("households.decide")
            and _is_keeper(user, household))


def resolve_objection(household: Household, objection: Objection, outcome: str, reason: str, actor=None,
                      today: date | None = None) -> Household:
    """Decide a publicity objection (by an approver of the union keeping the archive), with a reason:
    ``upheld`` sends the household back to ``surveyed`` (a new survey, then a new publicity); ``dismissed``
    lets the publicity resume until its end date (a publicity whose end has passed, with no other open
    objection, is archived when the archive is next read)."""
    require(actor, "households.decide")
    if not _is_keeper(actor, household):
        raise Forbidden(_l("Decisions on households are taken by the union keeping the archive."))
    if objection.outcome is not None:
        raise Conflict(_l("This objection was resolved already."))
    if household.status != "publicizing" or objection.episode != household.episode:
        raise Conflict(_l("The household is %(status)s; objections are resolved during publicity.",
                          status=status_label(household.status)), status=household.status)
    objection.outcome, objection.resolution = outcome, reason
    objection.resolved_on, objection.resolved_by_id = today or date.today(), getattr(actor, "id", None)
    before = household.status
    if outcome == "upheld":
        household.status, household.publicity_ends_on = "surveyed", None
    db.session.flush()
    _event(household, f"objection_{outcome}", actor, from_status=before, to_status=household.status, reason=reason,
           changes={"objection": objection.id})
    return household


#: the statuses from which the registering union may withdraw its application
WITHDRAWABLE = frozenset({"applied", "surveyed", "publicizing"})


def registering_union_id(household: Household) -> int:
    """The union that registered the household: its registering user's (the household's own union or the
    county that registered for it), or the household's union when no user is known (the command line)."""
    from hardship.accounts.models import User

    if household.created_by_id is None:
        return household.tenant_id
    with system_scope():
        tenant_id = db.session.scalar(select(User.tenant_id).where(User.id == household.created_by_id))
    return tenant_id or household.tenant_id


def may_withdraw(household: Household, user) -> bool:
    """Whether the user may withdraw the application now (for the UI's button)."""
    return household.status in WITHDRAWABLE and (user is None or (
        user.can("households.register") and user.tenant_id == registering_union_id(household)))


def withdraw_application(household: Household, reason: str = "", actor=None, today: date | None = None) -> Household:
    """Withdraw an application (by a clerk of the registering union) while it is not yet archived.

    The household goes to ``rejected``: the status that ends an application (SPEC 3.3), with ``closed_on``
    and a ``close_reason`` starting "withdrawn"; its people are released (one person, one archive no longer
    holds them) and the history records the action ``withdraw``. It can be registered again later."""
    require(actor, "households.register")
    if actor is not None and actor.tenant_id != registering_union_id(household):
        raise Forbidden(_l("An application is withdrawn by the union that registered it."))
    if household.status not in WITHDRAWABLE:
        raise Conflict(_l("The household is %(status)s; only an application not yet archived is withdrawn.",
                          status=status_label(household.status)), status=household.status)
    before = household.status
    note = str(_l("Withdrawn by the registering union")) + (f": {reason}" if reason else "")
    _apply_transition(household, "withdraw", "rejected", note, today or date.today(), None, {})
    db.session.flush()
    _event(household, "withdraw", actor, from_status=before, to_status="rejected", reason=reason)
    return household
