"""recount the kept report figures: aid read below the program's union

Revision ID: 5b1e7c9d3a20
Revises: 9f3a6c2e1b7d
Create Date: 2026-12-06 20:30:00

Frozen text: imports nothing from the application.

The summary's aid figures of a union counted by a reader below the union running the program (an enterprise
reading its own figures under its county's warmth program) dropped those batches, and the fast path kept
them. The counting is mended (the programs and payments of the subtree's batches are read whoever reads); the
kept figures are a cache of that counting, so they are all dropped here and counted again on their next read
(or by ``hardship reports warm``). Filed reports keep the figures they were filed with (SPEC 6.4).
"""

from alembic import op

revision = '5b1e7c9d3a20'
down_revision = "9f3a6c2e1b7d"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM report_figures")


def downgrade():
    pass  # nothing to restore: the figures are counted again on their next read
