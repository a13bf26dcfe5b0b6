"""The parcel's way to the village: confirmed --ship--> in_transit --county--> at_county
--village--> ready_for_pickup --pickup--> picked_up (see shared/DESIGN.md and ``states``).

Every change checks who acts, moves only forward, and adds its notices to the outbox in the same
transaction: a card refresh for the desk, a status message for the villager, and on arrival the
pickup reminders (``reminders``). The desk's decisions use the same steps (``desks.decide``).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import cashbook, counties, outbox, ratings, reminders
from services.cashbook import Entry
from services.clock import Clock
from services.errors import AlreadyDone, DomainError, NotAllowed, NotFound
from services.listings import tell_seller
from services.orders import move_order
from services.outbox import Kind
from services.partners import Actor, center_by_code, check_may_act
from services.states import WAY, OrderStatus
from store.db import Store
from store.models import Listing, Order, OrderEvent, OrderLine, ServiceCenter, Villager

S = OrderStatus


class WrongCode(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class Moved:
    order_id: int
    number: str
    status: str
    center_id: int
    total_fen: int


async def lock_order(session: AsyncSession, order_id: int | None = None, number: str | None = None) -> Order:
    """The order by id or by number, locked for this transaction; NotFound if there is none."""
    query = select(Order).with_for_update()
    query = query.where(Order.id == order_id) if order_id is not None else query.where(
        Order.number == (number or "").strip().upper())
    order = await session.scalar(query)
    if order is None:
        raise NotFound("order")
    return order


async def acting_villager(session: AsyncSession, actor: Actor) -> int | None:
    """The villager row of the person acting, recorded in the order's timeline (None if they have none)."""
    return await session.scalar(select(Villager.id).where(Villager.telegram_id == actor.telegram_id))


async def notice_recipients(session: AsyncSession, order: Order) -> list[int]:
    """Who hears of an order's steps: its villager, if on Telegram, and for an assisted order,
    anyone registered who shared the same phone number."""
    villager = await session.get(Villager, order.villager_id)
    ids = [villager.id] if villager.telegram_id is not None else []
    if villager.phone:
        ids += (await session.scalars(
            select(Villager.id).where(Villager.phone == villager.phone, Villager.telegram_id.is_not(None),
                                      Villager.id != villager.id)
        )).all()
    return ids


async def announce(session: AsyncSession, order: Order, at: datetime, **payload) -> None:
    """Queue the card refresh and the villagers' notices for the order's new status."""
    await outbox.enqueue(session, Kind.CARD, due_at=at, order_id=order.id)
    for villager_id in await notice_recipients(session, order):
        await outbox.enqueue(session, Kind.STATUS, due_at=at, order_id=order.id, villager_id=villager_id,
                             payload={"status": str(order.status), **payload},
                             dedupe_key=f"status:{order.id}:{order.status}:{villager_id}")


async def move_and_announce(session: AsyncSession, order: Order, to: OrderStatus, at: datetime,
                            actor_id: int | None, note: str = "", **payload) -> None:
    """One step of the order (``orders.move_order``), and its notices queued (``announce``)."""
    await move_order(session, order, to, at=at, actor_id=actor_id, note=note)
    await announce(session, order, at, **payload)


async def _advance(session: AsyncSession, order: Order, to: OrderStatus, at: datetime,
                   actor_id: int | None, now: datetime | None = None,
                   return_after: timedelta = reminders.RETURN_AFTER) -> bool:
    """Move forward along the way to ``to``, through any steps not yet recorded (a carrier's
    events can come out of order). Returns False, changing nothing, if it is already there or past.
    ``at`` is when it happened; ``now`` (default ``at``) is when the villager hears of it."""
    if order.status not in WAY:
        raise NotAllowed(order.status)
    here, there = WAY.index(S(order.status)), WAY.index(to)
    if here >= there:
        return False
    for step in WAY[here + 1:there + 1]:
        if step == S.READY_FOR_PICKUP:
            await _arrive(session, order, at, actor_id, remind_from=now or at, return_after=return_after)
        else:
            await move_and_announce(session, order, step, at, actor_id)
    return True


async def _arrive(session: AsyncSession, order: Order, at: datetime, actor_id: int | None,
                  remind_from: datetime, return_after: timedelta = reminders.RETURN_AFTER) -> None:
    """The parcel is at the village: a pickup code, the villager told at once, reminders queued
    24 and 72 hours after they were told (``remind_from``), and the desk asked to send it back
    ``return_after`` (RETURN_AFTER_DAYS) after that if nobody collected it."""
    taken = set((await session.scalars(
        select(Order.pickup_code).where(Order.center_id == order.center_id, Order.status == S.READY_FOR_PICKUP)
    )).all())
    code = f"{secrets.randbelow(1_000_000):06d}"
    while code in taken:
        code = f"{secrets.randbelow(1_000_000):06d}"
    order.pickup_code = code
    await move_and_announce(session, order, S.READY_FOR_PICKUP, at, actor_id)
    await reminders.queue(session, order, await notice_recipients(session, order), remind_from, return_after)


