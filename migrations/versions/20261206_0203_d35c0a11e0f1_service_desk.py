"""service desk: cases (petitions, legal aid, job referral, training) and their append-only history

Revision ID: d35c0a11e0f1
Revises: 83ba5d942b1e
Create Date: 2026-12-06 02:00:00

Frozen text: imports nothing from the application. ``desk_cases`` is held by ``tenant_id`` (the owner, or the
union below it the case was referred down to) and owned by ``owner_tenant_id`` (the registering union); the
person's ID number and phone are encrypted and bound to ``row_key``, the ID number has the archive's blind
index (``id_index``). ``desk_case_events`` is the case's history (the runtime role may only append to it,
``tenants/rls.py``). Both are tenant-owned: row-level security with the ``tenant_subtree`` policy of the
baseline.
"""

import sqlalchemy as sa
from alembic import op

revision = 'd35c0a11e0f1'
down_revision = "83ba5d942b1e"
branch_labels = None
depends_on = None

TABLES = ("desk_cases", "desk_case_events")


def tenant_owned_row_security(table: str) -> tuple[str, str]:
    """The baseline's ``tenant_subtree`` policy, written out for ``table``."""
    among = "tenant_id = ANY (CAST((SELECT hardship_scope_ids()) AS integer[]))"
    exact = (f"EXISTS (SELECT 1 FROM tenants AS t WHERE t.id = {table}.tenant_id "
             f"AND t.path >= hardship_scope() AND t.path < hardship_scope() || '~')")
    return (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_subtree ON {table} USING ({among}) WITH CHECK ({exact})")


def upgrade():
    op.create_table('desk_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_tenant_id', sa.Integer(), nullable=False),
        sa.Column('row_key', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('person_name', sa.String(length=50), nullable=False),
        sa.Column('id_enc', sa.Text(), nullable=True),
        sa.Column('id_index', sa.String(length=64), nullable=True),
        sa.Column('phone_enc', sa.Text(), nullable=True),
        sa.Column('enterprise', sa.String(length=100), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('handler_id', sa.Integer(), nullable=True),
        sa.Column('result', sa.String(length=24), nullable=True),
        sa.Column('satisfaction', sa.String(length=24), nullable=True),
        sa.Column('closed_on', sa.Date(), nullable=True),
        sa.Column('attachments', sa.JSON(), nullable=False),
        sa.Column('legal_lawyer', sa.String(length=100), nullable=True),
        sa.Column('legal_dispute_type', sa.String(length=100), nullable=True),
        sa.Column('legal_claimed', sa.BigInteger(), nullable=True),
        sa.Column('legal_won', sa.BigInteger(), nullable=True),
        sa.Column('legal_outcome', sa.String(length=16), nullable=True),
        sa.Column('job_employer', sa.String(length=100), nullable=True),
        sa.Column('job_title', sa.String(length=100), nullable=True),
        sa.Column('job_placed', sa.Boolean(), nullable=True),
        sa.Column('job_placed_on', sa.Date(), nullable=True),
        sa.Column('training_course', sa.String(length=100), nullable=True),
        sa.Column('training_hours', sa.Integer(), nullable=True),
        sa.Column('training_completed', sa.Boolean(), nullable=True),
        sa.Column('training_certificate', sa.String(length=100), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_desk_cases_created_by_id_users')),
        sa.ForeignKeyConstraint(['handler_id'], ['users.id'], name=op.f('fk_desk_cases_handler_id_users')),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_desk_cases_household_id_households')),
        sa.ForeignKeyConstraint(['owner_tenant_id'], ['tenants.id'], name=op.f('fk_desk_cases_owner_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_desk_cases_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_cases')),
        sa.UniqueConstraint('row_key', name=op.f('uq_desk_cases_row_key')),
    )
    with op.batch_alter_table('desk_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desk_cases_id_index'), ['id_index'], unique=False)
        batch_op.create_index('ix_desk_cases_owner_received', ['owner_tenant_id', 'received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_desk_cases_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_desk_cases_tenant_status', ['tenant_id', 'status'], unique=False)

    op.create_table('desk_case_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('actor_tenant_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['actor_tenant_id'], ['tenants.id'], name=op.f('fk_desk_case_events_actor_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['case_id'], ['desk_cases.id'], name=op.f('fk_desk_case_events_case_id_desk_cases')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_desk_case_events_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_desk_case_events_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_case_events')),
    )
    with op.batch_alter_table('desk_case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desk_case_events_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_desk_case_events_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in tenant_owned_row_security(table):
                op.execute(statement)


def downgrade():
    op.drop_table('desk_case_events')
    op.drop_table('desk_cases')
