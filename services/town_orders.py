"""A town buyer's order: village produce delivered to an address, paid online or on delivery.

Online (Telegram Payments), the order is placed ``awaiting_payment`` when its invoice is sent: the
quantity is taken from the listing then, so two buyers can never pay for the same last kilo, and
given back if the invoice is not paid within ``RESERVE``. The shipping address comes with the
payment sheet: ``delivery_quote_for`` prices it from the seller's center's table; ``check_payment``
is the pre-checkout's last look (the order still held, the total right); ``record_payment`` books
the money once by Telegram's charge id and sends the order to the seller's center's desk.

Without a payment provider the buyer types the address and pays the carrier. The bot asks the
address and the receiver in two typed messages, so it holds the order meanwhile as an invoice
would: ``hold_delivery`` (the address typed: the stock is held ``RESERVE``), ``set_receiver`` (name
and phone), then ``confirm_delivery`` makes it pending. ``drop_reservation`` gives a held order's stock back at once (the buyer cancelled).

The seller's center confirms, ships and the carrier delivers it (services/shipping.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services import delivery_prices, outbox
from services.amounts import line_total_fen
from services.caps import CAPS, Caps
from services.clock import Clock
from services.delivery_prices import Zone
from services.errors import DomainError, NotFound
from services.listings import tell_seller
from services.market import close_if_sold_out, listing_line, take_listing, unused_order_number
from services.orders import OrderView, PlacedOrder, begin_order, load_order_view, move_order, placed_once
from services.outbox import Kind
from services.refunds import refund_in_full
from services.states import OrderStatus
from store.db import Store
from store.models import County, Listing, Order, OrderEvent, OrderLine, Payment, ServiceCenter

RESERVE = timedelta(minutes=15)  # an open invoice holds its stock this long
PAYING = timedelta(minutes=5)  # a pre-checkout said yes: the payment has this long to arrive
ONLINE, CASH_ON_DELIVERY = "online", "cash_on_delivery"
LAPSED = "reservation lapsed"


class NoDelivery(DomainError):
    """The seller's center does not deliver to that zone, or not that much weight."""

    def __init__(self, zone: Zone):
        super().__init__(f"no delivery to {zone}")
        self.zone = zone


class NotPayable(DomainError):
    """The order is not waiting for a payment (any more): paid, lapsed or cancelled."""


class WrongTotal(DomainError):
    """What the payment sheet asks is not the goods and the delivery the bot quoted."""


@dataclass(frozen=True, slots=True)
class DeliveryOption:
    zone: Zone
    price_fen: int


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    order: OrderView
    first: bool  # False: this charge was recorded before (a repeated update)


def payload_of(order: OrderView | Order, token: str) -> str:
    """The invoice's payload: which order it pays, and the token the order was placed with."""
    return f"o:{order.id}:{token}"


def order_id_of(payload: str) -> tuple[int, str]:
    """The order id and token an invoice's payload names; NotFound if it names none."""
    kind, _, rest = payload.partition(":")
    number, _, token = rest.partition(":")
    if kind != "o" or not number.isdigit() or not token or len(number) > 9:
        raise NotFound("order")
    return int(number), token


async def place_delivery(store: Store, clock: Clock, buyer_id: int, listing_id: int, quantity_milli: int,
                         token: str, *, caps: Caps = CAPS) -> PlacedOrder:
    """Order produce for delivery, to pay online: held ``RESERVE`` for its invoice. A second call
    with the same ``token`` returns the first order."""
    return await placed_once(store, buyer_id, token,
                             _place(store, clock, buyer_id, listing_id, quantity_milli, token, caps, None))


async def hold_delivery(store: Store, clock: Clock, buyer_id: int, listing_id: int, quantity_milli: int, token: str,
                        address: str, *, caps: Caps = CAPS) -> PlacedOrder:
    """Cash on delivery, while the buyer tells who receives it: the order awaits their ✅ with the
    stock held ``RESERVE`` and its delivery to ``address`` priced (NoDelivery if there is none)."""
    return await placed_once(store, buyer_id, token,
                             _place(store, clock, buyer_id, listing_id, quantity_milli, token, caps, address))


