"""Archive forms. They only collect input: the views load it through ``schemas`` (every rule and message)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from hardship.accounts.forms import MultiCheckboxField
from hardship.archives.models import (
    CANCEL_REASONS,
    CATEGORIES,
    INSURANCE,
    REASONS,
    RELATIONS,
    STATUSES,
    SUBSISTENCE,
)
from hardship.archives.schemas import (
    MAX_MEMBERS,
    HouseholdFilters,
    HouseholdIn,
    ObjectionIn,
    SurveyIn,
    TransitionIn,
)
from hardship.web import SchemaLimits

#: member rows on the registration and correction forms, as many as a household may have (no script needed;
#: empty rows are ignored)
MEMBER_ROWS = MAX_MEMBERS
MEMBER_FIELDS = ("name", "id_number", "relation", "health", "occupation", "income")


def _choices(labels: dict, blank=None) -> list[SelectChoice]:
    return ([SelectChoice("", blank)] if blank is not None else []) + [SelectChoice(k, v) for k, v in labels.items()]


class FilterForm(SchemaLimits, FlaskForm):
    """The archive list's filters (GET, no CSRF); loaded through ``schemas.HouseholdFilters``."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=_choices(STATUSES, _l("All")), validate_choice=False)
    category = SelectField(_l("Hardship category"), choices=_choices(CATEGORIES, _l("All")), validate_choice=False)
    reason = SelectField(_l("Reason"), choices=_choices(REASONS, _l("All")), validate_choice=False)
    main_reason = SelectField(_l("Main reason"), choices=_choices(REASONS, _l("All")), validate_choice=False)
    child = SelectField(_l("Union below"), choices=[], validate_choice=False)
    q = StringField(_l("Name or ID number"))
    limits = (HouseholdFilters, {"q": "q"})
    overdue = BooleanField(_l("Only overdue home surveys"))
    #: a drill-down from a past period's figure: the state at that day (kept by the filters' form, not typed)
    as_of = HiddenField()
    #: a drill-down from a flow figure (newly archived, relieved, ...): the flow and the period's first day
    flow = HiddenField()
    since = HiddenField()

    def values(self) -> dict:
        """The filters as typed, for ``schemas.HouseholdFilters``."""
        return {"status": self.status.data, "category": self.category.data, "reason": self.reason.data,
                "main_reason": self.main_reason.data, "child": self.child.data, "q": self.q.data,
                "overdue": bool(self.overdue.data), "as_of": self.as_of.data, "flow": self.flow.data,
                "since": self.since.data}

    def query_args(self) -> dict:
        """The filters as URL arguments (for pagination and export links)."""
        args = {k: v.strip() if isinstance(v, str) else v for k, v in self.values().items()}
        args = {k: v for k, v in args.items() if v}
        if args.get("overdue"):
            args["overdue"] = "y"
        return args


