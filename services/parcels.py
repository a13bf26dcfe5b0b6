"""The partner's order desk and the parcel's way to the village.

pending --confirm--> confirmed --ship--> in_transit --county--> at_county --village--> ready_for_pickup
--pickup--> picked_up (see shared/DESIGN.md). Every change checks who acts, moves only forward,
and adds its notices to the outbox in the same transaction: a card refresh for the desk, a
status message for the villager, and on arrival the pickup reminders.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services import outbox
from services.clock import Clock
from services.errors import AlreadyDone, DomainError, NotAllowed, NotFound, NotYours
from services.orders import OrderView, load_order_view, move_order
from services.outbox import Kind
from services.partners import Actor, center_by_code, check_may_act, check_may_see
from services.produce import Status as ListingStatus
from services.produce import first_name_only, tell_seller
from services.states import WAY, OrderStatus
from store.db import Store
from store.models import (
    Listing,
    ListingCard,
    Order,
    OrderCard,
    OrderEvent,
    OrderLine,
    OutboxMessage,
    Partner,
    ServiceCenter,
    Villager,
)

S = OrderStatus
REMINDER_DELAYS = (timedelta(hours=24), timedelta(hours=72))
REJECT_REASONS = ("out_of_stock", "cannot_deliver", "unreachable")
MAX_REASON = 300


class WrongCode(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No reminders between ``start`` and ``end`` in the center's local time (may wrap midnight)."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"21:00-08:00"``; raises ValueError."""
        first, _, second = text.strip().partition("-")
        return cls(time.fromisoformat(first.strip()), time.fromisoformat(second.strip()))

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, when: datetime, timezone: str) -> datetime:
        """``when`` itself, or the end of the quiet hours it falls in."""
        local = when.astimezone(ZoneInfo(timezone))
        if not self.contains(local.time()):
            return when
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(when.tzinfo)


@dataclass(frozen=True, slots=True)
class Moved:
    order_id: int
    number: str
    status: str
    center_id: int
    total_fen: int


async def _order(session: AsyncSession, order_id: int | None = None, number: str | None = None) -> Order:
    query = select(Order).with_for_update()
    query = query.where(Order.id == order_id) if order_id is not None else query.where(
        Order.number == (number or "").strip().upper())
    order = await session.scalar(query)
    if order is None:
        raise NotFound("order")
    return order


async def _actor_id(session: AsyncSession, actor: Actor) -> int | None:
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


async def _step(session: AsyncSession, order: Order, to: OrderStatus, at: datetime, actor_id: int | None,
                note: str = "", **payload) -> None:
    await move_order(session, order, to, at=at, actor_id=actor_id, note=note)
    await announce(session, order, at, **payload)


async def decide(store: Store, clock: Clock, actor: Actor, order_id: int, *, confirm: bool,
                 reason: str = "") -> Moved:
    """A partner (or admin) confirms or rejects a pending order. Rejecting returns the stock."""
    to = S.CONFIRMED if confirm else S.REJECTED
    async with store.write() as session:
        order = await _order(session, order_id)
        await check_may_act(session, deciding_center(order), actor)
        if order.status == to:
            raise AlreadyDone(order.status)
        if order.status != S.PENDING:
            raise NotAllowed(order.status)
        await _step(session, order, to, clock.now(), await _actor_id(session, actor),
                    note=reason.strip()[:MAX_REASON], reason=reason.strip()[:MAX_REASON])
        return Moved(order.id, order.number, order.status, order.center_id, order.total_fen)


def deciding_center(order: Order) -> int:
    """Whose partners confirm or reject an order: the seller's center for produce from the
    market, else the center it is picked up at."""
    return order.seller_center_id or order.center_id


async def pending(store: Store, center_id: int) -> list[tuple[int, str, int, datetime]]:
    """Orders a center's partners have to decide on: (id, number, total, placed), oldest first."""
    async with store.read() as session:
        rows = await session.execute(
            select(Order.id, Order.number, Order.total_fen, Order.created_at)
            .where(func.coalesce(Order.seller_center_id, Order.center_id) == center_id, Order.status == S.PENDING)
            .order_by(Order.created_at, Order.id)
        )
        return [tuple(r) for r in rows]


