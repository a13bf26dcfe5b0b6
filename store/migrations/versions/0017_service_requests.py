"""service requests: phone top-ups, bills and tickets done at a center's counter

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('villager_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=True),
    sa.Column('charged_fen', sa.BigInteger(), nullable=True),
    sa.Column('fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('decline_reason', sa.String(length=300), nullable=False),
    sa.Column('walk_in', sa.Boolean(), nullable=False),
    sa.Column('decided_by_telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('decided_by_name', sa.String(length=200), nullable=False),
    sa.Column('cards', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['center_id'], ['service_centers.id'],
                            name=op.f('fk_service_requests_center_id_service_centers')),
    sa.ForeignKeyConstraint(['villager_id'], ['villagers.id'], name=op.f('fk_service_requests_villager_id_villagers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_requests'))
    )
    op.create_index(op.f('ix_service_requests_center_id'), 'service_requests', ['center_id'], unique=False)
    op.create_index(op.f('ix_service_requests_villager_id'), 'service_requests', ['villager_id'], unique=False)
    op.create_index(op.f('ix_service_requests_status'), 'service_requests', ['status'], unique=False)
    op.create_index(op.f('ix_service_requests_decided_at'), 'service_requests', ['decided_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_service_requests_decided_at'), table_name='service_requests')
    op.drop_index(op.f('ix_service_requests_status'), table_name='service_requests')
    op.drop_index(op.f('ix_service_requests_villager_id'), table_name='service_requests')
    op.drop_index(op.f('ix_service_requests_center_id'), table_name='service_requests')
    op.drop_table('service_requests')
