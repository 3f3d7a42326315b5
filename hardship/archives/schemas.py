"""The archive's input and output: one schema per input, loaded with :func:`hardship.api.load_data` by the API,
the web forms, the importer and the demo alike; operations receive the loaded, clean values.

Messages are keyed by field path (``head.id_number``, ``members.0.name``, ``bank.card_number``); the forms and
the importer map those paths back to their inputs. The response schemas document what the API returns.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema

from hardship.api import BaseSchema, between
from hardship.archives.models import CATEGORIES, INSURANCE, REASONS, RELATIONS, STATUSES, SUBSISTENCE
from hardship.archives.operations import ACTIONS
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
            errors["card_number"] = [_l("The card number fails the Luhn check; check it against the card, then "
                                        "confirm it (bank.confirmed = true).")]
        if errors:
            raise ValidationError(errors)


class CadresIn(InputSchema):
    """The cadres paired with the household for assistance."""

    first = Text(max_length=50)
    second = Text(max_length=50)


class HouseholdIn(InputSchema):
    """A household's registration (SPEC 3.1, appendix A), loaded as the clean values ``register_household``
    takes: ``head`` and ``members`` as person dicts (``id_number``, ``gender``, ``birth_date``, ``role``, ...),
    ``primary_reason`` and ``secondary_reasons``, ``bank_name``, ``card_number``, ``card_luhn_ok``,
    ``cadre_first``, ``cadre_second``, incomes in fen."""

    tenant = Text(required=True, max_length=CODE_LENGTH)
    head = fields.Nested(HeadIn, required=True)
    members = fields.List(fields.Nested(MemberIn), load_default=list, validate=validate.Length(
        max=MAX_MEMBERS, error=_l("A list of at most %(n)d members.", n=MAX_MEMBERS)))
    category = Choice(CATEGORIES, required=True)
    reasons = Reasons(required=True)
    income_per_capita = _income(required=True)
    subsistence = Choice(SUBSISTENCE, load_default="none")
    medical_insurance = Choice(INSURANCE, load_default="employee")
    address = Text(required=True, max_length=200, multiline=True)  # a line break typed in an Excel cell
    bank = fields.Nested(BankIn, load_default=dict)
    needs = Text(max_length=1000, multiline=True)
    cadres = fields.Nested(CadresIn, load_default=dict)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def one_person_once(self, data, original, **kwargs):
        """The same ID number twice in one household is refused at its second place."""
        members = data.get("members") or []
        given = original.get("members") if isinstance(original, dict) else None
        if isinstance(given, list) and len(members) != len(given):
            members = []  # a member that is not an object: the places no longer line up (it is refused anyway)
        people = [("head", data.get("head"))] + [(f"members.{i}", m) for i, m in enumerate(members)]
        seen: set[str] = set()
        errors: dict = {}
        for place, person in people:
            number = getattr((person or {}).get("id_number"), "number", None)
            if number is None:
                continue
            if number in seen:
                node = errors.setdefault("head", {}) if place == "head" else \
                    errors.setdefault("members", {}).setdefault(int(place.split(".")[1]), {})
                node["id_number"] = [_l("The same ID number appears twice in this household.")]
            seen.add(number)
        if errors:
            raise ValidationError(errors)

    @post_load
    def clean_values(self, data, **kwargs):
        bank, cadres = data["bank"], data["cadres"]
        card = bank.get("card_number")
        reasons = data["reasons"]
        return {
            "tenant": data["tenant"], "head": _person(data["head"], "head"),
            "members": [_person(m, "member") for m in data["members"]],
            "category": data["category"], "primary_reason": reasons[0],
            "secondary_reasons": list(dict.fromkeys(reasons[1:])), "income_per_capita": data["income_per_capita"],
            "subsistence": data["subsistence"], "medical_insurance": data["medical_insurance"],
            "address": data["address"], "bank_name": bank.get("name") or None,
            "card_number": card[0] if card else None, "card_luhn_ok": card[1] if card else True,
            "needs": data["needs"], "cadre_first": cadres.get("first", ""), "cadre_second": cadres.get("second", ""),
        }


def _person(loaded: dict, role: str) -> dict:
    parsed = loaded["id_number"]
    return {**loaded, "role": role, "relation": loaded.get("relation", "self"), "phone": loaded.get("phone"),
            "id_number": parsed.number, "gender": parsed.gender, "birth_date": parsed.birth_date}


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


# ---------------------------------------------------------------- the list

class HouseholdFilters(InputSchema):
    tenant = Text(required=True, max_length=CODE_LENGTH)
    status = Choice(STATUSES, load_default=None)
    category = Choice(CATEGORIES, load_default=None)
    reason = Choice(REASONS, load_default=None)
    #: a direct child's code: only its subtree
    child = Text(max_length=CODE_LENGTH)
    #: a name (part of it, ``%`` and ``_`` as themselves) or a whole ID number
    q = Text(max_length=50)
    overdue = Flag()


class HouseholdQuery(HouseholdFilters):
    page = Whole(load_default=1, validate=between(1, 100000))


#: the filters ``queries.list_query`` takes
FILTERS = ("status", "category", "reason", "q", "child", "overdue")


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


class HistoryOut(BaseSchema):
    household = fields.Integer()
    events = fields.List(fields.Nested(EventOut))