async def _advance(session: AsyncSession, order: Order, to: OrderStatus, at: datetime,
                   actor_id: int | None, now: datetime | None = None) -> bool:
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
            await _arrive(session, order, at, actor_id, remind_from=now or at)
        else:
            await _step(session, order, step, at, actor_id)
    return True


async def _arrive(session: AsyncSession, order: Order, at: datetime, actor_id: int | None,
                  remind_from: datetime) -> None:
    """The parcel is at the village: a pickup code, the villager told at once, reminders queued
    24 and 72 hours after they were told (``remind_from``)."""
    taken = set((await session.scalars(
        select(Order.pickup_code).where(Order.center_id == order.center_id, Order.status == S.READY_FOR_PICKUP)
    )).all())
    code = f"{secrets.randbelow(1_000_000):06d}"
    while code in taken:
        code = f"{secrets.randbelow(1_000_000):06d}"
    order.pickup_code = code
    await _step(session, order, S.READY_FOR_PICKUP, at, actor_id)
    recipients = await notice_recipients(session, order)
    for number, delay in enumerate(REMINDER_DELAYS, start=1):
        for villager_id in recipients:
            await outbox.enqueue(session, Kind.REMINDER, due_at=remind_from + delay, order_id=order.id,
                                 villager_id=villager_id, payload={"number": number, "last": number == len(REMINDER_DELAYS)},
                                 dedupe_key=f"reminder:{order.id}:{number}:{villager_id}")
    # After the last reminder, the desk hears which parcels are still waiting.
    await outbox.enqueue(session, Kind.UNCOLLECTED, due_at=remind_from + REMINDER_DELAYS[-1], order_id=order.id,
                         center_id=order.center_id, dedupe_key=f"uncollected:{order.id}")


async def arrive(store: Store, clock: Clock, actor: Actor, order_id: int | None = None,
                 number: str | None = None) -> Moved:
    """The partner has the parcel at the village (by the card's button or ``/arrived RT-...``)."""
    async with store.write() as session:
        order = await _order(session, order_id, number)
        await check_may_act(session, order.center_id, actor)
        if order.status not in (S.IN_TRANSIT, S.AT_COUNTY):
            if order.status in (S.READY_FOR_PICKUP, S.PICKED_UP):
                raise AlreadyDone(order.status)
            raise NotAllowed(order.status)
        await _advance(session, order, S.READY_FOR_PICKUP, clock.now(), await _actor_id(session, actor))
        return Moved(order.id, order.number, order.status, order.center_id, order.total_fen)


async def move_center_batch(store: Store, clock: Clock, actor: Actor, center_code: str,
                            source: OrderStatus, to: OrderStatus) -> list[str]:
    """County staff move all of a center's orders in ``source`` on to ``to`` (e.g. all confirmed
    orders are shipped). Returns the order numbers moved."""
    if not actor.is_admin:
        raise NotAllowed(source)
    now = clock.now()
    async with store.write() as session:
        center = await center_by_code(session, center_code)
        orders = (await session.scalars(
            select(Order).where(Order.center_id == center.id, Order.status == source)
            .order_by(Order.id).with_for_update()
        )).all()
        actor_id = await _actor_id(session, actor)
        for order in orders:
            await _advance(session, order, to, now, actor_id)
        return [o.number for o in orders]


CARRIER_EVENTS = {"in_transit": S.IN_TRANSIT, "at_county": S.AT_COUNTY, "at_village": S.READY_FOR_PICKUP}


@dataclass(frozen=True, slots=True)
class CarrierResult:
    moved: bool
    status: str


