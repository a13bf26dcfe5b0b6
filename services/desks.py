"""The centers' desks: the partners' decisions on orders, what waits for them, where their cards
go (the center's group, or its partners' private chats), what an order card shows, a group that
became a supergroup, and the daily digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import outbox, parcels, ratings, service_requests
from services.clock import Clock
from services.errors import AlreadyDone, NotAllowed, NotYours
from services.listings import Status as ListingStatus
from services.listings import first_name_only
from services.orders import OrderView, load_order_view
from services.outbox import Kind
from services.partners import Actor, check_may_act, check_may_see
from services.refunds import refund_in_full
from services.states import OrderStatus
from store.db import Store, upsert
from store.models import Listing, ListingCard, Order, OrderCard, OrderEvent, OrderLine, Partner, ServiceCenter, Villager

S = OrderStatus
# Why a pending order is rejected: a pickup order's reasons, and a town buyer's delivery order's
# (the carrier does not go to that address, the receiver's phone does not answer); each is a
# button's code, and every code ever offered stays valid, for the buttons already on the desks.
PICKUP_REASONS = ("out_of_stock", "cannot_deliver", "unreachable")
DELIVERY_REASONS = ("out_of_stock", "bad_address", "no_receiver")
REJECT_REASONS = tuple(dict.fromkeys(PICKUP_REASONS + DELIVERY_REASONS))
MAX_REASON = 300


async def decide(store: Store, clock: Clock, actor: Actor, order_id: int, *, confirm: bool,
                 reason: str = "") -> parcels.Moved:
    """A partner (or admin) confirms or rejects a pending order. Rejecting returns the stock, and
    refunds what was paid online for it."""
    to = S.CONFIRMED if confirm else S.REJECTED
    async with store.write() as session:
        order = await parcels.lock_order(session, order_id)
        await check_may_act(session, deciding_center(order), actor)
        if order.status == to:
            raise AlreadyDone(order.status)
        if order.status != S.PENDING:
            raise NotAllowed(order.status)
        now = clock.now()
        await parcels.move_and_announce(session, order, to, now, await parcels.acting_villager(session, actor),
                                        note=reason.strip()[:MAX_REASON], reason=reason.strip()[:MAX_REASON])
        if to == S.REJECTED:  # a delivery order paid online: the buyer is paid back in full, and told
            await refund_in_full(session, order, now, note="rejected", actor_telegram_id=actor.telegram_id)
        return parcels.Moved(order.id, order.number, order.status, order.center_id, order.total_fen)


def deciding_center(order: Order) -> int:
    """Whose partners confirm or reject an order: the seller's center for produce from the
    market, else the center it is picked up at."""
    return order.seller_center_id or order.center_id


async def pending(store: Store, center_id: int) -> list[tuple[int, str, int, datetime]]:
    """Orders a center's partners have to decide on: (id, number, total, placed), oldest first;
    a delivery order's total is its goods and its delivery, as its card says."""
    async with store.read() as session:
        rows = await session.execute(
            select(Order.id, Order.number, Order.total_fen + Order.delivery_fen, Order.created_at)
            .where(func.coalesce(Order.seller_center_id, Order.center_id) == center_id, Order.status == S.PENDING)
            .order_by(Order.created_at, Order.id)
        )
        return [tuple(r) for r in rows]


async def to_ship(store: Store, center_id: int) -> list[tuple[int, str, int, datetime]]:
    """Delivery orders the center confirmed and has still to hand to the carrier (🚚 Shipped, with
    its tracking number): (id, number, goods and delivery, placed), oldest first."""
    async with store.read() as session:
        rows = await session.execute(
            select(Order.id, Order.number, Order.total_fen + Order.delivery_fen, Order.created_at)
            .where(Order.seller_center_id == center_id, Order.status == S.CONFIRMED, Order.ship_to.is_not(None))
            .order_by(Order.created_at, Order.id)
        )
        return [tuple(r) for r in rows]


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
        to_ship = and_(Order.status == S.CONFIRMED, Order.ship_to.is_not(None))  # a delivery order's 🚚 Shipped
        orders = (await session.scalars(
            select(OrderCard.order_id).join(Order, Order.id == OrderCard.order_id)
            .where(OrderCard.chat_id == old_chat_id, or_(Order.status.in_(WAITING_CARDS), to_ship))
            .order_by(OrderCard.order_id)
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
        services = await service_requests.group_migrated(session, old_chat_id, new_chat_id, now)
        if center is not None:  # buyers' reviews still to be hidden or kept
            services += await ratings.group_migrated(session, center.id, old_chat_id, new_chat_id, now)
        desks = await session.scalar(
            select(func.count()).select_from(ServiceCenter).where(ServiceCenter.group_chat_id == new_chat_id))
        return GroupMoved(desks or 0, len(orders) + len(listings) + services)


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
        return None if order is None or order.status == S.AWAITING_PAYMENT else await _card_view(session, order)


async def card_for(store: Store, order_id: int, actor: Actor, chat_id: int) -> CardView:
    """The order's card, for ``actor`` in ``chat_id``: NotYours unless they may see it there
    (``partners.check_may_see``: the desk of its deciding or its pickup center, or the private
    chat of a partner of either, or of an admin). An order that does not exist, or waits for its
    payment, is NotYours too."""
    async with store.read() as session:
        order = await session.get(Order, order_id)
        if order is None or order.status == S.AWAITING_PAYMENT:  # an invoice still open: not on any desk
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
        await session.execute(upsert(session, OrderCard, {"order_id": order_id, "chat_id": chat_id,
                                                          "message_id": message_id}, keys=("order_id", "chat_id")))


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
