"""The audit log as a workbook: the same rows and words as the page, text written as text."""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from hardship import audit
from hardship.audit import queries
from hardship.audit.registry import joined, labelled
from hardship.core.db import db
from hardship.core.xlsx import Column, Workbook


def audit_export(tenant, filters: dict, user=None) -> tuple[bytes, str]:
    """The filtered log of ``tenant``'s subtree (at most ``EXPORT_LIMIT`` events) and its file name; the export
    is itself an audit event, in the caller's transaction."""
    rows = db.session.execute(queries.events_query(tenant, **filters).limit(queries.EXPORT_LIMIT)).all()
    with force_locale("zh_Hans_CN"):
        events = queries.readable(rows, tenant, user)
        content = _workbook(events)
    audit.record("audit.export", tenant, tenant, user=user,
                 detail={"rows": len(events), "filters": {k: str(v) for k, v in filters.items() if v}})
    return content, f"{tenant.code}-审计日志-{date.today():%Y%m%d}.xlsx"


def _workbook(events: list[dict]) -> bytes:
    book = Workbook()
    sheet = book.sheet(_("Audit log"), [Column(_("Time"), "datetime", 18), Column(_("Union"), "text", 18),
                                        Column(_("User"), "text", 14), Column(_("Action"), "text", 18),
                                        Column(_("Record"), "text", 24), Column(_("Detail"), "text", 80, wrap=True)])
    for e in events:
        record_ = " ".join(filter(None, [e["record_kind"], e["record_label"]]))
        details = joined(labelled(f["label"], f["value"]) for f in e["detail_fields"])
        sheet.append([e["at"], e["tenant_name"], e["username"] or "", e["action_label"], record_, details])
    return book.close()
