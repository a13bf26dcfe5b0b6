"""group prompts: a typed answer in a group is a reply to the bot's question

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('desk_prompts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('villager_id', sa.Integer(), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('card_message_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['villager_id'], ['villagers.id'], name=op.f('fk_desk_prompts_villager_id_villagers'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_prompts')),
    sa.UniqueConstraint('chat_id', 'message_id', name=op.f('uq_desk_prompts_chat_id'))
    )
    with op.batch_alter_table('desk_prompts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desk_prompts_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_desk_prompts_villager_id'), ['villager_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('desk_prompts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_desk_prompts_villager_id'))
        batch_op.drop_index(batch_op.f('ix_desk_prompts_expires_at'))

    op.drop_table('desk_prompts')
