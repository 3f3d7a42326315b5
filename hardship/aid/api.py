"""Aid campaigns API (SPEC 5, 8.3, appendix A): programs, batches and their items, approval, payment through
the ledger, receipts, and the payment files."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hardship.accounts.operations import require
from hardship.aid import exports, queries
from hardship.aid import operations as ops
from hardship.aid.schemas import (
    ActionIn,
    AidHistory,
    BatchIn,
    BatchList,
    BatchOut,
    BatchQuery,
    ItemOut,
    ItemReceiptIn,
    ItemsIn,
    ItemsUploadIn,
    PaidItemsOut,
    PaidItemsQuery,
    PayIn,
    ProgramIn,
    ProgramList,
    ProgramOut,
    ProgramQuery,
    ProgramTotals,
    ProgramUpdate,
    ProposeIn,
    ProposeOut,
    QueueQuery,
    RejectIn,
    UnassistedOut,
    UnassistedQuery,
    VisitIn,
    VisitOut,
)
from hardship.api import json_object, load_body, load_query, route
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from hardship.jobs.api import StartedJob
from tenants.scoping import get_tenant

TAGS = ["aid"]


def _body_tenant():
    """The union named by the body's ``tenant`` (404 outside the scope; 422 when the body names none)."""
    value = json_object().get("tenant")
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(fields={"tenant": [_l("Required.")]})
    return get_tenant(value)


@route("/programs", ["POST"], body=ProgramIn, response=ProgramOut, status=201, tags=TAGS)
def create_program():
    """Open a program (帮扶项目) of a union, filled with its type's defaults where the body is silent."""
    tenant = _body_tenant()
    require(current_user, "aid.prepare")
    data = load_body(ProgramIn)
    program = ops.create_program(tenant, data, actor=current_user)
    return queries.program_dict(program, tenant), 201


@route("/programs", tags=TAGS, query=ProgramQuery, response=ProgramList)
def list_programs():
    """The programs a union runs or takes part in (those of the unions above it)."""
    args = load_query(ProgramQuery)
    tenant = get_tenant(args["tenant"])
    return {"tenant": tenant.code, "programs": [queries.program_dict(p) for p in queries.programs_for(
        tenant, args.get("year"))]}


@route("/programs/<int:program_id>", tags=TAGS, response=ProgramOut)
def get_program(program_id):
    """One program with its standards."""
    return queries.program_dict(queries.get_program(program_id))


@route("/programs/<int:program_id>/totals", tags=TAGS, response=ProgramTotals)
def program_totals(program_id):
    """The program's totals by beneficiary kind, by union and by fund source, paid and received."""
    return queries.program_totals(queries.get_program(program_id))


@route("/programs/<int:program_id>", ["PATCH"], body=ProgramUpdate, response=ProgramOut, tags=TAGS)
def update_program(program_id):
    """Change a program (the fields sent)."""
    program = queries.get_program(program_id)
    require(current_user, "aid.prepare")
    data = load_body(ProgramUpdate, partial=True)
    return queries.program_dict(ops.update_program(program, data, actor=current_user))


@route("/programs/<int:program_id>/batches", ["POST"], body=BatchIn, response=BatchOut, status=201, tags=TAGS,
       responses={409: None})
def create_batch(program_id):
    """A batch (发放批次) of a union under the program, with its first items."""
    program = queries.get_program(program_id)
    tenant = _body_tenant()
    require(current_user, "aid.prepare")
    data = load_body(BatchIn)
    batch = ops.create_batch(program, tenant, data, actor=current_user)
    return queries.batch_dict(batch, program), 201


@route("/programs/<int:program_id>/batches", tags=TAGS, query=BatchQuery, response=BatchList)
def list_batches(program_id):
    """The program's batches you may see."""
    program = queries.get_program(program_id)
    args = load_query(BatchQuery)
    return {"batches": queries.batch_rows(queries.program_batches(program, args.get("status")))}


