"""Filing reports upward (SPEC 6.4), the reads: the periods and their due dates, the versions, the parent's board
and the figures built from the children's accepted reports (the changes, filing and deciding, are in
:mod:`hardship.reports.operations`).

Deadlines: ``monthly_funds`` of a month is due on the ``monthly_filing_day`` of the next month; the annual
forms of a year are due on the ``annual_filing_deadline`` (month and day) of the next year. Both are settings
read at the filing union, which inherits them from its parent like every setting: the parent sets its
children's deadlines on its own settings page. A version is late when it is filed (Asia/Shanghai
date) after the due date.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.accounts.operations import require_any  # noqa: F401 (the filing pages' check)
from hardship.aid.models import PROGRAM_TYPES
from hardship.archives.models import CATEGORIES, REASONS, STATUSES
from hardship.core.db import db, utcnow
from hardship.core.errors import NotFound, ValidationFailed
from hardship.core.money import format_fen
from hardship.funds.models import SOURCES
from hardship.reports import figures, formsheets, queries
from hardship.reports.models import (
    FILING_ACTIONS,
    FILING_STATUSES,
    FORMS,
    MONTHLY_FORMS,
    ReportFiling,
    ReportFilingEvent,
)
from tenants import settings as tenant_settings
from tenants.models import Tenant
from tenants.scoping import subtree_filter

#: what the board says of a child's report
BOARD_STATUSES = {"missing": _l("Missing"), "on_time": _l("Filed on time"), "late": _l("Filed late"),
                  "returned": _l("Returned"), "accepted": _l("Accepted"), "not_due": _l("Not yet due")}


def check_period(form: str, year: int, month: int | None) -> int:
    """The stored month (0 for an annual form), or 422 naming the field."""
    if form not in FORMS:
        raise ValidationFailed(fields={"form": [_l("Unknown report form.")]})
    if form in MONTHLY_FORMS:
        if month is None:
            raise ValidationFailed(fields={"month": [_l("A monthly report needs its month.")]})
        return month
    if month is not None:
        raise ValidationFailed(fields={"month": [_l("An annual report has no month.")]})
    return 0


def due_date(tenant: Tenant, form: str, year: int, month: int) -> date:
    """When ``tenant``'s report of ``form`` for the period is due (its effective, inherited settings)."""
    if form in MONTHLY_FORMS:
        day = int(tenant_settings.get(tenant, "monthly_filing_day"))
        return date(year + (month == 12), month % 12 + 1, day)
    deadline = tenant_settings.get(tenant, "annual_filing_deadline")
    return date(year + 1, int(deadline["month"]), int(deadline["day"]))


def versions(tenant: Tenant, form: str, year: int, month: int) -> list[ReportFiling]:
    return list(db.session.scalars(
        select(ReportFiling).where(ReportFiling.tenant_id == tenant.id, ReportFiling.form == form,
                                   ReportFiling.year == year, ReportFiling.month == month, subtree_filter(ReportFiling))
        .order_by(ReportFiling.version.desc())))


def history(filing: ReportFiling) -> list[dict]:
    """A filing's steps, oldest first, with who took them (the user's display name or username)."""
    from hardship.accounts.models import User

    rows = db.session.execute(
        select(ReportFilingEvent, User).outerjoin(User, User.id == ReportFilingEvent.user_id)
        .where(ReportFilingEvent.filing_id == filing.id, subtree_filter(ReportFilingEvent))
        .order_by(ReportFilingEvent.id)).all()
    return [{"action": event.action, "label": str(FILING_ACTIONS[event.action]), "reason": event.reason,
             "at": event.at, "by": (user.display_name or user.username) if user else ""} for event, user in rows]


#: the kinds of a form's money columns (their cells are fen)
MONEY_KINDS = frozenset({"wan", "yuan"})


def filed_form(filing: ReportFiling) -> tuple[list, list] | None:
    """The form of a filed version as it was filed: its columns and rows, frozen with it, never recomputed.

    A version filed before forms were kept with their filings has no ``sheet``: it returns None, and such a
    version shows only its frozen summary (its page says the form was not kept; its workbook is refused)
    rather than a form of today's records presented as the filed one."""
    return formsheets.thawed(filing.sheet) if filing.sheet else None


def filing_union(filing: ReportFiling) -> Tenant:
    return db.session.execute(select(Tenant).where(Tenant.id == filing.tenant_id)).scalar_one()


def filed_workbook(filing: ReportFiling) -> tuple[bytes, str]:
    """The workbook of a filed version, from its frozen form through the same code as the live form's."""
    form = filed_form(filing)
    if form is None:
        raise NotFound(_l("This version was filed before report forms were kept with their filings: only its "
                          "summary figures were frozen."))
    return formsheets.workbook(filing.form, filing_union(filing), filing.year, filing.month or None, *form,
                               version=filing.version)


def _sheet_out(form: tuple[list, list] | None) -> dict | None:
    """A frozen form in the API's shape: money cells as decimal strings of yuan."""
    if form is None:
        return None
    columns, rows = form
    kinds = ["code", "text", *(c.kind for c in columns)]
    return {"columns": [{"header": c.header, "kind": "money" if c.kind in MONEY_KINDS else c.kind} for c in columns],
            "rows": [[format_fen(v) if kind in MONEY_KINDS and v is not None else v
                      for v, kind in zip(row, kinds, strict=True)] for row in rows]}


