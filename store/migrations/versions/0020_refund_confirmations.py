"""refunds confirmed at the payment provider: who said a refund was paid back, and when

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not a batch: both are nullable, so no table is copied.
    op.add_column('payments', sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('payments', sa.Column('confirmed_by', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('confirmed_by')
        batch_op.drop_column('confirmed_at')
