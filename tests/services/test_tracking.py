"""After a town buyer's delivery order is shipped, without Telegram, on SQLite and PostgreSQL: the
carrier's "delivered" (by order number or tracking number) moves it once and only from in transit;
the village's events do not touch it, and "delivered" does not touch a parcel to the village. At
delivery its goods money goes into the seller's center's book as money paid away (never in the
till), the seller is owed it and may be paid it at the counter, the seller's page and listing count
it, the buyer is told and asked for stars a day later. A problem's refund after delivery goes back
the way the goods were paid, never from the till. /track reads the buyer's own orders only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from chat import center_id
from services import cart as carts
from services import cash, cashbook, orders, parcels, problem_desk, problems, sellers, tracking
from services.errors import NotAllowed, NotFound
from services.listings import load_listing_views
from services.ratings import ASK_AFTER
from services.states import OrderStatus
from store.models import CashEntry, Order, OutboxMessage, Payment, Product, ServiceCenter
from support.books import books_balance
from support.desk import ADMIN
from support.produce import approved_listing, person
from support.town import confirm, delivery_order, prices, ship

S = OrderStatus


async def shipped(store, clock, *, online: bool = True, tracking_number: str = "SF1234567890"):
    """Seller 1 of CG-01 sells 2 jin of apples (¥12) to town buyer 2, who pays online or on
    delivery; CG-01 takes a 10% fee; the order is confirmed and in transit. Returns (seller, buyer,
    listing, order)."""
    await prices(store, clock)
    async with store.write() as session:
        await session.execute(update(ServiceCenter).where(ServiceCenter.code == "CG-01").values(order_fee_bp=1000))
    seller = await person(store, clock, 1)
    buyer = await person(store, clock, 2, center=None)
    listing = await approved_listing(store, clock, seller)
    order = await delivery_order(store, clock, buyer, listing, online=online)
    await confirm(store, clock, order.id)
    await ship(store, clock, order.id, tracking_number)
    return seller, buyer, listing, order


async def entries(store, order_id: int) -> list[tuple]:
    async with store.read() as session:
        rows = (await session.scalars(select(CashEntry).where(CashEntry.order_id == order_id)
                                      .order_by(CashEntry.id))).all()
        return [(e.kind, e.amount_fen, e.fee_fen, e.seller_id, e.ref) for e in rows]


async def outbox_rows(store, order_id: int, kind: str) -> list[OutboxMessage]:
    async with store.read() as session:
        return list((await session.scalars(select(OutboxMessage).where(
            OutboxMessage.order_id == order_id, OutboxMessage.kind == kind).order_by(OutboxMessage.id))).all())


@pytest.mark.parametrize("online", [True, False], ids=["online", "cash-on-delivery"])
async def test_delivered_books_the_money_away_from_the_till_tells_the_buyer_and_asks_for_stars(
        demo_store, clock, online):
    seller, buyer, listing, order = await shipped(demo_store, clock, online=online)
    cg01 = await center_id(demo_store, "CG-01")
    clock.advance(timedelta(hours=30))

    result = await parcels.carrier_event(demo_store, clock, order.number, "delivered", clock.now())

    assert result == parcels.CarrierResult(True, "delivered")
    assert await entries(demo_store, order.id) == [
        ("paid_away", 1200, 120, seller, f"delivered:{order.id}"),
        ("held_away", -1200, 0, None, f"held-delivered:{order.id}")]
    async with demo_store.read() as session:
        book = await cashbook.balance(session, cg01)
        assert (await session.get(Order, order.id)).status == S.DELIVERED
    assert (book.on_hand, book.owed_to_sellers, book.owed_to_county, book.fees) == (0, {seller: 1080}, -1200, 120)
    status = await outbox_rows(demo_store, order.id, "status")
    assert [row.payload["status"] for row in status][-1] == "delivered"
    assert status[-1].villager_id == buyer
    (rate,) = await outbox_rows(demo_store, order.id, "rate")
    assert rate.villager_id == buyer and rate.due_at == clock.now() + ASK_AFTER
    async with demo_store.read() as session:
        told = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "seller", OutboxMessage.villager_id == seller))).all()
    assert [row.payload["event"] for row in told][-1] == "delivered"
    assert await books_balance(demo_store) == []

    # Delivered counts as sold, on the seller's page and in the listing's earnings.
    page = await sellers.seller_page(demo_store, seller)
    assert (page.orders_sold, page.sold_milli) == (1, {"jin": 2000})
    async with demo_store.read() as session:
        (view,) = await load_listing_views(session, [listing])
    assert view.earned_fen == 1200

    # The partner pays the seller at the counter what the delivery earned them.
    paid = await cash.pay_seller(demo_store, clock, ADMIN, cg01, seller, 1080, "pay-1")
    assert (paid.amount_fen, paid.owed_left) == (1080, 0)
    assert await books_balance(demo_store) == []


async def test_the_tracking_number_names_the_order_in_any_case_and_a_duplicate_moves_nothing(demo_store, clock):
    _, _, _, order = await shipped(demo_store, clock, tracking_number="sf-778899")

    first = await parcels.carrier_event(demo_store, clock, "SF-778899", "delivered", clock.now())
    clock.advance(timedelta(minutes=5))
    again = await parcels.carrier_event(demo_store, clock, order.number, "delivered", clock.now())
    by_tracking = await parcels.carrier_event(demo_store, clock, "sf-778899", "delivered", clock.now())

    assert (first.moved, again.moved, by_tracking.moved) == (True, False, False)
    assert again.status == by_tracking.status == "delivered"
    assert [kind for kind, *_ in await entries(demo_store, order.id)] == ["paid_away", "held_away"]
    assert len(await outbox_rows(demo_store, order.id, "rate")) == 1
    with pytest.raises(NotFound):
        await parcels.carrier_event(demo_store, clock, "SF-000000", "delivered", clock.now())


async def test_events_of_the_other_way_change_nothing(demo_store, clock):
    _, _, _, order = await shipped(demo_store, clock)
    for event in ("in_transit", "at_county", "at_village"):
        assert await parcels.carrier_event(demo_store, clock, order.number, event, clock.now()) == \
            parcels.CarrierResult(False, "in_transit")

    # A parcel to the village is never "delivered": it waits for its pickup.
    village = await person(demo_store, clock, 7)
    async with demo_store.read() as session:
        rice = await session.scalar(select(Product.id).where(Product.sku == "FD-001"))
    cart = await carts.add_to_cart(demo_store, village, rice, 1)
    placed = (await orders.place_order(demo_store, clock, village, cart.checkout_token)).order
    number = placed.number
    await confirm(demo_store, clock, placed.id)
    await parcels.carrier_event(demo_store, clock, number, "in_transit", clock.now())
    assert await parcels.carrier_event(demo_store, clock, number, "delivered", clock.now()) == \
        parcels.CarrierResult(False, "in_transit")
    assert await books_balance(demo_store) == []


async def test_delivered_before_it_was_shipped_or_confirmed(demo_store, clock):
    await prices(demo_store, clock)
    seller, buyer = await person(demo_store, clock, 1), await person(demo_store, clock, 2, center=None)
    listing = await approved_listing(demo_store, clock, seller)
    order = await delivery_order(demo_store, clock, buyer, listing)
    with pytest.raises(NotAllowed):  # pending: not yet confirmed (the endpoint's 409)
        await parcels.carrier_event(demo_store, clock, order.number, "delivered", clock.now())
    await confirm(demo_store, clock, order.id)
    assert await parcels.carrier_event(demo_store, clock, order.number, "delivered", clock.now()) == \
        parcels.CarrierResult(False, "confirmed")  # the desk has not sent it yet: no tracking number
    assert await entries(demo_store, order.id) == []


async def test_track_reads_the_buyers_own_orders_only(demo_store, clock):
    seller, buyer, listing, order = await shipped(demo_store, clock)
    other = await person(demo_store, clock, 3, center=None)
    second = await delivery_order(demo_store, clock, buyer, listing, 1000, token="town-2")

    found = await tracking.deliveries(demo_store, buyer)
    assert [o.number for o in found.going] == [second.number, order.number] and found.delivered == []
    assert (await tracking.deliveries(demo_store, other)).empty

    assert (await tracking.tracked(demo_store, buyer, number=f" {order.number.lower()} ")).id == order.id
    assert (await tracking.tracked(demo_store, buyer, number="sf1234567890")).id == order.id
    for number in (order.number, "SF1234567890", "", "RT-ZZZZZ"):
        with pytest.raises(NotFound):
            await tracking.tracked(demo_store, other, number=number)
    with pytest.raises(NotFound):
        await tracking.tracked(demo_store, seller, order_id=order.id)

    await parcels.carrier_event(demo_store, clock, order.number, "delivered", clock.now())
    found = await tracking.deliveries(demo_store, buyer)
    assert [o.number for o in found.going] == [second.number]
    assert [(o.number, o.status, [e.status for e in o.events]) for o in found.delivered] == [
        (order.number, "delivered", ["awaiting_payment", "pending", "confirmed", "in_transit", "delivered"])]


async def reported(store, clock, buyer: int, order_id: int, quantity_milli: int) -> int:
    """The buyer reports part of their delivered order spoiled; returns the problem's id."""
    draft = await problems.start(store, clock, buyer, order_id)
    await problems.set_quantity(store, clock, buyer, draft.id, draft.lines[0].line_id, quantity_milli)
    await problems.set_reason(store, clock, buyer, draft.id, "spoiled")
    return (await problems.submit(store, clock, buyer, draft.id, None)).id


