"""/track: a buyer follows their orders to their door (services/town_orders.py places them).

    /track             their delivery orders that are not over, newest first, and the last few
                       delivered, each with its state, its tracking number and its timeline
    /track RT-XXXXX    one of their own orders (a pickup order too): by its number, or by the
                       tracking number the carrier gave its parcel; anyone else's is NotFound

Reading only; the carrier's events move the orders (``parcels.carrier_event``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from services.errors import NotFound
from services.orders import OrderView, load_order_view
from services.states import FINAL, OrderStatus
from services.town_orders import CASH_ON_DELIVERY, ONLINE
from store.db import Store
from store.models import Order

GOING_SHOWN = 10  # orders still on their way, at most
DELIVERED_SHOWN = 3  # the last orders delivered
DELIVERY = or_(Order.ship_to.is_not(None), Order.payment_method.in_([ONLINE, CASH_ON_DELIVERY]))


@dataclass(frozen=True, slots=True)
class Deliveries:
    going: list[OrderView]  # not over yet, newest first
    delivered: list[OrderView]  # the last few delivered, newest first

    @property
    def empty(self) -> bool:
        return not self.going and not self.delivered


async def deliveries(store: Store, villager_id: int) -> Deliveries:
    """The buyer's delivery orders on their way, and the last few delivered."""
    mine = select(Order.id).where(Order.villager_id == villager_id, DELIVERY)
    newest = (Order.created_at.desc(), Order.id.desc())
    async with store.read() as session:
        going = (await session.scalars(mine.where(Order.status.not_in([str(s) for s in FINAL]))
                                       .order_by(*newest).limit(GOING_SHOWN))).all()
        delivered = (await session.scalars(mine.where(Order.status == OrderStatus.DELIVERED)
                                           .order_by(Order.updated_at.desc(), Order.id.desc())
                                           .limit(DELIVERED_SHOWN))).all()
        return Deliveries([await load_order_view(session, i) for i in going],
                          [await load_order_view(session, i) for i in delivered])


def _key(typed: str) -> str:
    return "".join(typed.split()).upper()


async def tracked(store: Store, villager_id: int, *, number: str | None = None,
                  order_id: int | None = None) -> OrderView:
    """One of the buyer's own orders, by id, by number or by its parcel's tracking number;
    NotFound for anyone else's (or none)."""
    async with store.read() as session:
        if order_id is not None:
            where = Order.id == order_id
        else:
            key = _key(number or "")
            if not key:
                raise NotFound("order")
            where = or_(Order.number == key, func.upper(Order.tracking_number) == key)
        found = await session.scalar(select(Order.id).where(where, Order.villager_id == villager_id)
                                     .order_by(Order.id.desc()).limit(1))
        if found is None:
            raise NotFound("order")
        return await load_order_view(session, found)
