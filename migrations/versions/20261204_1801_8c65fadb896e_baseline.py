"""baseline: the whole schema, its tables and PostgreSQL's row-level security

Revision ID: 8c65fadb896e
Revises:
Create Date: 2026-12-04 18:01:00

The eleven development revisions (d28d49529ba1 to a7d3e9f1b2c4) squashed into one before the first
deployment (issue 13). Frozen text: this file imports nothing from the application, so it never changes
when the application does. The tables are made with Alembic's operations (the same on SQLite and
PostgreSQL, names as the models' naming convention gives them, each final with ``op.f``); on PostgreSQL
the row-level security objects follow as SQL. ``hardship init`` then sets up the runtime role
(``tenants.rls.setup_runtime_role``): the grants that name it are not part of the schema.

Row-level security (PostgreSQL; on SQLite ``tenant_tree_version`` is made and never used):

- ``hardship_scope()``: the path of the scope's union (``app.tenant_path``, set per transaction by
  ``tenants.scoping``), or ``//``, which matches nothing.
- ``tenants``' policy: the path lies in the scope's range ``path >= scope AND path < scope || '~'``, an
  index range on the C-collated path (comparisons are leakproof, so the planner keeps ``ix_tenants_path_c``
  under RLS, which it cannot for ``LIKE``); the scope is read once per statement (uncorrelated sub-select).
- a tenant-owned table's policy: ``USING`` (rows read, updated, deleted) the row's ``tenant_id`` is among
  ``hardship_scope_ids()``; ``WITH CHECK`` (rows written) its union, found by its key, lies in the scope's
  range: one index probe per written row, exact even for a union created since the ids were read.
- ``hardship_scope_ids()``: the ids of the scope's subtree, kept per connection in the session settings
  ``app.tenant_ids`` and ``app.tenant_ids_key`` (``<tree version>|<scope path>|``) while the tree's version
  is unchanged (a city holds a thousand unions or more, and reading them took about half a millisecond
  each time, several times per ledger posting). The version is the one row of ``tenant_tree_version``,
  set from ``tenant_tree_version_seq`` by the statement trigger ``tenants_tree_changed`` on every change to
  ``tenants`` (``hardship_tree_changed()`` calls ``hardship_tree_changed_now()``, both as the owner, both
  refused to PUBLIC). The sequence starts at the current time in microseconds, so a downgrade and an
  upgrade never bring a number back (a migration that recreates it must do the same). The version is read
  before the ids, each in its own snapshot, so ids read newer than the version only ever carry an older key.
  A committed change is seen from each connection's next statement; settings kept in a transaction that
  rolls back are undone with it. Costs: the function writes settings, so it is PARALLEL UNSAFE; every
  statement that changes ``tenants`` holds the version's row until commit (two tree changes serialise, and
  under REPEATABLE READ the second fails); a tree changed with triggers disabled needs
  ``SELECT hardship_tree_changed_now()`` by hand, and a ``pg_restore`` into a live database a restart.
  Trust: a caller that can run any SQL could plant either setting (a planted list lasts the connection);
  RLS here guards against a query that forgot its filter. Names are qualified with ``public`` (a temporary
  table cannot stand in), the function runs as the caller (the tenants' policy applies inside it), and
  every role may read the version (a role that could not would read no tenant-owned row).

A new tenant-owned table's migration enables row-level security and writes the same ``tenant_subtree``
policy for it (``tests/tenants/test_rls.py`` fails otherwise).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c65fadb896e'
down_revision = None
branch_labels = None
depends_on = None

#: every table, in the order they are made (dropped in the reverse order)
TABLES = (
    "tenants", "tenant_tree_version", "tenant_settings", "users", "api_tokens", "audit_events", "jobs",
    "households", "household_events", "household_objections", "household_persons", "household_reliefs",
    "household_surveys", "import_uploads", "fund_lots", "fund_transactions", "fund_entries",
)
#: every table with a tenant_id (the tenant-owned models), in the order they are made
TENANT_OWNED_TABLES = (
    "tenant_settings", "users", "audit_events", "jobs",
    "households", "household_events", "household_objections", "household_persons", "household_reliefs",
    "household_surveys", "import_uploads", "fund_lots", "fund_transactions", "fund_entries",
)

SCOPE_FUNCTION = """
CREATE FUNCTION hardship_scope() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT coalesce(nullif(current_setting('app.tenant_path', true), ''), '//') $$
"""

TREE_VERSION = (
    "GRANT SELECT ON tenant_tree_version TO PUBLIC",
    "CREATE SEQUENCE tenant_tree_version_seq",
    "SELECT setval('tenant_tree_version_seq', CAST(extract(epoch FROM clock_timestamp()) * 1000000 AS bigint))",
    "CREATE FUNCTION hardship_tree_changed_now() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
    "SET search_path = pg_catalog, pg_temp AS "
    "$$ INSERT INTO public.tenant_tree_version AS v (id, version) "
    "VALUES (1, nextval('public.tenant_tree_version_seq')) "
    "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version RETURNING v.version $$",
    "CREATE FUNCTION hardship_tree_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
    "SET search_path = pg_catalog, pg_temp AS "
    "$$ BEGIN PERFORM public.hardship_tree_changed_now(); RETURN NULL; END $$",
    "REVOKE EXECUTE ON FUNCTION hardship_tree_changed_now() FROM PUBLIC",
    "REVOKE EXECUTE ON FUNCTION hardship_tree_changed() FROM PUBLIC",
    "SELECT hardship_tree_changed_now()",
    "CREATE TRIGGER tenants_tree_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants "
    "FOR EACH STATEMENT EXECUTE FUNCTION hardship_tree_changed()",
)

SCOPE_IDS_FUNCTION = """
CREATE FUNCTION hardship_scope_ids() RETURNS integer[]
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS
$$
DECLARE
    scope_path text := public.hardship_scope();
    tree bigint := (SELECT v.version FROM public.tenant_tree_version AS v WHERE v.id = 1);
    key text := tree || '|' || scope_path || '|';
    ids integer[];
