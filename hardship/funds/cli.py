"""The ledger on the command line: ``flask --app wsgi hardship funds ...``.

The same operations as the API and the pages, with the same checks and messages (Chinese by default):

* ``balances`` and ``transactions`` read the ledger of a union (``--subtree`` for everything below it) and
  print it, or write the same xlsx as the API (``--xlsx FILE``; recorded in the audit log like any export);
* ``receipt``, ``allocate``, ``return`` and ``reverse`` post. A posting is public money, so it always names
  the person who makes it: ``--user`` is required, and the posting is made as that user (their union's
  scope and their roles: a finance officer posts, an approver reverses), exactly as through the API.
  ``--key``, the posting's idempotency key, is required as the API's header is: a script that repeats a
  command with the same key gets the first result back and posts nothing twice.

Reading without ``--user`` is the server operator's (every union, as ``reconcile`` is). Exit status: 0 when
done, 2 with ``error: ...`` naming each field and its problem when the input is refused (nothing written).
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from types import SimpleNamespace

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from hardship.core.cli import fail
from hardship.core.db import commit, db
from hardship.core.errors import AppError
from tenants.scoping import get_tenant

funds_cli = AppGroup("funds", help="The special-fund ledger: balances, transactions and postings.")


def _fail(exc: AppError) -> None:
    db.session.rollback()
    fail(exc)


@contextmanager
def _acting(username: str | None):
    """The user named by ``--user`` (active, looked up by exact username) in their own scope; ``None`` and
    every union without one. Refusals of the operations inside become ``error: ...`` and exit 2."""
    from hardship.accounts.models import User
    from tenants.scoping import scope, system_scope

    user = None
    if username is not None:
        with system_scope():
            user = db.session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            click.echo(f"error: --user: there is no active user {username!r}", err=True)
            sys.exit(2)
    try:
        with scope(user.tenant.path) if user is not None else system_scope():
            yield user
    except AppError as exc:
        _fail(exc)


def _command_line_account() -> SimpleNamespace:
    """Who exported without ``--user``, for the audit log: the operating-system account that ran the
    command (``os:<login>``; the process's uid where it has no login name), not an application user."""
    import getpass
    import os

    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no USER/LOGNAME and no passwd entry (a bare container)
        login = f"uid {os.getuid()}"
    return SimpleNamespace(id=None, username=f"os:{login}"[:64])


def _export(path: str, export) -> None:
    """Write an export to ``path`` with its audit event: both or neither (a file that cannot be written
    is ``error: --xlsx: ...``, exit 2, and no event; an event that cannot be committed takes the file).
    ``export`` makes the workbook and records its event (``funds.exports``)."""
    import os

    content, _name = export()
    db.session.flush()
    try:
        with open(path, "wb") as fh:
            fh.write(content)
    except OSError as exc:
        db.session.rollback()
        click.echo(f"error: --xlsx: {exc.strerror or exc}: {path}", err=True)
        sys.exit(2)
    try:
        commit()
    except BaseException:
        os.remove(path)
        raise
    click.echo(f"written to {path}")


# ---------------------------------------------------------------- reading

@funds_cli.command("balances")
@click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. C01.")
@click.option("--subtree", is_flag=True, help="Every union below it too, with totals.")
@click.option("--year", help="Only this fiscal year.")
@click.option("--user", "username", help="Read as this user (their scope and roles).")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), help="Write the xlsx export to this file.")
def balances_command(tenant_code, subtree, year, username, xlsx_path):
    """Balances per union x source x fiscal year with their aging, and totals (as GET /api/v1/funds/balances)."""
    from hardship.accounts.operations import require
    from hardship.core.money import format_fen
    from hardship.funds import queries
    from hardship.funds.models import AGING, SOURCES
    from hardship.funds.schemas import BalanceQuery

    with _acting(username) as user:
        args = _load(BalanceQuery, tenant=tenant_code, subtree=subtree, year=year)
        tenant = get_tenant(args["tenant"])
        require(user, "funds.read")
        if xlsx_path:
            from hardship.funds import exports

            _export(xlsx_path, lambda: exports.balances_export(tenant, subtree=args["subtree"], year=args.get("year"),
                                                               user=user or _command_line_account()))
            return
        result = queries.balances(tenant, subtree=args["subtree"], year=args.get("year"))
        db.session.rollback()
    for row in result["rows"]:
        click.echo(f"{row['tenant']}\t{row['tenant_name']}\t{SOURCES.get(row['source'], row['source'])}\t"
                   f"{row['fiscal_year']}\t{format_fen(row['balance'], grouped=True)}\t{row['consumed_pct']}%\t"
                   f"{AGING.get(row['aging'], row['aging'])}")
    totals = result["totals"]
    click.echo(f"{len(result['rows'])} lots; balance {format_fen(totals['balance'], grouped=True)}, of which "
               f"warning {format_fen(totals['warning'], grouped=True)}, overdue "
               f"{format_fen(totals['overdue'], grouped=True)}")


