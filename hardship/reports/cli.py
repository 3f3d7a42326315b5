"""Reports on the command line: ``flask --app wsgi hardship reports ...``.

* ``summary`` prints a union's consolidated figures for a year or month (as ``GET /api/v1/reports/summary``,
  computed directly from the base records), a line per part (the whole, the union's own records, each child),
  or the API's JSON.

* ``file`` files a union's report of a form for a period upward (as ``POST /api/v1/reports/filings``);
  ``decide`` accepts or returns a filed report (as ``POST /api/v1/reports/filings/<id>/decision``);
  ``board`` prints, for each direct child of a union, its report's status (on time, late, missing, returned,
  accepted).

``--user`` reads (and acts) as that user (their union's scope and roles); without it, the server operator reads every
union. Exit status 2 with ``error: ...`` naming each refused option and its problem.
"""

from __future__ import annotations

import json
import time

import click
from flask.cli import AppGroup, with_appcontext

from hardship.core.db import commit, db

# the command line's shared ways with ``--user`` and options, as the ledger's commands have them
from hardship.funds.cli import _acting, _command_line_account, _load

reports_cli = AppGroup("reports", help="Consolidated statistics of a union's subtree.")


@reports_cli.command("summary")
@click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. C01.")
@click.option("--year", required=True, help="The year, e.g. 2026.")
@click.option("--month", help="Only this month of the year (1 to 12).")
@click.option("--user", "username", help="Read as this user (their scope and roles).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as the API's JSON.")
@click.option("--exact", is_flag=True, help="Count directly from the base records (the oracle), not the kept figures.")
def summary_command(tenant_code, year, month, username, as_json, exact):
    """Households, aid, funds, matching and desk figures of the subtree, its own records and each child's."""
    from hardship.accounts.operations import require
    from hardship.core.db import commit
    from hardship.reports import figures, queries
    from hardship.reports.schemas import SummaryOut, SummaryQuery
    from tenants.scoping import get_tenant

    with _acting(username) as user:
        args = _load(SummaryQuery, tenant=tenant_code, year=year, month=month, exact=exact)
        tenant = get_tenant(args["tenant"])
        require(user, "stats.read")
        result = SummaryOut().dump(queries.format_summary(
            figures.summary(tenant, args["year"], args["month"], exact=args["exact"])))
        commit()  # the figures counted for this read are kept
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result['tenant']} {result['name']}: {result['start']} .. {result['end']}")
    for label, part in [("total", result), ("own", result["own"]),
                        *(("child", c) for c in result["children"])]:
        h, aid, funds, desk = part["households"], part["aid"]["total"], part["funds"], part["desk"]
        click.echo(f"{label}\t{part['tenant']}\t{part['name']}\tstock {h['stock']}\tnew {h['newly_archived']}\t"
                   f"relieved {h['relieved']}\texited {h['exited']}\tcancelled {h['cancelled']}\t"
                   f"returned {h['returned']}\taid {aid['amount']} ({aid['person_times']} person-times)\t"
                   f"balance {funds['balance']}\tdesk {desk['received']} received, "
                   f"{desk['closure_rate'] * 100:.1f}% closed")


@reports_cli.command("warm")
@click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. P01.")
@click.option("--year", required=True, help="The year, e.g. 2026.")
@click.option("--user", "username", help="Act as this user (their scope and roles).")
def warm_command(tenant_code, year, username):
    """Count and keep the figures of a union's subtree for a year and its months ahead of the first read (after
    a bulk load); figures already kept and unchanged are not counted again."""
    from hardship.accounts.operations import require
    from hardship.core.db import commit
    from hardship.reports import figures
    from hardship.reports.schemas import SummaryQuery
    from tenants.scoping import get_tenant

    started = time.perf_counter()
    with _acting(username) as user:
        args = _load(SummaryQuery, tenant=tenant_code, year=year)
        tenant = get_tenant(args["tenant"])
        require(user, "stats.read")
        kept = figures.warm(tenant, args["year"])
        commit()
    click.echo(f"{tenant_code} {args['year']}: {kept} union-periods kept in {time.perf_counter() - started:.1f} s")

@reports_cli.command("form")
@click.argument("form")
@click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. C01.")
@click.option("--year", required=True, help="The year, e.g. 2026.")
@click.option("--month", help="The month (1 to 12), for the monthly form monthly_funds.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The xlsx file to write.")
@click.option("--user", "username", help="Read as this user (their scope and roles).")
def form_command(form, tenant_code, year, month, out, username):
    """Write a report form (warmth, center_annual, monthly_funds, relief_progress) of a union as xlsx."""
    from hardship.accounts.operations import require
    from hardship.reports.api import export_form, form_args
    from hardship.reports.formsheets import FORMS
    from hardship.reports.schemas import FormQuery
    from tenants.scoping import get_tenant

    if form not in FORMS:
        raise click.UsageError(f"unknown form {form!r}: one of {', '.join(FORMS)}")
    with _acting(username) as user:
        args = _load(FormQuery, tenant=tenant_code, year=year, month=month)
        args = form_args(form, args)
        tenant = get_tenant(args["tenant"])
        require(user, "stats.read")
        content, _name = export_form(form, tenant, args["year"], args["month"], user or _command_line_account())
        db.session.commit()
    with open(out, "wb") as handle:
        handle.write(content)
    click.echo(f"{out}: {FORMS[form].title} {tenant_code} {args['year']}" + (f"-{args['month']}" if args["month"]
                                                                              else ""))