BEGIN
    IF key IS NOT NULL AND current_setting('app.tenant_ids_key', true) = key THEN
        RETURN CAST(current_setting('app.tenant_ids') AS integer[]);
    END IF;
    ids := ARRAY(SELECT tenants.id FROM public.tenants
                 WHERE tenants.path >= scope_path AND tenants.path < scope_path || '~');
    IF key IS NOT NULL THEN  -- no version row (the table emptied by hand): nothing is kept
        PERFORM set_config('app.tenant_ids', CAST(ids AS text), false);
        PERFORM set_config('app.tenant_ids_key', key, false);
    END IF;
    RETURN ids;
END
$$
"""

TENANTS_CLAUSE = "path >= (SELECT hardship_scope()) AND path < (SELECT hardship_scope()) || '~'"
TENANTS_ROW_SECURITY = (
    "ALTER TABLE tenants ENABLE ROW LEVEL SECURITY",
    f"CREATE POLICY tenant_subtree ON tenants USING ({TENANTS_CLAUSE}) WITH CHECK ({TENANTS_CLAUSE})",
)


def tenant_owned_row_security(table: str) -> tuple[str, str]:
    """Row-level security on a tenant-owned ``table`` (see the module's docstring)."""
    among = "tenant_id = ANY (CAST((SELECT hardship_scope_ids()) AS integer[]))"
    exact = (f"EXISTS (SELECT 1 FROM tenants AS t WHERE t.id = {table}.tenant_id "
             f"AND t.path >= hardship_scope() AND t.path < hardship_scope() || '~')")
    return (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_subtree ON {table} USING ({among}) WITH CHECK ({exact})")


#: what downgrade() drops after the tables (the policies and the trigger go with their tables)
ROW_SECURITY_DOWN = (
    "DROP FUNCTION hardship_scope_ids()",
    "DROP FUNCTION hardship_tree_changed()",
    "DROP FUNCTION hardship_tree_changed_now()",
    "DROP FUNCTION hardship_scope()",
    "DROP SEQUENCE tenant_tree_version_seq",
)


def upgrade():
    op.create_table('tenants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('level', sa.String(length=32), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('division_code', sa.String(length=6), nullable=True),
        sa.Column('path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
        sa.Column('depth', sa.SmallInteger(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['parent_id'], ['tenants.id'], name=op.f('fk_tenants_parent_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
        sa.UniqueConstraint('code', name=op.f('uq_tenants_code'))
    )
    op.create_index(op.f('ix_tenants_parent_id'), 'tenants', ['parent_id'], unique=False)
    op.create_index('ix_tenants_path_c', 'tenants', ['path'], unique=False)
    op.create_table('tenant_tree_version',
        sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_tenant_tree_version_one_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_tree_version'))
    )
    op.create_table('tenant_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_settings_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_settings')),
        sa.UniqueConstraint('tenant_id', 'key', name=op.f('uq_tenant_settings_tenant_id_key'))
    )
    op.create_index(op.f('ix_tenant_settings_tenant_id'), 'tenant_settings', ['tenant_id'], unique=False)
    op.create_table('users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=50), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('roles', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('session_stamp', sa.String(length=16), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_index(op.f('ix_users_tenant_id'), 'users', ['tenant_id'], unique=False)
    op.create_table('api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('audit_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=64), nullable=False),
        sa.Column('object_id', sa.String(length=64), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_audit_events_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index(op.f('ix_audit_events_action'), 'audit_events', ['action'], unique=False)
    op.create_index('ix_audit_events_tenant_at', 'audit_events', ['tenant_id', 'at'], unique=False)
    op.create_index(op.f('ix_audit_events_tenant_id'), 'audit_events', ['tenant_id'], unique=False)
    op.create_table('jobs',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('queue', sa.String(length=32), nullable=False),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('progress', sa.Double(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('output', sa.LargeBinary(), nullable=True),
        sa.Column('output_name', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_jobs_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index(op.f('ix_jobs_tenant_id'), 'jobs', ['tenant_id'], unique=False)
    op.create_table('households',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('archive_tenant_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('episode', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=16), nullable=False),
        sa.Column('primary_reason', sa.String(length=16), nullable=False),
        sa.Column('secondary_reasons', sa.JSON(), nullable=False),
        sa.Column('income_per_capita', sa.BigInteger(), nullable=False),
        sa.Column('subsistence', sa.String(length=16), nullable=False),
        sa.Column('medical_insurance', sa.String(length=16), nullable=False),
        sa.Column('address_enc', sa.Text(), nullable=True),
        sa.Column('bank_name', sa.String(length=50), nullable=True),
        sa.Column('card_enc', sa.Text(), nullable=True),
        sa.Column('card_luhn_ok', sa.Boolean(), nullable=False),
        sa.Column('needs', sa.Text(), nullable=False),
        sa.Column('cadre_first', sa.String(length=50), nullable=False),
        sa.Column('cadre_second', sa.String(length=50), nullable=False),
        sa.Column('head_name', sa.String(length=50), nullable=False),
        sa.Column('applied_on', sa.Date(), nullable=False),
        sa.Column('publicity_ends_on', sa.Date(), nullable=True),
        sa.Column('archived_on', sa.Date(), nullable=True),
        sa.Column('closed_on', sa.Date(), nullable=True),
        sa.Column('close_reason', sa.String(length=200), nullable=True),
        sa.Column('last_survey_on', sa.Date(), nullable=True),
        sa.Column('import_key', sa.String(length=64), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['archive_tenant_id'], ['tenants.id'], name=op.f('fk_households_archive_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_households_created_by_id_users')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_households_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_households')),
        sa.UniqueConstraint('import_key', name=op.f('uq_households_import_key'))
    )
    op.create_index('ix_households_archive_status', 'households', ['archive_tenant_id', 'status'], unique=False)
    op.create_index(op.f('ix_households_head_name'), 'households', ['head_name'], unique=False)
    op.create_index(op.f('ix_households_tenant_id'), 'households', ['tenant_id'], unique=False)
    op.create_index('ix_households_tenant_status', 'households', ['tenant_id', 'status'], unique=False)
    op.create_table('household_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('episode', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.String(length=16), nullable=True),
        sa.Column('to_status', sa.String(length=16), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_events_household_id_households')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_household_events_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_household_events_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_household_events'))
    )
    op.create_index(op.f('ix_household_events_household_id'), 'household_events', ['household_id'], unique=False)
    op.create_index(op.f('ix_household_events_tenant_id'), 'household_events', ['tenant_id'], unique=False)
    op.create_table('household_objections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('episode', sa.Integer(), nullable=False),
        sa.Column('raised_on', sa.Date(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_objections_household_id_households')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_household_objections_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_household_objections_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_household_objections'))
    )
    op.create_index(op.f('ix_household_objections_household_id'), 'household_objections', ['household_id'], unique=False)
    op.create_index(op.f('ix_household_objections_tenant_id'), 'household_objections', ['tenant_id'], unique=False)
    op.create_table('household_persons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('id_enc', sa.Text(), nullable=False),
        sa.Column('id_index', sa.String(length=64), nullable=False),
        sa.Column('gender', sa.String(length=8), nullable=False),
        sa.Column('birth_date', sa.Date(), nullable=False),
        sa.Column('phone_enc', sa.Text(), nullable=True),
        sa.Column('relation', sa.String(length=16), nullable=False),
        sa.Column('health', sa.String(length=100), nullable=False),
        sa.Column('occupation', sa.String(length=100), nullable=False),
        sa.Column('income', sa.BigInteger(), nullable=False),
        sa.Column('job', sa.String(length=100), nullable=False),
        sa.Column('union_member', sa.Boolean(), nullable=False),
        sa.Column('model_worker', sa.Boolean(), nullable=False),
        sa.Column('model_worker_grade', sa.String(length=50), nullable=False),
        sa.Column('migrant_worker', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_persons_household_id_households')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_household_persons_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_household_persons'))
    )
    op.create_index(op.f('ix_household_persons_household_id'), 'household_persons', ['household_id'], unique=False)
    op.create_index('ix_household_persons_id_index', 'household_persons', ['id_index'], unique=False)
    op.create_index(op.f('ix_household_persons_name'), 'household_persons', ['name'], unique=False)
    op.create_index(op.f('ix_household_persons_tenant_id'), 'household_persons', ['tenant_id'], unique=False)
    op.create_index('uq_household_persons_active_id_index', 'household_persons', ['id_index'], unique=True, sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))
    op.create_table('household_reliefs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.SmallInteger(), nullable=False),
        sa.Column('relieved_on', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_reliefs_household_id_households')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_household_reliefs_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_household_reliefs_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_household_reliefs'))
    )
    op.create_index(op.f('ix_household_reliefs_household_id'), 'household_reliefs', ['household_id'], unique=False)
    op.create_index(op.f('ix_household_reliefs_tenant_id'), 'household_reliefs', ['tenant_id'], unique=False)
    op.create_table('household_surveys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('visited_on', sa.Date(), nullable=False),
        sa.Column('visitors', sa.JSON(), nullable=False),
        sa.Column('findings', sa.Text(), nullable=False),
        sa.Column('income_per_capita', sa.BigInteger(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_surveys_household_id_households')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_household_surveys_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_household_surveys_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_household_surveys'))
    )
    op.create_index(op.f('ix_household_surveys_household_id'), 'household_surveys', ['household_id'], unique=False)
    op.create_index(op.f('ix_household_surveys_tenant_id'), 'household_surveys', ['tenant_id'], unique=False)
    op.create_table('import_uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('content_enc', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_import_uploads_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_uploads_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_uploads'))
    )
    op.create_index(op.f('ix_import_uploads_sha256'), 'import_uploads', ['sha256'], unique=False)
    op.create_index(op.f('ix_import_uploads_tenant_id'), 'import_uploads', ['tenant_id'], unique=False)
    op.create_table('fund_lots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=24), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('balance', sa.BigInteger(), nullable=False),
        sa.Column('received', sa.BigInteger(), nullable=False),
        sa.Column('allocated_in', sa.BigInteger(), nullable=False),
        sa.Column('returned_in', sa.BigInteger(), nullable=False),
        sa.Column('allocated_out', sa.BigInteger(), nullable=False),
        sa.Column('disbursed', sa.BigInteger(), nullable=False),
        sa.Column('returned_out', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('balance >= 0', name=op.f('ck_fund_lots_balance_not_negative')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_fund_lots_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_lots')),
        sa.UniqueConstraint('tenant_id', 'source', 'fiscal_year', name=op.f('uq_fund_lots_tenant_id_source_fiscal_year'))
    )
    op.create_index(op.f('ix_fund_lots_tenant_id'), 'fund_lots', ['tenant_id'], unique=False)
    op.create_index('ix_fund_lots_year', 'fund_lots', ['fiscal_year'], unique=False)
    op.create_table('fund_transactions',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('document_no', sa.String(length=100), nullable=False),
        sa.Column('posted_on', sa.Date(), nullable=False),
        sa.Column('source', sa.String(length=24), nullable=True),
        sa.Column('fiscal_year', sa.Integer(), nullable=True),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('from_tenant_id', sa.Integer(), nullable=True),
        sa.Column('to_tenant_id', sa.Integer(), nullable=True),
        sa.Column('destination', sa.String(length=16), nullable=True),
        sa.Column('purpose', sa.String(length=16), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=True),
        sa.Column('reverses_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('poster_tenant_id', sa.Integer(), nullable=False),
        sa.Column('posted_by_id', sa.Integer(), nullable=True),
        sa.Column('posted_by', sa.String(length=64), nullable=True),
        sa.Column('idempotency_key', sa.String(length=100), nullable=True),
        sa.Column('request_hash', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('amount > 0', name=op.f('ck_fund_transactions_amount_positive')),
        sa.ForeignKeyConstraint(['from_tenant_id'], ['tenants.id'], name=op.f('fk_fund_transactions_from_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['posted_by_id'], ['users.id'], name=op.f('fk_fund_transactions_posted_by_id_users')),
        sa.ForeignKeyConstraint(['poster_tenant_id'], ['tenants.id'], name=op.f('fk_fund_transactions_poster_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['reverses_id'], ['fund_transactions.id'], name=op.f('fk_fund_transactions_reverses_id_fund_transactions')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_fund_transactions_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['to_tenant_id'], ['tenants.id'], name=op.f('fk_fund_transactions_to_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_transactions')),
        sa.UniqueConstraint('poster_tenant_id', 'idempotency_key', name=op.f('uq_fund_transactions_poster_tenant_id_idempotency_key')),
        sa.UniqueConstraint('reverses_id', name=op.f('uq_fund_transactions_reverses_id'))
    )
    op.create_index(op.f('ix_fund_transactions_document_no'), 'fund_transactions', ['document_no'], unique=False)
    op.create_index(op.f('ix_fund_transactions_tenant_id'), 'fund_transactions', ['tenant_id'], unique=False)
    op.create_index('ix_fund_transactions_tenant_posted_on', 'fund_transactions', ['tenant_id', 'posted_on'], unique=False)
    op.create_table('fund_entries',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('lot_id', sa.Integer(), nullable=True),
        sa.Column('account', sa.String(length=40), nullable=True),
        sa.Column('category', sa.String(length=16), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('(lot_id IS NULL) <> (account IS NULL)', name=op.f('ck_fund_entries_lot_or_account')),
        sa.CheckConstraint('amount <> 0', name=op.f('ck_fund_entries_amount_not_zero')),
        sa.ForeignKeyConstraint(['lot_id'], ['fund_lots.id'], name=op.f('fk_fund_entries_lot_id_fund_lots')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_fund_entries_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['transaction_id'], ['fund_transactions.id'], name=op.f('fk_fund_entries_transaction_id_fund_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_entries'))
    )
    op.create_index(op.f('ix_fund_entries_lot_id'), 'fund_entries', ['lot_id'], unique=False)
    op.create_index(op.f('ix_fund_entries_tenant_id'), 'fund_entries', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_fund_entries_transaction_id'), 'fund_entries', ['transaction_id'], unique=False)

    if op.get_bind().dialect.name != "postgresql":
        return
    _execute((SCOPE_FUNCTION, *TREE_VERSION, SCOPE_IDS_FUNCTION, *TENANTS_ROW_SECURITY))
    for table in TENANT_OWNED_TABLES:
        _execute(tenant_owned_row_security(table))


def downgrade():
    """Drops everything upgrade() made (a table's policies, trigger, indexes and grants go with it)."""
    for table in reversed(TABLES):
        op.drop_table(table)
    if op.get_bind().dialect.name != "postgresql":
        return
    _execute(ROW_SECURITY_DOWN)


def _execute(statements) -> None:
    for statement in statements:
        op.execute(statement)
