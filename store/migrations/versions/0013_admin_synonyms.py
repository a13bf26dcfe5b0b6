"""synonyms: words admins teach the search (/synonym 洋芋 土豆)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('synonyms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('word', sa.String(length=20), nullable=False),
    sa.Column('means', sa.String(length=20), nullable=False),
    sa.Column('admin_telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_synonyms')),
    sa.UniqueConstraint('word', name=op.f('uq_synonyms_word'))
    )


def downgrade() -> None:
    op.drop_table('synonyms')
