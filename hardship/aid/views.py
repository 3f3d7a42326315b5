"""Aid pages of a union: its programs and a form to open one, a program's batches, a batch with its items,
history and the steps allowed now, and the approval queue. Thin: load through the API's schemas, call one
operation, render."""

from __future__ import annotations

from datetime import date

from flask import g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hardship.accounts.operations import require, require_any
from hardship.aid import exports, queries
from hardship.aid import operations as ops
from hardship.aid.forms import ItemForm, ItemsUploadForm, ProgramForm, StepForm
from hardship.aid.models import BATCH_STATUSES, EDITABLE, ITEM_STATUSES, KINDS, PROGRAM_TYPES
from hardship.aid.schemas import ActionIn, ItemReceiptIn, ItemsIn, PayIn, ProgramIn, ProposeIn, RejectIn
from hardship.api import load_data
from hardship.core.db import db
from hardship.core.downloads import xlsx_download
from hardship.funds.models import SOURCES
from hardship.funds.views import yuan, yuan_text
from hardship.web import submit, tenant_blueprint

bp = tenant_blueprint("aid_ui", __name__)

#: what the queue says a batch waits for
WAITING = {"approver": _l("Approver's approval"), "head": _l("Head's approval"), "pay": _l("Payment")}


@bp.app_template_global("aid_history")
def aid_history(household_id) -> list[dict]:
    """A household's aid, for its page in the archive (``aid/_household_aid.html``)."""
    from hardship.archives.models import Household
    from tenants.scoping import get_owned

    return [{**row, "amount_text": yuan(row["amount"]), "goods_value_text": yuan(row["goods_value"])}
            for row in queries.household_history(get_owned(Household, household_id))]


def _labels() -> dict:
    return {"types": PROGRAM_TYPES, "kinds": KINDS, "sources": SOURCES, "statuses": BATCH_STATUSES,
            "item_statuses": ITEM_STATUSES, "waiting": WAITING, "fen": yuan}


@bp.route("/aid/", methods=["GET", "POST"])
def index():
    """The programs the union runs or takes part in, and the form to open one."""
    form = ProgramForm()
    may_open = current_user.can("aid.prepare") and current_user.tenant_id == g.tenant.id
    if request.method == "POST":
        require(current_user, "aid.prepare")
        created = []

        def run():
            data = load_data(ProgramIn, form.data_for_schema(g.tenant.code))
            created.append(ops.create_program(g.tenant, data, actor=current_user))

        if form.validate_on_submit() and submit(form, run, _l("The program was opened.")):
            return redirect(url_for("aid_ui.program", program_id=created[0].id))
    elif not form.year.data:
        form.year.data = str(date.today().year)
    programs = [queries.program_dict(p) for p in queries.programs_for(g.tenant)]
    return render_template("aid/index.html", tenant=g.tenant, programs=programs, form=form, may_open=may_open,
                           **_labels()), getattr(form, "error_status", None) or (422 if form.errors else 200)


@bp.route("/aid/programs/<int:program_id>", methods=["GET", "POST"])
def program(program_id):
    """A program: its standards and batches; a union of its subtree starts a batch here."""
    found = queries.get_program(program_id)
    form = StepForm()
    may_prepare = current_user.can("aid.prepare") and g.tenant.path.startswith(found.tenant_path)
    if request.method == "POST":
        require(current_user, "aid.prepare")
        created = []

        def run():
            created.append(ops.create_batch(found, g.tenant, {"note": "", "items": []}, actor=current_user))

        if form.validate_on_submit() and submit(form, run, _l("The batch was created.")):
            return redirect(url_for("aid_ui.batch", batch_id=created[0].id))
    batches = queries.batch_rows(queries.program_batches(found))
    return render_template("aid/program.html", tenant=g.tenant, program=queries.program_dict(found), batches=batches,
                           totals=queries.program_totals(found), form=form, may_prepare=may_prepare, **_labels()), \
        getattr(form, "error_status", None) or 200


STEPS = {"submit": (ActionIn, ops.submit_batch, _l("The batch was submitted for approval.")),
         "approve": (ActionIn, ops.approve_batch, _l("Your approval was recorded.")),
         "reject": (RejectIn, ops.reject_batch, _l("The batch was returned with your reason.")),
         "pay": (PayIn, ops.pay_batch, _l("The batch was paid."))}