@funds_cli.command("transactions")
@click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. C01.")
@click.option("--subtree", is_flag=True, help="Transactions touching any union below it too.")
@click.option("--kind", help="receipt, allocation, return, reversal or disbursement.")
@click.option("--source", help="Source of the funds, e.g. central_finance.")
@click.option("--year", help="Fiscal year.")
@click.option("--from", "date_from", help="Posted on or after this date (2026-01-01).")
@click.option("--to", "date_to", help="Posted on or before this date.")
@click.option("--document-no", help="Document number contains this.")
@click.option("--purpose", help="Earmark of the allocations, e.g. warmth.")
@click.option("--user", "username", help="Read as this user (their scope and roles).")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), help="Write the xlsx export to this file.")
def transactions_command(tenant_code, subtree, kind, source, year, date_from, date_to, document_no, purpose,
                         username, xlsx_path):
    """Transactions touching a union, newest first (as GET /api/v1/funds/transactions; at most 100,000)."""
    from hardship.funds import queries
    from hardship.funds.api import transactions_for
    from hardship.funds.models import KINDS
    from hardship.funds.schemas import TransactionQuery

    given = {"tenant": tenant_code, "subtree": subtree, "kind": kind, "source": source, "year": year,
             "date_from": date_from, "date_to": date_to, "document_no": document_no, "purpose": purpose}
    with _acting(username) as user:
        args = _load(TransactionQuery, **given)
        tenant, stmt = transactions_for(args, user)
        if xlsx_path:
            from hardship.funds import exports

            _export(xlsx_path, lambda: exports.transactions_export(tenant, stmt, subtree=args["subtree"],
                                                                   user=user or _command_line_account()))
            return
        rows = queries.transaction_rows(db.session.scalars(stmt.limit(queries.EXPORT_LIMIT)).all(), tenant,
                                        subtree=args["subtree"])
        db.session.rollback()
    for row in rows:
        kind = KINDS.get(row["kind"], row["kind"])
        click.echo(f"{row['date']}\t#{row['id']}\t{kind}\t{row['document_no']}\t{row['from'] or ''}\t"
                   f"{row['to'] or ''}\t{row['source'] or ''}\t{row['fiscal_year'] or ''}\t{row['amount']}\t"
                   f"{row['change']}" + (f"\treversed by #{row['reversed_by']}" if row["reversed_by"] else ""))
    click.echo(f"{len(rows)} transactions")


# ---------------------------------------------------------------- postings

KEY_HELP = ("Idempotency key of this posting, required as with the API (e.g. a UUID): repeating the command "
            "with the same key posts nothing twice and prints the first result.")


def _posting_options(fn):
    for option in reversed([
        click.option("--user", "username", required=True, help="The user who posts (finance officer of the union)."),
        click.option("--source", help="Source of the funds, e.g. central_finance."),
        click.option("--fiscal-year", help="Fiscal year of the funds, e.g. 2026."),
        click.option("--amount", help="Yuan, up to two decimals, e.g. 12000.50."),
        click.option("--document-no", help="Document number (文号), required."),
        click.option("--date", "on", help="Date of the document, e.g. 2026-03-01."),
        click.option("--note", default="", help="Note."),
        click.option("--key", required=True, help=KEY_HELP),
        click.option("--confirm-separate", is_flag=True,
                     help="Post it even though the union already posted one of this kind with the same document "
                          "number and amount (and receiving union): it is a separate posting."),
    ]):
        fn = option(fn)
    return fn


def _load(schema, **given) -> dict:
    """The options loaded through the API's ``schema`` (an option not given is missing, as in a body)."""
    from hardship.api import load_data

    return load_data(schema, {name: value for name, value in given.items() if value is not None})


def _posting(schema, source, fiscal_year, amount, document_no, on, note, confirm_separate, **more) -> dict:
    return _load(schema, source=source, fiscal_year=fiscal_year, amount=amount, document_no=document_no, date=on,
                 note=note, confirm_separate=confirm_separate, **more)


def _print_posted(posted) -> None:
    from hardship.funds import operations as ops
    from hardship.funds import queries

    tx = posted.transaction
    if posted.replayed:
        click.echo(f"already posted with this key: transaction #{tx.id} (nothing posted now)")
        body = queries.transaction_dict(tx, entries=queries.visible_entries(tx),
                                        reversed_by=getattr(ops.reversal_of(tx), "id", None))
    else:
        click.echo(f"posted transaction #{tx.id}")
        body = queries.transaction_dict(tx, posted.labels, entries=posted.entries)
    click.echo(json.dumps(body, ensure_ascii=False, indent=1))


