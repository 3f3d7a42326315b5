"""Households, their people, surveys, objections, relief events and the history of every change.

A household belongs (``tenant_id``) to the union of the head's employer (an enterprise union,
or the county itself when it registered a worker with no enterprise union). The county-level
union that keeps the archive is ``archive_tenant_id``: the nearest ancestor-or-self whose level
plugin says ``keeps_archive``.

Personal data (ID numbers, phones, card numbers, addresses) is stored encrypted
(``*_enc`` columns, see ``hardship.core.crypto``), bound to the row by its ``row_key`` (random, set at
insert, never changed); ID numbers also carry an HMAC blind index.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hardship.core.crypto import new_row_key
from hardship.core.db import UTCDateTime, db, utcnow
from tenants.models import TenantOwned

STATUSES = {
    "applied": _l("Applied"),
    "surveyed": _l("Surveyed"),
    "publicizing": _l("In publicity"),
    "archived": _l("Archived"),
    "exited": _l("Exited hardship"),
    "cancelled": _l("Cancelled"),
    "rejected": _l("Rejected"),
}
#: statuses in which the household no longer holds its people (SPEC 3.5)
CLOSED = frozenset({"exited", "cancelled", "rejected"})

CATEGORIES = {"deep": _l("Deep hardship"), "relative": _l("Relative hardship"), "accident": _l("Hardship by accident")}
#: what a household's history entry did, as the statistics count it in a period (SPEC 6.1; the rule is
#: ``archives.queries.flow_of``)
FLOWS = {"newly_archived": _l("Newly archived"), "relieved": _l("Relieved"), "exited": _l("Exited hardship"),
         "cancelled": _l("Cancelled"), "returned": _l("Returned to hardship")}
REASONS = {
    "illness": _l("Illness"), "disability": _l("Disability"), "education": _l("Education costs"),
    "disaster": _l("Disaster"), "accident": _l("Accident"), "unemployment": _l("Laid off / unemployed"),
    "low_income": _l("Low income"), "single_parent": _l("Single parent"), "other": _l("Other"),
}
SUBSISTENCE = {"none": _l("None"), "dibao": _l("Minimum subsistence (dibao)"), "edge": _l("Dibao edge household"),
               "tekun": _l("Extreme poverty support")}
INSURANCE = {"employee": _l("Employee medical insurance"), "resident": _l("Resident medical insurance"),
             "none": _l("Not insured")}
RELATIONS = {"spouse": _l("Spouse"), "child": _l("Child"), "parent": _l("Father or mother"), "sibling": _l("Sibling"),
             "grandchild": _l("Grandchild"), "grandparent": _l("Grandparent"), "other": _l("Other relative")}
GENDERS = {"male": _l("Male"), "female": _l("Female")}
CANCEL_REASONS = {"death": _l("Death"), "retirement": _l("Retirement"), "moved": _l("Moved away"),
                  "ineligible": _l("Ineligible (withdrawn from the archive)")}


class Household(TenantOwned, db.Model):
    __tablename__ = "households"
    __table_args__ = (
        sa.Index("ix_households_tenant_status", "tenant_id", "status"),
        sa.Index("ix_households_archive_status", "archive_tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    archive_tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    #: what the row's encrypted values are bound to (``hardship.core.crypto``): random, set at insert
    row_key: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_row_key)
    status: Mapped[str] = mapped_column(sa.String(16), default="applied")
    episode: Mapped[int] = mapped_column(default=1)
    category: Mapped[str] = mapped_column(sa.String(16))
    primary_reason: Mapped[str] = mapped_column(sa.String(16))
    secondary_reasons: Mapped[list] = mapped_column(sa.JSON, default=list)
    income_per_capita: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # fen per month
    subsistence: Mapped[str] = mapped_column(sa.String(16), default="none")
    medical_insurance: Mapped[str] = mapped_column(sa.String(16), default="employee")
    address_enc: Mapped[str | None] = mapped_column(sa.Text)
    bank_name: Mapped[str | None] = mapped_column(sa.String(50))
    card_enc: Mapped[str | None] = mapped_column(sa.Text)
    card_luhn_ok: Mapped[bool] = mapped_column(default=True)
    needs: Mapped[str] = mapped_column(sa.Text, default="")
    cadre_first: Mapped[str] = mapped_column(sa.String(50), default="")
    cadre_second: Mapped[str] = mapped_column(sa.String(50), default="")
    head_name: Mapped[str] = mapped_column(sa.String(50), index=True)
    applied_on: Mapped[date] = mapped_column(sa.Date)
    publicity_ends_on: Mapped[date | None] = mapped_column(sa.Date)
    archived_on: Mapped[date | None] = mapped_column(sa.Date)
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    close_reason: Mapped[str | None] = mapped_column(sa.String(200))
    last_survey_on: Mapped[date | None] = mapped_column(sa.Date)
    import_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    people: Mapped[list[Person]] = relationship(back_populates="household", order_by="Person.id",
                                                cascade="all, delete-orphan")

    @property
    def head(self) -> Person | None:
        return next((p for p in self.people if p.role == "head"), None)

    @property
    def members(self) -> list[Person]:
        return [p for p in self.people if p.role == "member"]


class Person(TenantOwned, db.Model):
    """The head or a member of a household. ``active`` is true while the household is not closed;
    the partial unique index on the blind index is the one-person-one-archive rule (SPEC 3.5)."""

    __tablename__ = "household_persons"
    __table_args__ = (
        sa.Index("uq_household_persons_active_id_index", "id_index", unique=True,
                 sqlite_where=sa.text("active"), postgresql_where=sa.text("active")),
        sa.Index("ix_household_persons_id_index", "id_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(8))  # head | member
    name: Mapped[str] = mapped_column(sa.String(50), index=True)
    #: what the row's encrypted values are bound to (``hardship.core.crypto``): random, set at insert
    row_key: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_row_key)
    id_enc: Mapped[str] = mapped_column(sa.Text)
    id_index: Mapped[str] = mapped_column(sa.String(64))
    gender: Mapped[str] = mapped_column(sa.String(8))
    birth_date: Mapped[date] = mapped_column(sa.Date)
    phone_enc: Mapped[str | None] = mapped_column(sa.Text)
    relation: Mapped[str] = mapped_column(sa.String(16), default="self")
    health: Mapped[str] = mapped_column(sa.String(100), default="")
    occupation: Mapped[str] = mapped_column(sa.String(100), default="")  # school / work status
    income: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # fen per month
    job: Mapped[str] = mapped_column(sa.String(100), default="")
    union_member: Mapped[bool] = mapped_column(default=True)
    model_worker: Mapped[bool] = mapped_column(default=False)
    model_worker_grade: Mapped[str] = mapped_column(sa.String(50), default="")
    migrant_worker: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    household: Mapped[Household] = relationship(back_populates="people")


class Survey(TenantOwned, db.Model):
    """A home survey (入户调查)."""

    __tablename__ = "household_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    visited_on: Mapped[date] = mapped_column(sa.Date)
    visitors: Mapped[list] = mapped_column(sa.JSON)
    findings: Mapped[str] = mapped_column(sa.Text)
    income_per_capita: Mapped[int] = mapped_column(sa.BigInteger)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Objection(TenantOwned, db.Model):
    """An objection raised during publicity (公示异议)."""

    __tablename__ = "household_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    episode: Mapped[int] = mapped_column()
    raised_on: Mapped[date] = mapped_column(sa.Date)
    text: Mapped[str] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: ``upheld`` or ``dismissed`` once resolved (``operations.resolve_objection``), with its reason
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    resolved_on: Mapped[date | None] = mapped_column(sa.Date)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Relief(TenantOwned, db.Model):
    """Relief (解困) recorded against an archived household in a year: an event, not a status."""

    __tablename__ = "household_reliefs"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    relieved_on: Mapped[date] = mapped_column(sa.Date)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class HouseholdEvent(TenantOwned, db.Model):
    """One entry of a household's history: who, when, what, why, status and values before and after.
    Append-only; personal-data values appear here only encrypted."""

    __tablename__ = "household_events"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    username: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(32))
    episode: Mapped[int] = mapped_column()
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str | None] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