async def carrier_event(store: Store, clock: Clock, number: str, event: str, at: datetime) -> CarrierResult:
    """A carrier's event for an order. A duplicate, late or out-of-order event that would not move
    it forward changes nothing. ``at`` goes into the timeline, kept between the order's last step
    and now, so a wrong carrier clock cannot reorder the timeline or make reminders due at once."""
    to = CARRIER_EVENTS[event]
    now = clock.now()
    async with store.write() as session:
        order = await _order(session, number=number)
        if order.status == S.PENDING:
            raise NotAllowed(order.status)
        if order.status not in WAY:  # rejected or cancelled: the carrier is late, nothing to do
            return CarrierResult(False, order.status)
        moved = await _advance(session, order, to, min(max(at, order.updated_at), now), None, now=now)
        return CarrierResult(moved, order.status)


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
        await _step(session, order, S.PICKED_UP, now, await _actor_id(session, actor))
        await outbox.cancel(session, order_id=order.id, kinds={Kind.REMINDER, Kind.UNCOLLECTED}, at=now)
        for listing in (await session.scalars(
                select(Listing).join(OrderLine, OrderLine.listing_id == Listing.id)
                .where(OrderLine.order_id == order.id))).all():
            await tell_seller(session, listing, now, "earned", order_id=order.id)
        return Moved(order.id, order.number, order.status, order.center_id, order.total_fen)


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


@dataclass(frozen=True, slots=True)
class Destination:
    """A chat where a center's cards go, and the language it reads."""

    chat_id: int
    locale: str | None
    center_id: int


async def desk_destinations(session: AsyncSession, center_id: int) -> list[Destination]:
    """The center's group, or else its partners' private chats (none: it has neither yet)."""
    center = await session.get(ServiceCenter, center_id)
    if center is None:
        return []
    if center.group_chat_id is not None:
        return [Destination(center.group_chat_id, center.desk_locale, center.id)]
    rows = await session.execute(
        select(Partner.telegram_id, Villager.locale)
        .outerjoin(Villager, Villager.telegram_id == Partner.telegram_id)
        .where(Partner.center_id == center.id).order_by(Partner.id))
    return [Destination(chat_id, locale, center.id) for chat_id, locale in rows]


async def center_destinations(store: Store, center_id: int) -> list[Destination]:
    async with store.read() as session:
        return await desk_destinations(session, center_id)


async def card_destinations(store: Store, order_id: int) -> list[Destination]:
    """Where an order's card goes: the desk of its pickup center and, for produce, first the
    desk of the seller's center, which decides on it."""
    async with store.read() as session:
        order = await session.get(Order, order_id)
        if order is None:
            return []
        found: list[Destination] = []
        for center_id in dict.fromkeys([deciding_center(order), order.center_id]):
            found += [d for d in await desk_destinations(session, center_id)
                      if d.chat_id not in {f.chat_id for f in found}]
        return found


# Cards whose buttons still wait for a partner: a decision, the parcel's arrival, its pickup.
WAITING_CARDS = (S.PENDING, S.IN_TRANSIT, S.AT_COUNTY, S.READY_FOR_PICKUP)


@dataclass(frozen=True, slots=True)
class GroupMoved:
    desks: int  # centers whose desk is now the new chat (moved now or by an earlier signal)
    cards: int  # waiting cards queued to be posted again there


