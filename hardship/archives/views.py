"""Archive pages: the list with filters and export, one household with the actions its reader may
take, the registration form. Thin: resolve inside the subtree (404), check roles (403), call one
operation or query, render. Rules and messages come from ``operations`` and ``queries``."""

from __future__ import annotations

from datetime import datetime

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from hardship.accounts.operations import require, require_any
from hardship.api import load_data
from hardship.archives import exports, queries
from hardship.archives import operations as ops
from hardship.archives.forms import (
    EditForm,
    FilterForm,
    ObjectionForm,
    ObjectionResolveForm,
    RegistrationForm,
    SurveyForm,
    TransitionForm,
    WithdrawForm,
)
from hardship.archives.models import (
    CANCEL_REASONS,
    CATEGORIES,
    FLOWS,
    GENDERS,
    INSURANCE,
    REASONS,
    RELATIONS,
    STATUSES,
    SUBSISTENCE,
)
from hardship.archives.schemas import (
    HouseholdChangeIn,
    HouseholdFilters,
    HouseholdIn,
    ObjectionIn,
    ObjectionResolveIn,
    SurveyIn,
    TransitionIn,
    WithdrawIn,
    filters_of,
)
from hardship.core.db import db, shanghai_date, utcnow
from hardship.core.downloads import xlsx_download
from hardship.core.errors import AppError, Forbidden, ValidationFailed
from hardship.core.idcard import FieldError, parse_card_number
from hardship.web import field_error_text, submit, tenant_blueprint
from tenants.models import Tenant
from tenants.scoping import get_tenant, subtree_filter

bp = tenant_blueprint("archives_ui", __name__)

PER_PAGE = 50
#: what the history calls each event
EVENT_LABELS = {"apply": _l("Application"), "survey": _l("Home survey"), "objection": _l("Objection"),
                "edit": _l("Correction"), "withdraw": _l("Withdrawn by the registering union"),
                "objection_upheld": _l("Objection upheld"), "objection_dismissed": _l("Objection dismissed"),
                **ops.ACTIONS}
FIELD_LABELS = ops.FIELD_LABELS
LABELS = {"statuses": STATUSES, "categories": CATEGORIES, "reasons": REASONS, "relations": RELATIONS,
          "genders": GENDERS, "subsistence": SUBSISTENCE, "insurance": INSURANCE, "events": EVENT_LABELS,
          "actions": ops.ACTIONS, "fields": FIELD_LABELS, "outcomes": ops.OUTCOMES}


def _labels() -> dict:
    """:data:`LABELS` in the request's language as plain strings: a list page looks each up for every row, and a
    lazy string translates itself again at each use (a quarter of a 50-row page's rendering)."""
    return {group: {key: str(label) for key, label in labels.items()} for group, labels in LABELS.items()}


def _page() -> int:
    try:
        return max(1, min(100000, int(request.args.get("page", 1))))
    except ValueError:
        return 1


def _filter_form(tenant: Tenant) -> FilterForm:
    form = FilterForm(formdata=request.args)
    children = db.session.execute(select(Tenant.code, Tenant.name).where(
        Tenant.parent_id == tenant.id, subtree_filter(Tenant)).order_by(Tenant.code)).all()
    form.child.choices = [SelectChoice("", _l("All"))] + [SelectChoice(code, f"{code} {name}") for code, name in children]
    return form


def _put_errors(form, exc: AppError) -> None:
    for name, messages in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [str(m) for m in messages]
        else:
            flash(field_error_text(form, name, messages), "error")
    if not exc.fields:
        flash(str(exc.message), "error")


def _load_filters(tenant: Tenant, form: FilterForm) -> dict:
    """The list's filters loaded through ``schemas.HouseholdFilters``, as ``queries.list_query`` takes them."""
    return filters_of(load_data(HouseholdFilters, {**form.values(), "tenant": tenant.code}))


@bp.route("/archive")
def index():
    """The list; a statistics reader (a reviewer) reads it too, masked as always outside the keeping union,
    as the households behind a figure of the dashboard or the summary (of a past period: ``as_of`` its last
    day, the households by their status, category and main reason on that day)."""
    require_any(current_user, "households.read", "stats.read")
    tenant = g.tenant
    form = _filter_form(tenant)
    page, rows, total, status, intervals, as_of, flow = _page(), [], 0, 200, None, None, None
    try:
        filters = _load_filters(tenant, form)
        as_of = filters["as_of"]
        flow = filters["flow"] and {"label": FLOWS[filters["flow"]], "since": filters["since"],
                                    "until": as_of or shanghai_date(utcnow())}
        intervals = queries.survey_intervals(tenant) if filters["overdue"] else None
        stmt = queries.list_query(tenant, **filters, intervals=intervals)
    except ValidationFailed as exc:
        db.session.rollback()
        _put_errors(form, exc)
        status = 422
    else:
        households, total = queries.household_page(stmt, page, PER_PAGE)
        rows = queries.summary_rows(households, current_user)
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    html = render_template("archives/list.html", form=form, rows=rows, total=total, page=page, pages=pages,
                           args=form.query_args(), labels=_labels(),
                           intervals=None if intervals is None else ", ".join(str(m) for m in intervals),
                           as_of=as_of, today_args={k: v for k, v in form.query_args().items() if k != "as_of"},
                           flow=flow, no_flow_args={k: v for k, v in form.query_args().items()
                                                    if k not in ("flow", "since")},
                           may_register=current_user.can("households.register"),
                           may_open=current_user.can("households.read"))
    return html, status


