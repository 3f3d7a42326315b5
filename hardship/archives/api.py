"""Household archive API (SPEC 8.3, appendix A)."""

from flask_login import current_user

from hardship.accounts.operations import require
from hardship.api import load_body, load_query, route
from hardship.archives import exports, queries
from hardship.archives import operations as ops
from hardship.archives.schemas import (
    HistoryOut,
    HouseholdChangeIn,
    HouseholdFilters,
    HouseholdIn,
    HouseholdOut,
    HouseholdPageOut,
    HouseholdQuery,
    ObjectionCreatedOut,
    ObjectionIn,
    ObjectionResolveIn,
    SurveyCreatedOut,
    SurveyIn,
    TransitionIn,
    TransitionOut,
    WithdrawIn,
    filters_of,
)
from hardship.core.downloads import xlsx_download
from tenants.scoping import get_tenant


@route("/households", ["POST"], body=HouseholdIn, response=HouseholdOut, status=201, tags=["archive"],
       responses={409: None})
def create_household():
    """Register a hardship household (status ``applied``)."""
    clean = load_body(HouseholdIn)
    tenant = get_tenant(clean["tenant"])
    require(current_user, "households.register")
    household = ops.register_household(tenant, clean, actor=current_user)
    return queries.household_detail(household, current_user), 201


@route("/households", tags=["archive"], query=HouseholdQuery, response=HouseholdPageOut)
def list_households():
    """The archive of a tenant's subtree, filtered and paginated (50 a page)."""
    args = load_query(HouseholdQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "households.read")
    stmt = queries.list_query(tenant, **filters_of(args))
    rows, total = queries.household_page(stmt, args["page"])
    return {"tenant": tenant.code, "page": args["page"], "per_page": 50, "total": total,
            "households": queries.summary_rows(rows, current_user)}


@route("/households/export.xlsx", tags=["archive"], query=HouseholdFilters)
def export_households():
    """The filtered archive as xlsx (Chinese headers); personal data masked per row unless you keep the
    record; an export with unmasked values is written to the audit log."""
    args = load_query(HouseholdFilters)
    tenant = get_tenant(args["tenant"])
    require(current_user, "households.read")
    filters = filters_of(args)
    content, filename = exports.households_xlsx(tenant, queries.list_query(tenant, **filters), current_user,
                                                filters=filters)
    return xlsx_download(content, filename)


@route("/households/<int:household_id>", tags=["archive"], response=HouseholdOut)
def get_household(household_id):
    """One household; personal data masked unless you keep the record."""
    household = queries.get_household(household_id)
    require(current_user, "households.read")
    return queries.household_detail(household, current_user)


@route("/households/<int:household_id>/surveys", ["POST"], body=SurveyIn, response=SurveyCreatedOut, status=201, tags=["archive"],
       responses={409: None})
def create_survey(household_id):
    """Record a home survey."""
    household = queries.get_household(household_id)
    require(current_user, "households.survey")
    data = load_body(SurveyIn)
    survey = ops.record_survey(household, data, actor=current_user)
    return {"id": survey.id, "household": household.id, "status": household.status}, 201


@route("/households/<int:household_id>/transitions", ["POST"], body=TransitionIn, response=TransitionOut, tags=["archive"],
       responses={409: None})
def create_transition(household_id):
    """Publicize, archive, reject, relieve, exit, cancel or reopen a household."""
    household = queries.get_household(household_id)
    require(current_user, "households.decide")
    data = load_body(TransitionIn)
    ops.transition(household, data["action"], data["reason"], actor=current_user,
                   detail={"year": data["year"]})
    return {"id": household.id, "status": household.status, "episode": household.episode}


@route("/households/<int:household_id>/objections", ["POST"], body=ObjectionIn, response=ObjectionCreatedOut, status=201, tags=["archive"],
       responses={409: None})
def create_objection(household_id):
    """Record an objection raised during publicity."""
    household = queries.get_household(household_id)
    require(current_user, "households.survey")
    data = load_body(ObjectionIn)
    objection = ops.record_objection(household, data["text"], actor=current_user)
    return {"id": objection.id, "household": household.id}, 201


@route("/households/<int:household_id>/history", tags=["archive"], response=HistoryOut)
def get_history(household_id):
    """Every change of the household: who, when, why, before and after."""
    household = queries.get_household(household_id)
    require(current_user, "households.read")
    return {"household": household.id, "events": queries.history(household, current_user)}


@route("/households/<int:household_id>", ["PATCH"], body=HouseholdChangeIn, response=HouseholdOut, tags=["archive"],
       responses={409: None})
def edit_household(household_id):
    """Correct a household (the changed fields and a ``reason``): by the clerk or approver of the union keeping
    the archive, or the registering union's clerk while it is ``applied``. A field left out stays as it is; an
    optional field sent empty (null or "") is cleared, a required one sent empty is 422. The history keeps each
    field's before and after."""
    household = queries.get_household(household_id)
    require(current_user, "households.read")
    clean = load_body(HouseholdChangeIn)
    ops.edit_household(household, clean, actor=current_user)
    return queries.household_detail(household, current_user)


@route("/households/<int:household_id>/objections/<int:objection_id>/resolve", ["POST"], body=ObjectionResolveIn,
       response=TransitionOut, tags=["archive"], responses={409: None})
def resolve_objection(household_id, objection_id):
    """Resolve a publicity objection: ``upheld`` sends the household back to ``surveyed``, ``dismissed`` lets the
    publicity resume."""
    household = queries.get_household(household_id)
    objection = queries.get_objection(household, objection_id)
    require(current_user, "households.decide")
    data = load_body(ObjectionResolveIn)
    ops.resolve_objection(household, objection, data["outcome"], data["reason"], actor=current_user)
    return {"id": household.id, "status": household.status, "episode": household.episode}


@route("/households/<int:household_id>/withdraw", ["POST"], body=WithdrawIn, response=TransitionOut, tags=["archive"],
       responses={409: None})
def withdraw_application(household_id):
    """Withdraw an application not yet archived (the registering union): the household becomes ``rejected``."""
    household = queries.get_household(household_id)
    require(current_user, "households.register")
    data = load_body(WithdrawIn)
    ops.withdraw_application(household, data["reason"], actor=current_user)
    return {"id": household.id, "status": household.status, "episode": household.episode}
