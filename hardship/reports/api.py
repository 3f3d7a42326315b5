"""Reports API (SPEC 6.1, appendix A): the consolidated summary of a union's subtree."""

from flask_login import current_user

from hardship.accounts.operations import require
from hardship.api import load_query, route
from hardship.reports import queries
from hardship.reports.schemas import SummaryOut, SummaryQuery
from tenants.scoping import get_tenant

_TAGS = ["reports"]


@route("/reports/summary", tags=_TAGS, query=SummaryQuery, response=SummaryOut)
def report_summary():
    """The consolidated figures of a union's whole subtree for a year or a month (households by status, category
    and reason, the period's flows, aid by program type and source, funds, matching, desk), with the union's own
    records and each direct child's subtree beside them. Computed directly from the base records (``exact=1``,
    for now the only path: the precomputed fast path comes later and will equal it). A union outside your
    subtree: 404."""
    args = load_query(SummaryQuery)
    tenant = get_tenant(args["tenant"])
    require(current_user, "stats.read")
    return queries.format_summary(queries.summary(tenant, args["year"], args["month"]))
