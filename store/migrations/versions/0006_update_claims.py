"""update claims: a claim that lapses, a done mark, and the body of a polled update in hand

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('done_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('body', sa.JSON(), nullable=True))
    # Every update taken before claims existed counts as handled.
    op.execute('UPDATE processed_updates SET done_at = at')


def downgrade() -> None:
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.drop_column('body')
        batch_op.drop_column('done_at')
        batch_op.drop_column('claimed_until')
