"""defence in depth: api_tokens per union under row-level security, lot balances changed only through the
ledger's function, a row key binding each row's encrypted values

Revision ID: 5e1d0c3a9b7f
Revises: 3b7e5c2d9f41
Create Date: 2026-12-05 08:00:00

Frozen text: this file imports nothing from the application.

- ``api_tokens.tenant_id``: a token belongs to its user's union (filled from the users for the tokens that
  exist); on PostgreSQL row-level security and the same ``tenant_subtree`` policy as every tenant-owned table
  (see the baseline), so a union's scope neither sees nor writes another union's tokens.
- ``households.row_key`` and ``household_persons.row_key``: 32 random hex digits, unique, that the row's
  encrypted values are bound to as associated data (``hardship.core.crypto``). Rows that exist get one here;
  their values, written before the binding, are bound by ``rotate-pii``.
- ``hardship_change_lots(lot, delta, <running totals>)`` (PostgreSQL): the ledger's conditional update of its
  lots (``hardship.funds.ledger``), one array element per lot, in the order given; it stops at the first lot
  that lacks the money and returns how many it changed. It runs as the owner (``SECURITY DEFINER``, refused
  to PUBLIC), so the runtime role, which ``hardship init`` no longer lets update ``fund_lots``, changes a
  balance only through it; as the owner is not subject to row-level security, it applies the scope itself
  (``tenant_id = ANY (hardship_scope_ids())``, the policy's ``USING``).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1d0c3a9b7f'
down_revision = '3b7e5c2d9f41'
branch_labels = None
depends_on = None

#: the running totals of a lot, in the order of the function's parameters after ``lot`` and ``delta``
RUNNING_TOTALS = ("received", "allocated_in", "returned_in", "allocated_out", "disbursed", "returned_out")

CHANGE_LOTS_FUNCTION = f"""
CREATE FUNCTION hardship_change_lots(lot integer[], delta bigint[], {", ".join(f"{t} bigint[]" for t in RUNNING_TOTALS)})
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    scope integer[] := public.hardship_scope_ids();
    changed integer := 0;
BEGIN
    FOR i IN 1 .. coalesce(array_length(lot, 1), 0) LOOP
        UPDATE public.fund_lots AS l
        SET balance = l.balance + hardship_change_lots.delta[i],
            {", ".join(f"{t} = l.{t} + hardship_change_lots.{t}[i]" for t in RUNNING_TOTALS)}
        WHERE l.id = hardship_change_lots.lot[i] AND l.balance + hardship_change_lots.delta[i] >= 0
          AND l.tenant_id = ANY (scope);
        IF NOT FOUND THEN
            RETURN changed;
        END IF;
        changed := changed + 1;
    END LOOP;
    RETURN changed;
END
$$
"""
CHANGE_LOTS_SIGNATURE = f"hardship_change_lots(integer[], bigint[], {', '.join(['bigint[]'] * len(RUNNING_TOTALS))})"

API_TOKENS_ROW_SECURITY = (
    "ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_subtree ON api_tokens "
    "USING (tenant_id = ANY (CAST((SELECT hardship_scope_ids()) AS integer[]))) "
    "WITH CHECK (EXISTS (SELECT 1 FROM tenants AS t WHERE t.id = api_tokens.tenant_id "
    "AND t.path >= hardship_scope() AND t.path < hardship_scope() || '~'))",
)


def _random_row_keys(table: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"UPDATE {table} SET row_key = md5(random()::text || clock_timestamp()::text || id::text)"
    return f"UPDATE {table} SET row_key = lower(hex(randomblob(16)))"


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tenant_id', sa.Integer(), nullable=True))
    op.execute("UPDATE api_tokens SET tenant_id = (SELECT users.tenant_id FROM users WHERE users.id = api_tokens.user_id)")
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('tenant_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_api_tokens_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_tenant_id_tenants'), 'tenants', ['tenant_id'], ['id'])

    for table in ('households', 'household_persons'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('row_key', sa.String(length=32), nullable=True))
        op.execute(_random_row_keys(table))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('row_key', existing_type=sa.String(length=32), nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_row_key'), ['row_key'])

    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (*API_TOKENS_ROW_SECURITY, CHANGE_LOTS_FUNCTION,
                      f"REVOKE EXECUTE ON FUNCTION {CHANGE_LOTS_SIGNATURE} FROM PUBLIC"):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {CHANGE_LOTS_SIGNATURE}")
        op.execute("DROP POLICY tenant_subtree ON api_tokens")
        op.execute("ALTER TABLE api_tokens DISABLE ROW LEVEL SECURITY")
    for table in ('household_persons', 'households'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_row_key'), type_='unique')
            batch_op.drop_column('row_key')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_tenant_id_tenants'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_tokens_tenant_id'))
        batch_op.drop_column('tenant_id')
