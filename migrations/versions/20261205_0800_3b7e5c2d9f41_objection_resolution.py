"""objection resolution: the outcome of a publicity objection, its reason, date and who decided

Revision ID: 3b7e5c2d9f41
Revises: 8c65fadb896e
Create Date: 2026-12-05 08:00:00

Frozen text: imports nothing from the application. ``household_objections`` gains ``outcome``
(``upheld`` or ``dismissed``, null while the objection is open), ``resolution`` (the reason),
``resolved_on`` and ``resolved_by_id``. The table's row-level security policy is unchanged.
"""

import sqlalchemy as sa
from alembic import op

revision = '3b7e5c2d9f41'
down_revision = '8c65fadb896e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('household_objections') as batch:
        batch.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('resolution', sa.Text(), nullable=True))
        batch.add_column(sa.Column('resolved_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('resolved_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_household_objections_resolved_by_id_users'), 'users',
                                 ['resolved_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('household_objections') as batch:
        batch.drop_constraint(op.f('fk_household_objections_resolved_by_id_users'), type_='foreignkey')
        batch.drop_column('resolved_by_id')
        batch.drop_column('resolved_on')
        batch.drop_column('resolution')
        batch.drop_column('outcome')
