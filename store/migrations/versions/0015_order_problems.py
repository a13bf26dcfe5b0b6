"""problems after pickup: a villager's report, and the partner's refund, replacement or decline

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('villager_id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=True),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('photo', sa.String(length=300), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('refund_lines', sa.JSON(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), nullable=False),
    sa.Column('replacement_order_id', sa.Integer(), nullable=True),
    sa.Column('decline_reason', sa.String(length=300), nullable=False),
    sa.Column('restock', sa.String(length=16), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('cards', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_problems_order_id_orders'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['villager_id'], ['villagers.id'], name=op.f('fk_order_problems_villager_id_villagers'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['center_id'], ['service_centers.id'],
                            name=op.f('fk_order_problems_center_id_service_centers')),
    sa.ForeignKeyConstraint(['replacement_order_id'], ['orders.id'],
                            name=op.f('fk_order_problems_replacement_order_id_orders')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['villagers.id'],
                            name=op.f('fk_order_problems_decided_by_id_villagers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_problems'))
    )
    op.create_index(op.f('ix_order_problems_order_id'), 'order_problems', ['order_id'], unique=False)
    op.create_index(op.f('ix_order_problems_villager_id'), 'order_problems', ['villager_id'], unique=False)
    op.create_index(op.f('ix_order_problems_center_id'), 'order_problems', ['center_id'], unique=False)
    op.create_index(op.f('ix_order_problems_status'), 'order_problems', ['status'], unique=False)
    op.create_index(op.f('ix_order_problems_reported_at'), 'order_problems', ['reported_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_order_problems_reported_at'), table_name='order_problems')
    op.drop_index(op.f('ix_order_problems_status'), table_name='order_problems')
    op.drop_index(op.f('ix_order_problems_center_id'), table_name='order_problems')
    op.drop_index(op.f('ix_order_problems_villager_id'), table_name='order_problems')
    op.drop_index(op.f('ix_order_problems_order_id'), table_name='order_problems')
    op.drop_table('order_problems')