class RegistrationForm(SchemaLimits, FlaskForm):
    """A household application (SPEC 3.1); the member rows ``member_<i>_<field>`` are added below."""

    tenant = SelectField(_l("Union of the worker"), choices=[], validate_choice=False)
    head_name = StringField(_l("Full name"))
    head_id_number = StringField(_l("ID number"))
    head_phone = StringField(_l("Phone"))
    head_job = StringField(_l("Type of work"))
    head_union_member = BooleanField(_l("Union member"), default=True)
    head_model_worker = BooleanField(_l("Model worker"))
    head_model_worker_grade = StringField(_l("Model worker grade"))
    head_migrant_worker = BooleanField(_l("Migrant worker"))
    category = SelectField(_l("Hardship category"), choices=_choices(CATEGORIES, "—"), validate_choice=False)
    primary_reason = SelectField(_l("Primary reason"), choices=_choices(REASONS, "—"), validate_choice=False)
    secondary_reasons = MultiCheckboxField(_l("Other reasons"), choices=_choices(REASONS), validate_choice=False)
    income_per_capita = StringField(_l("Monthly income per person (yuan)"))
    subsistence = SelectField(_l("Minimum subsistence"), choices=_choices(SUBSISTENCE), validate_choice=False)
    medical_insurance = SelectField(_l("Medical insurance"), choices=_choices(INSURANCE), validate_choice=False)
    address = StringField(_l("Address"))
    bank_name = StringField(_l("Bank"))
    card_number = StringField(_l("Card number"))
    card_confirmed = BooleanField(_l("I checked the card number against the card: it is right"))
    needs = TextAreaField(_l("Needs"))
    cadre_first = StringField(_l("First responsible person"))
    cadre_second = StringField(_l("Second responsible person"))
    limits = (HouseholdIn, {
        "head_name": "head.name", "head_job": "head.job", "head_model_worker_grade": "head.model_worker_grade",
        "address": "address", "bank_name": "bank.name", "needs": "needs", "cadre_first": "cadres.first",
        "cadre_second": "cadres.second",
        **{f"member_{i}_{name}": f"members.{name}" for i in range(MEMBER_ROWS) for name in ("name", "health", "occupation")},
    })

    def member_rows(self) -> list[dict]:
        """The member rows' fields, one dict per row (for the template)."""
        return [{name: self[f"member_{i}_{name}"] for name in MEMBER_FIELDS} for i in range(MEMBER_ROWS)]

    def payload(self) -> tuple[dict, dict]:
        """The household as ``schemas.HouseholdIn`` loads it, and the map from the schema's field paths
        (``members.0.name``) to this form's fields."""
        data, field_map = self.household_payload()
        members = []
        for i in range(MEMBER_ROWS):
            row = self.member_row(i)
            if not (row["name"] or row["id_number"]):
                continue  # an empty row
            for name in MEMBER_FIELDS:
                field_map[f"members.{len(members)}.{name}"] = f"member_{i}_{name}"
            members.append(row)
        return {"tenant": self.tenant.data, **data, "members": members}, field_map

    def member_row(self, i: int) -> dict:
        return {name: (self[f"member_{i}_{name}"].data or "").strip() for name in MEMBER_FIELDS}

    def household_payload(self) -> tuple[dict, dict]:
        """The head's and the household's own fields as the schemas load them, and the map of their paths."""
        field_map = {"head.name": "head_name", "head.id_number": "head_id_number", "head.phone": "head_phone",
                     "head.job": "head_job", "head.model_worker_grade": "head_model_worker_grade",
                     "reasons": "primary_reason", "bank.name": "bank_name", "bank.card_number": "card_number",
                     "cadres.first": "cadre_first", "cadres.second": "cadre_second"}
        primary = self.primary_reason.data or None
        reasons = [primary] + [r for r in (self.secondary_reasons.data or []) if r != primary] if primary else []
        data = {
            "head": {"name": self.head_name.data, "id_number": self.head_id_number.data,
                     "phone": self.head_phone.data, "job": self.head_job.data,
                     "union_member": self.head_union_member.data, "model_worker": self.head_model_worker.data,
                     "model_worker_grade": self.head_model_worker_grade.data,
                     "migrant_worker": self.head_migrant_worker.data},
            "category": self.category.data, "reasons": reasons,
            "income_per_capita": self.income_per_capita.data, "subsistence": self.subsistence.data,
            "medical_insurance": self.medical_insurance.data, "address": self.address.data,
            "bank": {"name": self.bank_name.data, "card_number": self.card_number.data,
                     "confirmed": self.card_confirmed.data},
            "needs": self.needs.data, "cadres": {"first": self.cadre_first.data, "second": self.cadre_second.data},
        }
        return data, field_map


_MEMBER_LABELS = {"name": _l("Full name"), "id_number": _l("ID number"), "relation": _l("Relation"),
                  "health": _l("Health"), "occupation": _l("School or work"), "income": _l("Monthly income (yuan)")}
for _i in range(MEMBER_ROWS):
    for _name in MEMBER_FIELDS:
        if _name == "relation":
            _field = SelectField(_MEMBER_LABELS[_name], choices=_choices(RELATIONS, "—"), validate_choice=False)
        else:
            _field = StringField(_MEMBER_LABELS[_name])
        setattr(RegistrationForm, f"member_{_i}_{_name}", _field)


