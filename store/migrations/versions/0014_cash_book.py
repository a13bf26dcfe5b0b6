"""cash book: every movement of cash at a center, the partner's fees, and county staff

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not a batch: nothing on service_centers needs the table copied.
    op.add_column('service_centers', sa.Column('order_fee_bp', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('service_centers', sa.Column('order_fee_fen', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('service_centers', sa.Column('service_fees', sa.JSON(), nullable=False, server_default='{}'))
    op.create_table('county_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_county_staff_county_id_counties'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_county_staff')),
    sa.UniqueConstraint('county_id', 'telegram_id', name=op.f('uq_county_staff_county_id'))
    )
    op.create_index(op.f('ix_county_staff_county_id'), 'county_staff', ['county_id'], unique=False)
    op.create_index(op.f('ix_county_staff_telegram_id'), 'county_staff', ['telegram_id'], unique=False)
    op.create_table('cash_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('seller_id', sa.Integer(), nullable=True),
    sa.Column('actor_telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('ref', sa.String(length=100), nullable=True),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['service_centers.id'],
                            name=op.f('fk_cash_entries_center_id_service_centers')),
    sa.ForeignKeyConstraint(['corrects_id'], ['cash_entries.id'], name=op.f('fk_cash_entries_corrects_id_cash_entries')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_cash_entries_order_id_orders')),
    sa.ForeignKeyConstraint(['seller_id'], ['villagers.id'], name=op.f('fk_cash_entries_seller_id_villagers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cash_entries')),
    sa.UniqueConstraint('ref', name=op.f('uq_cash_entries_ref'))
    )
    op.create_index(op.f('ix_cash_entries_at'), 'cash_entries', ['at'], unique=False)
    op.create_index(op.f('ix_cash_entries_center_id'), 'cash_entries', ['center_id'], unique=False)
    op.create_index(op.f('ix_cash_entries_order_id'), 'cash_entries', ['order_id'], unique=False)
    op.create_index(op.f('ix_cash_entries_seller_id'), 'cash_entries', ['seller_id'], unique=False)
    # The cash already taken at pickups opens the book: one entry per order picked up, at the
    # time of its pickup, the seller's for market produce (the seller of its first line).
    op.execute("""
        INSERT INTO cash_entries (center_id, kind, amount_fen, fee_fen, at, order_id, seller_id, ref, note)
        SELECT o.center_id, 'collected', o.cash_collected_fen, 0,
               COALESCE((SELECT MAX(e.at) FROM order_events e WHERE e.order_id = o.id AND e.status = 'picked_up'),
                        o.updated_at),
               o.id,
               CASE WHEN o.seller_center_id IS NULL THEN NULL ELSE
                    (SELECT l.seller_id FROM order_lines ol JOIN listings l ON l.id = ol.listing_id
                     WHERE ol.order_id = o.id ORDER BY ol.id LIMIT 1) END,
               'pickup:' || o.id, 'before the cash book'
        FROM orders o
        WHERE o.cash_collected_fen IS NOT NULL AND o.cash_collected_fen <> 0
        ORDER BY o.id
    """)


def downgrade() -> None:
    op.drop_index(op.f('ix_cash_entries_seller_id'), table_name='cash_entries')
    op.drop_index(op.f('ix_cash_entries_order_id'), table_name='cash_entries')
    op.drop_index(op.f('ix_cash_entries_center_id'), table_name='cash_entries')
    op.drop_index(op.f('ix_cash_entries_at'), table_name='cash_entries')
    op.drop_table('cash_entries')
    op.drop_index(op.f('ix_county_staff_telegram_id'), table_name='county_staff')
    op.drop_index(op.f('ix_county_staff_county_id'), table_name='county_staff')
    op.drop_table('county_staff')
    op.drop_column('service_centers', 'service_fees')
    op.drop_column('service_centers', 'order_fee_fen')
    op.drop_column('service_centers', 'order_fee_bp')
