"""A delivery order on the seller's center's desk, without Telegram, on SQLite and PostgreSQL: only
its partners (and admins) ship it, once it is confirmed and with a real tracking number; the county's
batch moves and /arrived leave it alone; rejecting or cancelling it refunds what was paid online."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from chat import center_id
from services import desks, market, orders, parcels, shipping, town_orders
from services.errors import AlreadyDone, NotAllowed
from services.partners import Actor, NotPartner, add_partner
from services.shipping import BadTrackingNumber
from services.states import OrderStatus
from store.models import Order, OrderEvent, OutboxMessage, Payment, ServiceCenter
from support.desk import ADMIN
from support.produce import approved_listing, person
from support.town import TO, prices
from support.town import cash_on_delivery as cod_placed

S = OrderStatus
ZHANG, LI, STRANGER = Actor(501, "Lao Zhang"), Actor(503, "Lao Li"), Actor(502, "Xiao Li")


async def seller_center(store, clock) -> int:
    """CG-01 (城固县, 陕西省) delivers up to 5 kg: ¥6 in the county, ¥12 in the province. Lao Zhang
    is its partner; Lao Li is CG-02's."""
    await prices(store, clock)
    await add_partner(store, clock, ADMIN, "CG-01", ZHANG.telegram_id)
    await add_partner(store, clock, ADMIN, "CG-02", LI.telegram_id)
    return await center_id(store, "CG-01")


async def cash_on_delivery(store, clock, buyer_tg: int = 2, token: str = "tok-c"):
    seller = await person(store, clock, 1)
    buyer = await person(store, clock, buyer_tg, center=None)
    listing = await approved_listing(store, clock, seller)  # 10 jin at ¥6
    return (await cod_placed(store, clock, buyer, listing, 4000, token)).order


async def paid_online(store, clock, buyer_tg: int = 3, token: str = "tok-o"):
    """4 jin (¥24) paid online with ¥12 delivery to the province: ¥36."""
    seller = await person(store, clock, 1)
    buyer = await person(store, clock, buyer_tg, center=None)
    listing = await approved_listing(store, clock, seller)
    order = (await town_orders.place_delivery(store, clock, buyer, listing, 4000, token)).order
    paid = await town_orders.record_payment(store, clock, buyer, town_orders.payload_of(order, token), 3600, "CNY",
                                            f"tg-{token}", f"p-{token}", TO)
    return paid.order, buyer


async def payments(store, order_id: int) -> list[tuple[str, int]]:
    async with store.read() as session:
        return [(p.kind, p.amount_fen) for p in (await session.scalars(
            select(Payment).where(Payment.order_id == order_id).order_by(Payment.id))).all()]


async def refund_notices(store, order_id: int) -> list[dict]:
    async with store.read() as session:
        return [row.payload for row in (await session.scalars(
            select(OutboxMessage).where(OutboxMessage.order_id == order_id, OutboxMessage.kind == "status")
            .order_by(OutboxMessage.id))).all() if "refunded_fen" in row.payload]


def test_a_tracking_number_is_read_as_people_type_it():
    read = shipping.tracking_number_of
    assert read("sf 1234 5678") == "SF12345678"
    assert read("ＳＦ１２３４－５６７８") == "SF1234-5678"  # a Chinese keyboard's full-width characters
    assert read(" yt—9988 ") == "YT-9988"
    assert read("A" * 40) == "A" * 40
    for wrong in ("", "abc", "A" * 41, "顺丰1234567", "SF_1234", "SF1234!", "RT 12/34"):
        assert read(wrong) is None, wrong


async def test_only_the_seller_centers_partners_ship_a_confirmed_delivery_order_once(demo_store, clock):
    cg01 = await seller_center(demo_store, clock)
    order = await cash_on_delivery(demo_store, clock)
    with pytest.raises(NotAllowed):  # not confirmed yet
        await shipping.ship(demo_store, clock, ZHANG, order.id, "SF1234567890")
    assert [row[1] for row in await desks.pending(demo_store, cg01)] == [order.number]
    await desks.decide(demo_store, clock, ZHANG, order.id, confirm=True)
    assert await desks.pending(demo_store, cg01) == []
    assert [row[1:3] for row in await desks.to_ship(demo_store, cg01)] == [(order.number, 2400 + 1200)]

    for stranger in (STRANGER, LI):  # a bystander; the partner of another center
        with pytest.raises(NotPartner):
            await shipping.ship(demo_store, clock, stranger, order.id, "SF1234567890")
    with pytest.raises(BadTrackingNumber):
        await shipping.ship(demo_store, clock, ZHANG, order.id, "顺丰")
    assert (await orders.order_view(demo_store, order.id)).status == S.CONFIRMED

    moved = await shipping.ship(demo_store, clock, ZHANG, order.id, "sf 1234-567890")
    assert moved.status == S.IN_TRANSIT
    view = await orders.order_view(demo_store, order.id)
    assert (view.status, view.tracking_number, view.events[-1].note) == (S.IN_TRANSIT, "SF1234-567890",
                                                                          "SF1234-567890")
    assert await desks.to_ship(demo_store, cg01) == []
    for actor in (ZHANG, ADMIN):  # twice: already done, and nothing changes
        with pytest.raises(AlreadyDone):
            await shipping.ship(demo_store, clock, actor, order.id, "YT000000")
    assert (await orders.order_view(demo_store, order.id)).tracking_number == "SF1234-567890"
    async with demo_store.read() as session:
        shipped = (await session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                                  OrderEvent.status == S.IN_TRANSIT))).all()
        assert len(shipped) == 1


