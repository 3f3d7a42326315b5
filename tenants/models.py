"""The union tree.

Each row stores its materialised path of codes (``/P01/C01/K0101/``), so "everything
under X" is the index range ``X.path <= path < X.path || '~'``, never recursion. (A range and not
``LIKE``: comparison operators are leakproof, so PostgreSQL still uses the index under row-level
security, which it cannot do for ``LIKE``.)
Codes are immutable and limited to ``A-Z 0-9 -`` so they are safe inside a LIKE pattern.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from hardship.core.db import UTCDateTime, db, utcnow


class TenantOwned:
    """Mixin for every row that belongs to one tenant.

    Rows of these classes are filtered by the ORM safety net (``tenants.scoping``) and, on
    PostgreSQL, by the row-level security policy ``tenant_subtree`` written in their migration
    (see the baseline migration; a new tenant-owned table's migration writes its own).
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(sa.ForeignKey("tenants.id"), index=True, nullable=False)


class Tenant(db.Model):
    __tablename__ = "tenants"
    __table_args__ = (sa.Index("ix_tenants_path_c", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[str] = mapped_column(sa.String(32))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    division_code: Mapped[str | None] = mapped_column(sa.String(6))
    #: byte-ordered ("C" collation on PostgreSQL; SQLite compares bytes anyway), so that the subtree
    #: is the index range ``path >= X.path AND path < X.path || '~'`` (codes sort below '~')
    path: Mapped[str] = mapped_column(sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql"))
    depth: Mapped[int] = mapped_column(sa.SmallInteger)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Tenant | None] = relationship(remote_side=[id], lazy="raise")

    def __repr__(self) -> str:
        return f"<Tenant {self.code}>"

    @property
    def ancestor_codes(self) -> list[str]:
        """Codes from the root down to the parent."""
        return self.path.strip("/").split("/")[:-1]

    def contains(self, other: Tenant) -> bool:
        return other.path.startswith(self.path)

    @property
    def plugin(self):
        from tenants.levels import registry

        return registry.get(self.level)


class TenantTreeVersion(db.Model):
    """The tree's version on PostgreSQL: one row, set to a new number by a trigger on every change to
    ``tenants``, by which each connection knows when the subtree ids it keeps for row-level security are
    out of date (``hardship_scope_ids()``, see the baseline migration). Unused on SQLite; the application
    never writes it."""

    __tablename__ = "tenant_tree_version"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger)


class TenantSetting(TenantOwned, db.Model):
    """One explicit override of a setting at one tenant; absent keys are inherited."""

    __tablename__ = "tenant_settings"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[object] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