async def arrive(store: Store, clock: Clock, actor: Actor, order_id: int | None = None,
                 number: str | None = None, return_after: timedelta = reminders.RETURN_AFTER) -> Moved:
    """The partner has the parcel at the village (by the card's button or ``/arrived RT-...``)."""
    async with store.write() as session:
        order = await lock_order(session, order_id, number)
        await check_may_act(session, order.center_id, actor)
        if order.ship_to is not None:  # a delivery order goes to the buyer's door, not to the village
            raise NotAllowed(order.status)
        if order.status not in (S.IN_TRANSIT, S.AT_COUNTY):
            if order.status in (S.READY_FOR_PICKUP, S.PICKED_UP):
                raise AlreadyDone(order.status)
            raise NotAllowed(order.status)
        await _advance(session, order, S.READY_FOR_PICKUP, clock.now(), await acting_villager(session, actor),
                       return_after=return_after)
        return Moved(order.id, order.number, order.status, order.center_id, order.total_fen)


async def move_center_batch(store: Store, clock: Clock, actor: Actor, center_code: str,
                            source: OrderStatus, to: OrderStatus,
                            return_after: timedelta = reminders.RETURN_AFTER) -> list[str]:
    """County staff move all of a center's orders in ``source`` on to ``to`` (e.g. all confirmed
    orders are shipped). Returns the order numbers moved. Only admins and the staff of the
    center's county may (``counties.NotYourCounty`` for anyone else, and nothing moves).
    Delivery orders (``ship_to``) are not theirs to move: the seller's center ships them with a
    tracking number (services/shipping.py)."""
    now = clock.now()
    async with store.write() as session:
        center = await center_by_code(session, center_code)
        await counties.check_may_supervise(session, actor, center)
        orders = (await session.scalars(
            select(Order).where(Order.center_id == center.id, Order.status == source, Order.ship_to.is_(None))
            .order_by(Order.id).with_for_update()
        )).all()
        actor_id = await acting_villager(session, actor)
        for order in orders:
            await _advance(session, order, to, now, actor_id, return_after=return_after)
        return [o.number for o in orders]


CARRIER_EVENTS = {"in_transit": S.IN_TRANSIT, "at_county": S.AT_COUNTY, "at_village": S.READY_FOR_PICKUP,
                  "delivered": S.DELIVERED}


@dataclass(frozen=True, slots=True)
class CarrierResult:
    moved: bool
    status: str


async def carrier_orders(session: AsyncSession, number: str) -> list[Order]:
    """The orders a carrier names, locked: by the order number, else by the tracking number it
    gave the parcel (any letter case; a parcel may carry several orders). NotFound for neither."""
    try:
        return [await lock_order(session, number=number)]
    except NotFound:
        key = (number or "").strip().upper()
        found = list((await session.scalars(
            select(Order).where(func.upper(Order.tracking_number) == key).order_by(Order.id).with_for_update()
        )).all()) if key else []
        if not found:
            raise
        return found


async def carrier_event(store: Store, clock: Clock, number: str, event: str, at: datetime,
                        return_after: timedelta = reminders.RETURN_AFTER) -> CarrierResult:
    """A carrier's event for an order (``number``: its order number or its tracking number). A
    duplicate, late or out-of-order event that would not move it forward changes nothing, and so
    does an event of the other way: "delivered" for a parcel to the village, or any but
    "delivered" for a delivery to a town buyer. ``at`` goes into the timeline, kept between the
    order's last step and now, so a wrong carrier clock cannot reorder the timeline or make
    reminders due at once."""
    to = CARRIER_EVENTS[event]
    now = clock.now()
    async with store.write() as session:
        results = [await _carrier_step(session, order, to, at, now, return_after)
                   for order in await carrier_orders(session, number)]
        return CarrierResult(any(r.moved for r in results), results[0].status)


async def _carrier_step(session: AsyncSession, order: Order, to: OrderStatus, at: datetime, now: datetime,
                        return_after: timedelta) -> CarrierResult:
    if order.status in (S.PENDING, S.AWAITING_PAYMENT):
        raise NotAllowed(order.status)
    at = min(max(at, order.updated_at), now)
    if order.ship_to is not None:  # a town buyer's parcel: only its delivery moves it, from in transit
        if to != S.DELIVERED or order.status != S.IN_TRANSIT:
            return CarrierResult(False, order.status)
        await deliver(session, order, at, now)
        return CarrierResult(True, order.status)
    if order.status not in WAY or to not in WAY:  # rejected, cancelled or returned: the carrier is late
        return CarrierResult(False, order.status)
    moved = await _advance(session, order, to, at, None, now=now, return_after=return_after)
    return CarrierResult(moved, order.status)


