"""report figures: each union's own figures per period, kept while the records they count are unchanged

Revision ID: e4b8c1d7a2f6
Revises: c7d2a9e4f8b1
Create Date: 2026-12-06 05:01:00

Frozen text: imports nothing from the application.

``report_versions`` holds one counter per union, raised by triggers in the transaction of every change to the
records the union's own figures count: ``households`` and ``household_events`` (for the household's union),
``aid_batches``, ``aid_items`` and ``aid_programs`` (for the batch's union). ``report_figures`` holds a union's
own figures for a period together with the counter they were counted at; the summary's fast path
(``hardship.reports.figures``) uses a row only while the counter is unchanged, so a kept figure is never stale.

PostgreSQL: statement triggers with transition tables (one upsert per statement, however many rows: a bulk
load raises each union's counter once), through ``hardship_report_changed(kind)`` which runs as the owner; the
runtime role may only read ``report_versions`` (``tenants/rls.py``). A writer holds its unions' counter rows
until it commits (two writers of one union's archive or aid serialise on that row). SQLite: row triggers.
Both tables are tenant-owned: row-level security with the ``tenant_subtree`` policy of the baseline.
"""

import sqlalchemy as sa
from alembic import op

revision = 'e4b8c1d7a2f6'
down_revision = "c7d2a9e4f8b1"
branch_labels = None
depends_on = None

TABLES = ("report_versions", "report_figures")

#: for each watched table: the column of a changed row (``r``) that leads to its union, and the unions' query
UNIONS_OF = {
    "households": ("tenant_id", "SELECT r.tenant_id FROM {rows} AS r"),
    "household_events": ("household_id",
                         "SELECT h.tenant_id FROM {rows} AS r JOIN households AS h ON h.id = r.household_id"),
    "aid_batches": ("tenant_id", "SELECT r.tenant_id FROM {rows} AS r"),
    "aid_items": ("batch_id", "SELECT b.tenant_id FROM {rows} AS r JOIN aid_batches AS b ON b.id = r.batch_id"),
    "aid_programs": ("id", "SELECT b.tenant_id FROM {rows} AS r JOIN aid_batches AS b ON b.program_id = r.id"),
}


def tenant_owned_row_security(table: str) -> tuple[str, str]:
    """The baseline's ``tenant_subtree`` policy, written out for ``table``."""
    among = "tenant_id = ANY (CAST((SELECT hardship_scope_ids()) AS integer[]))"
    exact = (f"EXISTS (SELECT 1 FROM tenants AS t WHERE t.id = {table}.tenant_id "
             f"AND t.path >= hardship_scope() AND t.path < hardship_scope() || '~')")
    return (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_subtree ON {table} USING ({among}) WITH CHECK ({exact})")


def _raise(unions: str) -> str:
    return (f"INSERT INTO report_versions (tenant_id, version) SELECT DISTINCT u.tenant_id, 1 FROM ({unions}) AS u "
            "WHERE u.tenant_id IS NOT NULL "
            "ON CONFLICT (tenant_id) DO UPDATE SET version = report_versions.version + 1")


def _postgresql_function(table: str) -> str:
    new_rows, old_rows = (UNIONS_OF[table][1].format(rows=rows) for rows in ("changed_rows", "old_rows"))
    return f"""
CREATE FUNCTION hardship_report_changed_{table}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_raise(new_rows)};
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_raise(old_rows)};
    END IF;
    RETURN NULL;
END $$"""


def _postgresql(table: str) -> list[str]:
    function = f"hardship_report_changed_{table}"
    return [
        _postgresql_function(table),
        f"REVOKE EXECUTE ON FUNCTION {function}() FROM PUBLIC",
        f"CREATE TRIGGER {table}_report_inserted AFTER INSERT ON {table} REFERENCING NEW TABLE AS changed_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {table}_report_updated AFTER UPDATE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {table}_report_deleted AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def _sqlite(table: str) -> list[str]:
    column, unions = UNIONS_OF[table]

    def row(name: str) -> str:
        return unions.format(rows=f"(SELECT {name}.{column} AS {column})")

    out = []
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("NEW", "OLD")), ("DELETE", ("OLD",))):
        body = " ".join(f"{_raise(row(name))};" for name in rows)
        out.append(f"CREATE TRIGGER {table}_report_{event.lower()} AFTER {event} ON {table} BEGIN {body} END")
    return out


def upgrade():
    op.create_table('report_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_report_versions_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_versions')),
        sa.UniqueConstraint('tenant_id', name=op.f('uq_report_versions_tenant_id')),
    )
    with op.batch_alter_table('report_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_versions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('report_figures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('month >= 0 AND month <= 12', name=op.f('ck_report_figures_month_range')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_report_figures_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_figures')),
        sa.UniqueConstraint('tenant_id', 'year', 'month', name=op.f('uq_report_figures_tenant_id_year_month')),
    )
    with op.batch_alter_table('report_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_figures_tenant_id'), ['tenant_id'], unique=False)

    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in UNIONS_OF:
        for statement in (_postgresql if postgresql else _sqlite)(table):
            op.execute(statement)
    if postgresql:
        for table in TABLES:
            for statement in tenant_owned_row_security(table):
                op.execute(statement)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in UNIONS_OF:
        if postgresql:
            for event in ("inserted", "updated", "deleted"):
                op.execute(f"DROP TRIGGER {table}_report_{event} ON {table}")
            op.execute(f"DROP FUNCTION hardship_report_changed_{table}()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_report_{event}")
    op.drop_table('report_figures')
    op.drop_table('report_versions')
