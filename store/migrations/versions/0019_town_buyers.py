"""town buyers: delivery prices by zone and weight, delivery orders, online payments

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not a batch: each is nullable or has a default, so no table is copied.
    op.add_column('counties', sa.Column('province', sa.String(length=50), nullable=False, server_default=''))
    op.add_column('orders', sa.Column('ship_to', sa.JSON(none_as_null=True), nullable=True))
    op.add_column('orders', sa.Column('delivery_fen', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('orders', sa.Column('tracking_number', sa.String(length=64), nullable=True))
    op.add_column('orders', sa.Column('reserved_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table('delivery_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=16), nullable=False),
    sa.Column('up_to_grams', sa.Integer(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('up_to_grams > 0 AND price_fen >= 0', name=op.f('ck_delivery_prices_band_and_price')),
    sa.ForeignKeyConstraint(['center_id'], ['service_centers.id'],
                            name=op.f('fk_delivery_prices_center_id_service_centers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_prices')),
    sa.UniqueConstraint('center_id', 'zone', 'up_to_grams', name=op.f('uq_delivery_prices_center_id'))
    )
    op.create_index(op.f('ix_delivery_prices_center_id'), 'delivery_prices', ['center_id'], unique=False)
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('telegram_charge_id', sa.String(length=100), nullable=True),
    sa.Column('provider_charge_id', sa.String(length=100), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('ref', name=op.f('uq_payments_ref')),
    sa.UniqueConstraint('telegram_charge_id', name=op.f('uq_payments_telegram_charge_id'))
    )
    op.create_index(op.f('ix_payments_at'), 'payments', ['at'], unique=False)
    op.create_index(op.f('ix_payments_order_id'), 'payments', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_payments_order_id'), table_name='payments')
    op.drop_index(op.f('ix_payments_at'), table_name='payments')
    op.drop_table('payments')
    op.drop_index(op.f('ix_delivery_prices_center_id'), table_name='delivery_prices')
    op.drop_table('delivery_prices')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('reserved_until')
        batch_op.drop_column('tracking_number')
        batch_op.drop_column('delivery_fen')
        batch_op.drop_column('ship_to')
    with op.batch_alter_table('counties', schema=None) as batch_op:
        batch_op.drop_column('province')
