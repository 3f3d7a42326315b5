"""The fast path of the summary (SPEC 6.2): the same result as :func:`hardship.reports.queries.summary` (the
oracle), read from figures kept per union and period.

Interface only in this commit: it still answers with the oracle. The kept figures come next.
"""

from __future__ import annotations

from datetime import date

from hardship.reports import queries
from tenants.models import Tenant


def summary(tenant: Tenant, year: int, month: int | None = None, *, today: date | None = None) -> dict:
    """The consolidated figures of ``tenant``'s subtree, as :func:`hardship.reports.queries.summary` returns
    them (``exact`` False when they come from the kept figures)."""
    return queries.summary(tenant, year, month, today=today)
