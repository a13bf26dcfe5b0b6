"""Orders: placing one from the cart, following it, cancelling it.

An order moves only along ``states.TRANSITIONS`` (see shared/DESIGN.md). Stock is reserved in the
transaction that places the order and returned when it is rejected or cancelled.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from locales import localized
from services import outbox, villagers
from services.amounts import format_milli
from services.caps import CAPS, Caps
from services.cart import cart_for, new_checkout_token
from services.catalog import note_stock_change
from services.clock import Clock
from services.errors import (
    CartEmpty,
    NoCenterChosen,
    NotAllowed,
    NotEnoughStock,
    NotFound,
    StaleCheckout,
    TooManyPendingOrders,
)
from services.listings import return_to_listing
from services.outbox import Kind
from services.refunds import refund_in_full
from services.states import RETURNS_STOCK, OrderStatus, S, may_move
from store.db import Store
from store.models import CartLine, Order, OrderEvent, OrderLine, Product, ServiceCenter

PAGE_SIZE = 8
# No 0/O or 1/I: the number is read aloud at the counter and copied by hand.
_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class OrderLineView:
    names: dict
    unit: str
    price_fen: int
    quantity: int | str  # a produce line's may have decimals: "2.5"

    def name(self, language: str) -> str:
        return localized(self.names, language)


@dataclass(frozen=True, slots=True)
class OrderEventView:
    status: str
    at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    number: str
    status: str
    total_fen: int
    payment_method: str
    created_at: datetime
    center_id: int
    center_names: dict
    center_address: str
    center_timezone: str
    lines: list[OrderLineView]
    events: list[OrderEventView]
    pickup_code: str | None = None
    seller_center_id: int | None = None  # produce from the market: the seller's center decides
    ship_to: dict | None = None  # a delivery order's address: {"name", "phone", "address", "zone"}
    delivery_fen: int = 0  # a delivery order's delivery, on top of total_fen
    tracking_number: str | None = None
    reserved_until: datetime | None = None  # an open invoice holds the stock until

    @property
    def is_delivery(self) -> bool:
        return self.ship_to is not None or self.status == "awaiting_payment"

    @property
    def deciding_center_id(self) -> int:
        """The center whose partners confirm or reject it."""
        return self.seller_center_id or self.center_id


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: OrderView
    already_placed: bool


@dataclass(frozen=True, slots=True)
class OrdersPage:
    orders: list[OrderView]
    page: int
    pages: int


def new_order_number() -> str:
    return "RT-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(5))


async def load_order_view(session: AsyncSession, order_id: int) -> OrderView:
    """An order as the villager and the desk see it, read in the caller's session."""
    order = await session.get(Order, order_id)
    center = await session.get(ServiceCenter, order.center_id)
    lines = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id))).all()
    events = (await session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))).all()
    return OrderView(
        id=order.id, number=order.number, status=order.status, total_fen=order.total_fen,
        payment_method=order.payment_method, created_at=order.created_at, center_id=center.id,
        center_names=center.names,
        center_address=center.address, center_timezone=center.timezone,
        lines=[OrderLineView(line.names, line.unit, line.price_fen,
                             line.quantity if line.quantity_milli is None else format_milli(line.quantity_milli))
               for line in lines],
        events=[OrderEventView(event.status, event.at, event.note) for event in events],
        pickup_code=order.pickup_code, seller_center_id=order.seller_center_id, ship_to=order.ship_to,
        delivery_fen=order.delivery_fen or 0, tracking_number=order.tracking_number,
        reserved_until=order.reserved_until,
    )


async def place_order(store: Store, clock: Clock, villager_id: int, checkout_token: str,
                      assisted_by_id: int | None = None, caps: Caps = CAPS) -> PlacedOrder:
    """Turn the cart into an order for pickup at the villager's center, reserving stock.

    ``checkout_token`` is the one the confirmation was shown for: confirming twice, or from an
    old message, returns the order already placed instead of placing another. A villager with
    ``caps.pending_orders`` orders still pending is refused (``TooManyPendingOrders``).
    """
    return await placed_once(store, villager_id, checkout_token,
                             _place_order(store, clock, villager_id, checkout_token, assisted_by_id, caps))


