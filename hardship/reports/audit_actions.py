"""What the audit log calls the reports' actions (see :mod:`hardship.audit.registry`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hardship.audit.registry import action, text

action("reports.export_form", _l("Report form downloaded"), form=text(_l("Form")), year=text(_l("Year")),
       month=text(_l("Month")))