@bp.route("/aid/batches/<int:batch_id>", methods=["GET", "POST"])
def batch(batch_id):
    """A batch: its items (masked), its history, and the steps allowed now."""
    found = queries.get_batch(batch_id)
    program = ops.program_of(found)
    item_form = ItemForm(prefix="item", goods=queries.goods_choices(program) if found.status in EDITABLE else ())
    step_form = StepForm(prefix="step")
    status = 200
    if request.method == "POST":
        action = request.form.get("step-action") or request.form.get("item-action") or ""
        if action == "add":
            def add():
                ops.add_items(found, load_data(ItemsIn, item_form.data_for_schema())["items"], actor=current_user)

            if item_form.validate_on_submit() and submit(item_form, add, _l("The item was added."),
                                                         field_map=_ITEM_FIELDS):
                return redirect(url_for("aid_ui.batch", batch_id=found.id))
            status = getattr(item_form, "error_status", None) or 422
        elif action.startswith("remove:"):
            item = queries.get_item(found, action.split(":", 1)[1])
            if step_form.validate_on_submit() and submit(step_form, lambda: ops.remove_item(
                    found, item, actor=current_user), _l("The item was removed.")):
                return redirect(url_for("aid_ui.batch", batch_id=found.id))
            status = getattr(step_form, "error_status", None) or 422
        elif action.startswith("receive:"):
            item = queries.get_item(found, action.split(":", 1)[1])
            signer = request.form.get(f"signed_by-{item.id}", "")

            def receive():
                ops.confirm_receipt(found, item, load_data(ItemReceiptIn, {"signed_by": signer}), actor=current_user)

            if step_form.validate_on_submit() and submit(step_form, receive, _l("The receipt was recorded.")):
                return redirect(url_for("aid_ui.batch", batch_id=found.id))
            status = getattr(step_form, "error_status", None) or 422
        elif action == "propose":
            counted = []

            def propose():
                counted.append(ops.propose_eligible(found, load_data(ProposeIn, {}), actor=current_user))

            if step_form.validate_on_submit() and submit(step_form, propose, _Proposed(counted)):
                return redirect(url_for("aid_ui.batch", batch_id=found.id))
            status = getattr(step_form, "error_status", None) or 422
        elif action in STEPS:
            schema, operation, message = STEPS[action]
            body = {"reject": {"reason": step_form.reason.data or ""},
                    "pay": {"document_no": step_form.document_no.data or "", "date": step_form.date.data or ""}
                    }.get(action, {})

            def step():
                operation(found, load_data(schema, body), actor=current_user)

            if step_form.validate_on_submit() and submit(step_form, step, message):
                return redirect(url_for("aid_ui.batch", batch_id=found.id))
            status = getattr(step_form, "error_status", None) or 422
    return _batch_page(found, item_form, step_form, status)


def _batch_page(found, item_form, step_form, status: int = 200, upload_form=None):
    if not step_form.date.data:
        step_form.date.data = date.today().isoformat()
    data = queries.batch_dict(found)
    from hardship.aid.upload import upload_jobs

    return render_template("aid/batch.html", tenant=g.tenant, batch=data, item_form=item_form, step_form=step_form,
                           editable=found.status in EDITABLE, upload_form=upload_form or ItemsUploadForm(),
                           uploads=upload_jobs(found), visits=queries.batch_visits(found), **_labels()), status


@bp.route("/aid/batches/<int:batch_id>/upload", methods=["POST"])
def batch_upload(batch_id):
    """Upload items into a draft batch of the union (xlsx or csv): the job's page shows its verdicts."""
    from flask_babel import get_locale

    from hardship.aid.upload import may_upload, start_items_upload
    from hardship.archives.importing import files

    found = queries.get_batch(batch_id)
    may_upload(found, current_user)
    form = ItemsUploadForm()
    if form.validate_on_submit():
        def start():
            upload = form.file.data
            start_items_upload(found, upload.filename or "", upload.stream.read(files.MAX_BYTES + 1),
                               actor=current_user, locale=str(get_locale()))

        if submit(form, start, _l("The file was received; its items are added in the background.")):
            return redirect(url_for("aid_ui.batch", batch_id=found.id))
    status = getattr(form, "error_status", None) or 422
    return _batch_page(found, ItemForm(prefix="item"), StepForm(prefix="step"), status, upload_form=form)


class _Proposed:
    """The flashed message of "propose every eligible household", once the counts are known."""

    def __init__(self, counted: list):
        self.counted = counted

    def __str__(self) -> str:
        added, skipped = self.counted[0] if self.counted else (0, 0)
        return str(_l("%(added)s households proposed; %(skipped)s skipped (already proposed or paid in this "
                      "program, or not eligible).", added=added, skipped=skipped))


