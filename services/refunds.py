"""Money paid online for an order (the ``payments`` ledger) given back: a refund row the payment
provider pays out (the Bot API cannot refund physical goods; see the README), and the buyer told.
Used when a paid delivery order lapses, is rejected by the seller's center or cancelled by its buyer
(services/town_orders.py, services/desks.py, services/orders.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services import outbox
from services.outbox import Kind
from store.models import Order, Payment


async def refund_in_full(session: AsyncSession, order: Order, now: datetime, *, note: str,
                         actor_telegram_id: int | None = None) -> int:
    """Give back everything paid online for ``order`` and not yet refunded: a refund row in
    ``payments`` (the provider pays it back; see the README); returns the fen refunded."""
    rows = (await session.scalars(select(Payment).where(Payment.order_id == order.id))).all()
    left = sum(row.amount_fen for row in rows)
    if left <= 0:
        return 0
    session.add(Payment(order_id=order.id, kind="refund", amount_fen=-left, currency=rows[0].currency,
                        telegram_charge_id=None, provider_charge_id="",
                        ref=f"refund:{order.id}:{len(rows)}", at=now, actor_telegram_id=actor_telegram_id,
                        note=note[:300]))
    await outbox.enqueue(session, Kind.STATUS, due_at=now, order_id=order.id, villager_id=order.villager_id,
                         payload={"refunded_fen": left})
    return left