async def group_migrated(store: Store, clock: Clock, old_chat_id: int, new_chat_id: int) -> GroupMoved:
    """A desk's group became a supergroup, which has a new chat id. Telegram says so twice, in
    either order: a service message in each chat, and a 400 to a send to the old id; so this is
    idempotent. The desk moves to the new id, and the cards still waiting for a tap are posted
    again there: their messages stay in the old chat, whose message ids mean nothing in the new one."""
    now = clock.now()
    async with store.write() as session:
        center = await session.scalar(
            select(ServiceCenter).where(ServiceCenter.group_chat_id == old_chat_id).with_for_update())
        if center is not None:
            taken = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.group_chat_id == new_chat_id))
            # If a partner bound the supergroup first (to another center), that binding stands.
            center.group_chat_id = new_chat_id if taken is None else None
        orders = (await session.scalars(
            select(OrderCard.order_id).join(Order, Order.id == OrderCard.order_id)
            .where(OrderCard.chat_id == old_chat_id, Order.status.in_(WAITING_CARDS)).order_by(OrderCard.order_id)
        )).all()
        listings = (await session.execute(
            select(Listing.id, Listing.center_id).join(ListingCard, ListingCard.listing_id == Listing.id)
            .where(ListingCard.chat_id == old_chat_id, Listing.status == ListingStatus.REVIEW).order_by(Listing.id)
        )).all()
        await session.execute(delete(OrderCard).where(OrderCard.chat_id == old_chat_id))
        await session.execute(delete(ListingCard).where(ListingCard.chat_id == old_chat_id))
        for order_id in orders:
            await outbox.enqueue(session, Kind.CARD, due_at=now, order_id=order_id,
                                 dedupe_key=f"moved:{new_chat_id}:order:{order_id}")
        for listing_id, center_id in listings:
            await outbox.enqueue(session, Kind.LISTING_CARD, due_at=now, center_id=center_id,
                                 payload={"listing_id": listing_id},
                                 dedupe_key=f"moved:{new_chat_id}:listing:{listing_id}")
        desks = await session.scalar(
            select(func.count()).select_from(ServiceCenter).where(ServiceCenter.group_chat_id == new_chat_id))
        return GroupMoved(desks or 0, len(orders) + len(listings))


async def check_actor(store: Store, center_id: int, actor: Actor) -> None:
    """Raise NotPartner unless ``actor`` may act for the center (before asking them to type)."""
    async with store.read() as session:
        await check_may_act(session, center_id, actor)


@dataclass(frozen=True, slots=True)
class CardView:
    """What an order card on the desk shows, and where it is posted."""

    order: OrderView
    villager_name: str
    assisted_by: str | None
    center_id: int
    group_chat_id: int | None
    desk_locale: str | None
    last_actor: str | None  # who made the latest step, if a person did
    cards: dict[int, int]  # chat id -> message id of the card already posted there
    seller_name: str | None = None  # produce from the market: the seller and their village
    seller_center_names: dict | None = None


async def card_view(store: Store, order_id: int) -> CardView | None:
    async with store.read() as session:
        order = await session.get(Order, order_id)
        return None if order is None else await _card_view(session, order)


async def card_for(store: Store, order_id: int, actor: Actor, chat_id: int) -> CardView:
    """The order's card, for ``actor`` in ``chat_id``: NotYours unless they may see it there
    (``partners.check_may_see``: the desk of its deciding or its pickup center, or the private
    chat of a partner of either, or of an admin). An order that does not exist is NotYours too."""
    async with store.read() as session:
        order = await session.get(Order, order_id)
        if order is None:
            raise NotYours()
        await check_may_see(session, {deciding_center(order), order.center_id}, actor, chat_id)
        return await _card_view(session, order)


async def _card_view(session: AsyncSession, order: Order) -> CardView:
    order_id = order.id
    view = await load_order_view(session, order_id)
    villager = await session.get(Villager, order.villager_id)
    helper = await session.get(Villager, order.assisted_by_id) if order.assisted_by_id else None
    center = await session.get(ServiceCenter, order.center_id)
    last = await session.scalar(
        select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id.desc()).limit(1))
    actor = await session.get(Villager, last.actor_id) if last and last.actor_id else None
    cards = dict((await session.execute(
        select(OrderCard.chat_id, OrderCard.message_id).where(OrderCard.order_id == order_id))).all())
    seller_name = seller_center = None
    if order.seller_center_id is not None:
        seller_center = (await session.get(ServiceCenter, order.seller_center_id)).names
        seller_name = first_name_only(await session.scalar(
            select(Villager.first_name).join(Listing, Listing.seller_id == Villager.id)
            .join(OrderLine, OrderLine.listing_id == Listing.id).where(OrderLine.order_id == order_id).limit(1)))
    return CardView(view, villager.first_name, helper.first_name if helper else None, center.id,
                    center.group_chat_id, center.desk_locale, actor.first_name if actor else None, cards,
                    seller_name, seller_center)