async def _place(store: Store, clock: Clock, buyer_id: int, listing_id: int, quantity_milli: int, token: str,
                 caps: Caps, address: str | None) -> PlacedOrder:
    """An order held ``RESERVE`` for its buyer: for its invoice (``address`` None), or, paying on
    delivery, until they confirm who receives it at ``address``."""
    now = clock.now()
    async with store.write() as session:
        if (placed := await begin_order(session, buyer_id, token, caps)) is not None:
            return placed
        listing = await take_listing(session, buyer_id, listing_id, quantity_milli, now)
        order = Order(number=await unused_order_number(session), villager_id=buyer_id, center_id=listing.center_id,
                      seller_center_id=listing.center_id, status=OrderStatus.AWAITING_PAYMENT,
                      total_fen=line_total_fen(listing.price_fen, quantity_milli),
                      payment_method=ONLINE if address is None else CASH_ON_DELIVERY, checkout_token=token,
                      created_at=now, updated_at=now, reserved_until=now + RESERVE)
        order.lines = [listing_line(listing, quantity_milli)]
        order.events = [OrderEvent(status=order.status, at=now, actor_id=buyer_id)]
        session.add(order)
        await session.flush()
        if address is not None:  # cash on delivery: the delivery is priced now
            option = await _option(session, order, address)
            order.ship_to = {"name": "", "phone": "", "address": address, "zone": str(option.zone)}
            order.delivery_fen = option.price_fen
        await close_if_sold_out(session, listing, now)
        return PlacedOrder(await load_order_view(session, order.id), already_placed=False)


async def _option(session: AsyncSession, order: Order, address: str) -> DeliveryOption:
    """The delivery of ``order`` to ``address``: its zone and price; NoDelivery if there is none."""
    center = await session.get(ServiceCenter, order.center_id)
    county = await session.get(County, center.county_id)
    zone = delivery_prices.zone_of(address, county.names, county.name, county.province)
    lines = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    grams = sum(delivery_prices.order_grams(line.unit, line.quantity_milli or 0) for line in lines)
    price = await delivery_prices.quote(session, center.id, zone, grams)
    if price is None:
        raise NoDelivery(zone)
    return DeliveryOption(zone, price)


async def delivery_quote_for(store: Store, payer_id: int, payload: str, address: str) -> DeliveryOption:
    """The shipping query's answer: what delivering the order an invoice's ``payload`` names to
    ``address`` costs, if that order is the payer's and still waits for its payment (NotFound,
    NotPayable, NoDelivery otherwise)."""
    order_id, token = order_id_of(payload)
    async with store.read() as session:
        order = await session.get(Order, order_id)
        _check_payable(order, payer_id, token)
        return await _option(session, order, address)


def _check_payable(order: Order | None, payer_id: int, token: str) -> None:
    """The invoice's order is the payer's (NotFound otherwise) and still waits for its payment
    online (NotPayable otherwise)."""
    if order is None or order.villager_id != payer_id or order.checkout_token != token:
        raise NotFound("order")
    if order.status != OrderStatus.AWAITING_PAYMENT or order.payment_method != ONLINE:
        raise NotPayable(order.status)


async def check_payment(store: Store, clock: Clock, payer_id: int, payload: str, total_fen: int,
                        address: str) -> OrderView:
    """The pre-checkout's look before the money moves: the payer's order, still held for its
    invoice, and ``total_fen`` its goods and its delivery to ``address``. The hold is stretched by
    ``PAYING``, so it cannot lapse while the payment goes through. NotFound, NotPayable, NoDelivery
    or WrongTotal otherwise."""
    order_id, token = order_id_of(payload)
    now = clock.now()
    async with store.write() as session:
        order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        _check_payable(order, payer_id, token)
        option = await _option(session, order, address)
        if total_fen != order.total_fen + option.price_fen:
            raise WrongTotal(f"{total_fen} fen asked, {order.total_fen} + {option.price_fen} quoted")
        order.reserved_until = max(order.reserved_until or now, now + PAYING)
        return await load_order_view(session, order.id)


