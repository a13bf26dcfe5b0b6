"""reviews: a buyer's stars and short text for each order line of produce they picked up

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_by', sa.Integer(), nullable=True),
    sa.Column('hidden_reason', sa.String(length=300), nullable=False),
    sa.Column('cards', sa.JSON(), nullable=False),
    sa.CheckConstraint('stars IS NULL OR (stars >= 1 AND stars <= 5)', name=op.f('ck_reviews_stars_1_to_5')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_reviews_order_line_id_order_lines'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_reviews_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_reviews_listing_id_listings'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['seller_id'], ['villagers.id'], name=op.f('fk_reviews_seller_id_villagers')),
    sa.ForeignKeyConstraint(['buyer_id'], ['villagers.id'], name=op.f('fk_reviews_buyer_id_villagers')),
    sa.ForeignKeyConstraint(['center_id'], ['service_centers.id'], name=op.f('fk_reviews_center_id_service_centers')),
    sa.ForeignKeyConstraint(['hidden_by'], ['villagers.id'], name=op.f('fk_reviews_hidden_by_villagers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('order_line_id', name=op.f('uq_reviews_order_line_id'))
    )
    op.create_index(op.f('ix_reviews_order_id'), 'reviews', ['order_id'], unique=False)
    op.create_index(op.f('ix_reviews_listing_id'), 'reviews', ['listing_id'], unique=False)
    op.create_index(op.f('ix_reviews_seller_id'), 'reviews', ['seller_id'], unique=False)
    op.create_index(op.f('ix_reviews_buyer_id'), 'reviews', ['buyer_id'], unique=False)
    op.create_index(op.f('ix_reviews_rated_at'), 'reviews', ['rated_at'], unique=False)


def downgrade() -> None:
    for column in ('rated_at', 'buyer_id', 'seller_id', 'listing_id', 'order_id'):
        op.drop_index(op.f(f'ix_reviews_{column}'), table_name='reviews')
    op.drop_table('reviews')
