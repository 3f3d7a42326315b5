"""Aid campaigns on the command line: ``flask --app wsgi hardship aid ...``.

* ``bank-file BATCH --out FILE`` writes the batch's bank transfer file (the same xlsx as
  ``GET /api/v1/batches/{id}/bank-file.xlsx``; ID and card numbers in clear, so the export is written to the
  audit log, naming ``--user`` or the operating-system account that ran it);
* ``signature-sheet BATCH --out FILE`` writes its signature sheet (签字表, masked ID numbers);
* ``paid --tenant T --year Y [--month M] [--program-type P] [--source S]`` prints the aid items behind the
  summary's aid figures (as ``GET /api/v1/aid/paid-items``);
* ``upload-items BATCH FILE --user U [--verdicts OUT]`` adds the items of an xlsx or csv file to a draft batch of
  the user's union, in this process: the same job as ``POST /api/v1/batches/{id}/items/upload`` (exit 2 when the
  file or the batch is refused as a whole, 0 otherwise, the rejected rows listed).

``--user`` runs it as that user (their union's scope and roles), as through the API; without it, the server
operator's (every union). Exit status 0 when written, 2 with ``error: ...`` when refused (nothing written).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from hardship.funds.cli import _acting, _command_line_account, _export

aid_cli = AppGroup("aid", help="Aid campaigns: payment files of a batch, uploading its items.")


def _write(batch_id: str, out: str, username: str | None, make) -> None:
    from hardship.aid import queries

    with _acting(username) as user:
        batch = queries.get_batch(batch_id)
        _export(out, lambda: make(batch, actor=user, audit_user=user or _command_line_account()))


@aid_cli.command("bank-file")
@click.argument("batch_id")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The xlsx file to write.")
@click.option("--user", "username", help="Export as this user (their scope and roles).")
def bank_file_command(batch_id, out, username):
    """The bank transfer file of an approved or paid batch (序号, 姓名, 身份证号, 开户银行, 银行卡号, 金额, 用途)."""
    from hardship.aid import exports

    _write(batch_id, out, username, exports.bank_file)


@aid_cli.command("signature-sheet")
@click.argument("batch_id")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The xlsx file to write.")
@click.option("--user", "username", help="Export as this user (their scope and roles).")
def signature_sheet_command(batch_id, out, username):
    """The signature sheet (签字表) of an approved or paid batch, with masked ID numbers."""
    from hardship.aid import exports

    _write(batch_id, out, username, exports.signature_sheet)


@aid_cli.command("upload-items")
@click.argument("batch_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", required=True, help="Upload as this user (a preparer of the batch's union).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the verdicts.")
@click.option("--verdicts", "verdicts_path", type=click.Path(dir_okay=False),
              help="Also write the verdicts (xlsx) to this file.")
def upload_items_command(batch_id, file, username, lang, verdicts_path):
    """Add the items of an xlsx or csv FILE (受助类别, 身份证号, 姓名, 电话, 原因, 金额) to the draft batch BATCH."""
    import os

    from flask_babel import force_locale

    from hardship.aid import queries
    from hardship.aid.upload import start_items_upload
    from hardship.archives.importing.cli import run_committed
    from hardship.archives.importing.files import MAX_BYTES
    from hardship.core.i18n import LOCALES

    with force_locale(LOCALES[lang]), _acting(username) as user:
        batch = queries.get_batch(batch_id)
        with open(file, "rb") as fh:
            content = fh.read(MAX_BYTES + 1)
        run = start_items_upload(batch, os.path.basename(file), content, actor=user, locale=LOCALES[lang],
                                 inline=True)
        job, result = run_committed(run)
        click.echo(f"{result.get('file')}: {job.total} rows; added {result['imported']}, rejected rows "
                   f"{result['rejected_rows']} (job {job.id})")
        for verdict in result.get("rejected", []):
            click.echo(f"  row {verdict['row']}: {verdict['column'] or verdict['field']}: {verdict['message']}")
        if verdicts_path:
            with open(verdicts_path, "wb") as fh:
                fh.write(job.output)
            click.echo(f"verdicts written to {verdicts_path}")


@aid_cli.command("paid")
@click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. C01.")
@click.option("--year", required=True, help="The year, e.g. 2026.")
@click.option("--month", help="Only this month of the year (1 to 12).")
@click.option("--program-type", "program_type", help="Only this program type (e.g. warmth).")
@click.option("--source", help="Only the batches whose payment drew on this fund source (e.g. central_finance).")
@click.option("--page", default="1", show_default=True, help="The page of 50 items.")
@click.option("--user", "username", help="Read as this user (their scope and roles).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def paid_command(tenant_code, year, month, program_type, source, page, username, as_json):
    """The aid items behind the summary's aid figures of a union's subtree for a period (as
    ``GET /api/v1/aid/paid-items``): the totals, then a line per item, newest payment first."""
    import json

    from hardship.accounts.operations import require_any
    from hardship.aid import queries
    from hardship.aid.schemas import PaidItemsOut, PaidItemsQuery
    from hardship.funds.cli import _load
    from tenants.scoping import get_tenant

    with _acting(username) as user:
        args = _load(PaidItemsQuery, tenant=tenant_code, year=year, month=month, program_type=program_type,
                     source=source, page=page)
        tenant = get_tenant(args["tenant"])
        require_any(user, *queries.PAID_ITEMS_READERS)
        result = PaidItemsOut().dump(queries.paid_items_text(queries.paid_items_page(tenant, args)))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    total = result["total"]
    click.echo(f"{result['tenant']} {result['start']} .. {result['end']}: {total['count']} person-times, "
               f"{total['households']} households or persons, {total['amount']} yuan cash, {total['goods_value']} "
               f"yuan goods (page {result['page']} of {result['pages']})")
    for r in result["items"]:
        click.echo(f"{r['paid_on']}\t{r['tenant']}\tbatch {r['batch']}\t{r['program_name']}\t{r['kind_label']}\t"
                   f"{r['name']}\t{r['amount']}\t{r['goods_value']}\t{r['status_label']}")


commands = [aid_cli]