@route("/aid/queue", tags=TAGS, query=QueueQuery, response=BatchList)
def approval_queue():
    """The batches of a union's programs waiting for you: an approver's or a head's signature, or payment."""
    args = load_query(QueueQuery)
    tenant = get_tenant(args["tenant"])
    return {"batches": queries.queue(tenant, current_user)}


@route("/batches/<int:batch_id>", tags=TAGS, response=BatchOut)
def get_batch(batch_id):
    """A batch with its items (ID numbers and phones masked) and its history."""
    return queries.batch_dict(queries.get_batch(batch_id))


@route("/batches/<int:batch_id>/items", ["POST"], body=ItemsIn, response=BatchOut, status=201, tags=TAGS,
       responses={409: None})
def add_items(batch_id):
    """Add items to a draft or rejected batch; each is checked against the standards and for duplicate aid."""
    batch = queries.get_batch(batch_id)
    data = load_body(ItemsIn)
    ops.add_items(batch, data["items"], actor=current_user)
    return queries.batch_dict(batch), 201


@route("/batches/<int:batch_id>/items/<int:item_id>", ["DELETE"], tags=TAGS, status=204)
def remove_item(batch_id, item_id):
    """Remove an item from a draft or rejected batch (its person may be proposed again)."""
    batch = queries.get_batch(batch_id)
    item = queries.get_item(batch, item_id)
    ops.remove_item(batch, item, actor=current_user)
    return "", 204


@route("/batches/<int:batch_id>/propose", ["POST"], body=ProposeIn, response=ProposeOut, tags=TAGS)
def propose(batch_id):
    """Propose every archived household of the batch's union not yet proposed or paid in the program."""
    batch = queries.get_batch(batch_id)
    data = load_body(ProposeIn)
    added, skipped = ops.propose_eligible(batch, data, actor=current_user)
    return {"added": added, "skipped": skipped, "batch": queries.batch_dict(batch)}


def _step(batch_id, schema, operation):
    batch = queries.get_batch(batch_id)
    data = load_body(schema)
    operation(batch, data, actor=current_user)
    return queries.batch_dict(batch)


@route("/batches/<int:batch_id>/submit", ["POST"], body=ActionIn, response=BatchOut, tags=TAGS, responses={409: None})
def submit_batch(batch_id):
    """Submit for approval; refused while any item fails the program's rules."""
    return _step(batch_id, ActionIn, ops.submit_batch)


@route("/batches/<int:batch_id>/approve", ["POST"], body=ActionIn, response=BatchOut, tags=TAGS,
       responses={409: None})
def approve_batch(batch_id):
    """Approve (not the author); a batch with an item at or above the threshold also needs a head."""
    return _step(batch_id, ActionIn, ops.approve_batch)


@route("/batches/<int:batch_id>/reject", ["POST"], body=RejectIn, response=BatchOut, tags=TAGS, responses={409: None})
def reject_batch(batch_id):
    """Return a submitted batch to its union with a reason."""
    return _step(batch_id, RejectIn, ops.reject_batch)


@route("/batches/<int:batch_id>/pay", ["POST"], body=PayIn, response=BatchOut, tags=TAGS, responses={409: None})
def pay_batch(batch_id):
    """Pay an approved batch: one disbursement through the ledger, oldest fiscal year first among the program's
    sources (or the named ``lot``); 409 naming the shortfall, and nothing written, when the money is not there."""
    return _step(batch_id, PayIn, ops.pay_batch)


@route("/batches/<int:batch_id>/items/<int:item_id>/receipt", ["POST"], body=ItemReceiptIn, response=ItemOut,
       tags=TAGS, responses={409: None})
def confirm_receipt(batch_id, item_id):
    """The recipient signed for the item; the signer must be the recipient (不允许代签代领)."""
    batch = queries.get_batch(batch_id)
    item = queries.get_item(batch, item_id)
    data = load_body(ItemReceiptIn)
    return queries.item_dict(ops.confirm_receipt(batch, item, data, actor=current_user))


