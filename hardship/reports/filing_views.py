"""The filing pages (SPEC 6.4), on the reports blueprint: a union's own filings (file this period, its versions),
the parent's board of its children (accept, return with a reason) and the figures built from the children's
accepted reports beside the live ones."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hardship.accounts.operations import require
from hardship.api import load_data
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from hardship.core.money import format_fen
from hardship.reports import filing, formsheets
from hardship.reports import operations as ops
from hardship.reports.api import export_filed_form
from hardship.reports.forms import DecisionForm, FileForm
from hardship.reports.models import FILING_STATUSES, FORMS, MONTHLY_FORMS, ReportFiling
from hardship.reports.schemas import DecisionIn, FilingPeriodIn
from hardship.reports.views import bp, yuan
from hardship.web import submit
from tenants.scoping import get_owned


def _period() -> tuple[dict, dict]:
    """The page's form and period loaded through the API's schema (the previous month's monthly report unless
    chosen); a refused choice is shown and that default is used instead."""
    today = date.today()
    last = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    chosen = request.args.get("form", "") or "monthly_funds"
    given = {"tenant": g.tenant.code, "form": chosen, "year": request.args.get("year", "") or str(last.year),
             "month": request.args.get("month", "") or (str(last.month) if chosen in MONTHLY_FORMS else "")}
    try:
        return load_data(FilingPeriodIn, given), {}
    except ValidationFailed as exc:
        errors = {name: [str(m) for m in messages] for name, messages in exc.fields.items()}
        return load_data(FilingPeriodIn, {"tenant": g.tenant.code, "form": "monthly_funds", "year": str(last.year),
                                          "month": str(last.month)}), errors


def _period_args(args: dict) -> dict:
    return {"form": args["form"], "year": args["year"], **({"month": args["month"]} if args["month"] else {})}


def _page(template: str, status: int = 200, **context):
    context.setdefault("statuses", FILING_STATUSES)
    return render_template(template, tenant=g.tenant, forms=FORMS, monthly=MONTHLY_FORMS, yuan=yuan,
                           **context), status


@bp.route("/reports/filings", methods=["GET", "POST"])
def filings():
    filing.require_any(current_user, "reports.file", "reports.decide", "stats.read")
    args, errors = _period()
    form = FileForm()
    if request.method == "POST":
        require(current_user, "reports.file")

        def run():
            data = load_data(FilingPeriodIn, form.data_for_schema(g.tenant.code))
            args.update(data)
            ops.file_report(g.tenant, data["form"], data["year"], data["month"], actor=current_user)

        if form.validate_on_submit() and submit(form, run, _l("The report is filed.")):
            return redirect(url_for("reports_ui.filings", **_period_args(args)))
    month = filing.check_period(args["form"], args["year"], args["month"])
    found = filing.versions(g.tenant, args["form"], args["year"], month)
    due = filing.due_date(g.tenant, args["form"], args["year"], month) if g.tenant.parent_id else None
    return _page("reports/filings.html", getattr(form, "error_status", None) or 200, args=args, errors=errors,
                 form=form, versions=found, due=due, can_file=current_user.can("reports.file") and g.tenant.parent_id
                 and (not found or found[0].status != "accepted"))


@bp.route("/reports/filings/board", methods=["GET"])
def filing_board():
    filing.require_any(current_user, "reports.decide", "stats.read")
    args, errors = _period()
    rows = filing.board(g.tenant, args["form"], args["year"], args["month"])
    return _page("reports/board.html", args=args, errors=errors, rows=rows, form=DecisionForm(),
                 can_decide=current_user.can("reports.decide") and current_user.tenant_id == g.tenant.id,
                 statuses=filing.BOARD_STATUSES)


def cell_text(value, kind: str) -> str:
    """A cell of a filed form for the page: money (fen) in the form's unit, a rate with %, counts grouped."""
    if value is None or value == "":
        return ""
    if kind == "wan":
        return f"{value / 1_000_000:,.4f}"
    if kind == "yuan":
        return format_fen(value, grouped=True)
    if kind == "percent":
        return f"{value:.2f}%"
    return f"{value:,}" if isinstance(value, int) else str(value)


@bp.route("/reports/filings/<int:filing_id>", methods=["GET"])
def filing_page(filing_id):
    """A filed version: its frozen summary, its form as filed (none on versions filed before forms were kept,
    see :func:`hardship.reports.filing.filed_form`) and its history."""
    filing.require_any(current_user, "reports.file", "reports.decide", "stats.read")
    found = get_owned(ReportFiling, filing_id, g.tenant)
    return _page("reports/filing.html", filing=found, snapshot=found.snapshot, sheet=filing.filed_form(found),
                 unit=formsheets.FORMS[found.form].unit, cell_text=cell_text, history=filing.history(found))


@bp.route("/reports/filings/<int:filing_id>.xlsx", methods=["GET"])
def filed_form(filing_id):
    """A filed version's form as filed (its frozen rows); the request commits its audit entry."""
    filing.require_any(current_user, "reports.file", "reports.decide", "stats.read")
    found = get_owned(ReportFiling, filing_id, g.tenant)
    return xlsx_download(*export_filed_form(found, current_user))


@bp.route("/reports/filings/<int:filing_id>/decision", methods=["POST"])
def decide(filing_id):
    require(current_user, "reports.decide")
    found = get_owned(ReportFiling, filing_id, g.tenant)
    form = DecisionForm()
    back = {"form": found.form, "year": found.year, **({"month": found.month} if found.month else {})}

    def run():
        data = load_data(DecisionIn, form.data_for_schema())
        ops.decide(found, data["action"], data["reason"], actor=current_user)

    done = _l("Accepted.") if form.action.data == "accept" else _l("Returned.")
    if not form.validate_on_submit():
        abort(400)
    if not submit(form, run, done):
        for message in (*form.action.errors, *form.reason.errors):
            flash(str(message), "error")
    return redirect(url_for("reports_ui.filing_board", **back))


@bp.route("/reports/filings/built")
def built():
    filing.require_any(current_user, "reports.decide", "stats.read")
    args, errors = _period()
    result = filing.build_from_children(g.tenant, args["form"], args["year"], args["month"])
    return _page("reports/built.html", args=args, errors=errors, result=result)
