"""Filed reports (SPEC 6.4): a union files a report form for a period upward to its parent.

* A :class:`ReportFiling` is one version of one union's report of one form (``warmth``, ``center_annual``,
  ``monthly_funds``, ``relief_progress``, SPEC 6.3) for one period (``year``; ``month`` 1 to 12 for the monthly
  form, 0 for the annual forms). Its ``snapshot`` is the frozen :func:`hardship.reports.queries.summary` of the
  filing union for that period (the form's figures derive from it): it is written once and never changes when
  the records change later. Its ``sheet`` is the form itself as filed (its columns and rows, among them the
  figures other modules hold: the campaign's recipients, the desk's kinds, the ledger's monthly statement and
  goods flows, the prior year), frozen in the same way. Refiling writes a new version; all versions are kept. Only the status and the
  decision columns of the newest version change, when the parent accepts or returns it.
* A :class:`ReportFilingEvent` is one step of a filing's history (filed, accepted, returned with its reason):
  append-only, on PostgreSQL the runtime role may not update or delete it.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from hardship.core.db import UTCDateTime, db, utcnow
from tenants.models import TenantOwned

#: the report forms of SPEC 6.3 (their figures come from the frozen summary)
FORMS = {
    "warmth": _l("Warmth campaign statistics"),
    "center_annual": _l("Assistance centre annual statistics"),
    "monthly_funds": _l("Monthly funds and goods statement"),
    "relief_progress": _l("Relief progress"),
}
#: the forms filed per month; the others are filed per year
MONTHLY_FORMS = frozenset({"monthly_funds"})

#: a filing's status
FILING_STATUSES = {"filed": _l("Filed"), "accepted": _l("Accepted"), "returned": _l("Returned")}
#: a filing event's action
FILING_ACTIONS = {"file": _l("Filed"), "accept": _l("Accepted"), "return": _l("Returned")}


class ReportFiling(TenantOwned, db.Model):
    """One version of a union's filed report of one form and period."""

    __tablename__ = "report_filings"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "form", "year", "month", "version"),
        sa.CheckConstraint("month >= 0 AND month <= 12", name="month_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(sa.String(24))
    year: Mapped[int] = mapped_column(sa.Integer)
    #: 1 to 12 for a monthly form, 0 for an annual one
    month: Mapped[int] = mapped_column(sa.Integer, default=0)
    version: Mapped[int] = mapped_column(sa.Integer)
    #: ``filed`` | ``accepted`` | ``returned``
    status: Mapped[str] = mapped_column(sa.String(16), default="filed")
    #: the frozen summary of the filing union for the period (amounts in fen)
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    #: the form as filed, frozen with it: ``{"columns": [{"header", "kind", "width"}], "rows": [...]}``
    #: (:func:`hardship.reports.formsheets.frozen`); empty (NULL) on versions filed before forms were kept
    sheet: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)
    #: the due date in force when it was filed, and whether it was filed after it
    due_on: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    late: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    return_reason: Mapped[str] = mapped_column(sa.Text, default="")


class ReportFilingEvent(TenantOwned, db.Model):
    """One step of a filing's history; never changed or deleted."""

    __tablename__ = "report_filing_events"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    filing_id: Mapped[int] = mapped_column(sa.ForeignKey("report_filings.id"), index=True)
    #: ``file`` | ``accept`` | ``return``
    action: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportVersion(TenantOwned, db.Model):
    """How many times the records a union's own figures count have changed (SPEC 6.2).

    Written only by database triggers (migration ``report_figures``), in the transaction of the change itself:
    a change to a household or its history counts for the household's union, to an aid batch, its items or its
    program for the batch's union. The runtime role may only read it (``tenants/rls.py``).
    """

    __tablename__ = "report_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)


class ReportFigures(TenantOwned, db.Model):
    """One union's own figures (households and aid, amounts in fen) for one period, as counted when its
    :class:`ReportVersion` was ``version``: valid while the version is unchanged (``hardship.reports.figures``)."""

    __tablename__ = "report_figures"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "year", "month"),
        sa.CheckConstraint("month >= 0 AND month <= 12", name="month_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer)
    #: 1 to 12, or 0 for the whole year
    month: Mapped[int] = mapped_column(sa.Integer)
    version: Mapped[int] = mapped_column(sa.BigInteger)
    figures: Mapped[dict] = mapped_column(sa.JSON)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
