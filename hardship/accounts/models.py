"""Users of one tenant with roles; API bearer tokens stored hashed."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hardship.core.db import UTCDateTime, db, utcnow
from tenants.models import Tenant, TenantOwned


class User(TenantOwned, UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(50), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    #: comma-separated role keys, sorted (``admin,clerk``)
    roles_csv: Mapped[str] = mapped_column("roles", sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: part of the session cookie's user id; changing it ends every browser session of the user
    session_stamp: Mapped[str] = mapped_column(sa.String(16), default=lambda: secrets.token_hex(8))

    tenant: Mapped[Tenant] = relationship(lazy="joined")

    @property
    def roles(self) -> list[str]:
        return [r for r in self.roles_csv.split(",") if r]

    @roles.setter
    def roles(self, values) -> None:
        self.roles_csv = ",".join(sorted(set(values)))

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def capabilities(self) -> frozenset[str]:
        plugin = self.tenant.plugin
        return plugin.capabilities_for(self.roles) if plugin else frozenset()

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def get_id(self) -> str:
        return f"{self.id}:{self.session_stamp}"


class ApiToken(TenantOwned, db.Model):
    """A bearer token: only its SHA-256 is stored. It belongs to its user's union (``tenant_id``), so
    row-level security keeps another union's tokens out of reach; it is looked up by hash under the
    system scope when a request authenticates, before any other scope exists."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")
