"""The service desk's xlsx export (the API, the page and the command line write the same workbook): Chinese
headers and words, text as text, dates as dates (``hardship.core.xlsx``)."""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from hardship import audit
from hardship.core.db import db
from hardship.core.xlsx import Column, Workbook
from hardship.desk import queries
from hardship.desk.models import CATEGORIES, CHANNELS, KINDS, RESULTS, SATISFACTION, STATUSES


def cases_export(tenant, stmt, user=None) -> tuple[bytes, str]:
    """The cases of ``stmt`` (``queries.queue_query``, at most ``EXPORT_LIMIT``) as a workbook and its file name;
    the person masked per row as on the pages; the export is written to the audit log."""
    cases = db.session.scalars(stmt.order_by(queries.Case.received_on, queries.Case.id)
                               .limit(queries.EXPORT_LIMIT)).all()
    rows = queries.case_rows(cases, user)
    unmasked = sum(1 for c in cases if queries.may_see_personal_data(user, c))
    audit.record("desk.export", tenant, tenant, detail={"rows": len(rows), "unmasked": unmasked}, user=user)
    return cases_xlsx(rows), f"{tenant.code}-窗口案件.xlsx"


def _day(text: str | None):
    return date.fromisoformat(text) if text else None


def cases_xlsx(rows: list[dict]) -> bytes:
    with force_locale("zh_Hans_CN"):
        columns = [Column(_("Case number"), "integer", 8), Column(_("Registered by"), "text", 20),
                   Column(_("Held by"), "text", 20), Column(_("Kind of case"), "text", 10),
                   Column(_("Channel"), "text", 10), Column(_("Category"), "text", 12),
                   Column(_("Status"), "text", 14), Column(_("Name"), "text", 10),
                   Column(_("ID number"), "code", 20), Column(_("Phone"), "code", 14),
                   Column(_("Employer"), "text", 20), Column(_("Subject"), "text", 40, wrap=True),
                   Column(_("Received on"), "date", 12), Column(_("Deadline"), "date", 12),
                   Column(_("Overdue"), "text", 6), Column(_("Handler"), "text", 12),
                   Column(_("Result"), "text", 12), Column(_("Satisfaction"), "text", 10),
                   Column(_("Closed on"), "date", 12)]
        book = Workbook()
        sheet = book.sheet(_("Service-desk cases"), columns)
        for r in rows:
            sheet.append([r["id"], r["tenant_name"], r["held_by_name"], str(KINDS[r["kind"]]),
                          str(CHANNELS[r["channel"]]), str(CATEGORIES[r["category"]]), str(STATUSES[r["status"]]),
                          r["person"]["name"], r["person"]["id_number"] or "", r["person"]["phone"] or "",
                          r["person"]["enterprise"], r["subject"], _day(r["received_on"]), _day(r["deadline"]),
                          _("Yes") if r["overdue"] else _("No"), r["handler"] or "",
                          str(RESULTS[r["result"]]) if r["result"] else "",
                          str(SATISFACTION[r["satisfaction"]]) if r["satisfaction"] else "",
                          _day(r["closed_on"])])
        return book.close()
