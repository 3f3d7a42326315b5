"""Aid campaigns on the command line: ``flask --app wsgi hardship aid ...``.

* ``bank-file BATCH --out FILE`` writes the batch's bank transfer file (the same xlsx as
  ``GET /api/v1/batches/{id}/bank-file.xlsx``; ID and card numbers in clear, so the export is written to the
  audit log, naming ``--user`` or the operating-system account that ran it);
* ``signature-sheet BATCH --out FILE`` writes its signature sheet (签字表, masked ID numbers).

``--user`` runs it as that user (their union's scope and roles), as through the API; without it, the server
operator's (every union). Exit status 0 when written, 2 with ``error: ...`` when refused (nothing written).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from hardship.funds.cli import _acting, _command_line_account, _export

aid_cli = AppGroup("aid", help="Aid campaigns: payment files of a batch.")


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


commands = [aid_cli]
