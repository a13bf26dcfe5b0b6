"""produce listings and market orders

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=True),
    sa.Column('previewed', sa.Boolean(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('photo', sa.String(length=300), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('left_milli', sa.BigInteger(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('available_from', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('reject_reason', sa.String(length=300), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('left_milli >= 0', name=op.f('ck_listings_left_not_negative')),
    sa.ForeignKeyConstraint(['center_id'], ['service_centers.id'], name=op.f('fk_listings_center_id_service_centers')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['villagers.id'], name=op.f('fk_listings_reviewed_by_id_villagers')),
    sa.ForeignKeyConstraint(['seller_id'], ['villagers.id'], name=op.f('fk_listings_seller_id_villagers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listings'))
    )
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listings_center_id'), ['center_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_seller_id'), ['seller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_status'), ['status'], unique=False)

    op.create_table('listing_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_cards_listing_id_listings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_cards')),
    sa.UniqueConstraint('listing_id', 'chat_id', name=op.f('uq_listing_cards_listing_id'))
    )
    with op.batch_alter_table('listing_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_cards_listing_id'), ['listing_id'], unique=False)

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listing_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('quantity_milli', sa.BigInteger(), nullable=True))
        batch_op.alter_column('quantity',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_order_lines_listing_id'), ['listing_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_order_lines_listing_id_listings'), 'listings', ['listing_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seller_center_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_orders_seller_center_id_service_centers'), 'service_centers', ['seller_center_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_seller_center_id_service_centers'), type_='foreignkey')
        batch_op.drop_column('seller_center_id')

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_lines_listing_id_listings'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_order_lines_listing_id'))
        batch_op.alter_column('quantity',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('quantity_milli')
        batch_op.drop_column('listing_id')

    with op.batch_alter_table('listing_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listing_cards_listing_id'))

    op.drop_table('listing_cards')
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listings_status'))
        batch_op.drop_index(batch_op.f('ix_listings_seller_id'))
        batch_op.drop_index(batch_op.f('ix_listings_center_id'))

    op.drop_table('listings')
