"""aid core: programs, batches and their history, items, and the claims of "no duplicate aid"

Revision ID: 83ba5d942b1e
Revises: 9a4c6e2b7d15
Create Date: 2026-12-06 02:14:15.650420

Frozen text: this file imports nothing from the application.

- ``aid_programs``, ``aid_batches``, ``aid_batch_events``, ``aid_items``, ``aid_visits``: tenant-owned, with row-level security
  on PostgreSQL. Batches, their history and items have the ``tenant_subtree`` policy of the baseline. A
  program is also read from below its owner (an enterprise reads its county's campaign): its ``USING`` adds
  "the scope's path starts with the owner's path" (``tenant_path``); its ``WITH CHECK`` is the baseline's.
- ``aid_claims``: no ``tenant_id`` and no row-level security, on purpose: its UNIQUE ``(claim_key,
  person_index)`` is "no duplicate aid" (SPEC 5.3) across the whole deployment, which a policy limited to a
  subtree could not enforce. It holds blind indexes, item ids and the holding union's name only.
"""
from alembic import op
import sqlalchemy as sa

#: tables with the baseline's tenant_subtree policy
SUBTREE_TABLES = ("aid_batches", "aid_batch_events", "aid_items", "aid_visits")


def _row_security(table: str, extra_read: str = "") -> tuple[str, str]:
    among = "tenant_id = ANY (CAST((SELECT hardship_scope_ids()) AS integer[]))"
    exact = (f"EXISTS (SELECT 1 FROM tenants AS t WHERE t.id = {table}.tenant_id "
             f"AND t.path >= hardship_scope() AND t.path < hardship_scope() || '~')")
    read = f"({among}) OR ({extra_read})" if extra_read else among
    return (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_subtree ON {table} USING ({read}) WITH CHECK ({exact})")


#: a program is read by its owner's subtree and by every union below the owner
PROGRAM_READ_FROM_BELOW = "left((SELECT hardship_scope()), length(tenant_path)) = tenant_path"


# revision identifiers, used by Alembic.
revision = '83ba5d942b1e'
down_revision = "9a4c6e2b7d15"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('aid_programs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_path', sa.String(length=1024), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('standards', sa.JSON(), nullable=False),
    sa.Column('allow_non_archived', sa.Boolean(), nullable=False),
    sa.Column('approval_threshold', sa.BigInteger(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('approval_threshold > 0', name=op.f('ck_aid_programs_threshold_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_aid_programs_created_by_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_aid_programs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aid_programs'))
    )
    with op.batch_alter_table('aid_programs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aid_programs_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_aid_programs_tenant_year', ['tenant_id', 'year'], unique=False)

    op.create_table('aid_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('head_approved_by_id', sa.Integer(), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_aid_batches_approved_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_aid_batches_created_by_id_users')),
    sa.ForeignKeyConstraint(['head_approved_by_id'], ['users.id'], name=op.f('fk_aid_batches_head_approved_by_id_users')),
    sa.ForeignKeyConstraint(['program_id'], ['aid_programs.id'], name=op.f('fk_aid_batches_program_id_aid_programs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_aid_batches_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['transaction_id'], ['fund_transactions.id'], name=op.f('fk_aid_batches_transaction_id_fund_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aid_batches'))
    )
    with op.batch_alter_table('aid_batches', schema=None) as batch_op:
        batch_op.create_index('ix_aid_batches_program_status', ['program_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_aid_batches_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('aid_batch_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['aid_batches.id'], name=op.f('fk_aid_batch_events_batch_id_aid_batches')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_aid_batch_events_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_aid_batch_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aid_batch_events'))
    )
    with op.batch_alter_table('aid_batch_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aid_batch_events_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_aid_batch_events_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('aid_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('row_key', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('id_enc', sa.Text(), nullable=True),
    sa.Column('id_index', sa.String(length=64), nullable=False),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('needs_head', sa.Boolean(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('override_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('signed_by', sa.String(length=50), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('(household_id IS NULL) <> (id_enc IS NULL)', name=op.f('ck_aid_items_household_or_person')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_aid_items_amount_not_negative')),
    sa.ForeignKeyConstraint(['batch_id'], ['aid_batches.id'], name=op.f('fk_aid_items_batch_id_aid_batches')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_aid_items_household_id_households')),
    sa.ForeignKeyConstraint(['override_by_id'], ['users.id'], name=op.f('fk_aid_items_override_by_id_users')),
    sa.ForeignKeyConstraint(['program_id'], ['aid_programs.id'], name=op.f('fk_aid_items_program_id_aid_programs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_aid_items_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aid_items')),
    sa.UniqueConstraint('row_key', name=op.f('uq_aid_items_row_key'))
    )
    with op.batch_alter_table('aid_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aid_items_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_aid_items_household_id'), ['household_id'], unique=False)
        batch_op.create_index('ix_aid_items_program_index', ['program_id', 'id_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_aid_items_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('aid_claims',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_key', sa.String(length=40), nullable=False),
    sa.Column('person_index', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('holder_name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['aid_items.id'], name=op.f('fk_aid_claims_item_id_aid_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aid_claims')),
    sa.UniqueConstraint('claim_key', 'person_index', name=op.f('uq_aid_claims_claim_key_person_index'))
    )
    with op.batch_alter_table('aid_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aid_claims_item_id'), ['item_id'], unique=False)

    op.create_table('aid_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('visitors', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('relieved', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['aid_items.id'], name=op.f('fk_aid_visits_item_id_aid_items')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_aid_visits_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_aid_visits_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aid_visits'))
    )
    with op.batch_alter_table('aid_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aid_visits_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_aid_visits_tenant_id'), ['tenant_id'], unique=False)

    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _row_security("aid_programs", PROGRAM_READ_FROM_BELOW):
        op.execute(statement)
    for table in SUBTREE_TABLES:
        for statement in _row_security(table):
            op.execute(statement)


def downgrade():
    with op.batch_alter_table('aid_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aid_visits_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_aid_visits_item_id'))

    op.drop_table('aid_visits')
    with op.batch_alter_table('aid_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aid_claims_item_id'))

    op.drop_table('aid_claims')
    with op.batch_alter_table('aid_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aid_items_tenant_id'))
        batch_op.drop_index('ix_aid_items_program_index')
        batch_op.drop_index(batch_op.f('ix_aid_items_household_id'))
        batch_op.drop_index(batch_op.f('ix_aid_items_batch_id'))

    op.drop_table('aid_items')
    with op.batch_alter_table('aid_batch_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aid_batch_events_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_aid_batch_events_batch_id'))

    op.drop_table('aid_batch_events')
    with op.batch_alter_table('aid_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aid_batches_tenant_id'))
        batch_op.drop_index('ix_aid_batches_program_status')

    op.drop_table('aid_batches')
    with op.batch_alter_table('aid_programs', schema=None) as batch_op:
        batch_op.drop_index('ix_aid_programs_tenant_year')
        batch_op.drop_index(batch_op.f('ix_aid_programs_tenant_id'))

    op.drop_table('aid_programs')