@funds_cli.command("receipt")
@click.option("--tenant", "tenant_code", required=True, help="Code of the receiving union.")
@_posting_options
def receipt_command(tenant_code, username, source, fiscal_year, amount, document_no, on, note, key,
                    confirm_separate):
    """Post a receipt (入账): money enters the tree at a union from outside."""
    from hardship.funds import operations as ops
    from hardship.funds.schemas import ReceiptIn

    with _acting(username) as user:
        tenant = get_tenant(tenant_code)
        data = _posting(ReceiptIn, source, fiscal_year, amount, document_no, on, note, confirm_separate,
                        tenant=tenant_code)
        posted = ops.post_receipt(tenant, data, actor=user, idempotency_key=key)
        commit()
        _print_posted(posted)


@funds_cli.command("allocate")
@click.option("--from", "parent_code", required=True, help="Code of the allocating union.")
@click.option("--to", "child_code", required=True, help="Code of a direct child of it.")
@click.option("--purpose", help="Earmark for a program type (optional), e.g. warmth.")
@_posting_options
def allocate_command(parent_code, child_code, purpose, username, source, fiscal_year, amount, document_no, on,
                     note, key, confirm_separate):
    """Post an allocation (下拨) to a direct child: same source and fiscal year."""
    from hardship.funds import operations as ops
    from hardship.funds.schemas import AllocationIn

    with _acting(username) as user:
        parent, child = get_tenant(parent_code), get_tenant(child_code)
        data = _posting(AllocationIn, source, fiscal_year, amount, document_no, on, note, confirm_separate, purpose=purpose,
                     **{"from": parent_code, "to": child_code})
        posted = ops.allocate_funds(parent, child, data, actor=user, idempotency_key=key)
        commit()
        _print_posted(posted)


@funds_cli.command("return")
@click.option("--tenant", "tenant_code", required=True, help="Code of the returning union.")
@click.option("--to", "destination", help="finance (back to finance) or parent (back to the parent union).")
@_posting_options
def return_command(tenant_code, destination, username, source, fiscal_year, amount, document_no, on, note, key,
                   confirm_separate):
    """Post a return (退回) to finance or to the parent union."""
    from hardship.funds import operations as ops
    from hardship.funds.schemas import ReturnIn

    with _acting(username) as user:
        tenant = get_tenant(tenant_code)
        data = _posting(ReturnIn, source, fiscal_year, amount, document_no, on, note, confirm_separate, tenant=tenant_code,
                        to=destination)
        posted = ops.return_funds(tenant, data, actor=user, idempotency_key=key)
        commit()
        _print_posted(posted)


@funds_cli.command("reverse")
@click.argument("transaction_id")
@click.option("--user", "username", required=True, help="The approver of the union that posted it (or its finance officer who posted it today).")
@click.option("--document-no", help="Document number of the reversal, required.")
@click.option("--date", "on", help="Date of the reversal, e.g. 2026-03-01.")
@click.option("--note", default="", help="Why.")
@click.option("--key", required=True, help=KEY_HELP)
def reverse_command(transaction_id, username, document_no, on, note, key):
    """Reverse the posting TRANSACTION_ID (冲销) with a document of its own."""
    from hardship.funds import operations as ops
    from hardship.funds.models import FundTransaction
    from hardship.funds.schemas import ReversalIn
    from tenants.scoping import get_owned

    with _acting(username) as user:
        tx = get_owned(FundTransaction, transaction_id)
        data = _load(ReversalIn, document_no=document_no, date=on, note=note)
        posted = ops.reverse_transaction(tx, data, actor=user,
                                         idempotency_key=key)
        commit()
        _print_posted(posted)


@click.command("reconcile")
@with_appcontext
def reconcile_command():
    """Recompute every fund lot from the ledger's entries and check that every transaction sums to zero;
    print each difference and exit 1 if there is any."""
    from sqlalchemy import func

    from hardship.funds.models import FundLot, FundTransaction
    from hardship.funds.reconcile import reconcile
    from tenants.scoping import system_scope

    with system_scope():
        differences = reconcile()
        lots = db.session.scalar(select(func.count()).select_from(FundLot))
        transactions = db.session.scalar(select(func.count()).select_from(FundTransaction))
        db.session.rollback()
    for difference in differences:
        click.echo(str(difference))
    if differences:
        click.echo(f"{len(differences)} differences in {lots} lots and {transactions} transactions", err=True)
        sys.exit(1)
    click.echo(f"ledger reconciled: {lots} lots and {transactions} transactions, no differences")


commands = [funds_cli, reconcile_command]
