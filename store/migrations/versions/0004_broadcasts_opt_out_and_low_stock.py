"""broadcasts, promotions opt-out and low-stock alerts

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('admin_telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=True),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('photo', sa.String(length=300), nullable=True),
    sa.Column('link', sa.JSON(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('send_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress_message_id', sa.BigInteger(), nullable=True),
    sa.Column('pace_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcasts_admin_telegram_id'), ['admin_telegram_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcasts_status'), ['status'], unique=False)

    op.create_table('broadcast_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('villager_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_broadcast_deliveries_broadcast_id_broadcasts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['villager_id'], ['villagers.id'], name=op.f('fk_broadcast_deliveries_villager_id_villagers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_deliveries')),
    sa.UniqueConstraint('broadcast_id', 'villager_id', name=op.f('uq_broadcast_deliveries_broadcast_id'))
    )
    with op.batch_alter_table('broadcast_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_deliveries_broadcast_status', ['broadcast_id', 'status', 'id'], unique=False)

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('low_stock_threshold', sa.Integer(), server_default='5', nullable=False))
        batch_op.add_column(sa.Column('low_stock_alerted', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('villagers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promotions_off', sa.Boolean(), server_default=sa.false(), nullable=False))
        # /stats counts active and new villagers, and recent searches that found nothing.
        batch_op.create_index(batch_op.f('ix_villagers_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_villagers_last_seen_at'), ['last_seen_at'], unique=False)

    with op.batch_alter_table('search_misses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_misses_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('search_misses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_misses_at'))

    with op.batch_alter_table('villagers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_villagers_last_seen_at'))
        batch_op.drop_index(batch_op.f('ix_villagers_created_at'))
        batch_op.drop_column('promotions_off')

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('low_stock_alerted')
        batch_op.drop_column('low_stock_threshold')

    with op.batch_alter_table('broadcast_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_deliveries_broadcast_status')

    op.drop_table('broadcast_deliveries')
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcasts_status'))
        batch_op.drop_index(batch_op.f('ix_broadcasts_admin_telegram_id'))

    op.drop_table('broadcasts')