@route("/batches/<int:batch_id>/bank-file.xlsx", tags=TAGS)
def bank_file(batch_id):
    """The bank transfer file (ID and card numbers in clear; audited)."""
    return xlsx_download(*exports.bank_file(queries.get_batch(batch_id), actor=current_user))


@route("/batches/<int:batch_id>/signature-sheet.xlsx", tags=TAGS)
def signature_sheet(batch_id):
    """The signature sheet (签字表) of the items paid in person, with masked ID numbers."""
    return xlsx_download(*exports.signature_sheet(queries.get_batch(batch_id), actor=current_user))


@route("/households/<int:household_id>/aid", tags=TAGS, response=AidHistory)
def household_aid(household_id):
    """A household's aid history (cash items of every program, newest first)."""
    from hardship.archives.models import Household
    from tenants.scoping import get_owned

    household = get_owned(Household, household_id)
    require(current_user, "households.read")
    return {"household": household.id, "aid": queries.household_history(household)}


@route("/batches/<int:batch_id>/items/<int:item_id>/visits", ["POST"], body=VisitIn, response=VisitOut, status=201,
       tags=TAGS, responses={409: None})
def record_visit(batch_id, item_id):
    """A follow-up visit (回访) to a paid item's recipient; ``relieved``: relief (解困) on the household too."""
    batch = queries.get_batch(batch_id)
    item = queries.get_item(batch, item_id)
    data = load_body(VisitIn)
    visit = ops.record_visit(batch, item, data, actor=current_user)
    return {"id": visit.id, "item": item.id, "visited_on": visit.visited_on.isoformat(), "visitors": visit.visitors,
            "notes": visit.notes, "relieved": visit.relieved}, 201


@route("/aid/never-assisted", tags=TAGS, query=UnassistedQuery, response=UnassistedOut)
def never_assisted():
    """Archived households of a union's subtree that no paid aid of the year has reached (SPEC 3.4)."""
    args = load_query(UnassistedQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "households.read")
    return {"tenant": tenant.code, "year": args["year"], "households": queries.never_assisted(tenant, args["year"])[0]}


@route("/aid/paid-items", tags=TAGS, query=PaidItemsQuery, response=PaidItemsOut)
def paid_items():
    """The aid items behind the summary's aid figures (SPEC 6.1, drill-down): those paid in the period in a
    union's subtree, of one program type or of the batches that drew on one source, newest payment first, 50
    per page, with the totals the summary shows (``count``: person-times). Recipients by name only."""
    from hardship.accounts.operations import require_any

    args = load_query(PaidItemsQuery)
    tenant = get_tenant(args["tenant"])
    require_any(current_user, *queries.PAID_ITEMS_READERS)
    return queries.paid_items_text(queries.paid_items_page(tenant, args))


@route("/batches/<int:batch_id>/items/upload", ["POST"], form=ItemsUploadIn, response=StartedJob, status=202,
       tags=TAGS, responses={409: None})
def upload_items(batch_id):
    """Add items to a draft batch of your union from an xlsx or csv file (multipart ``file``; columns 受助类别,
    身份证号, 姓名, 电话, 原因, 金额), as a job: each row goes through the checks of ``POST .../items``; poll
    ``/jobs/{id}`` for the verdicts (``/jobs/{id}/output``: the verdicts workbook)."""
    from flask import request
    from flask_babel import get_locale

    from hardship.aid.upload import may_upload, start_items_upload
    from hardship.api import load_data
    from hardship.archives.importing import files

    batch = queries.get_batch(batch_id)
    may_upload(batch, current_user)
    data = load_data(ItemsUploadIn, {"file": request.files.get("file")})
    upload = data["file"]
    content = upload.stream.read(files.MAX_BYTES + 1)
    run = start_items_upload(batch, upload.filename or "", content, actor=current_user, locale=str(get_locale()))
    return {"job": run.id, "status": run.status}, 202
