"""A town buyer's delivery order for the tests, made through the services: the seller's center's
delivery prices, the order placed (and paid, online), confirmed at the desk, and sent on its way
with a tracking number, as the desk's 🚚 Shipped will do it (set here in the store directly)."""

from __future__ import annotations

from sqlalchemy import select, update

from chat import center_id
from services import desks, town_orders
from services.orders import OrderView
from services.states import OrderStatus
from store.models import County, DeliveryPrice, Order, OrderEvent, ServiceCenter
from support.desk import ADMIN

SHAANXI = "陕西省西安市雁塔区科技路 10 号"
TO = {"name": "周丽", "phone": "13900001111", "address": SHAANXI}


async def prices(store, clock, code: str = "CG-01") -> None:
    """CG-01 (城固县, 陕西省) delivers up to 5 kg: ¥6 in the county, ¥12 in the province; not elsewhere."""
    center = await center_id(store, code)
    async with store.write() as session:
        county_id = await session.scalar(select(ServiceCenter.county_id).where(ServiceCenter.id == center))
        await session.execute(update(County).where(County.id == county_id).values(province="陕西省"))
        if await session.scalar(select(DeliveryPrice.id).where(DeliveryPrice.center_id == center).limit(1)) is None:
            session.add_all([DeliveryPrice(center_id=center, zone=z, up_to_grams=5000, price_fen=p,
                                           updated_at=clock.now()) for z, p in (("county", 600), ("province", 1200))])


async def cash_on_delivery(store, clock, buyer_id: int, listing_id: int, quantity_milli: int, token: str,
                           to: dict = TO):
    """A cash-on-delivery order placed as the bot places it: held with the typed address, the
    receiver's name and phone, then ✅ (pending on the seller's center's desk)."""
    held = await town_orders.hold_delivery(store, clock, buyer_id, listing_id, quantity_milli, token, to["address"])
    await town_orders.set_receiver(store, clock, buyer_id, held.order.id, to["name"], to["phone"])
    return await town_orders.confirm_delivery(store, clock, buyer_id, held.order.id)


async def delivery_order(store, clock, buyer_id: int, listing_id: int, quantity_milli: int = 2000, *,
                         online: bool = True, token: str = "town-1", charge: str | None = None) -> OrderView:
    """A delivery order to Xi'an (the province's zone), pending on the seller's center's desk:
    paid online (a charge of goods + ¥12), or cash on delivery."""
    if not online:
        return (await cash_on_delivery(store, clock, buyer_id, listing_id, quantity_milli, token)).order
    order = (await town_orders.place_delivery(store, clock, buyer_id, listing_id, quantity_milli, token)).order
    paid = await town_orders.record_payment(store, clock, buyer_id, town_orders.payload_of(order, token),
                                            order.total_fen + 1200, "CNY", charge or f"tg-{token}", f"p-{token}", TO)
    return paid.order


async def confirm(store, clock, order_id: int) -> None:
    await desks.decide(store, clock, ADMIN, order_id, confirm=True)


async def ship(store, clock, order_id: int, tracking: str = "SF1234567890") -> None:
    """Confirmed -> in transit with the carrier's tracking number, and its step in the timeline."""
    now = clock.now()
    async with store.write() as session:
        order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        assert order.status == OrderStatus.CONFIRMED, order.status
        order.status, order.tracking_number, order.updated_at = OrderStatus.IN_TRANSIT, tracking, now
        session.add(OrderEvent(order_id=order.id, status=OrderStatus.IN_TRANSIT, at=now, actor_id=None,
                               note=tracking))
