"""username index: a username is looked up, and cleared from whoever gave it up, in any letter case

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_villagers_username_lower', 'villagers', [sa.text('lower(username)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_villagers_username_lower', table_name='villagers')