@bp.route("/archive/export.xlsx")
def export():
    require(current_user, "households.read")
    tenant = g.tenant
    form = _filter_form(tenant)
    back = redirect(url_for("archives_ui.index", **{k: v for k, v in request.args.items() if k != "page"}))
    try:
        filters = _load_filters(tenant, form)
        content, filename = exports.households_xlsx(tenant, queries.list_query(tenant, **filters), current_user,
                                                    filters=filters)
    except ValidationFailed as exc:
        db.session.rollback()
        if not exc.fields:
            flash(str(exc.message), "error")
        return back  # the list shows the errors at the filters
    return xlsx_download(content, filename)


def _render_household(household, *, survey_form=None, objection_form=None, failed: tuple | None = None,
                      status: int = 200):
    """The household page, offering only what its reader may do now; ``failed`` is ``(action, form)`` of a
    decision that was refused."""
    detail = queries.household_detail(household, current_user)
    events = queries.history(household, current_user, log_unmasked=False)  # the detail's entry covers it
    for event in events:
        event["at"] = datetime.fromisoformat(event["at"])
    actions = ops.allowed_actions(household, current_user)
    transition_forms = {action: TransitionForm(prefix=action, formdata=None) for action in actions}
    if failed and failed[0] in transition_forms:
        transition_forms[failed[0]] = failed[1]
    if survey_form is None and ops.may_record_survey(household, current_user):
        survey_form = SurveyForm(prefix="survey", formdata=None)
    if objection_form is None and ops.may_record_objection(household, current_user):
        objection_form = ObjectionForm(prefix="objection", formdata=None)
    resolve_forms = {}
    if ops.may_resolve_objections(household, current_user):
        resolve_forms = {o.id: (failed[1] if failed and failed[0] == f"resolve-{o.id}" else
                                ObjectionResolveForm(prefix=f"resolve{o.id}", formdata=None))
                         for o in ops.open_objections(household)}
    withdraw_form = None
    if ops.may_withdraw(household, current_user):
        withdraw_form = failed[1] if failed and failed[0] == "withdraw" else WithdrawForm(prefix="withdraw",
                                                                                          formdata=None)
    html = render_template("archives/household.html", h=detail, events=events, transition_forms=transition_forms,
                           survey_form=survey_form, objection_form=objection_form, labels=LABELS,
                           cancel_reasons=CANCEL_REASONS, resolve_forms=resolve_forms, withdraw_form=withdraw_form,
                           may_edit=ops.may_edit(household, current_user), reason=ops.readable_reason)
    return html, status


def _failure_status(form) -> int:
    return getattr(form, "error_status", 422)


@bp.route("/archive/<int:household_id>")
def household(household_id):
    h = queries.get_household(household_id, g.tenant)
    require(current_user, "households.read")
    return _render_household(h)


def _back(h, anchor: str = ""):
    return redirect(url_for("archives_ui.household", household_id=h.id) + anchor)


@bp.route("/archive/<int:household_id>/survey", methods=["POST"])
def survey(household_id):
    h = queries.get_household(household_id, g.tenant)
    require(current_user, "households.survey")
    form = SurveyForm(prefix="survey")
    if form.validate_on_submit() and submit(form, lambda: ops.record_survey(h, load_data(SurveyIn, form.payload()),
                                                                                 actor=current_user),
                                            LazyString(lambda: _(
                                                "The home survey was recorded. The household is now %(status)s.",
                                                status=ops.status_label(h.status)))):
        return _back(h, "#surveys")
    return _render_household(h, survey_form=form, status=_failure_status(form))


@bp.route("/archive/<int:household_id>/objection", methods=["POST"])
def objection(household_id):
    h = queries.get_household(household_id, g.tenant)
    require(current_user, "households.survey")
    form = ObjectionForm(prefix="objection")
    if form.validate_on_submit() and submit(form, lambda: ops.record_objection(
            h, load_data(ObjectionIn, {"text": form.text.data})["text"], actor=current_user),
                                            _l("The objection was recorded.")):
        return _back(h, "#objections")
    return _render_household(h, objection_form=form, status=_failure_status(form))


