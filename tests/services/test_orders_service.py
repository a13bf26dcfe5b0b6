"""Cart, checkout and cancel rules, on SQLite and PostgreSQL, without Telegram."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import func, select, update

from services import cart as carts
from services import market, orders, states, villagers
from services.caps import Caps
from services.errors import (
    CartEmpty,
    InvalidQuantity,
    NoCenterChosen,
    NotAllowed,
    NotEnoughStock,
    NotFound,
    StaleCheckout,
    TooManyPendingOrders,
)
from store.models import Cart, Listing, Order, Product, ServiceCenter
from support.produce import approved_listing, person
from support.store import product


async def a_villager(store, clock, telegram_id: int, with_center: bool = True) -> int:
    person = await villagers.enter(store, clock, telegram_id=telegram_id, first_name=f"V{telegram_id}",
                                   username=None, locale="zh_Hans")
    if with_center:
        async with store.read() as session:
            center_id = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == "CG-01"))
        await villagers.set_center(store, person.id, center_id)
    return person.id


async def set_stock(store, sku: str, stock: int) -> None:
    async with store.write() as session:
        await session.execute(update(Product).where(Product.sku == sku).values(stock=stock))


async def test_checkout_reserves_stock_and_empties_the_cart(demo_store, clock):
    villager = await a_villager(demo_store, clock, 1)
    rice = await product(demo_store, "FD-001")
    cart = await carts.add_to_cart(demo_store, villager, rice.id, 3)
    placed = await orders.place_order(demo_store, clock, villager, cart.checkout_token)

    assert not placed.already_placed
    assert re.fullmatch(r"RT-[2-9A-HJ-NP-Z]{5}", placed.order.number)
    assert placed.order.status == "pending"
    assert placed.order.total_fen == 3 * rice.price_fen
    assert [(line.quantity, line.price_fen) for line in placed.order.lines] == [(3, rice.price_fen)]
    assert (await product(demo_store, "FD-001")).stock == rice.stock - 3
    assert (await carts.get_cart(demo_store, villager)).is_empty


async def test_confirming_twice_places_one_order(demo_store, clock):
    villager = await a_villager(demo_store, clock, 1)
    rice = await product(demo_store, "FD-001")
    cart = await carts.add_to_cart(demo_store, villager, rice.id, 2)

    first = await orders.place_order(demo_store, clock, villager, cart.checkout_token)
    second = await orders.place_order(demo_store, clock, villager, cart.checkout_token)

    assert second.already_placed and second.order.number == first.order.number
    async with demo_store.read() as session:
        assert await session.scalar(select(func.count(Order.id))) == 1
    assert (await product(demo_store, "FD-001")).stock == rice.stock - 2


async def test_simultaneous_confirm_taps_place_one_order(demo_store, clock):
    villager = await a_villager(demo_store, clock, 1)
    rice = await product(demo_store, "FD-001")
    cart = await carts.add_to_cart(demo_store, villager, rice.id, 2)

    results = await asyncio.gather(*(orders.place_order(demo_store, clock, villager, cart.checkout_token)
                                     for _ in range(5)))

    assert len({r.order.number for r in results}) == 1
    assert sum(not r.already_placed for r in results) == 1
    assert (await product(demo_store, "FD-001")).stock == rice.stock - 2


async def test_first_taps_at_once_fill_one_cart(demo_store, clock):
    """Ten ➕ at once from a villager with no cart yet: one cart is made, and it holds all ten."""
    villager = await a_villager(demo_store, clock, 1)
    rice = await product(demo_store, "FD-001")

    await asyncio.gather(*(carts.add_to_cart(demo_store, villager, rice.id, 1) for _ in range(10)))

    assert [line.quantity for line in (await carts.get_cart(demo_store, villager)).lines] == [10]
    async with demo_store.read() as session:
        assert await session.scalar(select(func.count(Cart.id))) == 1


async def pending_orders(store, villager: int) -> int:
    async with store.read() as session:
        return await session.scalar(select(func.count(Order.id)).where(
            Order.villager_id == villager, Order.status == states.OrderStatus.PENDING))


async def test_at_five_pending_orders_the_next_checkout_is_refused_even_two_at_once(demo_store, clock):
    villager = await a_villager(demo_store, clock, 1)
    rice = await product(demo_store, "FD-001")
    for _ in range(4):
        cart = await carts.add_to_cart(demo_store, villager, rice.id, 1)
        await orders.place_order(demo_store, clock, villager, cart.checkout_token)
    listing = await approved_listing(demo_store, clock, await person(demo_store, clock, 2))
    center = (await villagers.get(demo_store, villager)).center_id
    cart = await carts.add_to_cart(demo_store, villager, rice.id, 1)

    # The fifth and a sixth at once, from the cart and from the market: the villager's row is
    # held by the first, so the second counts its order.
    results = await asyncio.gather(
        orders.place_order(demo_store, clock, villager, cart.checkout_token),
        market.order_listing(demo_store, clock, villager, listing, 1000, center, "a1b2c3d4e5"),
        return_exceptions=True)

    assert sorted(type(r).__name__ for r in results) == ["PlacedOrder", "TooManyPendingOrders"]
    assert await pending_orders(demo_store, villager) == 5
    refused = next(r for r in results if isinstance(r, TooManyPendingOrders))
    assert refused.limit == 5
    stock = (await product(demo_store, "FD-001")).stock
    async with demo_store.read() as session:
        left = await session.scalar(select(Listing.left_milli).where(Listing.id == listing))
    cart = await carts.get_cart(demo_store, villager)
    for attempt in (orders.place_order(demo_store, clock, villager, cart.checkout_token),
                    market.order_listing(demo_store, clock, villager, listing, 1000, center, "f6e5d4c3b2")):
        with pytest.raises(TooManyPendingOrders):
            await attempt
    async with demo_store.read() as session:  # nothing was taken
        assert await session.scalar(select(Listing.left_milli).where(Listing.id == listing)) == left
    assert (await product(demo_store, "FD-001")).stock == stock

    # Cancelling one makes room; a higher cap (MAX_PENDING_ORDERS) does too.
    first = (await orders.list_orders(demo_store, villager)).orders[-1]
    await orders.cancel_order(demo_store, clock, villager, first.id)
    await market.order_listing(demo_store, clock, villager, listing, 1000, center, "0a0b0c0d0e")
    cart = await carts.add_to_cart(demo_store, villager, rice.id, 1)
    with pytest.raises(TooManyPendingOrders):
        await orders.place_order(demo_store, clock, villager, cart.checkout_token)
    await orders.place_order(demo_store, clock, villager, cart.checkout_token, caps=Caps(pending_orders=6))
    assert await pending_orders(demo_store, villager) == 6


async def test_an_old_confirmation_after_the_cart_changed_is_refused(demo_store, clock):
    villager = await a_villager(demo_store, clock, 1)
    rice, oil = await product(demo_store, "FD-001"), await product(demo_store, "FD-002")
    old = await carts.add_to_cart(demo_store, villager, rice.id, 1)
    await carts.add_to_cart(demo_store, villager, oil.id, 1)

    with pytest.raises(StaleCheckout):
        await orders.place_order(demo_store, clock, villager, old.checkout_token)
    async with demo_store.read() as session:
        assert await session.scalar(select(func.count(Order.id))) == 0


async def test_an_item_that_ran_short_blocks_the_order_and_is_named(demo_store, clock):
    villager = await a_villager(demo_store, clock, 1)
    rice, oil = await product(demo_store, "FD-001"), await product(demo_store, "FD-002")
    await carts.add_to_cart(demo_store, villager, rice.id, 2)
    cart = await carts.add_to_cart(demo_store, villager, oil.id, 4)
    await set_stock(demo_store, "FD-002", 3)

    with pytest.raises(NotEnoughStock) as short:
        await orders.place_order(demo_store, clock, villager, cart.checkout_token)

    assert short.value.available == 3 and short.value.product_names == oil.names
    # Nothing half-written: the rice reserved before the oil failed is back on the shelf.
    assert (await product(demo_store, "FD-001")).stock == rice.stock
    assert len((await carts.get_cart(demo_store, villager)).lines) == 2


async def test_checkout_needs_a_center_and_a_cart(demo_store, clock):
    homeless = await a_villager(demo_store, clock, 1, with_center=False)
    cart = await carts.add_to_cart(demo_store, homeless, (await product(demo_store, "FD-001")).id, 1)
    with pytest.raises(NoCenterChosen):
        await orders.place_order(demo_store, clock, homeless, cart.checkout_token)

    empty = await a_villager(demo_store, clock, 2)
    async with demo_store.write() as session:
        token = (await carts.cart_for(session, empty)).checkout_token
    with pytest.raises(CartEmpty):
        await orders.place_order(demo_store, clock, empty, token)


@pytest.mark.parametrize("quantity", [0, -3, 10**12, 1000])
async def test_impossible_quantities_are_refused(demo_store, clock, quantity):
    villager = await a_villager(demo_store, clock, 1)
    with pytest.raises(InvalidQuantity):
        await carts.add_to_cart(demo_store, villager, (await product(demo_store, "FD-001")).id, quantity)
    assert (await carts.get_cart(demo_store, villager)).is_empty


@pytest.mark.parametrize("typed, expected", [("3", 3), ("３", 3), (" 12 ", 12), ("999", 999)])
def test_quantities_are_read_as_people_type_them(typed, expected):
    assert carts.parse_quantity(typed) == expected


@pytest.mark.parametrize("typed", ["abc", "0", "-3", "1000000000000", "1.5", "", "3 bags"])
def test_unreadable_quantities_are_refused(typed):
    with pytest.raises(InvalidQuantity):
        carts.parse_quantity(typed)


def test_zero_is_read_only_where_it_removes_a_line():
    assert carts.parse_quantity("０", minimum=0) == 0
    assert carts.parse_quantity("7", minimum=0) == 7
    with pytest.raises(InvalidQuantity):
        carts.parse_quantity("1000", minimum=0)


async def test_someone_elses_cart_line_cannot_be_touched(demo_store, clock):
    owner, intruder = await a_villager(demo_store, clock, 1), await a_villager(demo_store, clock, 2)
    cart = await carts.add_to_cart(demo_store, owner, (await product(demo_store, "FD-001")).id, 2)
    with pytest.raises(NotFound):
        await carts.set_line_quantity(demo_store, intruder, cart.lines[0].id, 0)
    assert (await carts.get_cart(demo_store, owner)).lines[0].quantity == 2


async def test_cancelling_a_pending_order_returns_its_stock_once(demo_store, clock):
    villager = await a_villager(demo_store, clock, 1)
    rice = await product(demo_store, "FD-001")
    cart = await carts.add_to_cart(demo_store, villager, rice.id, 5)
    placed = await orders.place_order(demo_store, clock, villager, cart.checkout_token)

    cancelled = await orders.cancel_order(demo_store, clock, villager, placed.order.id)
    assert cancelled.status == "cancelled"
    assert [e.status for e in cancelled.events] == ["pending", "cancelled"]
    assert (await product(demo_store, "FD-001")).stock == rice.stock

    with pytest.raises(NotAllowed):
        await orders.cancel_order(demo_store, clock, villager, placed.order.id)
    assert (await product(demo_store, "FD-001")).stock == rice.stock


async def test_a_villager_cannot_see_or_cancel_anothers_order(demo_store, clock):
    owner, other = await a_villager(demo_store, clock, 1), await a_villager(demo_store, clock, 2)
    cart = await carts.add_to_cart(demo_store, owner, (await product(demo_store, "FD-001")).id, 1)
    placed = await orders.place_order(demo_store, clock, owner, cart.checkout_token)
    with pytest.raises(NotFound):
        await orders.get_order(demo_store, other, placed.order.id)
    with pytest.raises(NotFound):
        await orders.cancel_order(demo_store, clock, other, placed.order.id)
    assert (await orders.get_order(demo_store, owner, placed.order.id)).status == "pending"


async def test_orders_are_listed_newest_first(demo_store, clock):
    from datetime import timedelta

    villager = await a_villager(demo_store, clock, 1)
    rice = await product(demo_store, "FD-001")
    numbers = []
    for _ in range(3):
        cart = await carts.add_to_cart(demo_store, villager, rice.id, 1)
        numbers.append((await orders.place_order(demo_store, clock, villager, cart.checkout_token)).order.number)
        clock.advance(timedelta(minutes=5))
    listed = await orders.list_orders(demo_store, villager)
    assert [o.number for o in listed.orders] == numbers[::-1]


async def test_twenty_villagers_race_for_the_last_five_units(demo_store, clock):
    await set_stock(demo_store, "FD-001", 5)
    rice = await product(demo_store, "FD-001")
    racers = [await a_villager(demo_store, clock, 100 + i) for i in range(20)]
    tokens = [(await carts.add_to_cart(demo_store, v, rice.id, 1)).checkout_token
              if i < 5 else None for i, v in enumerate(racers)]
    # The other 15 put it in their carts too, before the stock runs out.
    for i, v in enumerate(racers):
        if tokens[i] is None:
            tokens[i] = (await carts.add_to_cart(demo_store, v, rice.id, 1)).checkout_token

    async def attempt(villager: int, token: str) -> bool:
        try:
            await orders.place_order(demo_store, clock, villager, token)
            return True
        except NotEnoughStock as short:
            assert short.available == 0
            return False

    results = await asyncio.gather(*(attempt(v, token) for v, token in zip(racers, tokens)))

    assert sum(results) == 5
    assert (await product(demo_store, "FD-001")).stock == 0
    async with demo_store.read() as session:
        assert await session.scalar(select(func.count(Order.id))) == 5
