"""Service-desk cases (SPEC 7) and their history.

A case is *owned* by the union that registered it (``owner_tenant_id``: it assigns, refers, replies, closes
and reopens) and *held* by ``tenant_id``: the owner itself, or the union below it the case was last referred
down to. Holding it down the tree is what lets the child see it (its subtree holds the row) while the owner
and every union above keep seeing it (the child is in their subtrees), with row-level security as for any
tenant-owned row; a sibling of the child sees nothing. The case never moves up again: the child keeps
seeing the cases it answered.

The person's ID number and phone are encrypted like the archive's (``hardship.core.crypto``), bound to the
case's ``row_key``; the ID number also carries the archive's blind index, which links the case to the open
household the person heads or belongs to. Kind-specific records (legal aid, job referral, training) are
columns of the case itself (one row, held with it). Attachments are listed by name and date only.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from hardship.archives import keys
from hardship.core.crypto import new_row_key
from hardship.core.db import UTCDateTime, db, utcnow
from tenants.models import TenantOwned

KINDS = {"petition": _l("Petition"), "legal_aid": _l("Legal aid"), "job_referral": _l("Job referral"),
         "training": _l("Skills training")}
CHANNELS = {"letter": _l("Letter"), "call": _l("Phone call"), "visit": _l("Visit"), "online": _l("Online message"),
            "hotline": _l("12351 hotline")}
CATEGORIES = {"social_insurance": _l("Social insurance"), "unpaid_wages": _l("Unpaid wages"),
              "living_hardship": _l("Living hardship"), "medical_hardship": _l("Medical hardship"),
              "labour_dispute": _l("Labour dispute"), "other": _l("Other")}
STATUSES = {"open": _l("Being handled"), "referred": _l("Referred down, awaiting answer"),
            "answered": _l("Answered by the union below"), "closed": _l("Closed")}
RESULTS = {"resolved": _l("Resolved"), "partly_resolved": _l("Partly resolved"), "not_resolved": _l("Not resolved"),
           "referred_outside": _l("Referred to another body")}
SATISFACTION = {"satisfied": _l("Satisfied"), "basically_satisfied": _l("Basically satisfied"),
                "dissatisfied": _l("Dissatisfied")}
LEGAL_OUTCOMES = {"mediated": _l("Mediated"), "arbitration": _l("Arbitration"), "court": _l("Court"),
                  "withdrawn": _l("Withdrawn")}
#: the labels of the kind-specific records' fields
RECORD_LABELS = {
    "legal_lawyer": _l("Lawyer or law firm"), "legal_dispute_type": _l("Type of dispute"),
    "legal_claimed": _l("Amount claimed"), "legal_won": _l("Amount won"), "legal_outcome": _l("Outcome"),
    "job_employer": _l("Employer referred to"), "job_title": _l("Job"), "job_placed": _l("Placed"),
    "job_placed_on": _l("Placed on"), "training_course": _l("Course"), "training_hours": _l("Hours"),
    "training_completed": _l("Completed"), "training_certificate": _l("Certificate"),
}
#: what each history entry records
ACTIONS = {"register": _l("Registered"), "assign": _l("Assigned to a handler"), "refer": _l("Referred down"),
           "answer": _l("Answered by the union below"), "reply": _l("Reply to the person"),
           "close": _l("Closed"), "reopen": _l("Reopened"), "record": _l("Case record updated"),
           "attach": _l("Attachment listed")}


class Case(TenantOwned, db.Model):
    __tablename__ = "desk_cases"
    __table_args__ = (
        sa.Index("ix_desk_cases_owner_received", "owner_tenant_id", "received_on"),
        sa.Index("ix_desk_cases_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    #: what the row's encrypted values are bound to (``hardship.core.crypto``): random, set at insert
    row_key: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_row_key)
    kind: Mapped[str] = mapped_column(sa.String(16))
    channel: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(24))
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    person_name: Mapped[str] = mapped_column(sa.String(50))
    id_enc: Mapped[str | None] = mapped_column(sa.Text)
    id_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    phone_enc: Mapped[str | None] = mapped_column(sa.Text)
    enterprise: Mapped[str] = mapped_column(sa.String(100), default="")
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"))
    subject: Mapped[str] = mapped_column(sa.Text)
    received_on: Mapped[date] = mapped_column(sa.Date)
    deadline: Mapped[date] = mapped_column(sa.Date)
    handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    result: Mapped[str | None] = mapped_column(sa.String(24))
    satisfaction: Mapped[str | None] = mapped_column(sa.String(24))
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    #: ``[{"name", "date"}]``: attachments listed by name and date (the files themselves are kept elsewhere)
    attachments: Mapped[list] = mapped_column(sa.JSON, default=list)
    # legal aid (法律援助)
    legal_lawyer: Mapped[str | None] = mapped_column(sa.String(100))
    legal_dispute_type: Mapped[str | None] = mapped_column(sa.String(100))
    legal_claimed: Mapped[int | None] = mapped_column(sa.BigInteger)  # fen
    legal_won: Mapped[int | None] = mapped_column(sa.BigInteger)  # fen
    legal_outcome: Mapped[str | None] = mapped_column(sa.String(16))
    # job referral (职业介绍)
    job_employer: Mapped[str | None] = mapped_column(sa.String(100))
    job_title: Mapped[str | None] = mapped_column(sa.String(100))
    job_placed: Mapped[bool | None] = mapped_column()
    job_placed_on: Mapped[date | None] = mapped_column(sa.Date)
    # training (技能培训)
    training_course: Mapped[str | None] = mapped_column(sa.String(100))
    training_hours: Mapped[int | None] = mapped_column()
    training_completed: Mapped[bool | None] = mapped_column()
    training_certificate: Mapped[str | None] = mapped_column(sa.String(100))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def referred(self) -> bool:
        """Held by a union below its owner (referred down at least once)."""
        return self.tenant_id != self.owner_tenant_id

    def overdue(self, today: date | None = None) -> bool:
        return self.status != "closed" and self.deadline < (today or date.today())


class CaseEvent(TenantOwned, db.Model):
    """One entry of a case's history: who (and of which union), when, what, the note. Append-only; held by
    the union holding the case when it was written, so a union the case is referred to sees the history
    from its referral on."""

    __tablename__ = "desk_case_events"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("desk_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    username: Mapped[str | None] = mapped_column(sa.String(64))
    actor_tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"))
    action: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)


keys.ENCRYPTED_COLUMNS[Case] = {"id_enc": "desk_cases.id", "phone_enc": "desk_cases.phone"}
