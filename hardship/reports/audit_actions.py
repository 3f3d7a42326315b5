"""What the audit log calls the reports' actions (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hardship.audit.registry import action, choice, record, text
from hardship.reports.models import FORMS

action("reports.export_form", _l("Report form downloaded"), form=text(_l("Form")), year=text(_l("Year")),
       month=text(_l("Month")))

record("ReportFiling", _l("Filed report"))

_FILING = {"form": choice(_l("Report form"), FORMS), "year": text(_l("Year")), "month": text(_l("Month")),
           "version": text(_l("Version"))}
action("reports.file", _l("Report filed"), **_FILING)
action("reports.accept", _l("Filed report accepted"), **_FILING)
action("reports.return", _l("Filed report returned"), **_FILING, reason=text(_l("Reason")))
