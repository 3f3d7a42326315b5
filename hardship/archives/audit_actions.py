"""What the audit log calls the archive's actions and records (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from types import SimpleNamespace

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hardship.archives import masking
from hardship.archives.masking import mask_name
from hardship.archives.models import CATEGORIES, FLOWS, REASONS, STATUSES, Household
from hardship.archives.operations import ACTIONS as TRANSITIONS
from hardship.archives.operations import FIELD_LABELS
from hardship.audit.registry import Detail, action, choice, count, fields_of, ids, money, record, text
from hardship.core.db import db
from tenants.scoping import subtree_filter


def _households(keys: list[str], viewer_code: str) -> dict:
    numbers = [int(k) for k in keys if k.isdigit()]
    rows = db.session.execute(select(Household.id, Household.head_name, Household.status)
                              .where(Household.id.in_(numbers), subtree_filter(Household))).all()
    return {str(i): (f"{mask_name(name)}（{STATUSES.get(status, status)}）",
                     url_for("archives_ui.household", tenant_code=viewer_code, household_id=i))
            for i, name, status in rows}


def _row_range(rows) -> str:
    first, last = (rows or [None, None])[0], (rows or [None, None])[-1]
    return str(_l("rows %(first)s to %(last)s", first=first, last=last))


record("Household", _l("Household"), _households)

_STATE = {"status": choice(_l("Status"), STATUSES), "income_per_capita": money(_l("Monthly income per person")),
          "last_survey_on": text(_l("Last home survey"))}
#: what a household's history calls the values its events record (``HouseholdEvent.changes``)
HISTORY_FIELDS = {
    "category": choice(_l("Category"), CATEGORIES), "reasons": choice(_l("Reasons"), REASONS),
    "income_per_capita": money(_l("Monthly income per person")), "members": count(_l("Members"), _l(" people")),
    "before": fields_of(_l("Before"), _STATE), "after": fields_of(_l("After"), _STATE),
    "survey": text(_l("Home survey number")), "publicity_days": count(_l("Publicity period"), _l(" days")),
    "publicity_ends_on": text(_l("Publicity ends on")), "year": text(_l("Year")),
    "objection": text(_l("Objection number")),
}
record("ImportUpload", _l("Imported file"))



def _masked(detail: dict, reader, tenant_id: int) -> dict:
    """A household event's details (a reason, an objection's text: free text that may quote an ID, card or mobile
    number) as the log's reader may see them: in full only for the clerks and approvers of the household's union
    (``masking.may_see_personal_data``), masked for everyone else (auditors, reviewers)."""
    holder = SimpleNamespace(tenant_id=tenant_id, archive_tenant_id=tenant_id)
    return masking.history(detail, masking.may_see_personal_data(reader, holder))


_STATUS = choice(_l("Status"), STATUSES)
_TRANSITION = {"from": choice(_l("From"), STATUSES), "to": choice(_l("To"), STATUSES), "reason": text(_l("Reason")),
               "year": text(_l("Year"))}
_FILTERS = fields_of(_l("Filters"), {
    "status": _STATUS, "q": text(_l("Search")), "child": text(_l("Union below")),
    "category": choice(_l("Category"), CATEGORIES), "reason": choice(_l("Reason"), REASONS),
    "main_reason": choice(_l("Main reason"), REASONS), "overdue": text(_l("Only overdue home surveys")),
    "as_of": text(_l("As of")), "flow": choice(_l("Change in the period"), FLOWS),
    "since": text(_l("Start of the period"))})
_SEEN = ids(_l("Households shown unmasked"), _l(" households"))

action("household.apply", _l("Application registered"), mask=_masked, **_TRANSITION)
action("household.survey", _l("Home survey recorded"), mask=_masked, **_TRANSITION)
action("household.objection", _l("Objection recorded"), mask=_masked, **_TRANSITION)
for _code, _label in TRANSITIONS.items():
    action(f"household.{_code}", _label, mask=_masked, **_TRANSITION)
action("household.edit", _l("Household corrected"), mask=_masked, **_TRANSITION,
       fields=choice(_l("Fields corrected"), FIELD_LABELS))
action("household.withdraw", _l("Application withdrawn"), mask=_masked, **_TRANSITION)
action("household.objection_upheld", _l("Objection upheld"), mask=_masked, **_TRANSITION)
action("household.objection_dismissed", _l("Objection dismissed"), mask=_masked, **_TRANSITION)
action("household.view_unmasked", _l("Personal data viewed unmasked"), households=_SEEN,
       count=count(_l("Households"), _l(" households")), where=choice(_l("Where"), {
           "list": _l("Archive list"), "detail": _l("Household page"), "history": _l("Household history")}))


def _field_paths(paths) -> str:
    """Personal fields by their paths (``head.id_number``, ``members.0.phone``, ``bank.card_number``), in words."""
    out = []
    for path in paths or []:
        parts = str(path).split(".")
        label = str(FIELD_LABELS.get(parts[-1], _l("Other")))
        if parts[0] == "head":
            label = f"{_l('Head of household')} {label}"
        elif parts[0] == "members" and len(parts) > 2 and parts[1].isdigit():
            label = str(_l("Member %(n)d", n=int(parts[1]) + 1)) + f" {label}"
        out.append(label)
    return "、".join(out) or "—"


action("household.unreadable", _l("Personal data could not be decrypted"),
       fields=Detail(_l("Fields"), _field_paths), households=ids(_l("Households"), _l(" households")), where=choice(_l("Where"), {
           "export": _l("Archive export")}))
action("household.export_unmasked", _l("Archive exported unmasked"), households=_SEEN,
       count=count(_l("Households unmasked"), _l(" households")), rows=count(_l("Rows"), _l(" rows")),
       filters=_FILTERS)
_FILE = {"file": text(_l("File")), "job": text(_l("Job"))}
action("household.import_upload", _l("Import file uploaded"), file=text(_l("File")),
       size=count(_l("Size"), _l(" bytes")), sha256=text(_l("SHA-256 checksum")))
action("household.import", _l("Households imported"), **_FILE,
       rows=Detail(_l("Rows"), _row_range), households=ids(_l("Households created"), _l(" households")))
action("household.import_finished", _l("Import finished"), **_FILE, rows=count(_l("Rows"), _l(" rows")),
       imported=count(_l("Imported"), _l(" households")),
       already_imported=count(_l("Already imported"), _l(" households")),
       rejected_rows=count(_l("Rows refused"), _l(" rows")))
