"""The stock's xlsx export (the API, the page and the command line write the same workbook): Chinese
headers, text as text, quantities and money as numbers (``hardship.core.xlsx``)."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from hardship import audit
from hardship.core.xlsx import Column, Workbook
from hardship.goods import queries
from hardship.goods.models import GOODS_SOURCES


def stock_export(tenant, *, subtree: bool, user=None) -> tuple[bytes, str]:
    """The stock workbook of ``tenant`` (and its subtree) and its file name; audited in the caller's
    transaction."""
    rows = queries.items(tenant, subtree=subtree)
    audit.record("goods.export_stock", tenant, tenant, detail={"rows": len(rows)}, user=user)
    return stock_xlsx(rows), f"{tenant.code}-物资库存.xlsx"


def stock_xlsx(rows) -> bytes:
    with force_locale("zh_Hans_CN"):
        columns = [Column(_("Union code"), "code", 12), Column(_("Union"), "text", 28), Column(_("Goods"), "text", 20),
                   Column(_("Unit"), "text", 8), Column(_("Origin of the goods"), "text", 12),
                   Column(_("Value per unit"), "money", 14), Column(_("Stock"), "count", 12),
                   Column(_("Stock value"), "money", 16), Column(_("Note"), "text", 30)]
        book = Workbook()
        sheet = book.sheet(_("Goods stock"), columns)
        for item, union in rows:
            sheet.append([union.code, union.name, item.name, item.unit, str(GOODS_SOURCES[item.source]),
                          item.unit_value, item.stock, item.stock_value, item.note])
        return book.close()