@bp.route("/archive/<int:household_id>/transition", methods=["POST"])
def transition(household_id):
    h = queries.get_household(household_id, g.tenant)
    require(current_user, "households.decide")
    action = request.form.get("action", "")
    form = TransitionForm(prefix=action if action in ops.ACTIONS else "transition")

    def decide():
        data = load_data(TransitionIn, {"action": action, "reason": form.reason_text(action), "year": form.year.data})
        ops.transition(h, data["action"], data["reason"], actor=current_user, detail={"year": data["year"]})

    if form.validate_on_submit() and submit(form, decide, _reached(h, ops.ACTIONS.get(action, action))):
        return _back(h)
    return _render_household(h, failed=(action, form), status=_failure_status(form))


def _reached(household, action) -> LazyString:
    """The success message of an action, naming the status the household reached (read once it is done)."""
    return LazyString(lambda: _("Done: %(action)s. The household is now %(status)s.", action=action,
                                status=ops.status_label(household.status)))


@bp.route("/archive/<int:household_id>/objections/<int:objection_id>/resolve", methods=["POST"])
def resolve_objection(household_id, objection_id):
    h = queries.get_household(household_id, g.tenant)
    objection = queries.get_objection(h, objection_id)
    require(current_user, "households.decide")
    outcome = request.form.get("outcome", "")
    form = ObjectionResolveForm(prefix=f"resolve{objection.id}")

    def resolve():
        data = load_data(ObjectionResolveIn, {"outcome": outcome, "reason": form.reason.data})
        ops.resolve_objection(h, objection, data["outcome"], data["reason"], actor=current_user)

    if form.validate_on_submit() and submit(form, resolve, _reached(h, ops.OUTCOMES.get(outcome, outcome))):
        return _back(h, "#objections")
    return _render_household(h, failed=(f"resolve-{objection.id}", form), status=_failure_status(form))


@bp.route("/archive/<int:household_id>/withdraw", methods=["POST"])
def withdraw(household_id):
    h = queries.get_household(household_id, g.tenant)
    require(current_user, "households.register")
    form = WithdrawForm(prefix="withdraw")

    def action():
        ops.withdraw_application(h, load_data(WithdrawIn, {"reason": form.reason.data})["reason"], actor=current_user)

    if form.validate_on_submit() and submit(form, action, _reached(h, _l("Withdraw the application"))):
        return _back(h)
    return _render_household(h, failed=("withdraw", form), status=_failure_status(form))


@bp.route("/archive/<int:household_id>/edit", methods=["GET", "POST"])
def edit(household_id):
    h = queries.get_household(household_id, g.tenant)
    require(current_user, "households.read")
    refusal = ops.edit_refusal(h, current_user)
    if refusal is not None:
        raise refusal
    form = EditForm()
    status = 200
    if request.method == "POST":
        data, field_map = form.payload()
        if form.validate_on_submit() and submit(
                form, lambda: ops.edit_household(h, load_data(HouseholdChangeIn, data), actor=current_user),
                _l("The correction was saved."), field_map=field_map):
            return _back(h, "#history")
        status = _failure_status(form)
    else:
        form.fill(queries.household_detail(h, current_user))
    show_confirm = bool(form.card_confirmed.data) or (bool(form.card_number.errors)
                                                      and _luhn_warning(form.card_number.data))
    return render_template("archives/new.html", form=form, editing=h, show_confirm=show_confirm,
                           has_errors=any(f.errors for f in form)), status


def _luhn_warning(number: str | None) -> bool:
    """Whether the card number is well-formed but fails the Luhn check (the clerk confirms it)."""
    try:
        return not parse_card_number(number)[1]
    except FieldError:
        return False


@bp.route("/archive/new", methods=["GET", "POST"])
def new():
    require(current_user, "households.register")
    tenant = g.tenant
    choices = ops.registration_tenants(tenant, current_user)
    if not choices:
        raise Forbidden(_l("Only the union itself or the union keeping its archive registers households."))
    form = RegistrationForm()
    form.tenant.choices = [SelectChoice(t.code, f"{t.code} {t.name}") for t in choices]
    status = 200
    if request.method == "POST":
        status = 422
        target = get_tenant(form.tenant.data) if form.tenant.data else tenant  # outside the subtree: 404
        if form.validate_on_submit():
            if target.id not in {t.id for t in choices}:
                form.tenant.errors = list(form.tenant.errors) + [str(_l(
                    "Only the union itself or the union keeping its archive registers households."))]
                status = 403
            else:
                data, field_map = form.payload()
                created = {}

                def action():
                    created["household"] = ops.register_household(target, load_data(HouseholdIn, data),
                                                                  actor=current_user)

                if submit(form, action, LazyString(lambda: _("The household was registered. It is now %(status)s.",
                                                             status=ops.status_label("applied"))),
                          field_map=field_map):
                    return redirect(url_for("archives_ui.household", household_id=created["household"].id))
                status = _failure_status(form)
    elif len(choices) == 1 or tenant in choices:
        form.tenant.data = tenant.code if tenant in choices else choices[0].code
    show_confirm = bool(form.card_confirmed.data) or (bool(form.card_number.errors)
                                                      and _luhn_warning(form.card_number.data))
    return render_template("archives/new.html", form=form, choices=choices, show_confirm=show_confirm,
                           has_errors=any(f.errors for f in form)), status