async def test_a_pickup_order_is_not_shipped_this_way_and_batch_moves_leave_delivery_orders_alone(demo_store, clock):
    await seller_center(demo_store, clock)
    delivery = await cash_on_delivery(demo_store, clock)
    buyer = await person(demo_store, clock, 4)
    listing = await approved_listing(demo_store, clock, await person(demo_store, clock, 5))
    pickup = (await market.order_listing(demo_store, clock, buyer, listing, 1000, await center_id(demo_store, "CG-01"),
                                         "tok-p")).order
    for order in (delivery, pickup):
        await desks.decide(demo_store, clock, ZHANG, order.id, confirm=True)
    with pytest.raises(NotAllowed):
        await shipping.ship(demo_store, clock, ZHANG, pickup.id, "SF1234567890")

    assert [(code, n) for code, _, n in await parcels.centers_with(demo_store, ADMIN, S.CONFIRMED)] == [("CG-01", 1)]
    moved = await parcels.move_center_batch(demo_store, clock, ADMIN, "CG-01", S.CONFIRMED, S.IN_TRANSIT)
    assert moved == [pickup.number]
    assert (await orders.order_view(demo_store, delivery.id)).status == S.CONFIRMED

    await shipping.ship(demo_store, clock, ZHANG, delivery.id, "SF1234567890")
    with pytest.raises(NotAllowed):  # it goes to the buyer's door, not to the village
        await parcels.arrive(demo_store, clock, ZHANG, number=delivery.number)
    assert await parcels.move_center_batch(demo_store, clock, ADMIN, "CG-01", S.IN_TRANSIT, S.AT_COUNTY) == [
        pickup.number]
    assert (await orders.order_view(demo_store, delivery.id)).status == S.IN_TRANSIT


async def test_rejecting_or_cancelling_a_paid_order_refunds_it_in_full(demo_store, clock):
    await seller_center(demo_store, clock)
    rejected, _ = await paid_online(demo_store, clock)
    cancelled, buyer = await paid_online(demo_store, clock, buyer_tg=6, token="tok-o2")
    cash = await cash_on_delivery(demo_store, clock)

    await desks.decide(demo_store, clock, ZHANG, rejected.id, confirm=False, reason="out_of_stock")
    assert await payments(demo_store, rejected.id) == [("payment", 3600), ("refund", -3600)]
    assert await refund_notices(demo_store, rejected.id) == [{"refunded_fen": 3600}]
    with pytest.raises(AlreadyDone):  # rejected twice: one refund
        await desks.decide(demo_store, clock, ZHANG, rejected.id, confirm=False)
    assert await payments(demo_store, rejected.id) == [("payment", 3600), ("refund", -3600)]

    await orders.cancel_order(demo_store, clock, buyer, cancelled.id)
    assert await payments(demo_store, cancelled.id) == [("payment", 3600), ("refund", -3600)]
    assert await refund_notices(demo_store, cancelled.id) == [{"refunded_fen": 3600}]

    await desks.decide(demo_store, clock, ZHANG, cash.id, confirm=False)  # nothing was paid online
    assert await payments(demo_store, cash.id) == [] and await refund_notices(demo_store, cash.id) == []
    async with demo_store.read() as session:
        refund = await session.scalar(select(Payment).where(Payment.order_id == rejected.id, Payment.kind == "refund"))
        assert (refund.ref, refund.note, refund.actor_telegram_id) == (f"refund:{rejected.id}:1", "rejected", 501)
        assert (await session.get(Order, rejected.id)).status == S.REJECTED


async def test_an_order_waiting_for_its_payment_is_on_no_desk(demo_store, clock):
    cg01 = await seller_center(demo_store, clock)
    seller, buyer = await person(demo_store, clock, 1), await person(demo_store, clock, 2, center=None)
    listing = await approved_listing(demo_store, clock, seller)
    order = (await town_orders.place_delivery(demo_store, clock, buyer, listing, 4000, "tok-a")).order
    assert order.status == S.AWAITING_PAYMENT
    assert await desks.card_view(demo_store, order.id) is None
    assert await desks.pending(demo_store, cg01) == []
    with pytest.raises(desks.NotYours):
        await desks.card_for(demo_store, order.id, ADMIN, ADMIN.telegram_id)


async def test_a_confirmed_delivery_card_is_posted_again_when_its_group_becomes_a_supergroup(demo_store, clock):
    """Its 🚚 Shipped still waits for a tap, as a pending card's Confirm does."""
    cg01 = await seller_center(demo_store, clock)
    order = await cash_on_delivery(demo_store, clock)
    await desks.decide(demo_store, clock, ZHANG, order.id, confirm=True)
    async with demo_store.write() as session:
        await session.execute(update(ServiceCenter).where(ServiceCenter.id == cg01).values(group_chat_id=-100123))
    await desks.record_card(demo_store, order.id, -100123, 42)
    moved = await desks.group_migrated(demo_store, clock, -100123, -1001234567890)
    assert (moved.desks, moved.cards) == (1, 1)