async def deliver(session: AsyncSession, order: Order, at: datetime, now: datetime) -> None:
    """The carrier handed a delivery order to its buyer: delivered, the buyer told; its goods money
    (paid online or to the carrier, never in the till) in the seller's center's book, the seller's
    with the partner's fee and held by the county (``cashbook.record_away``); the seller told what
    they earned; the buyer asked for stars a day later, as after a pickup."""
    await move_and_announce(session, order, S.DELIVERED, at, None)
    center = await session.get(ServiceCenter, order.center_id)
    sold = await listings_of(session, order.id)
    await cashbook.record_away(session, order.center_id, order.total_fen, at, order_id=order.id,
                               seller_id=sold[0].seller_id if sold else None,
                               fee_fen=cashbook.order_fee(center, order.total_fen), ref=f"delivered:{order.id}")
    for listing in sold if order.total_fen else ():  # a replacement earns nothing new
        await tell_seller(session, listing, now, "delivered", order_id=order.id)
    await ratings.queue_questions(session, order, now)


def pickup_code_of(typed: str) -> str:
    """A pickup code as people type it: "9257 89", "9257-89" or full-width "９２５７８９" (a Chinese
    keyboard's digits) all read 925789."""
    return re.sub(r"[\s\-‐-―−]", "", unicodedata.normalize("NFKC", typed))


async def pickup(store: Store, clock: Clock, actor: Actor, center_id: int, code: str,
                 order_id: int | None = None) -> Moved:
    """The villager shows their code at the counter and pays: picked up, cash recorded,
    reminders withdrawn. With ``order_id`` (Picked up tapped on a card), the code must be that
    order's."""
    now = clock.now()
    code = pickup_code_of(code)
    async with store.write() as session:
        await check_may_act(session, center_id, actor)
        query = select(Order).where(Order.center_id == center_id, Order.status == S.READY_FOR_PICKUP,
                                    Order.pickup_code == code).with_for_update()
        if order_id is not None:
            query = query.where(Order.id == order_id)
        order = await session.scalar(query) if re.fullmatch(r"[0-9]{6}", code) else None
        if order is None:
            raise WrongCode()
        order.cash_collected_fen = order.total_fen
        await take_cash(session, order, now, actor)
        await move_and_announce(session, order, S.PICKED_UP, now, await acting_villager(session, actor))
        await outbox.cancel(session, order_id=order.id, kinds={Kind.REMINDER, Kind.UNCOLLECTED, Kind.RETURN_DUE},
                            at=now)
        for listing in await listings_of(session, order.id):
            await tell_seller(session, listing, now, "earned", order_id=order.id)
        await ratings.queue_questions(session, order, now)  # the buyer's stars, asked a day later
        return Moved(order.id, order.number, order.status, order.center_id, order.total_fen)


async def listings_of(session: AsyncSession, order_id: int) -> list[Listing]:
    """The produce listings an order's lines came from (none for a catalog order)."""
    return list((await session.scalars(
        select(Listing).join(OrderLine, OrderLine.listing_id == Listing.id).where(OrderLine.order_id == order_id))).all())


async def take_cash(session: AsyncSession, order: Order, now: datetime, actor: Actor) -> None:
    """The cash paid at the counter goes into the center's book, with the partner's fee on the
    order; market produce is its seller's money."""
    center = await session.get(ServiceCenter, order.center_id)
    seller_id = None
    if order.seller_center_id is not None:
        seller_id = await session.scalar(select(Listing.seller_id).join(OrderLine, OrderLine.listing_id == Listing.id)
                                         .where(OrderLine.order_id == order.id).limit(1))
    await cashbook.record(session, order.center_id, Entry.COLLECTED, order.total_fen, now,
                          fee_fen=cashbook.order_fee(center, order.total_fen), order_id=order.id,
                          seller_id=seller_id, actor_telegram_id=actor.telegram_id, ref=f"pickup:{order.id}")


async def waiting_for_pickup(store: Store, center_id: int, *, ready_before: datetime | None = None
                             ) -> list[tuple[int, str, datetime]]:
    """Parcels at the village not yet collected: (id, number, arrived), oldest first."""
    async with store.read() as session:
        arrived = (
            select(OrderEvent.order_id, func.max(OrderEvent.at).label("at"))
            .where(OrderEvent.status == S.READY_FOR_PICKUP).group_by(OrderEvent.order_id).subquery()
        )
        query = (select(Order.id, Order.number, arrived.c.at).join(arrived, arrived.c.order_id == Order.id)
                 .where(Order.center_id == center_id, Order.status == S.READY_FOR_PICKUP)
                 .order_by(arrived.c.at, Order.id))
        if ready_before is not None:
            query = query.where(arrived.c.at <= ready_before)
        return [tuple(r) for r in await session.execute(query)]


async def centers_with(store: Store, actor: Actor, status: OrderStatus) -> list[tuple[str, dict, int]]:
    """Centers having orders in ``status``: (code, names, how many), for the county staff's batch
    buttons; for county staff, only the centers of their own counties."""
    async with store.read() as session:
        counts = (select(Order.center_id, func.count(Order.id).label("n"))
                  .where(Order.status == status, Order.ship_to.is_(None)).group_by(Order.center_id).subquery())
        query = (select(ServiceCenter.code, ServiceCenter.names, counts.c.n)
                 .join(counts, counts.c.center_id == ServiceCenter.id).order_by(ServiceCenter.code))
        if not actor.is_admin:
            query = query.where(ServiceCenter.county_id.in_(await counties.staff_counties(session, actor.telegram_id)))
        return [tuple(r) for r in await session.execute(query)]
