"""What the audit log calls its own actions (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hardship.audit.registry import Detail, action, count, joined, labelled


def _filters(values) -> str:
    return joined(labelled(FILTER_LABELS.get(k, _l("Other")), v) for k, v in (values or {}).items()) or "—"


FILTER_LABELS = {"action": _l("Action"), "user": _l("User"), "union": _l("Union"), "date_from": _l("From"),
                 "date_to": _l("To"), "record_type": _l("Record kind"), "record_id": _l("Record number")}

action("audit.export", _l("Audit log exported"), rows=count(_l("Rows"), _l(" rows")),
       filters=Detail(_l("Filters"), _filters))