def filing_dict(filing: ReportFiling, *, with_snapshot: bool = True) -> dict:
    out = {"id": filing.id, "form": filing.form, "form_label": str(FORMS[filing.form]), "year": filing.year,
           "month": filing.month or None, "version": filing.version, "status": filing.status,
           "status_label": str(FILING_STATUSES[filing.status]),
           "due_on": filing.due_on.isoformat() if filing.due_on else None, "late": filing.late,
           "filed_at": filing.filed_at.isoformat(), "decided_at": filing.decided_at.isoformat()
           if filing.decided_at else None, "return_reason": filing.return_reason}
    if with_snapshot:
        out["snapshot"] = queries.format_summary(filing.snapshot)
        out["sheet"] = _sheet_out(filed_form(filing))
    return out


def board(parent: Tenant, form: str, year: int, month: int | None, *, today: date | None = None) -> list[dict]:
    """For each direct child of ``parent``: the status of its report of ``form`` for the period."""
    stored_month = check_period(form, year, month)
    today = today or queries.shanghai_date(utcnow())
    rows = []
    for child in queries.children_of(parent):
        due = due_date(child, form, year, stored_month)
        found = versions(child, form, year, stored_month)
        newest = found[0] if found else None
        if newest is None:
            status = "missing" if today > due else "not_due"
        elif newest.status in ("accepted", "returned"):
            status = newest.status
        else:
            status = "late" if newest.late else "on_time"
        rows.append({"tenant": child.code, "name": child.name, "status": status,
                     "status_label": str(BOARD_STATUSES[status]), "due_on": due.isoformat(),
                     "filing_id": newest.id if newest else None, "version": newest.version if newest else None,
                     "late": bool(newest and newest.late),
                     "return_reason": newest.return_reason if newest else ""})
    return rows


def _flatten(section, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in section.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = value
    return out


_SECTIONS = ("households", "aid", "funds", "desk")
_LABELS = {
    "households": _l("Households"), "aid": _l("Aid"), "funds": _l("Funds"), "desk": _l("Service desk"),
    "by_status": None, "by_category": None, "by_reason": None, "by_type": None, "by_source": None,
    "total": _l("Total"), "stock": _l("Archived at the period's end"),
    "newly_archived": _l("Newly archived"), "relieved": _l("Relieved"), "exited": _l("Exited hardship"),
    "cancelled": _l("Cancelled"), "returned": _l("Returned to hardship"),
    "amount": _l("Amount"), "person_times": _l("Person-times"), "goods_value": _l("Goods value"),
    "received": _l("Received"), "allocated_in": _l("Allocated in"), "returned_in": _l("Returned in"),
    "allocated_out": _l("Allocated out"), "disbursed": _l("Disbursed"), "returned_out": _l("Returned out"),
    "balance": _l("Balance"), "warning": _l("In warning"), "overdue": _l("Overdue"),
    "closed": _l("Closed"), "open": _l("Open"),
}
_VALUE_LABELS = {"by_status": STATUSES, "by_category": CATEGORIES, "by_reason": REASONS,
                 "by_type": PROGRAM_TYPES, "by_source": SOURCES}


def figure_label(figure: str) -> str:
    """A figure's dotted name (``aid.by_type.living.amount``) in the reader's words (生活救助 · 金额)."""
    parts = figure.split(".")
    words, labels = [], None
    for index, part in enumerate(parts):
        if labels is not None:
            words.append(str(labels.get(part, part)))
            labels = None
            continue
        if part in _VALUE_LABELS:
            labels = _VALUE_LABELS[part]
            continue
        if part == "returned" and index and parts[0] == "funds":
            part = "returned_out"
        label = _LABELS.get(part)
        words.append(str(label) if label is not None else part)
    return gettext(" · ").join(words)


def is_money(figure: str) -> bool:
    return figure.startswith("funds.") or figure.endswith((".amount", ".goods_value"))


def build_from_children(parent: Tenant, form: str, year: int, month: int | None, *,
                        today: date | None = None) -> dict:
    """The parent's figures built from its own live records plus its children's accepted reports, beside the
    live summary; ``differs`` marks each figure where they disagree (ratios and distinct counts are not sums and
    are left out)."""
    stored_month = check_period(form, year, month)
    live = figures.summary(parent, year, month, today=today)
    built: dict[str, float] = {}
    for section in _SECTIONS:
        for key, value in _flatten(live["own"][section], section + ".").items():
            built[key] = value
    children = []
    for child_part in live["children"]:
        child = db.session.execute(select(Tenant).where(Tenant.code == child_part["tenant"])).scalar_one()
        accepted = [f for f in versions(child, form, year, stored_month) if f.status == "accepted"]
        children.append({"tenant": child.code, "name": child.name, "accepted": bool(accepted),
                         "version": accepted[0].version if accepted else None})
        if accepted:
            for section in _SECTIONS:
                for key, value in _flatten(accepted[0].snapshot[section], section + ".").items():
                    built[key] = built.get(key, 0) + value
    rows = []
    for section in _SECTIONS:
        for key, value in _flatten(live[section], section + ".").items():
            if key.endswith(("closure_rate", "ratio")) or key.endswith(".households"):
                continue
            rows.append({"figure": key, "label": figure_label(key), "money": is_money(key),
                         "built": built.get(key, 0), "live": value, "differs": built.get(key, 0) != value})
    return {"tenant": parent.code, "form": form, "year": year, "month": month, "children": children, "rows": rows}
