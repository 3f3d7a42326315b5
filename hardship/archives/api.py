"""Household archive API (SPEC 8.3, appendix A)."""

from flask_login import current_user
from marshmallow import fields, validate

from hardship.accounts.operations import require
from hardship.api import BaseSchema, between, json_object, load_body, load_query, route
from hardship.archives import exports, queries
from hardship.archives import operations as ops
from hardship.archives.models import CATEGORIES, REASONS
from hardship.core.downloads import xlsx_download
from tenants.scoping import get_tenant


class HouseholdIn(BaseSchema):
    """Documented shape of a registration; validated by ``operations.parse_household``."""

    tenant = fields.String(required=True)
    head = fields.Dict(required=True)
    members = fields.List(fields.Dict())
    category = fields.String(required=True, validate=validate.OneOf(list(CATEGORIES)))
    reasons = fields.List(fields.String(validate=validate.OneOf(list(REASONS))), required=True)
    income_per_capita = fields.String(required=True)
    subsistence = fields.String()
    medical_insurance = fields.String()
    address = fields.String(required=True)
    bank = fields.Dict()
    needs = fields.String()
    cadres = fields.Dict()


class HouseholdOut(BaseSchema):
    id = fields.Integer()
    status = fields.String()
    tenant = fields.String()


class HouseholdFilters(BaseSchema):
    tenant = fields.String(required=True)
    status = fields.String()
    category = fields.String()
    reason = fields.String()
    child = fields.String()
    q = fields.String(validate=validate.Length(max=50))
    overdue = fields.Boolean(load_default=False)


class HouseholdQuery(HouseholdFilters):
    page = fields.Integer(load_default=1, validate=between(1, 100000))


def _filters(args: dict) -> dict:
    return {k: args.get(k) for k in ("status", "category", "reason", "q", "child", "overdue")}


class SurveyIn(BaseSchema):
    visited_on = fields.String(required=True)
    visitors = fields.List(fields.String(), required=True)
    findings = fields.String(required=True)
    income_per_capita = fields.String(required=True)


class TransitionIn(BaseSchema):
    action = fields.String(required=True, validate=validate.OneOf(list(ops.ACTIONS)))
    reason = fields.String(load_default="")
    year = fields.Integer(validate=between(2000, 2100))


class ObjectionIn(BaseSchema):
    text = fields.String(required=True)


@route("/households", ["POST"], body=HouseholdIn, response=HouseholdOut, status=201, tags=["archive"],
       responses={409: None})
def create_household():
    """Register a hardship household (status ``applied``)."""
    data = json_object()
    tenant = get_tenant(str(data.get("tenant") or ""))
    require(current_user, "households.register")
    payload = {k: v for k, v in data.items() if k != "tenant"}
    household = ops.register_household(tenant, payload, actor=current_user)
    return queries.household_detail(household, current_user), 201


@route("/households", tags=["archive"], query=HouseholdQuery)
def list_households():
    """The archive of a tenant's subtree, filtered and paginated (50 a page)."""
    args = load_query(HouseholdQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "households.read")
    stmt = queries.list_query(tenant, **_filters(args))
    rows, total = queries.page_of(stmt, args["page"])
    return {"tenant": tenant.code, "page": args["page"], "per_page": 50, "total": total,
            "households": queries.summary_rows(rows, current_user)}


@route("/households/export.xlsx", tags=["archive"], query=HouseholdFilters)
def export_households():
    """The filtered archive as xlsx (Chinese headers); personal data masked per row unless you keep the
    record; an export with unmasked values is written to the audit log."""
    args = load_query(HouseholdFilters)
    tenant = get_tenant(args["tenant"])
    require(current_user, "households.read")
    filters = _filters(args)
    content, filename = exports.households_xlsx(tenant, queries.list_query(tenant, **filters), current_user,
                                                filters=filters)
    return xlsx_download(content, filename)


@route("/households/<int:household_id>", tags=["archive"])
def get_household(household_id):
    """One household; personal data masked unless you keep the record."""
    household = queries.get_household(household_id)
    require(current_user, "households.read")
    return queries.household_detail(household, current_user)


@route("/households/<int:household_id>/surveys", ["POST"], body=SurveyIn, status=201, tags=["archive"],
       responses={409: None})
def create_survey(household_id):
    """Record a home survey."""
    household = queries.get_household(household_id)
    require(current_user, "households.survey")
    data = load_body(SurveyIn)
    survey = ops.record_survey(household, data, actor=current_user)
    return {"id": survey.id, "household": household.id, "status": household.status}, 201


@route("/households/<int:household_id>/transitions", ["POST"], body=TransitionIn, tags=["archive"],
       responses={409: None})
def create_transition(household_id):
    """Publicize, archive, reject, relieve, exit, cancel or reopen a household."""
    household = queries.get_household(household_id)
    require(current_user, "households.decide")
    data = load_body(TransitionIn)
    ops.transition(household, data["action"], data.get("reason", ""), actor=current_user,
                   detail={"year": data.get("year")})
    return {"id": household.id, "status": household.status, "episode": household.episode}


@route("/households/<int:household_id>/objections", ["POST"], body=ObjectionIn, status=201, tags=["archive"],
       responses={409: None})
def create_objection(household_id):
    """Record an objection raised during publicity."""
    household = queries.get_household(household_id)
    require(current_user, "households.survey")
    data = load_body(ObjectionIn)
    objection = ops.record_objection(household, data["text"], actor=current_user)
    return {"id": objection.id, "household": household.id}, 201


@route("/households/<int:household_id>/history", tags=["archive"])
def get_history(household_id):
    """Every change of the household: who, when, why, before and after."""
    household = queries.get_household(household_id)
    require(current_user, "households.read")
    return {"household": household.id, "events": queries.history(household)}



