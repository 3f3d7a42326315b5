"""The goods stock on the command line: ``flask --app wsgi hardship goods stock --tenant K0101``.

``stock`` prints a union's stock (``--subtree``: and of the unions below it) or writes the same xlsx as the API
(``--xlsx FILE``; recorded in the audit log like any export). It is the server operator's (every union, as
``reconcile`` is). Exit status 0 when done, 2 with ``error: ...`` when the input is refused.
"""

from __future__ import annotations

import getpass
import os
import sys
from types import SimpleNamespace

import click
from flask.cli import AppGroup

from hardship.core.cli import fail
from hardship.core.db import commit, db
from hardship.core.errors import AppError

goods_cli = AppGroup("goods", help="In-kind goods: the stock of a union.")


def _operator() -> SimpleNamespace:
    """Who exported, for the audit log: the operating-system account that ran the command."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = f"uid {os.getuid()}"
    return SimpleNamespace(id=None, username=f"os:{login}"[:64])


@goods_cli.command("stock")
@click.option("--tenant", "tenant_code", required=True, help="Code of the union, e.g. K0101.")
@click.option("--subtree", is_flag=True, help="Every union below it too.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), help="Write the xlsx export to this file.")
def stock_command(tenant_code, subtree, xlsx_path):
    """The goods stock of a union (as GET /api/v1/goods), or its xlsx export."""
    from hardship.api import load_data
    from hardship.core.money import format_fen
    from hardship.goods import exports, queries
    from hardship.goods.schemas import GoodsQuery
    from tenants.scoping import get_tenant, system_scope

    with system_scope():
        try:
            args = load_data(GoodsQuery, {"tenant": tenant_code, "subtree": subtree})
            tenant = get_tenant(args["tenant"])
        except AppError as exc:
            db.session.rollback()
            fail(exc)
        if xlsx_path:
            content, _name = exports.stock_export(tenant, subtree=args["subtree"], user=_operator())
            db.session.flush()
            try:
                with open(xlsx_path, "wb") as fh:
                    fh.write(content)
            except OSError as exc:
                db.session.rollback()
                click.echo(f"error: --xlsx: {exc.strerror or exc}: {xlsx_path}", err=True)
                sys.exit(2)
            commit()
            click.echo(f"written to {xlsx_path}")
            return
        rows = queries.items(tenant, subtree=args["subtree"])
        for item, union in rows:
            click.echo(f"{union.code}\t{item.name}\t{item.stock} {item.unit}\t{format_fen(item.unit_value, grouped=True)}"
                       f"\t{format_fen(item.stock_value, grouped=True)}")
        total = sum(item.stock_value for item, _union in rows)
        click.echo(f"{len(rows)} items; value {format_fen(total, grouped=True)}")
        db.session.rollback()


commands = [goods_cli]
