"""Goods pages of a union: the stock (value in 元), an item with its movements, and the forms for a new item,
a donation received, a purchase paid from a fund lot, and a correction; the stock's xlsx export."""

from __future__ import annotations

from datetime import date

from flask import g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hardship.accounts.operations import require
from hardship.api import load_data
from hardship.core.downloads import xlsx_download
from hardship.core.errors import ValidationFailed
from hardship.core.money import format_fen
from hardship.funds import queries as funds_queries
from hardship.funds.models import SOURCES
from hardship.goods import exports, queries
from hardship.goods import operations as ops
from hardship.goods.forms import CorrectionForm, DonationForm, ItemForm, PurchaseForm
from hardship.goods.models import GOODS_SOURCES, MOVEMENT_KINDS, GoodsItem
from hardship.goods.schemas import (
    GoodsCorrectionIn,
    GoodsItemIn,
    GoodsMovementQuery,
    GoodsQuery,
    GoodsReceiptIn,
)
from hardship.web import submit, tenant_blueprint
from tenants.scoping import get_owned

bp = tenant_blueprint("goods_ui", __name__)


def yuan(fen: int) -> str:
    """An amount for people, with thousands separators and 元: "12,500.00 元"."""
    return str(_l("%(amount)s yuan", amount=format_fen(fen, grouped=True)))


def _labels() -> dict:
    return {"sources": GOODS_SOURCES, "kinds": MOVEMENT_KINDS, "yuan": yuan}


def _filters(schema, **fixed) -> dict:
    given = {**request.args.to_dict(), **fixed}
    try:
        return load_data(schema, given)
    except ValidationFailed as exc:
        return load_data(schema, {name: value for name, value in given.items() if name not in exc.fields})


def _may_manage() -> bool:
    return current_user.can("goods.manage") and current_user.tenant_id == g.tenant.id


def _may_purchase() -> bool:
    return current_user.can("aid.pay") and current_user.tenant_id == g.tenant.id


@bp.route("/goods/")
def index():
    require(current_user, "goods.read")
    subtree = _filters(GoodsQuery, tenant=g.tenant.code)["subtree"]
    rows = queries.items(g.tenant, subtree=subtree)
    total = sum(item.stock_value for item, _union in rows)
    return render_template("goods/index.html", tenant=g.tenant, rows=rows, total=total, subtree=subtree,
                           may_manage=_may_manage(), **_labels())


@bp.route("/goods/stock.xlsx")
def export_stock():
    require(current_user, "goods.read")
    subtree = _filters(GoodsQuery, tenant=g.tenant.code)["subtree"]
    return xlsx_download(*exports.stock_export(g.tenant, subtree=subtree))


def _page(template: str, form, title, **context):
    return render_template(template, form=form, title=title, tenant=g.tenant, **context, **_labels()), \
        getattr(form, "error_status", None) or (422 if form.errors else 200)


@bp.route("/goods/new", methods=["GET", "POST"])
def new():
    require(current_user, "goods.manage")
    form = ItemForm()
    created = []

    def run():
        data = load_data(GoodsItemIn, {**form.data_for_schema(), "tenant": g.tenant.code})
        created.append(ops.create_item(g.tenant, data, actor=current_user))

    if form.validate_on_submit() and submit(form, run, _l("Goods item created.")):
        return redirect(url_for("goods_ui.item", goods_id=created[0].id))
    return _page("goods/form.html", form, _l("New goods item"), item=None)


def _item(goods_id) -> GoodsItem:
    return get_owned(GoodsItem, goods_id, g.tenant)


@bp.route("/goods/<int:goods_id>")
def item(goods_id):
    goods = _item(goods_id)
    require(current_user, "goods.read")
    page = _filters(GoodsMovementQuery)["page"]
    rows, total = queries.movements(goods, page)
    union = ops.tenant_of(goods)
    from hardship.aid.queries import batches_of_references

    batches = batches_of_references(m.reference for m in rows if m.kind == "hand_out")
    return render_template("goods/item.html", tenant=g.tenant, item=goods, union=union, movements=rows,
                           batches=batches,
                           total=total, page=page, per_page=queries.PER_PAGE,
                           may_manage=_may_manage() and goods.tenant_id == g.tenant.id,
                           may_purchase=_may_purchase() and goods.tenant_id == g.tenant.id, **_labels())


def _receipt_page(goods: GoodsItem, form, extra: dict, run_operation, field_map=None):
    def run():
        data = load_data(GoodsReceiptIn, {**form.data_for_schema(), **extra})
        run_operation(data)

    if form.validate_on_submit() and submit(form, run, _l("Recorded."), field_map=field_map):
        return redirect(url_for("goods_ui.item", goods_id=goods.id))
    if not form.is_submitted():
        form.date.data = date.today().isoformat()
    return None


@bp.route("/goods/<int:goods_id>/receive", methods=["GET", "POST"])
def receive(goods_id):
    goods = _item(goods_id)
    require(current_user, "goods.manage")
    form = DonationForm()
    done = _receipt_page(goods, form, {"kind": "donation"},
                         lambda data: ops.receive_donation(goods, data, actor=current_user))
    return done or _page("goods/form.html", form, _l("Donation received"), item=goods)


@bp.route("/goods/<int:goods_id>/purchase", methods=["GET", "POST"])
def purchase(goods_id):
    goods = _item(goods_id)
    require(current_user, "aid.pay")
    form = PurchaseForm()
    lots = [r for r in funds_queries.balances(g.tenant)["rows"] if r["balance"] > 0]
    form.lot.choices = [(str(r["lot"]), f"{SOURCES.get(r['source'], r['source'])} {r['fiscal_year']} · "
                                        f"{yuan(r['balance'])}") for r in lots]
    done = _receipt_page(goods, form, {"kind": "purchase"},
                         lambda data: ops.purchase(goods, data, actor=current_user,
                                                   idempotency_key=form.idempotency_key.data or None),
                         field_map={"source": "lot", "fiscal_year": "lot", "amount": "quantity"})
    return done or _page("goods/form.html", form, _l("Purchase"), item=goods, lots=lots)


@bp.route("/goods/<int:goods_id>/correct", methods=["GET", "POST"])
def correct(goods_id):
    goods = _item(goods_id)
    require(current_user, "goods.manage")
    form = CorrectionForm()

    def run():
        ops.correct_stock(goods, load_data(GoodsCorrectionIn, form.data_for_schema()), actor=current_user)

    if form.validate_on_submit() and submit(form, run, _l("Stock corrected.")):
        return redirect(url_for("goods_ui.item", goods_id=goods.id))
    if not form.is_submitted():
        form.date.data = date.today().isoformat()
    return _page("goods/form.html", form, _l("Correction"), item=goods)