@click.command("generate")
@click.option("--profile", type=click.Choice(["small", "medium", "large"]),
              help="small (300 households), medium (100,000) or large (500,000).")
@click.option("--households", help="Exactly this many households instead of a profile.")
@with_appcontext
def generate_command(profile, households):
    """Write a generated province (GP): unions, households in every status, three years of ledger postings.
    Refuses when the province GP exists already."""
    import time

    from hardship.cli import analyze_database
    from hardship.reports.generate import PROFILES, AlreadyGenerated, generate

    if (profile is None) == (households is None):
        raise click.UsageError("error: --profile or --households: give exactly one")
    if households is not None:
        try:
            count = int(households)
        except ValueError:
            count = 0
        if not 1 <= count <= 2_000_000:
            raise click.UsageError(f"error: --households: a whole number from 1 to 2000000, not {households!r}")
    else:
        count = PROFILES[profile]
    started = time.perf_counter()
    try:
        result = generate(count, progress=lambda done: done % 10_000 == 0 and click.echo(f"{done} households"))
    except AlreadyGenerated:
        db.session.rollback()
        click.echo("error: the generated province GP exists already; generate into an empty database", err=True)
        raise SystemExit(2) from None
    commit()
    analyze_database()
    click.echo(f"generated {result.tenants} unions, {result.households} households ({result.people} people), "
               f"{result.postings} postings, {result.aid_batches} aid batches paid ({result.aid_items} items), "
               f"{result.desk_cases} desk cases in {time.perf_counter() - started:.1f} s")
    for status, n in sorted(result.by_status.items()):
        click.echo(f"status\t{status}\t{n}")
    for category, n in sorted(result.by_category.items()):
        click.echo(f"category\t{category}\t{n}")


def _period_options(fn):
    for option in reversed((
        click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. K0101."),
        click.option("--form", "form", required=True,
                     help="warmth, center_annual, monthly_funds or relief_progress."),
        click.option("--year", required=True, help="The year, e.g. 2026."),
        click.option("--month", help="The month (1 to 12) of the monthly form."),
        click.option("--user", "username", help="Act as this user (their scope and roles)."),
    )):
        fn = option(fn)
    return fn


@reports_cli.command("file")
@_period_options
def file_command(tenant_code, form, year, month, username):
    """File a union's report of a form for a period upward (a new version holding the frozen summary)."""
    from hardship.core.db import commit
    from hardship.reports import operations as ops
    from hardship.reports.schemas import FilingPeriodIn
    from tenants.scoping import get_tenant

    with _acting(username) as user:
        args = _load(FilingPeriodIn, tenant=tenant_code, form=form, year=year, month=month)
        filing = ops.file_report(get_tenant(args["tenant"]), args["form"], args["year"], args["month"], actor=user)
        found = (filing.id, filing.version, filing.late, filing.due_on)
        commit()
    click.echo(f"filed report {found[0]}: version {found[1]}, due {found[3]}, {'late' if found[2] else 'on time'}")


@reports_cli.command("decide")
@click.argument("filing_id", type=int)
@click.option("--action", type=click.Choice(["accept", "return"]), required=True)
@click.option("--reason", default="", help="Why it is returned (required to return).")
@click.option("--user", "username", help="Act as this user (their scope and roles).")
def decide_command(filing_id, action, reason, username):
    """Accept a child's filed report, or return it with a reason."""
    from hardship.core.db import commit
    from hardship.reports import operations as ops
    from hardship.reports.models import ReportFiling
    from hardship.reports.schemas import DecisionIn
    from tenants.scoping import get_owned

    with _acting(username) as user:
        data = _load(DecisionIn, action=action, reason=reason)
        filing = ops.decide(get_owned(ReportFiling, filing_id), data["action"], data["reason"], actor=user)
        status = filing.status
        commit()
    click.echo(f"report {filing_id}: {status}")


@reports_cli.command("board")
@_period_options
def board_command(tenant_code, form, year, month, username):
    """For each direct child of a union: its report of the form for the period (on time, late, missing, ...)."""
    from hardship.reports import filing
    from hardship.reports.schemas import FilingPeriodIn
    from tenants.scoping import get_tenant

    with _acting(username) as user:
        filing.require_any(user, "stats.read", "reports.decide")
        args = _load(FilingPeriodIn, tenant=tenant_code, form=form, year=year, month=month)
        rows = filing.board(get_tenant(args["tenant"]), args["form"], args["year"], args["month"])
        db.session.rollback()
    for row in rows:
        version = f"version {row['version']}" if row["version"] else "-"
        click.echo(f"{row['tenant']}\t{row['name']}\t{row['status']}\tdue {row['due_on']}\t{version}\t"
                   f"{row['return_reason']}")


commands = [reports_cli, generate_command]
