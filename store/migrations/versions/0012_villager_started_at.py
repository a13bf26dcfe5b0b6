"""villager started at: the first /start is a welcome, every later one a welcome back

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch: on SQLite a batch copies the table, and the copy would lose
    # ix_villagers_username_lower (an index on an expression, which SQLite's reflection cannot read).
    op.add_column('villagers', sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
    # Whoever already chose a center has been through /start: they are welcomed back.
    op.execute("UPDATE villagers SET started_at = created_at WHERE telegram_id IS NOT NULL AND center_id IS NOT NULL")


def downgrade() -> None:
    op.drop_column('villagers', 'started_at')  # SQLite 3.35+ drops a column in place, keeping the indexes