async def record_payment(store: Store, clock: Clock, payer_id: int, payload: str, total_fen: int, currency: str,
                         telegram_charge_id: str, provider_charge_id: str, ship_to: dict) -> PaymentRecorded:
    """Book a successful payment once (by ``telegram_charge_id``): the order is pending, on its way
    to the seller's center's desk, with ``ship_to`` ({"name", "phone", "address"}) and its
    delivery. A payment for an order that lapsed meanwhile takes the stock again if it can; if it
    cannot, it is refunded in full at once (``refunds``)."""
    order_id, _ = order_id_of(payload)
    try:
        return await _record(store, clock, payer_id, order_id, total_fen, currency, telegram_charge_id,
                             provider_charge_id, ship_to)
    except IntegrityError:  # the same charge, recorded by a concurrent update
        async with store.read() as session:
            return PaymentRecorded(await load_order_view(session, order_id), first=False)


async def _record(store: Store, clock: Clock, payer_id: int, order_id: int, total_fen: int, currency: str,
                  telegram_charge_id: str, provider_charge_id: str, ship_to: dict) -> PaymentRecorded:
    now = clock.now()
    async with store.write() as session:
        if await session.scalar(select(Payment.id).where(Payment.telegram_charge_id == telegram_charge_id)):
            return PaymentRecorded(await load_order_view(session, order_id), first=False)
        order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order is None:
            raise NotFound("order")
        session.add(Payment(order_id=order.id, kind="payment", amount_fen=total_fen, currency=currency,
                            telegram_charge_id=telegram_charge_id, provider_charge_id=provider_charge_id, at=now,
                            actor_telegram_id=None, note=""))
        try:
            zone = (await _option(session, order, ship_to["address"])).zone
        except NoDelivery as exc:  # the table changed since the pre-checkout: the money is taken all the same
            zone = exc.zone
        order.ship_to = {**ship_to, "zone": str(zone)}
        order.delivery_fen = total_fen - order.total_fen
        order.reserved_until = None
        if order.status == OrderStatus.CANCELLED and await _take_again(session, order, now) is False:
            await refund_in_full(session, order, now, note=LAPSED)
        elif order.status == OrderStatus.AWAITING_PAYMENT:
            await move_order(session, order, OrderStatus.PENDING, at=now, actor_id=order.villager_id, note="paid")
            await _to_the_desk(session, order, now)
        await session.flush()
        return PaymentRecorded(await load_order_view(session, order.id), first=True)


async def _take_again(session: AsyncSession, order: Order, now: datetime) -> bool:
    """A lapsed order was paid after all: take its produce again if it is still there."""
    lines = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    try:
        for line in lines:
            listing = await take_listing(session, order.villager_id, line.listing_id, line.quantity_milli, now)
            await close_if_sold_out(session, listing, now)
    except DomainError:
        return False
    order.status = OrderStatus.PENDING
    order.updated_at = now
    session.add(OrderEvent(order_id=order.id, status=OrderStatus.PENDING, at=now, actor_id=order.villager_id,
                           note="paid"))
    await _to_the_desk(session, order, now)
    return True


