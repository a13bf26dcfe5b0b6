"""handovers: cash a partner handed to the county, waiting for county staff to confirm it

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('by_telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('confirmed_by', sa.BigInteger(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['center_id'], ['service_centers.id'], name=op.f('fk_handovers_center_id_service_centers')),
    sa.ForeignKeyConstraint(['entry_id'], ['cash_entries.id'], name=op.f('fk_handovers_entry_id_cash_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handovers'))
    )
    op.create_index(op.f('ix_handovers_center_id'), 'handovers', ['center_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_handovers_center_id'), table_name='handovers')
    op.drop_table('handovers')
