"""aid goods: an aid item may hand out goods of the paying union's stock (SPEC 5.7)

Revision ID: 5b7e2f19c4a8
Revises: d35c0a11e0f1
Create Date: 2026-12-06 03:25:00

Frozen text: this file imports nothing from the application.

``aid_items`` gets ``goods_item_id`` (a goods item of the union that pays the program), ``quantity`` (whole
units) and ``goods_value`` (quantity x unit value in fen, 物资折款), all three set or all three empty, and
positive when set. The table's row-level security is unchanged.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b7e2f19c4a8'
down_revision = "d35c0a11e0f1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('aid_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('goods_item_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('quantity', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('goods_value', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_aid_items_goods_item_id_goods_items'), 'goods_items',
                                    ['goods_item_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_aid_items_goods_complete'),
            '(goods_item_id IS NULL) = (quantity IS NULL) AND (quantity IS NULL) = (goods_value IS NULL)')
        batch_op.create_check_constraint(batch_op.f('ck_aid_items_goods_positive'), 'quantity IS NULL OR (quantity > 0 AND goods_value > 0)')


def downgrade():
    with op.batch_alter_table('aid_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_aid_items_goods_positive'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_aid_items_goods_complete'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_aid_items_goods_item_id_goods_items'), type_='foreignkey')
        batch_op.drop_column('goods_value')
        batch_op.drop_column('quantity')
        batch_op.drop_column('goods_item_id')
