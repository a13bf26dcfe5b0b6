"""A town buyer's delivery order without Telegram, on SQLite and PostgreSQL: the invoice holds the
stock, the delivery is priced by the seller's center's table for the address's zone, a payment is
booked once by its charge id, an unpaid invoice lapses and gives its stock back, and a payment
that comes after its lapse takes the stock again or is refunded in full."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services import town_orders
from services.delivery_prices import Zone
from services.outbox import Kind
from services.states import OrderStatus
from store.models import Listing, Order, Payment
from support.produce import approved_listing, person
from support.store import outbox_rows
from support.town import SHAANXI, TO, cash_on_delivery, prices


async def left(store, listing_id: int) -> int:
    async with store.read() as session:
        return await session.scalar(select(Listing.left_milli).where(Listing.id == listing_id))


async def test_an_invoice_holds_the_stock_and_its_payment_is_booked_once(demo_store, clock):
    await prices(demo_store, clock)
    seller = await person(demo_store, clock, 1)
    buyer = await person(demo_store, clock, 2, center=None)
    listing = await approved_listing(demo_store, clock, seller)  # 10 jin at ¥6
    placed = await town_orders.place_delivery(demo_store, clock, buyer, listing, 4000, "tok-1")
    order = placed.order
    assert (order.status, order.total_fen, order.reserved_until) == (
        OrderStatus.AWAITING_PAYMENT, 2400, clock.now() + town_orders.RESERVE)
    assert await left(demo_store, listing) == 6000
    again = await town_orders.place_delivery(demo_store, clock, buyer, listing, 4000, "tok-1")
    assert again.already_placed and again.order.id == order.id

    payload = town_orders.payload_of(order, "tok-1")
    quote = await town_orders.delivery_quote_for(demo_store, buyer, payload, SHAANXI)
    assert quote == town_orders.DeliveryOption(Zone.PROVINCE, 1200)
    with pytest.raises(town_orders.NoDelivery):
        await town_orders.delivery_quote_for(demo_store, buyer, payload, "北京市海淀区")
    with pytest.raises(town_orders.WrongTotal):
        await town_orders.check_payment(demo_store, clock, buyer, payload, 2400, SHAANXI)
    with pytest.raises(town_orders.NotFound):
        await town_orders.check_payment(demo_store, clock, seller, payload, 3600, SHAANXI)
    await town_orders.check_payment(demo_store, clock, buyer, payload, 3600, SHAANXI)

    first = await town_orders.record_payment(demo_store, clock, buyer, payload, 3600, "CNY", "tg-1", "p-1", TO)
    second = await town_orders.record_payment(demo_store, clock, buyer, payload, 3600, "CNY", "tg-1", "p-1", TO)
    assert (first.first, second.first) == (True, False)
    assert first.order.status == OrderStatus.PENDING and first.order.delivery_fen == 1200
    assert first.order.ship_to == {**TO, "zone": "province"}
    async with demo_store.read() as session:
        assert [(p.kind, p.amount_fen) for p in (await session.scalars(select(Payment))).all()] == [("payment", 3600)]
    with pytest.raises(town_orders.NotPayable):
        await town_orders.check_payment(demo_store, clock, buyer, payload, 3600, SHAANXI)


async def test_an_unpaid_invoice_lapses_and_a_late_payment_takes_the_stock_again_or_is_refunded(demo_store, clock):
    await prices(demo_store, clock)
    seller = await person(demo_store, clock, 1)
    buyer, other = await person(demo_store, clock, 2, center=None), await person(demo_store, clock, 3, center=None)
    listing = await approved_listing(demo_store, clock, seller, quantity=4000)
    order = (await town_orders.place_delivery(demo_store, clock, buyer, listing, 4000, "tok-1")).order
    assert await left(demo_store, listing) == 0
    clock.advance(timedelta(minutes=14))
    assert await town_orders.lapse_reservations(demo_store, clock) == []
    clock.advance(timedelta(minutes=2))
    assert await town_orders.lapse_reservations(demo_store, clock) == [order.id]
    assert await left(demo_store, listing) == 4000
    payload = town_orders.payload_of(order, "tok-1")
    with pytest.raises(town_orders.NotPayable):
        await town_orders.check_payment(demo_store, clock, buyer, payload, 3600, SHAANXI)

    # Paid anyway (the payment crossed the lapse): the stock is still there, so it is taken again.
    late = await town_orders.record_payment(demo_store, clock, buyer, payload, 3600, "CNY", "tg-1", "p-1", TO)
    assert late.order.status == OrderStatus.PENDING and await left(demo_store, listing) == 0
    # ...and it goes to the desk like any paid order: its card, and the seller hears what sold.
    assert order.id in [row.order_id for row in await outbox_rows(demo_store, Kind.CARD)]
    assert [row.payload for row in await outbox_rows(demo_store, Kind.SELLER)
            if row.payload.get("event") == "sold"] == [{"event": "sold", "listing_id": listing, "order_id": order.id}]

    # The same again for another buyer, but by the time they pay, a cash-on-delivery buyer took it all.
    async with demo_store.write() as session:
        await session.execute(update(Listing).where(Listing.id == listing).values(left_milli=1000, status="approved"))
    other_order = (await town_orders.place_delivery(demo_store, clock, other, listing, 1000, "tok-2")).order
    clock.advance(timedelta(minutes=16))
    assert await town_orders.lapse_reservations(demo_store, clock) == [other_order.id]
    third = await person(demo_store, clock, 4, center=None)
    cod = await cash_on_delivery(demo_store, clock, third, listing, 1000, "tok-3", {**TO, "address": "城固县博望镇"})
    assert (cod.order.status, cod.order.payment_method, cod.order.delivery_fen) == (
        OrderStatus.PENDING, "cash_on_delivery", 600)
    paid = await town_orders.record_payment(demo_store, clock, other, town_orders.payload_of(other_order, "tok-2"),
                                            1800, "CNY", "tg-2", "p-2", TO)
    assert paid.first and paid.order.status == OrderStatus.CANCELLED
    async with demo_store.read() as session:
        rows = (await session.scalars(select(Payment).where(Payment.order_id == other_order.id))).all()
        assert [(p.kind, p.amount_fen, p.note) for p in rows] == [("payment", 1800, ""),
                                                                   ("refund", -1800, "reservation lapsed")]
        assert (await session.get(Order, other_order.id)).ship_to["zone"] == "province"


async def test_cash_on_delivery_is_held_while_the_buyer_says_who_receives_it(demo_store, clock):
    await prices(demo_store, clock)
    seller = await person(demo_store, clock, 1)
    buyer, other = await person(demo_store, clock, 2, center=None), await person(demo_store, clock, 3, center=None)
    listing = await approved_listing(demo_store, clock, seller)
    with pytest.raises(town_orders.NoDelivery):
        await town_orders.hold_delivery(demo_store, clock, buyer, listing, 2000, "tok-0", "北京市海淀区")
    assert await left(demo_store, listing) == 10_000
    held = (await town_orders.hold_delivery(demo_store, clock, buyer, listing, 2000, "tok-1", SHAANXI)).order
    assert (held.status, held.payment_method, held.delivery_fen, held.ship_to["zone"]) == (
        OrderStatus.AWAITING_PAYMENT, "cash_on_delivery", 1200, "province")
    assert await left(demo_store, listing) == 8_000
    assert await town_orders.held_listing(demo_store, held.id) == (listing, 2000)
    # Nobody pays it online: no invoice names it, and its payload would be refused anyway.
    payload = town_orders.payload_of(held, "tok-1")
    with pytest.raises(town_orders.NotPayable):
        await town_orders.delivery_quote_for(demo_store, buyer, payload, SHAANXI)
    with pytest.raises(town_orders.NotPayable):
        await town_orders.check_payment(demo_store, clock, buyer, payload, 3600, SHAANXI)
    # Not confirmed before the receiver is known; nobody else's to change.
    with pytest.raises(town_orders.NotPayable):
        await town_orders.confirm_delivery(demo_store, clock, buyer, held.id)
    with pytest.raises(town_orders.NotFound):
        await town_orders.set_receiver(demo_store, clock, other, held.id, "周丽", "13900001111")
    await town_orders.set_receiver(demo_store, clock, buyer, held.id, "周丽", "13900001111")
    placed = await town_orders.confirm_delivery(demo_store, clock, buyer, held.id)
    again = await town_orders.confirm_delivery(demo_store, clock, buyer, held.id)
    assert (placed.already_placed, again.already_placed) == (False, True)
    assert placed.order.status == OrderStatus.PENDING and placed.order.reserved_until is None
    assert placed.order.ship_to == {**TO, "zone": "province"}
    with pytest.raises(town_orders.NotPayable):
        await town_orders.drop_reservation(demo_store, clock, buyer, held.id)

    # Another held order, dropped: its stock is back at once; dropping it again changes nothing.
    dropped = (await town_orders.hold_delivery(demo_store, clock, other, listing, 3000, "tok-2", SHAANXI)).order
    assert await left(demo_store, listing) == 5_000
    with pytest.raises(town_orders.NotFound):
        await town_orders.drop_reservation(demo_store, clock, buyer, dropped.id)
    assert (await town_orders.drop_reservation(demo_store, clock, other, dropped.id)).status == OrderStatus.CANCELLED
    assert (await town_orders.drop_reservation(demo_store, clock, other, dropped.id)).status == OrderStatus.CANCELLED
    assert await left(demo_store, listing) == 8_000
    with pytest.raises(town_orders.NotPayable):
        await town_orders.confirm_delivery(demo_store, clock, other, dropped.id)


async def test_the_shipping_query_quotes_only_the_payers_open_invoice(demo_store, clock):
    await prices(demo_store, clock)
    seller = await person(demo_store, clock, 1)
    buyer, other = await person(demo_store, clock, 2, center=None), await person(demo_store, clock, 3, center=None)
    listing = await approved_listing(demo_store, clock, seller)
    order = (await town_orders.place_delivery(demo_store, clock, buyer, listing, 4000, "tok-1")).order
    payload = town_orders.payload_of(order, "tok-1")
    assert await town_orders.delivery_quote_for(demo_store, buyer, payload, SHAANXI) == town_orders.DeliveryOption(
        Zone.PROVINCE, 1200)
    for who, named in ((other, payload), (buyer, town_orders.payload_of(order, "tok-x")), (buyer, "o:x:y")):
        with pytest.raises(town_orders.NotFound):
            await town_orders.delivery_quote_for(demo_store, who, named, SHAANXI)
    with pytest.raises(town_orders.NoDelivery):
        await town_orders.delivery_quote_for(demo_store, buyer, payload, "北京市海淀区")
    clock.advance(timedelta(minutes=16))
    assert await town_orders.lapse_reservations(demo_store, clock) == [order.id]
    with pytest.raises(town_orders.NotPayable):
        await town_orders.delivery_quote_for(demo_store, buyer, payload, SHAANXI)