@pytest.mark.parametrize("online", [True, False], ids=["online", "cash-on-delivery"])
async def test_a_refund_after_delivery_goes_back_the_way_it_was_paid_never_from_the_till(demo_store, clock, online):
    seller, buyer, _, order = await shipped(demo_store, clock, online=online)
    with pytest.raises(problems.TooLate):  # not delivered yet
        await problems.start(demo_store, clock, buyer, order.id)
    await parcels.carrier_event(demo_store, clock, order.number, "delivered", clock.now())
    clock.advance(timedelta(days=2))

    first = await reported(demo_store, clock, buyer, order.id, 500)
    view = await problem_desk.refund(demo_store, clock, ADMIN, first)
    assert (view.paid_fen, view.refunded_fen, view.paid_away) == (1200, 300, "online" if online else "cash_on_delivery")
    second = await reported(demo_store, clock, buyer, order.id, 1500)
    await problem_desk.refund(demo_store, clock, ADMIN, second)

    assert (await entries(demo_store, order.id))[2:] == [
        ("refund", -300, -30, seller, f"refund:{order.id}:1"), ("held_away", 300, 0, None, f"held-refund:{order.id}:1"),
        ("refund", -900, -90, seller, f"refund:{order.id}:2"), ("held_away", 900, 0, None, f"held-refund:{order.id}:2")]
    async with demo_store.read() as session:
        book = await cashbook.balance(session, await center_id(demo_store, "CG-01"))
        rows = [(p.kind, p.amount_fen, p.ref) for p in (await session.scalars(
            select(Payment).where(Payment.order_id == order.id).order_by(Payment.id))).all()]
    assert (book.on_hand, book.owed_to_sellers, book.fees) == (0, {}, 0)  # nothing left to anyone
    assert rows == ([("payment", 2400, None), ("refund", -300, f"refund:{order.id}:1"),
                     ("refund", -900, f"refund:{order.id}:2")] if online else [])
    assert await books_balance(demo_store) == []

    clock.advance(timedelta(days=problems.PROBLEM_DAYS))
    assert not await problems.reportable(demo_store, clock, buyer, order.id)
