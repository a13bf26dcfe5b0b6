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
    with op.batch_alter_table('villagers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
    # Whoever already chose a center has been through /start: they are welcomed back.
    op.execute("UPDATE villagers SET started_at = created_at WHERE telegram_id IS NOT NULL AND center_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('villagers', schema=None) as batch_op:
        batch_op.drop_column('started_at')
