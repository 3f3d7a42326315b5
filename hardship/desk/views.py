"""Service-desk pages of a union: the queues with their filters and the figures, the registration form (which
finds the person in the archive by ID number), the case page with its history and the actions allowed now."""

from __future__ import annotations

from datetime import date, datetime

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from hardship.accounts.models import User
from hardship.accounts.operations import require
from hardship.api import load_data
from hardship.archives import masking as archive_masking
from hardship.archives.models import Household, Person
from hardship.core import crypto
from hardship.core.db import db
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from hardship.core.money import format_fen
from hardship.desk import exports, queries
from hardship.desk import operations as ops
from hardship.desk.forms import CASE_FIELD_MAP, ActionForm, CaseForm, FilterForm
from hardship.desk.models import (
    ACTIONS,
    CATEGORIES,
    CHANNELS,
    KINDS,
    LEGAL_OUTCOMES,
    RECORD_LABELS,
    RESULTS,
    SATISFACTION,
    STATUSES,
)
from hardship.desk.schemas import (
    QUEUES,
    RECORD_FIELDS,
    CaseAssignIn,
    CaseAttachmentIn,
    CaseCloseIn,
    CaseFilters,
    CaseIn,
    CaseLookupIn,
    CaseRecordIn,
    CaseReferIn,
    CaseReopenIn,
    CaseTextIn,
    DeskFiguresQuery,
    filters_of,
)
from hardship.web import submit, tenant_blueprint
from tenants.models import Tenant
from tenants.scoping import get_tenant, path_range, subtree_filter

bp = tenant_blueprint("desk_ui", __name__)


def _labels() -> dict:
    return {"kinds": KINDS, "channels": CHANNELS, "categories": CATEGORIES, "statuses": STATUSES,
            "results": RESULTS, "satisfaction": SATISFACTION, "actions": ACTIONS, "queues": QUEUES,
            "outcomes": LEGAL_OUTCOMES, "record_labels": RECORD_LABELS, "record_fields": RECORD_FIELDS}


def _filters() -> dict:
    """The page's query arguments loaded through the API's schema; an argument it refuses is ignored."""
    given = {**request.args.to_dict(), "tenant": g.tenant.code}
    given.pop("page", None)
    try:
        return load_data(CaseFilters, given)
    except ValidationFailed as exc:
        return load_data(CaseFilters, {k: v for k, v in given.items() if k not in exc.fields})


def _below(tenant: Tenant) -> list[Tenant]:
    return db.session.scalars(select(Tenant).where(path_range(Tenant.path, tenant.path), Tenant.id != tenant.id,
                                                   subtree_filter(Tenant)).order_by(Tenant.path)).all()


def _may_handle() -> bool:
    return current_user.can("desk.handle") and current_user.tenant_id == g.tenant.id


