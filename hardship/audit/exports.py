"""The audit log as a workbook: the same rows and words as the page, text written as text."""

from __future__ import annotations

import io
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from hardship import audit
from hardship.audit import queries
from hardship.audit.registry import joined, labelled
from hardship.core.db import db


def audit_export(tenant, filters: dict, user=None) -> tuple[bytes, str]:
    """The filtered log of ``tenant``'s subtree (at most ``EXPORT_LIMIT`` events) and its file name; the export
    is itself an audit event, in the caller's transaction."""
    rows = db.session.execute(queries.events_query(tenant, **filters).limit(queries.EXPORT_LIMIT)).all()
    with force_locale("zh_Hans_CN"):
        events = queries.readable(rows, tenant)
        content = _workbook(events)
    audit.record("audit.export", tenant, tenant, user=user,
                 detail={"rows": len(events), "filters": {k: str(v) for k, v in filters.items() if v}})
    return content, f"{tenant.code}-审计日志-{date.today():%Y%m%d}.xlsx"


def _workbook(events: list[dict]) -> bytes:
    import xlsxwriter

    headers = [_("Time"), _("Union"), _("User"), _("Action"), _("Record"), _("Detail")]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(_("Audit log"))
    bold = book.add_format({"bold": True})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, headers, bold)
    for r, e in enumerate(events, start=1):
        sheet.write_datetime(r, 0, e["at"].astimezone(queries.CHINA).replace(tzinfo=None), when)
        record_ = " ".join(filter(None, [e["record_kind"], e["record_label"]]))
        details = joined(labelled(f["label"], f["value"]) for f in e["detail_fields"])
        for c, value in enumerate([e["tenant_name"], e["username"] or "", e["action_label"], record_, details], 1):
            sheet.write_string(r, c, value)
    sheet.set_column(0, 0, 20)
    sheet.set_column(1, 4, 18)
    sheet.set_column(5, 5, 80)
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