class EditForm(RegistrationForm):
    """A correction of a household (``schemas.HouseholdChangeIn``): the registration's inputs filled with the
    household's values, each member row with the member's id and a box to remove it, and the reason. The
    correction records only what differs."""

    tenant = None
    reason = TextAreaField(_l("Reason for the correction"))

    def member_rows(self) -> list[dict]:
        return [{**row, "remove": self[f"member_{i}_remove"]} for i, row in enumerate(super().member_rows())]

    def fill(self, detail: dict) -> None:
        """Fill the inputs from ``queries.household_detail``."""
        head = detail["head"]
        for name in ("name", "id_number", "phone", "job", "union_member", "model_worker", "model_worker_grade",
                     "migrant_worker"):
            self[f"head_{name}"].data = head[name]
        self.category.data, self.primary_reason.data = detail["category"], detail["reasons"][0]
        self.secondary_reasons.data = detail["reasons"][1:]
        for name in ("income_per_capita", "subsistence", "medical_insurance", "address", "needs"):
            self[name].data = detail[name]
        bank = detail["bank"]
        self.bank_name.data, self.card_number.data = bank["name"], bank["card_number"]
        self.card_confirmed.data = bool(bank["card_number"]) and not bank["luhn_ok"]
        self.cadre_first.data, self.cadre_second.data = detail["cadres"]["first"], detail["cadres"]["second"]
        for i, member in enumerate(detail["members"][:MEMBER_ROWS]):
            self[f"member_{i}_id"].data = str(member["id"])
            for name in MEMBER_FIELDS:
                self[f"member_{i}_{name}"].data = member[name]

    def payload(self) -> tuple[dict, dict]:
        """The correction as ``schemas.HouseholdChangeIn`` loads it, and the map of its paths to the inputs."""
        data, field_map = self.household_payload()
        members = []
        for i in range(MEMBER_ROWS):
            row, member_id = self.member_row(i), (self[f"member_{i}_id"].data or "").strip()
            if member_id:
                row = {**row, "id": member_id, "remove": self[f"member_{i}_remove"].data}
            elif not (row["name"] or row["id_number"]):
                continue  # an empty row
            for name in (*MEMBER_FIELDS, "id"):
                field_map[f"members.{len(members)}.{name}"] = f"member_{i}_{'name' if name == 'id' else name}"
            members.append(row)
        field_map["reason"] = "reason"
        return {**data, "members": members, "reason": self.reason.data}, field_map


for _i in range(MEMBER_ROWS):
    setattr(EditForm, f"member_{_i}_id", HiddenField())
    setattr(EditForm, f"member_{_i}_remove", BooleanField(_l("Remove")))


class ObjectionResolveForm(FlaskForm):
    """The decision on one publicity objection (``schemas.ObjectionResolveIn``)."""

    reason = TextAreaField(_l("Reason"))


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason"))


class SurveyForm(SchemaLimits, FlaskForm):
    visited_on = StringField(_l("Visited on"), default=lambda: date.today().isoformat())
    visitors = StringField(_l("Visitors (separated by commas)"))
    findings = TextAreaField(_l("Findings"))
    limits = (SurveyIn, {"findings": "findings"})
    income_per_capita = StringField(_l("Verified monthly income per person (yuan)"))

    def payload(self) -> dict:
        return {"visited_on": self.visited_on.data, "visitors": self.visitors.data or "",
                "findings": self.findings.data, "income_per_capita": self.income_per_capita.data}


class ObjectionForm(SchemaLimits, FlaskForm):
    text = TextAreaField(_l("Objection raised"))
    limits = (ObjectionIn, {"text": "text"})


class TransitionForm(SchemaLimits, FlaskForm):
    """One decision on a household; the page shows one per allowed action (``prefix`` = the action, which
    is posted unprefixed as ``action``)."""

    reason = TextAreaField(_l("Reason"))
    limits = (TransitionIn, {"reason": "reason"})
    cancel_kind = SelectField(_l("Kind of cancellation"), choices=_choices(CANCEL_REASONS, "—"), validate_choice=False)
    year = StringField(_l("Year"), default=lambda: str(date.today().year))

    def reason_text(self, action: str) -> str:
        """The reason as the operation takes it (a cancellation starts with its kind: ``death: ...``)."""
        reason = (self.reason.data or "").strip()
        if action == "cancel":
            return f"{self.cancel_kind.data}: {reason}"
        return reason