@bp.route("/desk/")
def index():
    require(current_user, "desk.read")
    args = _filters()
    form = FilterForm(request.args)
    below = _below(g.tenant)
    form.child.choices = [("", str(_l("(all)")))] + [(t.code, f"{t.code} {t.name}") for t in below]
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    stmt = queries.queue_query(g.tenant, current_user, args["queue"], **filters_of(args))
    cases, total = queries.case_page(stmt, page)
    rows = queries.case_rows(cases, current_user, log_unmasked="list")
    try:
        period = load_data(DeskFiguresQuery, {"tenant": g.tenant.code, "year": request.args.get("year", ""),
                                              "month": request.args.get("month", "")})
    except ValidationFailed:
        period = {"year": None, "month": None}
    year, month = period["year"] or date.today().year, period["month"]
    figures = queries.figures(g.tenant, year, month)
    link_args = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in args.items() if v and k != "tenant"}
    return render_template("desk/index.html", tenant=g.tenant, form=form, rows=rows, total=total, page=page,
                           pages=max(1, -(-total // queries.PER_PAGE)), args=link_args, queue=args["queue"],
                           figures=figures, year=year, month=month, may_handle=_may_handle(), **_labels())


@bp.route("/desk/export.xlsx")
def export():
    require(current_user, "desk.read")
    args = _filters()
    stmt = queries.queue_query(g.tenant, current_user, args["queue"], **filters_of(args))
    return xlsx_download(*exports.cases_export(g.tenant, stmt, user=current_user))


def _lookup(text: str):
    """The archive's person with this ID number (an open household inside the scope): ``(found, message)``."""
    try:
        number = load_data(CaseLookupIn, {"id_number": text})["id_number"].number
    except ValidationFailed as exc:
        return None, " ".join(str(m) for m in exc.fields.get("id_number", [exc.message]))
    person = db.session.scalar(select(Person).where(Person.id_index == crypto.blind_index(number),
                                                    Person.active.is_(True)).limit(1))
    if person is None:
        return None, str(_l("Not in the archive of %(union)s: fill in the person below.", union=g.tenant.name))
    household = db.session.scalar(select(Household).where(Household.id == person.household_id))
    clear = archive_masking.may_see_personal_data(current_user, household)
    phone = crypto.decrypt(person.phone_enc, "persons.phone", person.row_key) if clear else None
    union = db.session.scalar(select(Tenant.name).where(Tenant.id == household.tenant_id))
    found = {"name": person.name, "id_number": number, "phone": phone or "", "household": household.id,
             "union": union}
    return found, str(_l("Found in the archive: household %(id)s of %(union)s.", id=household.id,
                         union=found["union"]))


@bp.route("/desk/new", methods=["GET", "POST"])
def new():
    require(current_user, "desk.handle")
    if current_user.tenant_id != g.tenant.id:
        abort(403)
    form = CaseForm()
    form.handler.choices = [("", str(_l("(not yet)")))] + _handler_choices(g.tenant.id)
    found, lookup_message = None, None
    lookup = request.args.get("lookup", "").strip()
    if lookup and not form.is_submitted():
        found, lookup_message = _lookup(lookup)
        form.id_number.data = lookup
        if found:
            form.name.data, form.id_number.data, form.phone.data = found["name"], found["id_number"], found["phone"]
            form.enterprise.data = found["union"]
    created = {}

    def run():
        clean = load_data(CaseIn, form.body(g.tenant.code))
        created["case"] = ops.register_case(g.tenant, clean, actor=current_user)

    if form.validate_on_submit() and submit(form, run, _l("The case is registered."), field_map=CASE_FIELD_MAP):
        db.session.flush()
        return redirect(url_for("desk_ui.case", case_id=created["case"].id))
    if not form.is_submitted():
        form.received_on.data = form.received_on.data or date.today().isoformat()
    return render_template("desk/new.html", form=form, tenant=g.tenant, found=found, lookup=lookup,
                           lookup_message=lookup_message), \
        getattr(form, "error_status", None) or (422 if form.errors else 200)


def _actions_now(case) -> list[str]:
    """The actions the reader may take on the case now (the page shows only these)."""
    if not current_user.can("desk.handle"):
        return []
    owner = current_user.tenant_id == case.owner_tenant_id
    allowed = []
    if owner and case.status != "closed":
        allowed += ["assign", "reply"]
    if owner and case.status in ("open", "answered"):
        allowed += ["refer", "close"]
    if owner and case.status == "closed":
        allowed.append("reopen")
    if owner and RECORD_FIELDS[case.kind]:
        allowed.append("record")
    if owner:
        allowed.append("attach")
    if case.status == "referred" and case.referred and current_user.tenant_id == case.tenant_id:
        allowed.append("answer")
    return allowed


def _handler_choices(tenant_id: int) -> list[tuple[str, str]]:
    """The users of a union who handle desk cases (none when it lies outside the reader's subtree)."""
    users = db.session.scalars(select(User).where(User.tenant_id == tenant_id, User.active.is_(True))
                               .order_by(User.username)).all()
    return [(u.username, u.display_name or u.username) for u in users if u.can("desk.handle")]


def _record_rows(case) -> list[tuple[str, str, str]]:
    """The case's kind-specific record as ``(field, label, value for people)``: amounts in yuan with separators,
    yes or no, the outcome's name."""
    rows = []
    for name in RECORD_FIELDS[case.kind]:
        value = getattr(case, name)
        if value is None or value == "":
            shown = "—"
        elif name in ("legal_claimed", "legal_won"):
            shown = str(_l("%(amount)s yuan", amount=format_fen(value, grouped=True)))
        elif isinstance(value, bool):
            shown = gettext("Yes") if value else gettext("No")
        elif name == "legal_outcome":
            shown = str(LEGAL_OUTCOMES.get(value, value))
        else:
            shown = value.isoformat() if isinstance(value, date) else str(value)
        rows.append((name, str(RECORD_LABELS[name]), shown))
    return rows


def _case_page(case, form, status: int = 200):
    owner = db.session.scalar(select(Tenant).where(Tenant.id == case.owner_tenant_id))
    form.handler.choices = _handler_choices(case.owner_tenant_id)
    form.to.choices = [(t.code, f"{t.code} {t.name}") for t in _below(owner)] if owner else []
    row = queries.case_detail(case, current_user)
    events = [{**e, "moment": datetime.fromisoformat(e["at"])} for e in queries.history(case, current_user)]
    return render_template("desk/case.html", tenant=g.tenant, case=case, row=row, form=form,
                           record_rows=_record_rows(case), today=date.today().isoformat(),
                           events=events, allowed=_actions_now(case),
                           **_labels()), status


@bp.route("/desk/cases/<int:case_id>")
def case(case_id):
    require(current_user, "desk.read")
    return _case_page(queries.get_case(case_id, g.tenant), ActionForm())


@bp.route("/desk/cases/<int:case_id>/<action>", methods=["POST"])
def act(case_id, action):
    require(current_user, "desk.read")
    item = queries.get_case(case_id, g.tenant)
    if action not in ACTIONS or action == "register":
        abort(404)
    form = ActionForm()

    def text(name):
        return getattr(form, name).data or ""

    def run():
        if action == "assign":
            data = load_data(CaseAssignIn, {"handler": text("handler"), "note": text("note")})
            ops.assign(item, data["handler"], data["note"], actor=current_user)
        elif action == "refer":
            data = load_data(CaseReferIn, {"to": text("to"), "note": text("note")})
            ops.refer(item, get_tenant(data["to"]), data["note"], actor=current_user)
        elif action in ("answer", "reply"):
            data = load_data(CaseTextIn, {"text": text("text")})
            (ops.answer if action == "answer" else ops.reply)(item, data["text"], actor=current_user)
        elif action == "close":
            data = load_data(CaseCloseIn, {"result": text("result"), "note": text("note"),
                                       "satisfaction": text("satisfaction")})
            ops.close(item, data["result"], data["note"], data["satisfaction"], actor=current_user)
        elif action == "attach":
            data = load_data(CaseAttachmentIn, {"name": request.form.get("attachment_name", ""),
                                                "date": request.form.get("attachment_date", "")})
            ops.add_attachment(item, data, actor=current_user)
        elif action == "record":
            given = {name: request.form.get(name, "").strip() for name in RECORD_FIELDS[item.kind]}
            given = {name: value for name, value in given.items() if value}
            ops.update_record(item, load_data(CaseRecordIn, given), list(given), actor=current_user)
        else:
            data = load_data(CaseReopenIn, {"reason": text("reason")})
            ops.reopen(item, data["reason"], actor=current_user)

    if form.validate_on_submit() and submit(form, run, ACTIONS[action]):
        return redirect(url_for("desk_ui.case", case_id=item.id))
    db.session.expire_all()
    item = queries.get_case(case_id, g.tenant)
    return _case_page(item, form, getattr(form, "error_status", None) or 422)
