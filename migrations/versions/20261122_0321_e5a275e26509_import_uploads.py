"""import uploads

Revision ID: e5a275e26509
Revises: a51e9b115a62
Create Date: 2026-11-22 03:21:10.497174

"""
from alembic import op
import sqlalchemy as sa

import hardship.core.db
from hardship.core import rls


# revision identifiers, used by Alembic.
revision = 'e5a275e26509'
down_revision = 'a51e9b115a62'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('content_enc', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', hardship.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_import_uploads_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_uploads_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_uploads'))
    )
    with op.batch_alter_table('import_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_uploads_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_uploads_tenant_id'), ['tenant_id'], unique=False)
    rls.enable(op, "import_uploads")


def downgrade():
    with op.batch_alter_table('import_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_uploads_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_import_uploads_sha256'))

    op.drop_table('import_uploads')