async def placed_once(store: Store, villager_id: int, checkout_token: str,
                      placing: Awaitable[PlacedOrder]) -> PlacedOrder:
    """``placing`` an order with ``checkout_token``; if a concurrent confirmation with the same
    token won the race (the unique checkout_token), the order it placed."""
    try:
        return await placing
    except IntegrityError:
        async with store.read() as session:
            placed = await already_placed(session, villager_id, checkout_token)
        if placed is None:
            raise
        return placed


async def begin_order(session: AsyncSession, villager_id: int, checkout_token: str, caps: Caps) -> PlacedOrder | None:
    """The first steps of placing an order, in the caller's transaction: the villager locked (one
    checkout of theirs at a time); the order already placed with ``checkout_token``, if there is one,
    returned; else room checked for one more (``TooManyPendingOrders``)."""
    await villagers.lock(session, villager_id)
    if (placed := await already_placed(session, villager_id, checkout_token)) is not None:
        return placed
    await check_room_for_order(session, villager_id, caps)
    return None


async def already_placed(session: AsyncSession, villager_id: int, checkout_token: str) -> PlacedOrder | None:
    """The order a confirmation with this token placed before, if any."""
    order_id = await session.scalar(select(Order.id).where(Order.checkout_token == checkout_token,
                                                           Order.villager_id == villager_id))
    return None if order_id is None else PlacedOrder(await load_order_view(session, order_id), already_placed=True)


async def check_room_for_order(session: AsyncSession, villager_id: int, caps: Caps) -> None:
    """``TooManyPendingOrders`` if the villager has ``caps.pending_orders`` orders still pending.
    The caller holds the villager's row (``villagers.lock``): two checkouts at once, from the cart
    or the market, take turns, and the second sees the first's order, whether to return it (the
    same token) or to count it."""
    pending = await session.scalar(select(func.count(Order.id)).where(
        Order.villager_id == villager_id, Order.status == S.PENDING))
    if pending >= caps.pending_orders:
        raise TooManyPendingOrders(caps.pending_orders)