async def _to_the_desk(session: AsyncSession, order: Order, now: datetime) -> None:
    """A delivery order is pending (paid, or confirmed to pay on delivery): its card goes to the
    seller's center's desk, and each seller hears what sold."""
    await outbox.enqueue(session, Kind.CARD, due_at=now, order_id=order.id)
    for line in (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all():
        if line.listing_id is not None:
            await tell_seller(session, await session.get(Listing, line.listing_id), now, "sold", order_id=order.id)


async def lapse_reservations(store: Store, clock: Clock) -> list[int]:
    """Invoices not paid in time: their orders are cancelled and their stock given back."""
    now = clock.now()
    async with store.write() as session:
        due = (await session.scalars(
            select(Order).where(Order.status == OrderStatus.AWAITING_PAYMENT, Order.reserved_until <= now)
            .order_by(Order.id).with_for_update(skip_locked=True))).all()
        for order in due:
            await move_order(session, order, OrderStatus.CANCELLED, at=now, actor_id=None, note=LAPSED)
            order.reserved_until = None
            await outbox.enqueue(session, Kind.STATUS, due_at=now, order_id=order.id, villager_id=order.villager_id,
                                 payload={"status": str(OrderStatus.CANCELLED), "reason": "lapsed"})
        return [order.id for order in due]


async def _held(session: AsyncSession, buyer_id: int, order_id: int) -> Order:
    order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None or order.villager_id != buyer_id:
        raise NotFound("order")
    return order


async def set_receiver(store: Store, clock: Clock, buyer_id: int, order_id: int, name: str, phone: str) -> OrderView:
    """Who receives a held cash-on-delivery order (``hold_delivery``); NotPayable once it is not held."""
    async with store.write() as session:
        order = await _held(session, buyer_id, order_id)
        if order.status != OrderStatus.AWAITING_PAYMENT or order.payment_method != CASH_ON_DELIVERY:
            raise NotPayable(order.status)
        order.ship_to = {**order.ship_to, "name": name[:100], "phone": phone[:32]}
        order.updated_at = clock.now()
        return await load_order_view(session, order.id)


async def confirm_delivery(store: Store, clock: Clock, buyer_id: int, order_id: int) -> PlacedOrder:
    """The buyer's ✅ on a held cash-on-delivery order: pending, on its way to the seller's center's
    desk (``already_placed``: it was confirmed before). NotPayable if it lapsed or was dropped."""
    now = clock.now()
    async with store.write() as session:
        order = await _held(session, buyer_id, order_id)
        if order.payment_method != CASH_ON_DELIVERY or not (order.ship_to or {}).get("phone"):
            raise NotPayable(order.status)
        if order.status != OrderStatus.AWAITING_PAYMENT:
            if order.status == OrderStatus.CANCELLED:
                raise NotPayable(order.status)
            return PlacedOrder(await load_order_view(session, order.id), already_placed=True)
        await move_order(session, order, OrderStatus.PENDING, at=now, actor_id=buyer_id, note="confirmed")
        order.reserved_until = None
        await _to_the_desk(session, order, now)
        await session.flush()
        return PlacedOrder(await load_order_view(session, order.id), already_placed=False)


async def drop_reservation(store: Store, clock: Clock, buyer_id: int, order_id: int) -> OrderView:
    """The buyer gave up a held order (an invoice, a delivery not confirmed): cancelled, its stock
    back at once. An order cancelled already stays so; NotPayable if it went on (paid, confirmed)."""
    now = clock.now()
    async with store.write() as session:
        order = await _held(session, buyer_id, order_id)
        if order.status == OrderStatus.AWAITING_PAYMENT:
            await move_order(session, order, OrderStatus.CANCELLED, at=now, actor_id=buyer_id, note="dropped")
            order.reserved_until = None
        elif order.status != OrderStatus.CANCELLED:
            raise NotPayable(order.status)
        await session.flush()
        return await load_order_view(session, order.id)


async def held_listing(store: Store, order_id: int) -> tuple[int, int]:
    """The listing a delivery order takes from, and how much (in thousandths)."""
    async with store.read() as session:
        line = await session.scalar(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id))
        if line is None or line.listing_id is None:
            raise NotFound("order")
        return line.listing_id, line.quantity_milli or 0
