"""goods stock: goods items per union and their append-only movements (SPEC 5.7)

Revision ID: 9a4c6e2b7d15
Revises: 7a4c2e9d1b06
Create Date: 2026-12-06 02:00:00

Frozen text: this file imports nothing from the application.

- ``goods_items``: one kind of goods of a union (name, unit, value per unit in fen, ``donation`` or
  ``purchase``) with its stock in whole units; ``CHECK (stock >= 0)`` backs the conditional update that is the
  only writer of the stock (``hardship.goods.operations``).
- ``goods_movements``: every change of a stock (donation, purchase, hand-out, correction), signed quantity and
  value; a purchase names the ledger's disbursement that paid it (unique). ``hardship init`` makes it
  append-only for the runtime role (``tenants.rls.APPEND_ONLY_TABLES``).
- On PostgreSQL both tables get row-level security with the ``tenant_subtree`` policy of every tenant-owned
  table (see the baseline).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a4c6e2b7d15'
down_revision = "7a4c2e9d1b06"
branch_labels = None
depends_on = None

TABLES = ("goods_items", "goods_movements")


def _row_security(table: str) -> tuple[str, str]:
    among = "tenant_id = ANY (CAST((SELECT hardship_scope_ids()) AS integer[]))"
    exact = (f"EXISTS (SELECT 1 FROM tenants AS t WHERE t.id = {table}.tenant_id "
             f"AND t.path >= hardship_scope() AND t.path < hardship_scope() || '~')")
    return (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_subtree ON {table} USING ({among}) WITH CHECK ({exact})")


def upgrade():
    op.create_table('goods_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('unit', sa.String(length=10), nullable=False),
        sa.Column('unit_value', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('stock', sa.BigInteger(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('stock >= 0', name=op.f('ck_goods_items_stock_not_negative')),
        sa.CheckConstraint('unit_value > 0', name=op.f('ck_goods_items_unit_value_positive')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_goods_items_created_by_id_users')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_goods_items_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_goods_items'))
    )
    op.create_index(op.f('ix_goods_items_tenant_id'), 'goods_items', ['tenant_id'], unique=False)
    op.create_table('goods_movements',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('quantity', sa.BigInteger(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('stock_after', sa.BigInteger(), nullable=False),
        sa.Column('occurred_on', sa.Date(), nullable=False),
        sa.Column('document_no', sa.String(length=100), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=True),
        sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('quantity <> 0', name=op.f('ck_goods_movements_quantity_not_zero')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_goods_movements_created_by_id_users')),
        sa.ForeignKeyConstraint(['item_id'], ['goods_items.id'], name=op.f('fk_goods_movements_item_id_goods_items')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_goods_movements_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['transaction_id'], ['fund_transactions.id'],
                                name=op.f('fk_goods_movements_transaction_id_fund_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_goods_movements')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_goods_movements_transaction_id'))
    )
    op.create_index('ix_goods_movements_item_id_id', 'goods_movements', ['item_id', 'id'], unique=False)
    op.create_index(op.f('ix_goods_movements_tenant_id'), 'goods_movements', ['tenant_id'], unique=False)

    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for statement in _row_security(table):
            op.execute(statement)


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)