async def _place_order(store: Store, clock: Clock, villager_id: int, checkout_token: str,
                       assisted_by_id: int | None, caps: Caps) -> PlacedOrder:
    now = clock.now()
    async with store.write() as session:
        villager = await villagers.lock(session, villager_id)
        cart = await cart_for(session, villager_id, lock=True)
        if (placed := await already_placed(session, villager_id, checkout_token)) is not None:
            return placed
        if checkout_token != cart.checkout_token:
            raise StaleCheckout()
        await check_room_for_order(session, villager_id, caps)
        if villager.center_id is None:
            raise NoCenterChosen()
        lines = (await session.execute(
            select(CartLine, Product).join(Product, CartLine.product_id == Product.id)
            .where(CartLine.cart_id == cart.id).order_by(CartLine.id)
        )).all()
        if not lines:
            raise CartEmpty()
        for line, product in lines:
            if not product.is_active:
                raise NotEnoughStock(product.names, 0)
            # One conditional UPDATE per line: the row lock (PostgreSQL) or the write lock
            # (SQLite) makes "check and take" atomic, so racing villagers can never oversell.
            taken = await session.execute(
                update(Product)
                .where(Product.id == product.id, Product.stock >= line.quantity)
                .values(stock=Product.stock - line.quantity)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:
                left = await session.scalar(select(Product.stock).where(Product.id == product.id))
                raise NotEnoughStock(product.names, left)
        await note_stock_change(session, [product.id for _, product in lines], now)  # low-stock alerts
        number = new_order_number()
        while await session.scalar(select(Order.id).where(Order.number == number)) is not None:
            number = new_order_number()
        order = Order(
            number=number, villager_id=villager_id, center_id=villager.center_id, status=S.PENDING,
            total_fen=sum(product.price_fen * line.quantity for line, product in lines),
            payment_method="cash_on_pickup", checkout_token=checkout_token, created_at=now, updated_at=now,
            assisted_by_id=assisted_by_id,
        )
        order.lines = [
            OrderLine(product_id=product.id, sku=product.sku, names=product.names, unit=product.unit,
                      price_fen=product.price_fen, quantity=line.quantity)
            for line, product in lines
        ]
        order.events = [OrderEvent(status=S.PENDING, at=now, actor_id=assisted_by_id or villager_id)]
        session.add(order)
        for line, _ in lines:
            await session.delete(line)
        cart.checkout_token = new_checkout_token()
        await session.flush()
        await outbox.enqueue(session, Kind.CARD, due_at=now, order_id=order.id)  # to the center's desk
        return PlacedOrder(await load_order_view(session, order.id), already_placed=False)


async def move_order(
    session: AsyncSession, order: Order, to: OrderStatus, *, at: datetime, actor_id: int | None, note: str = ""
) -> None:
    """Move an order along an allowed transition, returning stock where the design says so."""
    if not may_move(order.status, to):
        raise NotAllowed(order.status)
    if to in RETURNS_STOCK:
        returned = []
        for line in (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all():
            if line.listing_id is not None:
                await return_to_listing(session, line)
            elif line.product_id is not None:
                await session.execute(
                    update(Product).where(Product.id == line.product_id)
                    .values(stock=Product.stock + line.quantity)
                    .execution_options(synchronize_session=False)
                )
                returned.append(line.product_id)
        await note_stock_change(session, returned, at)  # back at the threshold: the next fall alerts again
    order.status = to
    order.updated_at = at
    session.add(OrderEvent(order_id=order.id, status=to, at=at, actor_id=actor_id, note=note))


async def cancel_order(store: Store, clock: Clock, villager_id: int, order_id: int) -> OrderView:
    """A villager cancels their own order while it is still pending; its stock returns, and what
    they paid online for it is refunded."""
    async with store.write() as session:
        order = await session.scalar(
            select(Order).where(Order.id == order_id, Order.villager_id == villager_id).with_for_update()
        )
        if order is None:
            raise NotFound("order")
        if order.status != S.PENDING:
            raise NotAllowed(order.status)
        await move_order(session, order, S.CANCELLED, at=clock.now(), actor_id=villager_id)
        await refund_in_full(session, order, clock.now(), note="cancelled by the buyer")  # if paid online
        await outbox.enqueue(session, Kind.CARD, due_at=clock.now(), order_id=order.id)
        await session.flush()
        return await load_order_view(session, order.id)


async def order_view(store: Store, order_id: int) -> OrderView | None:
    """Any order, for what the bot sends about it (no owner check: never show it to a person as is)."""
    async with store.read() as session:
        if await session.scalar(select(Order.id).where(Order.id == order_id)) is None:
            return None
        return await load_order_view(session, order_id)


async def get_order(store: Store, villager_id: int, order_id: int | None = None, number: str | None = None
                    ) -> OrderView:
    """One of the villager's own orders, by id or by number; anyone else's is NotFound."""
    async with store.read() as session:
        where = Order.id == order_id if order_id is not None else Order.number == (number or "").strip().upper()
        order_id, owner = (await session.execute(select(Order.id, Order.villager_id).where(where))).first() or (None, None)
        if owner is None or owner != villager_id:
            raise NotFound("order")
        return await load_order_view(session, order_id)


async def list_orders(store: Store, villager_id: int, page: int = 0) -> OrdersPage:
    """The villager's orders, newest first."""
    async with store.read() as session:
        total = await session.scalar(select(func.count(Order.id)).where(Order.villager_id == villager_id)) or 0
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        ids = (await session.scalars(
            select(Order.id).where(Order.villager_id == villager_id)
            .order_by(Order.created_at.desc(), Order.id.desc()).offset(page * PAGE_SIZE).limit(PAGE_SIZE)
        )).all()
        return OrdersPage([await load_order_view(session, order_id) for order_id in ids], page, pages)
