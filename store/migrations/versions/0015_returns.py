"""returns: parcels already waiting for pickup get their date with the desk's list of parcels to send back

Revision ID: 0015
Revises: 0014
"""

from datetime import timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# RETURN_AFTER_DAYS' default: a parcel that arrives from now on is due after the setting's days
# (services/reminders.queue); those already waiting are due this long after they arrived.
RETURN_AFTER = timedelta(days=7)

orders = sa.table('orders', sa.column('id', sa.Integer), sa.column('center_id', sa.Integer),
                  sa.column('status', sa.String))
events = sa.table('order_events', sa.column('order_id', sa.Integer), sa.column('status', sa.String),
                  sa.column('at', sa.DateTime(timezone=True)))
outbox = sa.table('outbox', sa.column('kind', sa.String), sa.column('order_id', sa.Integer),
                  sa.column('center_id', sa.Integer), sa.column('payload', sa.JSON),
                  sa.column('dedupe_key', sa.String), sa.column('due_at', sa.DateTime(timezone=True)),
                  sa.column('attempts', sa.Integer), sa.column('last_error', sa.String),
                  sa.column('is_open', sa.Boolean))


def upgrade() -> None:
    # No schema change: the outbox's rows (kind "return_due") are the parcels' dates with the desk.
    arrived = (sa.select(events.c.order_id, sa.func.max(events.c.at).label('at'))
               .where(events.c.status == 'ready_for_pickup').group_by(events.c.order_id).subquery())
    waiting = op.get_bind().execute(
        sa.select(orders.c.id, orders.c.center_id, arrived.c.at)
        .join(arrived, arrived.c.order_id == orders.c.id)
        .where(orders.c.status == 'ready_for_pickup').order_by(orders.c.id)).all()
    rows = []
    for order_id, center_id, at in waiting:
        at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
        rows.append({'kind': 'return_due', 'order_id': order_id, 'center_id': center_id, 'payload': {'round': 0},
                     'dedupe_key': f'return:{order_id}:0', 'due_at': at + RETURN_AFTER, 'attempts': 0,
                     'last_error': '', 'is_open': True})
    if rows:
        op.bulk_insert(outbox, rows)


def downgrade() -> None:
    # A returned order has no state to go back to before this revision: it reads as cancelled.
    op.execute("UPDATE orders SET status = 'cancelled' WHERE status = 'returned'")
    op.execute("DELETE FROM outbox WHERE kind = 'return_due'")
