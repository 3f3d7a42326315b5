"""The archive's input and output: one schema per input, loaded with :func:`hardship.api.load_data` by the API,
the web forms, the importer and the demo alike; operations receive the loaded, clean values.

Messages are keyed by field path (``head.id_number``, ``members.0.name``, ``bank.card_number``); the forms and
the importer map those paths back to their inputs. The response schemas document what the API returns.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema

from hardship.api import BaseSchema, between
from hardship.archives.models import CATEGORIES, FLOWS, INSURANCE, REASONS, RELATIONS, STATUSES, SUBSISTENCE
from hardship.archives.operations import ACTIONS, OUTCOMES
from hardship.core.fields import (
    BankCard,
    Choice,
    Day,
    Fen,
    Flag,
    IdNumber,
    Name,
    Phone,
    Text,
    Whole,
    Year,
    clean_text,
)

#: the most a household member earns per month that we accept as plausible (100,000.00 yuan)
MAX_INCOME_FEN = 100_000_00
MAX_MEMBERS = 20
#: a union's code as the tree writes it (``tenants``), long enough for any level
CODE_LENGTH = 32


class InputSchema(BaseSchema):
    """Nothing or null is a field not given; empty text in an optional field is its default too (a form's empty
    input, a spreadsheet's empty cell). A required field not given is "Required."."""

    def on_bind_field(self, field_name, field_obj):
        if field_obj.error_messages["required"] == fields.Field.default_error_messages["required"]:
            field_obj.error_messages = {**field_obj.error_messages, "required": _l("Required.")}

    @pre_load
    def blank_is_missing(self, data, **kwargs):
        if not isinstance(data, dict):
            return data  # marshmallow refuses it as a whole
        return {key: value for key, value in data.items() if value is not None and not (
            value == "" and (key not in self.fields or not self.fields[key].required))}


class Reasons(fields.List):
    """The reasons of a household's hardship: the primary one first, then any others (keys of ``REASONS``)."""

    def __init__(self, **kwargs):
        super().__init__(Choice(REASONS), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not value:
            raise ValidationError([_l("Give the primary reason first, then any secondary reasons.")])
        bad = [r for r in value if not isinstance(r, str) or r not in REASONS]
        if bad:
            shown = [r if isinstance(r, str) and _is_clean(r) else "?" for r in bad]
            raise ValidationError([_l("Unknown reasons: %(r)s; choose from %(choices)s.", r=", ".join(shown),
                                      choices=", ".join(REASONS))])
        return list(value)


def _is_clean(text: str) -> bool:
    try:
        clean_text(text)
    except ValidationError:
        return False
    return True


class Visitors(fields.List):
    """Who visited: a list of names, or one text separated by commas (a form's input)."""

    def __init__(self, **kwargs):
        super().__init__(Text(max_length=50), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [v for v in (x.strip() for x in clean_text(value).replace("，", ",").split(",")) if v]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValidationError([_l("Name at least one visitor.")])
        names = [clean_text(v).strip() for v in value]
        if len(names) > 10 or any(len(n) > 50 for n in names):
            raise ValidationError([_l("At most 10 visitors of at most 50 characters.")])
        return names


def _income(**kwargs) -> Fen:
    return Fen(allow_zero=True, maximum=MAX_INCOME_FEN, **kwargs)


# ---------------------------------------------------------------- registration

class _PersonIn(InputSchema):
    name = Name(required=True)
    id_number = IdNumber(required=True)
    health = Text(max_length=100)
    occupation = Text(max_length=100)
    job = Text(max_length=100)
    income = _income(load_default=0)
    union_member = Flag()
    model_worker = Flag()
    model_worker_grade = Text(max_length=50)
    migrant_worker = Flag()


class HeadIn(_PersonIn):
    """The head of the household (the worker): a phone is required; a union member unless said otherwise."""

    phone = Phone(required=True)
    union_member = Flag(default=True)


class MemberIn(_PersonIn):
    phone = Phone(load_default=None)
    relation = Choice(RELATIONS, required=True)


class BankIn(InputSchema):
    name = Text(max_length=50)
    card_number = BankCard(load_default=None)
    #: the clerk checked a card number that fails the Luhn check against the card
    confirmed = Flag()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def card_needs_bank_and_check(self, data, original, **kwargs):
        errors = {}
        given = isinstance(original, dict) and original.get("card_number") not in (None, "")
        if given and "name" in data and not data["name"]:
            errors["name"] = [_l("Name the bank of the card.")]
        card = data.get("card_number")
        if card is not None and not card[1] and data.get("confirmed") is False:
            errors["card_number"] = [_l("The card number fails its check digit; compare it with the card, then "
                                        "confirm that it is right.")]
        if errors:
            raise ValidationError(errors)


class CadresIn(InputSchema):
    """The cadres paired with the household for assistance."""

    first = Text(max_length=50)
    second = Text(max_length=50)


SAME_ID_TWICE = _l("The same ID number appears twice in this household.")


class _HouseholdFields(InputSchema):
    """The household's own fields, shared by its registration (:class:`HouseholdIn`) and its correction
    (:class:`HouseholdChangeIn`)."""

    category = Choice(CATEGORIES, required=True)
    reasons = Reasons(required=True)
    income_per_capita = _income(required=True)
    subsistence = Choice(SUBSISTENCE, load_default="none")
    medical_insurance = Choice(INSURANCE, load_default="employee")
    address = Text(required=True, max_length=200, multiline=True)  # a line break typed in an Excel cell
    bank = fields.Nested(BankIn, load_default=dict)
    needs = Text(max_length=1000, multiline=True)
    cadres = fields.Nested(CadresIn, load_default=dict)


def _members(member_schema) -> fields.List:
    return fields.List(fields.Nested(member_schema), load_default=list, validate=validate.Length(
        max=MAX_MEMBERS, error=_l("A list of at most %(n)d members.", n=MAX_MEMBERS)))


def _people_places(data: dict, original) -> list[tuple[str, dict]]:
    """The loaded head and members with their field paths (``head``, ``members.0``); none of the members when
    one of them is not an object (the places no longer line up, and it is refused anyway)."""
    members = data.get("members") or []
    given = original.get("members") if isinstance(original, dict) else None
    if isinstance(given, list) and len(members) != len(given):
        members = []
    return [("head", data.get("head"))] + [(f"members.{i}", m) for i, m in enumerate(members)]


def _household_values(data: dict) -> dict:
    """The household's own clean values, as ``operations`` takes them, of the fields given in ``data``."""
    values = {k: data[k] for k in ("category", "income_per_capita", "subsistence", "medical_insurance", "address",
                                   "needs") if k in data}
    if "reasons" in data:
        values["primary_reason"] = data["reasons"][0]
        values["secondary_reasons"] = list(dict.fromkeys(data["reasons"][1:]))
    if "bank" in data:
        card = data["bank"].get("card_number")
        values.update(bank_name=data["bank"].get("name") or None, card_number=card[0] if card else None,
                      card_luhn_ok=card[1] if card else True)
    if "cadres" in data:
        values.update(cadre_first=data["cadres"].get("first", ""), cadre_second=data["cadres"].get("second", ""))
    return values


class HouseholdIn(_HouseholdFields):
    """A household's registration (SPEC 3.1, appendix A), loaded as the clean values ``register_household``
    takes: ``head`` and ``members`` as person dicts (``id_number``, ``gender``, ``birth_date``, ``role``, ...),
    ``primary_reason`` and ``secondary_reasons``, ``bank_name``, ``card_number``, ``card_luhn_ok``,
    ``cadre_first``, ``cadre_second``, incomes in fen."""

    tenant = Text(required=True, max_length=CODE_LENGTH)
    head = fields.Nested(HeadIn, required=True)
    members = _members(MemberIn)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def one_person_once(self, data, original, **kwargs):
        """The same ID number twice in one household is refused at its second place."""
        seen: set[str] = set()
        errors: dict = {}
        for place, person in _people_places(data, original):
            number = getattr((person or {}).get("id_number"), "number", None)
            if number is None:
                continue
            if number in seen:
                node = errors.setdefault("head", {}) if place == "head" else \
                    errors.setdefault("members", {}).setdefault(int(place.split(".")[1]), {})
                node["id_number"] = [SAME_ID_TWICE]
            seen.add(number)
        if errors:
            raise ValidationError(errors)

    @post_load
    def clean_values(self, data, **kwargs):
        return {"tenant": data["tenant"], "head": _person(data["head"], "head"),
                "members": [_person(m, "member") for m in data["members"]], **_household_values(data)}


def _person(loaded: dict, role: str) -> dict:
    parsed = loaded["id_number"]
    return {**loaded, "role": role, "relation": loaded.get("relation", "self"), "phone": loaded.get("phone"),
            "id_number": parsed.number, "gender": parsed.gender, "birth_date": parsed.birth_date}


# ---------------------------------------------------------------- corrections

class _Change:
    """A correction: a field left out stays as it is (no defaults filled in); a field sent empty (null or "") is
    cleared (it takes the value a registration gives it when left out: no phone, no card, empty text, 0) unless a
    registration requires it, then it is refused as "Required."; the fields named in ``still_required`` stay
    required."""

    still_required: tuple[str, ...] = ()

    def on_bind_field(self, field_name, field_obj):
        super().on_bind_field(field_name, field_obj)
        if field_name in self.still_required:
            return
        if field_obj.required:
            field_obj.error_messages = {**field_obj.error_messages, "null": [_l("Required.")]}
        else:
            field_obj.allow_none = True
            self.cleared_to = {**getattr(self, "cleared_to", {}), field_name: field_obj.load_default}
        field_obj.required = False
        field_obj.load_default = fields.missing_

    @pre_load
    def blank_is_missing(self, data, **kwargs):
        """Replaces :class:`InputSchema`'s: empty text is null (cleared or refused), not left out."""
        if not isinstance(data, dict):
            return data
        return {key: None if value == "" and key in self.fields else value for key, value in data.items()
                if not (key in self.still_required and value in (None, ""))}

    def with_cleared(self, data: dict) -> dict:
        """The loaded values with each field sent empty replaced by its cleared value (a field without one, such
        as ``head``, sent empty is as if left out)."""
        out = dict(data)
        for name, value in data.items():
            if value is None and name in getattr(self, "cleared_to", {}):
                default = self.cleared_to[name]
                if default is fields.missing_:
                    del out[name]
                else:
                    out[name] = default() if callable(default) else default
        return out


class HeadChangeIn(_Change, HeadIn):
    """The head's fields to change (a new ID number changes the gender and birth date with it)."""

    @post_load
    def cleared(self, data, **kwargs):
        return self.with_cleared(data)


class MemberChangeIn(_Change, MemberIn):
    """A member to change (``id`` given), to remove (``id`` and ``remove``) or to add (no ``id``: then the name,
    ID number and relation are required)."""

    id = Whole(validate=between(1, 2**31 - 1))
    remove = Flag()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def new_member_complete(self, data, original, **kwargs):
        if "id" in data:
            return
        given = original if isinstance(original, dict) else {}
        missing = {name: [_l("Required.")] for name in ("name", "id_number", "relation")
                   if name not in data and name not in given}  # one given empty has its own message
        if data.get("remove"):
            missing = {"id": [_l("Name the member to remove by its id.")]}
        if missing:
            raise ValidationError(missing)

    @post_load
    def new_member_defaults(self, data, **kwargs):
        """A new member gets the defaults of a registration's member for what is left out."""
        data = self.with_cleared(data)
        if "id" in data:
            return data
        defaults = {name: field.load_default for name, field in _member_fields().items()
                    if field.load_default is not fields.missing_}
        return {**defaults, **data}


class HouseholdChangeIn(_Change, _HouseholdFields):
    """A correction of a household (SPEC 3.3, ``PATCH /households/{id}``): the fields to change and why. The
    bank and the cadres are given whole (``bank``: name, card number and, for a card failing the Luhn check,
    ``confirmed``); ``reasons`` replaces the list. Loaded as the clean values ``edit_household`` takes: the
    household's own values as :class:`HouseholdIn` gives them, ``head`` (the head's changed fields) and
    ``members`` (each with its ``place`` in the request, ``id`` for an existing member, ``remove``)."""

    still_required = ("reason",)
    reason = Text(required=True, max_length=1000, multiline=True)
    head = fields.Nested(HeadChangeIn)
    members = _members(MemberChangeIn)

    @post_load
    def clean_values(self, data, **kwargs):
        data = self.with_cleared(data)
        clean = {"reason": data["reason"], **_household_values(data)}
        if "head" in data:
            clean["head"] = _person_change(data["head"])
        if "members" in data:
            clean["members"] = [{**_person_change(m), "place": f"members.{i}"} for i, m in enumerate(data["members"])]
        return clean


@cache
def _member_fields() -> dict:
    return MemberIn().fields


def _person_change(loaded: dict) -> dict:
    changed = dict(loaded)
    parsed = changed.pop("id_number", None)
    if parsed is not None:
        changed.update(id_number=parsed.number, gender=parsed.gender, birth_date=parsed.birth_date)
    return changed


# ---------------------------------------------------------------- the lifecycle

def _not_in_future(day: date) -> None:
    if day > date.today():
        raise ValidationError([_l("The visit cannot be in the future.")])


class SurveyIn(InputSchema):
    visited_on = Day(required=True, validate=_not_in_future)
    visitors = Visitors(required=True)
    findings = Text(required=True, max_length=4000, multiline=True)
    income_per_capita = _income(required=True)


class TransitionIn(InputSchema):
    action = Choice(ACTIONS, required=True)
    #: required for some actions (a rule of the lifecycle, checked by ``operations.transition``)
    reason = Text(max_length=1000, multiline=True)
    #: the year of a relief (``relieve``); this year when not given
    year = Year(load_default=None)


class ObjectionIn(InputSchema):
    text = Text(required=True, max_length=2000, multiline=True)


class ObjectionResolveIn(InputSchema):
    """The decision on a publicity objection: ``upheld`` (back to ``surveyed``) or ``dismissed`` (the publicity
    resumes), and why."""

    outcome = Choice(OUTCOMES, required=True)
    reason = Text(required=True, max_length=1000, multiline=True)


class WithdrawIn(InputSchema):
    reason = Text(max_length=1000, multiline=True)


# ---------------------------------------------------------------- the list

class HouseholdFilters(InputSchema):
    tenant = Text(required=True, max_length=CODE_LENGTH)
    status = Choice(STATUSES, load_default=None)
    category = Choice(CATEGORIES, load_default=None)
    reason = Choice(REASONS, load_default=None)
    #: the primary reason only (as the summary counts households by reason, SPEC 6.1)
    main_reason = Choice(REASONS, load_default=None)
    #: a direct child's code: only its subtree
    child = Text(max_length=CODE_LENGTH)
    #: a name (part of it, ``%`` and ``_`` as themselves) or a whole ID number
    q = Text(max_length=50)
    overdue = Flag()
    #: ``status``, ``category`` and ``main_reason`` as the household was at the end of this day (a past
    #: period's figure, SPEC 6.1, lists the households it counted); without it, as it is today
    as_of = Day(load_default=None)
    #: only the households whose history has an entry of this flow (newly archived, relieved, ...) from ``since``
    #: to the end of ``as_of`` (or up to now): the households behind a flow figure of the statistics
    flow = Choice(FLOWS, load_default=None)
    since = Day(load_default=None)

    @validates_schema(skip_on_field_errors=True)
    def _flow_has_its_start(self, data, **_kwargs):
        if data.get("flow") and not data.get("since"):
            raise ValidationError({"since": [_l("Required.")]})
        if data.get("since") and data.get("as_of") and data["since"] > data["as_of"]:
            raise ValidationError({"since": [_l("The start must not be after the end.")]})


class HouseholdQuery(HouseholdFilters):
    page = Whole(load_default=1, validate=between(1, 100000))


#: the filters ``queries.list_query`` takes
FILTERS = ("status", "category", "reason", "main_reason", "q", "child", "overdue", "as_of", "flow", "since")


def filters_of(args: dict) -> dict:
    """The loaded filters as ``queries.list_query``'s keyword arguments."""
    return {**{k: args.get(k) or None for k in FILTERS}, "overdue": bool(args.get("overdue"))}


# ---------------------------------------------------------------- the bulk import

class HouseholdImportIn(InputSchema):
    """multipart/form-data: the importing union and the file (xlsx, or csv in UTF-8 or GB18030); the rows are
    loaded one by one with :class:`HouseholdIn` by ``importer.HouseholdImport.check_row``."""

    tenant = Text(required=True, max_length=CODE_LENGTH, metadata={"description": "Code of the importing union"})
    file = fields.Raw(required=True, error_messages={
        "required": _l("Attach the file as the multipart field \"file\".")}, metadata={
        "type": "string", "format": "binary", "description": "xlsx or csv, at most 20 MB and 100,000 rows"})


# ---------------------------------------------------------------- responses

def _nullable_string():
    return fields.String(allow_none=True)


class PersonOut(BaseSchema):
    id = fields.Integer()
    role = fields.String()
    name = fields.String()
    id_number = fields.String(metadata={"description": "Masked unless you keep the record."})
    gender = fields.String()
    birth_date = fields.String(allow_none=True, metadata={
        "description": "Null unless you keep the record (the masked ID number hides it); see birth_year."})
    birth_year = fields.Integer()
    phone = _nullable_string()
    relation = fields.String()
    health = fields.String()
    occupation = fields.String()
    job = fields.String()
    income = fields.String()
    union_member = fields.Boolean()
    model_worker = fields.Boolean()
    model_worker_grade = fields.String()
    migrant_worker = fields.Boolean()


class BankOut(BaseSchema):
    name = _nullable_string()
    card_number = _nullable_string()
    luhn_ok = fields.Boolean()


class CadresOut(BaseSchema):
    first = fields.String()
    second = fields.String()


class SurveyOut(BaseSchema):
    id = fields.Integer()
    visited_on = fields.String()
    visitors = fields.List(fields.String())
    findings = fields.String()
    income_per_capita = fields.String()


class ObjectionOut(BaseSchema):
    id = fields.Integer()
    raised_on = fields.String()
    text = fields.String()
    episode = fields.Integer()
    #: ``upheld`` or ``dismissed``; null while open
    outcome = _nullable_string()
    resolution = _nullable_string()
    resolved_on = _nullable_string()


class ReliefOut(BaseSchema):
    year = fields.Integer()
    relieved_on = fields.String()
    note = fields.String()


class _HouseholdBaseOut(BaseSchema):
    """What a household's list row and its whole record share."""

    id = fields.Integer()
    tenant = fields.String()
    tenant_name = fields.String()
    status = fields.String()
    episode = fields.Integer()
    category = fields.String()
    reasons = fields.List(fields.String())
    income_per_capita = fields.String()
    applied_on = _nullable_string()
    last_survey_on = _nullable_string()
    #: personal data is masked unless the reader keeps the record
    masked = fields.Boolean()
    unreadable = fields.List(fields.String(), metadata={"description": (
        "The personal fields (``address``, ``bank.card_number``, ``head.id_number``, ``members.0.phone``, ...) whose "
        "stored value failed its check (copied from another row, or damaged): they are null here, the rest of the "
        "record is given, and the read is written to the audit log (``household.unreadable``).")})


class HeadSummaryOut(BaseSchema):
    name = fields.String()
    id_number = _nullable_string()
    phone = _nullable_string()


class HouseholdSummaryOut(_HouseholdBaseOut):
    """A row of the list (``queries.summary_rows``)."""

    head = fields.Nested(HeadSummaryOut)


class HouseholdOut(_HouseholdBaseOut):
    """One household (``queries.household_detail``)."""

    subsistence = fields.String()
    medical_insurance = fields.String()
    address = _nullable_string()
    bank = fields.Nested(BankOut)
    needs = fields.String()
    cadres = fields.Nested(CadresOut)
    publicity_ends_on = _nullable_string()
    archived_on = _nullable_string()
    closed_on = _nullable_string()
    close_reason = _nullable_string()
    head = fields.Nested(PersonOut, allow_none=True)
    members = fields.List(fields.Nested(PersonOut))
    surveys = fields.List(fields.Nested(SurveyOut))
    objections = fields.List(fields.Nested(ObjectionOut))
    reliefs = fields.List(fields.Nested(ReliefOut))


class HouseholdPageOut(BaseSchema):
    tenant = fields.String()
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    households = fields.List(fields.Nested(HouseholdSummaryOut))


class SurveyCreatedOut(BaseSchema):
    id = fields.Integer()
    household = fields.Integer()
    status = fields.String()


class TransitionOut(BaseSchema):
    id = fields.Integer()
    status = fields.String()
    episode = fields.Integer()


class ObjectionCreatedOut(BaseSchema):
    id = fields.Integer()
    household = fields.Integer()


class EventOut(BaseSchema):
    id = fields.Integer()
    at = fields.String()
    username = _nullable_string()
    action = fields.String()
    episode = fields.Integer()
    from_status = _nullable_string()
    to_status = _nullable_string()
    reason = fields.String()
    changes = fields.Dict()
    #: ``changes`` in the reader's words: [{"label": ..., "value": ...}]
    change_fields = fields.List(fields.Dict())


class HistoryOut(BaseSchema):
    household = fields.Integer()
    events = fields.List(fields.Nested(EventOut))
