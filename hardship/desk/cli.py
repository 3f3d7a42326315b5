"""The service desk on the command line: ``flask --app wsgi hardship desk ...``.

* ``figures`` prints a union's figures for a year or month (as ``GET /api/v1/desk/figures``), or as JSON;
* ``export`` writes one queue of a union, filtered, as the same xlsx as the API (recorded in the audit log).

``--user`` reads as that user (their union's scope and roles, the person masked as they would see it);
without it, the server operator reads every union. Exit status 2 with ``error: ...`` naming each refused
option and its problem.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from hardship.core.db import db

# the command line's shared ways with ``--user``, options and exports, as the ledger's commands have them
from hardship.funds.cli import _acting, _command_line_account, _export, _load

desk_cli = AppGroup("desk", help="The service desk: figures and exports of cases.")


@desk_cli.command("figures")
@click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. C01.")
@click.option("--year", help="Cases received in this year.")
@click.option("--month", help="Only this month of the year (1 to 12).")
@click.option("--user", "username", help="Read as this user (their scope and roles).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as the API's JSON.")
def figures_command(tenant_code, year, month, username, as_json):
    """Received, closed, closure rate, open and overdue cases, and each child union's."""
    from hardship.accounts.operations import require
    from hardship.desk import queries
    from hardship.desk.schemas import DeskFiguresOut, DeskFiguresQuery
    from tenants.scoping import get_tenant

    with _acting(username) as user:
        args = _load(DeskFiguresQuery, tenant=tenant_code, year=year, month=month)
        tenant = get_tenant(args["tenant"])
        require(user, "desk.read")
        result = queries.figures(tenant, args["year"], args["month"])
        name = tenant.name  # read before the rollback expires it (outside the scope it would not load again)
        db.session.rollback()
    if as_json:
        click.echo(json.dumps(DeskFiguresOut().dump(result), ensure_ascii=False, indent=2))
        return
    for row in [{"tenant": result["tenant"], "name": name, **result}, *result["children"]]:
        click.echo(f"{row['tenant']}\t{row['name']}\treceived {row['received']}\tclosed {row['closed']}\t"
                   f"closure rate {row['closure_rate'] * 100:.1f}%\topen {row['open']}\toverdue {row['overdue_open']}")


@desk_cli.command("export")
@click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. K0101.")
@click.option("--queue", default="open", help="mine, open, referred_to_us, referred_by_us or closed.")
@click.option("--kind", help="petition, legal_aid, job_referral or training.")
@click.option("--channel", help="letter, call, visit, online or hotline.")
@click.option("--category", help="social_insurance, unpaid_wages, living_hardship, medical_hardship, ...")
@click.option("--from", "date_from", help="Received on or after this day (2026-01-01).")
@click.option("--to", "date_to", help="Received on or before this day.")
@click.option("--child", help="Only cases registered below this union.")
@click.option("--user", "username", help="Export as this user (their scope, roles and masking).")
@click.option("--xlsx", "xlsx_path", required=True, type=click.Path(dir_okay=False), help="The file to write.")
def export_command(tenant_code, queue, kind, channel, category, date_from, date_to, child, username, xlsx_path):
    """One queue of a union as xlsx (as GET /api/v1/cases/export.xlsx)."""
    from hardship.accounts.operations import require
    from hardship.desk import exports, queries
    from hardship.desk.schemas import CaseFilters, filters_of
    from tenants.scoping import get_tenant

    with _acting(username) as user:
        args = _load(CaseFilters, tenant=tenant_code, queue=queue, kind=kind, channel=channel, category=category,
                     date_from=date_from, date_to=date_to, child=child)
        tenant = get_tenant(args["tenant"])
        require(user, "desk.read")
        reader = user or _command_line_account()
        stmt = queries.queue_query(tenant, reader, args["queue"], **filters_of(args))
        _export(xlsx_path, lambda: exports.cases_export(tenant, stmt, user=reader))


commands = [desk_cli]