#: the API's item fields and the form's inputs
_ITEM_FIELDS = {"items.0.amount": "amount", "items.0.household": "household", "items.0.kind": "kind",
                "items.0.person.name": "name", "items.0.person.id_number": "id_number",
                "items.0.person.phone": "phone", "items.0.person.reason": "reason", "items.0.person": "name",
                "items.0.override_reason": "reason", "items.0.goods": "goods_item",
                "items.0.goods.item": "goods_item", "items.0.goods.quantity": "goods_quantity"}


@bp.route("/aid/queue")
def queue():
    """The batches of the union's programs waiting for you."""
    if not (current_user.can("aid.approve") or current_user.can("aid.pay")):
        require(current_user, "aid.approve")
    return render_template("aid/queue.html", tenant=g.tenant, batches=queries.queue(g.tenant, current_user),
                           **_labels())


@bp.route("/aid/never-assisted")
def never_assisted():
    """The archived households of the union's subtree that no paid aid of the year has reached (SPEC 3.4), a
    page of 50 at a time; the year is the current one unless ``?year=`` names another (2000 to next year)."""
    require(current_user, "households.read")
    this_year = date.today().year
    year = request.args.get("year", type=int) or this_year
    year = year if 2000 <= year <= this_year + 1 else this_year
    page = max(1, min(100000, request.args.get("page", 1, type=int)))
    rows, total = queries.never_assisted(g.tenant, year, page, NEVER_ASSISTED_PER_PAGE)
    pages = max(1, (total + NEVER_ASSISTED_PER_PAGE - 1) // NEVER_ASSISTED_PER_PAGE)
    return render_template("aid/never_assisted.html", tenant=g.tenant, rows=rows, total=total, year=year,
                           years=range(this_year + 1, this_year - 5, -1), page=page, pages=pages)


NEVER_ASSISTED_PER_PAGE = 50


@bp.route("/aid/paid")
def paid_items():
    """The aid items behind a figure of the summary or the dashboard (SPEC 6.1 drill-down): paid in the period
    in the union's subtree, of one program type or of the batches that drew on one source, with the figure's
    totals above them. The arguments go through the API's schema (``PaidItemsQuery``); a refused one is named
    beside its box and nothing is listed (422)."""
    from hardship.aid.schemas import PaidItemsQuery
    from hardship.core.errors import ValidationFailed

    require_any(current_user, *queries.PAID_ITEMS_READERS)
    given = {k: request.args.get(k, "") for k in ("year", "month", "program_type", "source", "page")}
    given["year"] = given["year"] or str(date.today().year)
    try:
        args = load_data(PaidItemsQuery, {**{k: v for k, v in given.items() if v}, "tenant": g.tenant.code})
    except ValidationFailed as exc:
        db.session.rollback()
        errors = {name: " ".join(str(m) for m in messages) for name, messages in exc.fields.items()}
        result, status = None, 422
    else:
        errors, status = {}, 200
        result = queries.paid_items_page(g.tenant, args)
        given.update(year=str(args["year"]), month=str(args["month"] or ""))  # "０１" is month 1
    query = {k: v for k, v in given.items() if v and k != "page"}
    return render_template("aid/paid.html", tenant=g.tenant, result=result, errors=errors, given=given, args=query,
                           may_open_batch=any(current_user.can(c) for c in ("aid.prepare", "aid.approve", "aid.pay")),
                           may_open_household=current_user.can("households.read"), yuan_text=yuan_text,
                           **_labels()), status


@bp.route("/aid/batches/<int:batch_id>/bank-file.xlsx")
def bank_file(batch_id):
    """The bank transfer file (audited: ID and card numbers in clear)."""
    return xlsx_download(*exports.bank_file(queries.get_batch(batch_id), actor=current_user))


@bp.route("/aid/batches/<int:batch_id>/signature-sheet.xlsx")
def signature_sheet(batch_id):
    """The signature sheet (签字表) with masked ID numbers."""
    return xlsx_download(*exports.signature_sheet(queries.get_batch(batch_id), actor=current_user))


@bp.route("/aid/batches/<int:batch_id>/signature-sheet")
def signature_print(batch_id):
    """The signature sheet as an A4 page to print (masked ID numbers, an empty cell to sign in)."""
    from hardship.archives.masking import mask_id

    found = queries.get_batch(batch_id)
    if not (current_user.can("aid.prepare") or current_user.can("aid.pay")):
        require(current_user, "aid.prepare")
    if found.status not in ("approved", "paid"):
        return redirect(url_for("aid_ui.batch", batch_id=found.id))
    program = ops.program_of(found)
    _bank, rows = queries.payment_rows(found)
    rows = [{**r, "id_number": mask_id(r["id_number"])} for r in rows]
    return render_template("aid/signature_sheet.html", tenant=g.tenant, batch=queries.batch_dict(found),
                           program=program, rows=rows, **_labels())
