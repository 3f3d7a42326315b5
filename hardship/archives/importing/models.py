"""An uploaded file waiting for (or read by) its import job."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hardship.core.db import UTCDateTime, db, utcnow
from tenants.models import TenantOwned


class ImportUpload(TenantOwned, db.Model):
    """The file of one import, stored for the worker, which reads it by id.

    The content holds personal data in clear in the file's own format, so it is stored encrypted
    (``hardship.core.crypto.encrypt_bytes``) and dropped (``content_enc`` set to NULL) as soon as
    its job has finished with it; the name, size and SHA-256 stay as the record of what was
    imported. ``tenant_id`` is the importing union, ``locale`` the language of the verdicts.
    """

    __tablename__ = "import_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    locale: Mapped[str] = mapped_column(sa.String(16))
    content_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
