"""What the audit log calls the service desk's actions and records (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.archives.masking import mask_name
from hardship.audit.registry import action, choice, count, ids, money, record, text
from hardship.core.db import db
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
    Case,
)
from tenants.scoping import subtree_filter


def _cases(keys: list[str], viewer_code: str) -> dict:
    numbers = [int(k) for k in keys if k.isdigit()]
    rows = db.session.execute(select(Case.id, Case.person_name, Case.kind)
                              .where(Case.id.in_(numbers), subtree_filter(Case))).all()
    return {str(i): (f"{KINDS.get(kind, kind)} #{i}（{mask_name(name)}）",
                     url_for("desk_ui.case", tenant_code=viewer_code, case_id=i))
            for i, name, kind in rows}


record("Case", _l("Service-desk case"), _cases)

_COMMON = {"kind": choice(_l("Kind of case"), KINDS), "status": choice(_l("Status"), STATUSES)}
action("desk.register", ACTIONS["register"], **_COMMON, channel=choice(_l("Channel"), CHANNELS),
       category=choice(_l("Category"), CATEGORIES), deadline=text(_l("Deadline")))
action("desk.assign", ACTIONS["assign"], **_COMMON, handler=text(_l("Handler")))
action("desk.refer", ACTIONS["refer"], **_COMMON, to=text(_l("Referred to")))
action("desk.answer", ACTIONS["answer"], **_COMMON)
action("desk.reply", ACTIONS["reply"], **_COMMON)
action("desk.close", ACTIONS["close"], **_COMMON, result=choice(_l("Result"), RESULTS),
       satisfaction=choice(_l("Satisfaction"), SATISFACTION))
action("desk.reopen", ACTIONS["reopen"], **_COMMON)
_RECORD = {name: text(label) for name, label in RECORD_LABELS.items()}
_RECORD.update(legal_claimed=money(RECORD_LABELS["legal_claimed"]), legal_won=money(RECORD_LABELS["legal_won"]),
               legal_outcome=choice(RECORD_LABELS["legal_outcome"], LEGAL_OUTCOMES))
action("desk.record", ACTIONS["record"], **_COMMON, **_RECORD)
action("desk.attach", ACTIONS["attach"], **_COMMON, attachment=text(_l("Attachment")))
action("desk.view_unmasked", _l("Service-desk person viewed unmasked"), cases=ids(_l("Cases"), _l(" cases")),
       where=choice(_l("Where"), {"detail": _l("Case page"), "list": _l("Case list")}))
action("desk.export", _l("Service-desk cases exported"), rows=count(_l("Rows"), _l(" rows")),
       unmasked=count(_l("Cases unmasked"), _l(" cases")))
