"""partners desk parcels and outbox

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['service_centers.id'], name=op.f('fk_partners_center_id_service_centers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('center_id', 'telegram_id', name=op.f('uq_partners_center_id'))
    )
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partners_center_id'), ['center_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partners_telegram_id'), ['telegram_id'], unique=False)

    op.create_table('order_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_cards_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_cards')),
    sa.UniqueConstraint('order_id', 'chat_id', name=op.f('uq_order_cards_order_id'))
    )
    with op.batch_alter_table('order_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_cards_order_id'), ['order_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('center_id', sa.Integer(), nullable=True),
    sa.Column('villager_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=100), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['service_centers.id'], name=op.f('fk_outbox_center_id_service_centers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_outbox_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['villager_id'], ['villagers.id'], name=op.f('fk_outbox_villager_id_villagers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_open_due', ['is_open', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pickup_code', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('cash_collected_fen', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_orders_assisted_by_id_villagers'), 'villagers', ['assisted_by_id'], ['id'])

    with op.batch_alter_table('service_centers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_chat_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('desk_locale', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_service_centers_group_chat_id'), ['group_chat_id'])

    with op.batch_alter_table('villagers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('acting_for_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('unreachable', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column('telegram_id',
               existing_type=sa.BIGINT(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_villagers_phone'), ['phone'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_villagers_acting_for_id_villagers'), 'villagers', ['acting_for_id'], ['id'], ondelete='SET NULL')




def downgrade() -> None:

    with op.batch_alter_table('villagers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_villagers_acting_for_id_villagers'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_villagers_phone'))
        batch_op.alter_column('telegram_id',
               existing_type=sa.BIGINT(),
               nullable=False)
        batch_op.drop_column('unreachable')
        batch_op.drop_column('acting_for_id')
        batch_op.drop_column('phone')

    with op.batch_alter_table('service_centers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_service_centers_group_chat_id'), type_='unique')
        batch_op.drop_column('desk_locale')
        batch_op.drop_column('group_chat_id')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_assisted_by_id_villagers'), type_='foreignkey')
        batch_op.drop_column('cash_collected_fen')
        batch_op.drop_column('pickup_code')
        batch_op.drop_column('assisted_by_id')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_order_id'))
        batch_op.drop_index('ix_outbox_open_due')

    op.drop_table('outbox')
    with op.batch_alter_table('order_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_cards_order_id'))

    op.drop_table('order_cards')
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partners_telegram_id'))
        batch_op.drop_index(batch_op.f('ix_partners_center_id'))

    op.drop_table('partners')