async def record_card(store: Store, order_id: int, chat_id: int, message_id: int) -> None:
    """Remember where a card is (a card posted again replaces the one that was deleted)."""
    async with store.write() as session:
        card = await session.scalar(
            select(OrderCard).where(OrderCard.order_id == order_id, OrderCard.chat_id == chat_id))
        if card is None:
            session.add(OrderCard(order_id=order_id, chat_id=chat_id, message_id=message_id))
        else:
            card.message_id = message_id


@dataclass(frozen=True, slots=True)
class Recipient:
    telegram_id: int
    locale: str | None
    first_name: str
    reachable: bool


async def recipient(store: Store, villager_id: int) -> Recipient | None:
    async with store.read() as session:
        villager = await session.get(Villager, villager_id)
        if villager is None or villager.telegram_id is None:
            return None
        return Recipient(villager.telegram_id, villager.locale, villager.first_name, not villager.unreachable)


DIGEST_WINDOW = timedelta(hours=1)


def opening_time(opening_hours: str) -> time | None:
    """``"08:00-20:00"`` -> 08:00."""
    try:
        return time.fromisoformat(opening_hours.split("-", 1)[0].strip())
    except ValueError:
        return None


async def plan_digests(store: Store, now: datetime) -> int:
    """Queue each desk's daily digest once it opens (within an hour of its opening time; a
    digest missed by a bot that was down all that hour is skipped, not sent in the afternoon)."""
    async with store.read() as session:
        desks = (await session.execute(
            select(ServiceCenter.id, ServiceCenter.opening_hours, ServiceCenter.timezone)
            .where(ServiceCenter.group_chat_id.is_not(None), ServiceCenter.is_active))).all()
    due = []
    for center_id, hours, timezone in desks:
        opens = opening_time(hours)
        if opens is None:
            continue
        local = now.astimezone(ZoneInfo(timezone))
        opening = local.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)
        if opening <= local < opening + DIGEST_WINDOW:
            due.append((center_id, local.date().isoformat()))
    if due:
        async with store.write() as session:
            for center_id, day in due:
                await outbox.enqueue(session, Kind.DIGEST, due_at=now, center_id=center_id,
                                     dedupe_key=f"digest:{center_id}:{day}")
    return len(due)


async def take_uncollected(store: Store, center_id: int, now: datetime, row_id: int) -> bool:
    """One list of uncollected parcels goes to the desk at a time, however many rows fell due
    together, even when several pumps claimed them: the first row sent closes the others due, and
    a row closed that way is not sent. Returns whether ``row_id`` is the one to send.

    The rows are locked in id order, so two pumps taking turns here wait for each other rather
    than deadlock; the second then sees the first's rows closed."""
    async with store.write() as session:
        due = (await session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.center_id == center_id, OutboxMessage.kind == str(Kind.UNCOLLECTED),
                   OutboxMessage.is_open, OutboxMessage.due_at <= now)
            .order_by(OutboxMessage.id).with_for_update()
        )).all()
        if row_id not in due:
            return False
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([other for other in due if other != row_id]))
            .values(is_open=False, sent_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return True


async def centers_with(store: Store, status: OrderStatus) -> list[tuple[str, dict, int]]:
    """Centers having orders in ``status``: (code, names, how many), for the county staff's batch buttons."""
    async with store.read() as session:
        counts = (select(Order.center_id, func.count(Order.id).label("n")).where(Order.status == status)
                  .group_by(Order.center_id).subquery())
        rows = await session.execute(
            select(ServiceCenter.code, ServiceCenter.names, counts.c.n)
            .join(counts, counts.c.center_id == ServiceCenter.id).order_by(ServiceCenter.code))
        return [tuple(r) for r in rows]
