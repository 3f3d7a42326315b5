"""Service-desk API (SPEC 7, 8.3, appendix A): cases, their actions, queues, the export and the figures."""

from flask_login import current_user

from hardship.accounts.operations import require
from hardship.api import json_object, load_body, load_data, load_query, route
from hardship.core.downloads import xlsx_download
from hardship.desk import exports, queries
from hardship.desk import operations as ops
from hardship.desk.schemas import (
    CaseAssignIn,
    CaseAttachmentIn,
    CaseCloseIn,
    CaseFilters,
    CaseHistoryOut,
    CaseIn,
    CaseOut,
    CasePageOut,
    CaseQuery,
    CaseRecordIn,
    CaseReferIn,
    CaseReopenIn,
    CaseTextIn,
    DeskFiguresOut,
    DeskFiguresQuery,
    filters_of,
)
from tenants.scoping import get_tenant

_TAGS = ["desk"]
_STATE = {409: None}


def _case(case_id):
    case = queries.get_case(case_id)
    require(current_user, "desk.read")
    return case


@route("/cases", ["POST"], body=CaseIn, response=CaseOut, status=201, tags=_TAGS)
def create_case():
    """Register a case at your union's window (deadline from the ``desk_deadline_days`` settings unless given)."""
    clean = load_body(CaseIn)
    tenant = get_tenant(clean["tenant"])
    case = ops.register_case(tenant, clean, actor=current_user)
    return queries.case_detail(case, current_user), 201


@route("/cases", tags=_TAGS, query=CaseQuery, response=CasePageOut)
def list_cases():
    """One queue of a union (``mine``, ``open``, ``referred_to_us``, ``referred_by_us``, ``closed``), filtered by
    kind, channel, category, received date and union below; 50 a page, earliest deadline first."""
    args = load_query(CaseQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "desk.read")
    stmt = queries.queue_query(tenant, current_user, args["queue"], **filters_of(args))
    cases, total = queries.case_page(stmt, args["page"])
    return {"tenant": tenant.code, "queue": args["queue"], "page": args["page"], "per_page": queries.PER_PAGE,
            "total": total, "cases": queries.case_rows(cases, current_user, log_unmasked="list")}


@route("/cases/export.xlsx", tags=_TAGS, query=CaseFilters)
def export_cases():
    """One queue, filtered, as xlsx (Chinese headers, text as text); the person masked as on the pages."""
    args = load_query(CaseFilters)
    tenant = get_tenant(args["tenant"])
    require(current_user, "desk.read")
    stmt = queries.queue_query(tenant, current_user, args["queue"], **filters_of(args))
    return xlsx_download(*exports.cases_export(tenant, stmt, user=current_user))


@route("/cases/<int:case_id>", tags=_TAGS, response=CaseOut)
def get_case(case_id):
    """One case; the person masked unless you handle it (the union that registered it or holds it)."""
    case = _case(case_id)
    return queries.case_detail(case, current_user)


@route("/cases/<int:case_id>/history", tags=_TAGS, response=CaseHistoryOut)
def get_case_history(case_id):
    """Who did what when, with the notes (a union the case was referred to sees it from its referral on)."""
    case = _case(case_id)
    return {"case": case.id, "events": queries.history(case, current_user)}


@route("/cases/<int:case_id>/assign", ["POST"], body=CaseAssignIn, response=CaseOut, tags=_TAGS, responses=_STATE)
def assign_case(case_id):
    """Assign the case to a handler of the union that registered it."""
    case = _case(case_id)
    data = load_body(CaseAssignIn)
    ops.assign(case, data["handler"], data["note"], actor=current_user)
    return queries.case_detail(case, current_user)


@route("/cases/<int:case_id>/refer", ["POST"], body=CaseReferIn, response=CaseOut, tags=_TAGS, responses=_STATE)
def refer_case(case_id):
    """Refer the case down to a union below (a direct child or deeper); outside your subtree: 404."""
    case = _case(case_id)
    data = load_body(CaseReferIn)
    to = get_tenant(data["to"])
    ops.refer(case, to, data["note"], actor=current_user)
    return queries.case_detail(case, current_user)


@route("/cases/<int:case_id>/answer", ["POST"], body=CaseTextIn, response=CaseOut, tags=_TAGS, responses=_STATE)
def answer_case(case_id):
    """The answer of the union the case was referred to (nobody else may answer); the registering union decides."""
    case = _case(case_id)
    data = load_body(CaseTextIn)
    ops.answer(case, data["text"], actor=current_user)
    return queries.case_detail(case, current_user)


@route("/cases/<int:case_id>/reply", ["POST"], body=CaseTextIn, response=CaseOut, tags=_TAGS, responses=_STATE)
def reply_case(case_id):
    """A reply given to the person, kept in the case's history (by the union that registered it)."""
    case = _case(case_id)
    data = load_body(CaseTextIn)
    ops.reply(case, data["text"], actor=current_user)
    return queries.case_detail(case, current_user)


@route("/cases/<int:case_id>/close", ["POST"], body=CaseCloseIn, response=CaseOut, tags=_TAGS, responses=_STATE)
def close_case(case_id):
    """Close the case with a result, a note and the person's satisfaction when given (the registering union)."""
    case = _case(case_id)
    data = load_body(CaseCloseIn)
    ops.close(case, data["result"], data["note"], data["satisfaction"], actor=current_user)
    return queries.case_detail(case, current_user)


@route("/cases/<int:case_id>/reopen", ["POST"], body=CaseReopenIn, response=CaseOut, tags=_TAGS, responses=_STATE)
def reopen_case(case_id):
    """Reopen a closed case, with the reason."""
    case = _case(case_id)
    data = load_body(CaseReopenIn)
    ops.reopen(case, data["reason"], actor=current_user)
    return queries.case_detail(case, current_user)


@route("/cases/<int:case_id>/record", ["POST"], body=CaseRecordIn, response=CaseOut, tags=_TAGS)
def record_case(case_id):
    """The kind-specific record: legal aid (lawyer, dispute type, amounts claimed and won, outcome), job referral
    (employer, job, placed, date) or training (course, hours, completed, certificate); the fields given are set."""
    case = _case(case_id)
    raw = json_object()
    data = load_data(CaseRecordIn, raw)
    given = [name for name, value in raw.items() if value is not None and value != ""]
    ops.update_record(case, data, given, actor=current_user)
    return queries.case_detail(case, current_user)


@route("/cases/<int:case_id>/attachments", ["POST"], body=CaseAttachmentIn, response=CaseOut, status=201, tags=_TAGS)
def add_attachment(case_id):
    """List an attachment of the case by its name and date (the file itself is kept elsewhere)."""
    case = _case(case_id)
    data = load_body(CaseAttachmentIn)
    ops.add_attachment(case, data, actor=current_user)
    return queries.case_detail(case, current_user), 201


@route("/desk/figures", tags=_TAGS, query=DeskFiguresQuery, response=DeskFiguresOut)
def desk_figures():
    """The desk's figures of a union's subtree for the cases received in a year or month: received, closed, closure
    rate (closed / received), open and overdue open cases, by kind, channel and category, and for each child
    union rolled up over its subtree."""
    args = load_query(DeskFiguresQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "desk.read")
    return queries.figures(tenant, args["year"], args["month"])
