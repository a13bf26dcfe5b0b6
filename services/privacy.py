"""Forgetting a person (``/forget``); what is stored about them is ``data_export``'s (``/mydata``).

Forgetting blanks what identifies the person (name, username, phone, chat id) and drops what
only served them (cart, half-filled forms, messages not sent yet, their listings on the market
and those listings' texts and photos, their partner rights, their searches that found nothing).
Their orders stay, pointing to the now anonymous villager row, because the service centers'
accounts need them; the cards already posted that show their name are edited by the outbox.
The next update from the same Telegram user registers a new, empty villager
(``villagers.enter``: the old row no longer has their telegram_id). A villager without Telegram
(``/orderfor``) is erased the same way by an admin or a partner of their center (``/forget_walkin``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services import outbox, ratings, service_requests, states
from services.assist import normalize_phone
from services.broadcast import Delivery
from services.broadcast import Status as BroadcastStatus
from services.clock import Clock
from services.errors import NotFound
from services.listings import Status as ListingStatus
from services.outbox import Kind
from services.partners import Actor, NotPartner, check_may_act
from store.db import Store
from store.models import (
    Broadcast,
    BroadcastDelivery,
    Cart,
    CartLine,
    DeskPrompt,
    Listing,
    ListingCard,
    Order,
    OrderCard,
    OrderEvent,
    OrderLine,
    OrderProblem,
    OutboxMessage,
    Partner,
    Payment,
    SearchMiss,
    ServiceCenter,
    Villager,
)

# Listings that are, or may come back, on the market: forgetting withdraws them.
LIVE_LISTING_STATUSES = (ListingStatus.REVIEW, ListingStatus.APPROVED, ListingStatus.PAUSED,
                         ListingStatus.REJECTED, ListingStatus.SOLD_OUT)


# ---- /forget ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ForgetPreview:
    """What forgetting would delete, and what stays: shown before the person confirms."""

    has_phone: bool
    has_username: bool
    cart_lines: int
    listings_to_withdraw: int
    partner_of: list[dict]  # center names of the centers they would stop being a partner of
    orders: int  # kept, anonymized
    open_orders: int  # of those, still on their way: no more news about them
    searches: int = 0  # recorded searches that found nothing
    addresses: int = 0  # finished delivery orders whose receiver and address are blanked
    open_deliveries: int = 0  # delivery orders still on their way: their address stays for the carrier
    payments: int = 0  # money paid online and refunded for their orders: kept, a ledger


async def _counts(session: AsyncSession, villager: Villager) -> ForgetPreview:
    cart_lines = await session.scalar(select(func.count(CartLine.id)).join(Cart, Cart.id == CartLine.cart_id)
                                      .where(Cart.villager_id == villager.id)) or 0
    listings = await session.scalar(select(func.count(Listing.id)).where(
        Listing.seller_id == villager.id, Listing.status.in_(LIVE_LISTING_STATUSES))) or 0
    partner_of = []
    if villager.telegram_id is not None:
        partner_of = [dict(names or {}) for names in (await session.scalars(
            select(ServiceCenter.names).join(Partner, Partner.center_id == ServiceCenter.id)
            .where(Partner.telegram_id == villager.telegram_id).order_by(Partner.id))).all()]
    orders = await session.scalar(select(func.count(Order.id)).where(Order.villager_id == villager.id)) or 0
    open_orders = await session.scalar(select(func.count(Order.id)).where(
        Order.villager_id == villager.id, Order.status.not_in([str(s) for s in states.FINAL]))) or 0
    searches = await session.scalar(select(func.count(SearchMiss.id)).where(SearchMiss.villager_id == villager.id))
    deliveries = select(func.count(Order.id)).where(Order.villager_id == villager.id, Order.ship_to.is_not(None))
    addresses = await session.scalar(deliveries.where(Order.status.in_([str(s) for s in states.FINAL])))
    open_deliveries = await session.scalar(deliveries.where(Order.status.not_in([str(s) for s in states.FINAL])))
    payments = await session.scalar(select(func.count(Payment.id)).join(Order, Order.id == Payment.order_id)
                                    .where(Order.villager_id == villager.id))
    return ForgetPreview(bool(villager.phone), bool(villager.username), cart_lines, listings, partner_of,
                         orders, open_orders, searches or 0, addresses or 0, open_deliveries or 0, payments or 0)


async def forget_preview(store: Store, villager_id: int) -> ForgetPreview:
    async with store.read() as session:
        villager = await session.get(Villager, villager_id)
        if villager is None or villager.telegram_id is None:
            raise NotFound("villager")
        return await _counts(session, villager)


@dataclass(frozen=True, slots=True)
class Forgotten:
    listings_withdrawn: int
    orders_kept: int
    partner_rights_removed: int
    cards_to_edit: int  # order cards already posted, edited without the person's name by the outbox


async def forget(store: Store, clock: Clock, villager_id: int) -> Forgotten:
    """Delete the person's personal data in one transaction; their orders stay, anonymized.

    NotFound if there is no such person on Telegram, e.g. they were forgotten already (a second
    tap on the confirmation): forgetting happens once."""
    now = clock.now()
    async with store.write() as session:
        villager = await session.scalar(select(Villager).where(Villager.id == villager_id).with_for_update())
        if villager is None or villager.telegram_id is None:
            raise NotFound("villager")
        return await _erase(session, villager, now)


async def _erase(session: AsyncSession, villager: Villager, now: datetime) -> Forgotten:
    """What forgetting does, for a person on Telegram (``/forget``) and for a villager without a
    phone a partner ordered for (``/forget_walkin``), who has no chat, rights or prompts."""
    villager_id, telegram_id = villager.id, villager.telegram_id
    orders_kept = await session.scalar(select(func.count(Order.id)).where(Order.villager_id == villager_id)) or 0

    # The cart, and listing drafts (half-filled forms).
    await session.execute(delete(CartLine).where(
        CartLine.cart_id.in_(select(Cart.id).where(Cart.villager_id == villager_id))))
    await session.execute(delete(Cart).where(Cart.villager_id == villager_id))
    await session.execute(delete(Listing).where(
        Listing.seller_id == villager_id, Listing.status == ListingStatus.DRAFT))
    # Services at the center: the draft goes; the others lose the phone and account numbers.
    await service_requests.forget(session, villager_id, now)
    # Reviews they gave keep their stars, without their text (or, with the villager's, their name).
    await ratings.forget(session, villager_id, now)

    # Listings on (or able to return to) the market are withdrawn; orders already placed for them
    # go on, as after the seller's own withdraw (their lines keep their own copy of the name).
    # Every listing of theirs loses its texts and photo, and its desk cards are edited to show it.
    listings = (await session.scalars(select(Listing).where(Listing.seller_id == villager_id).with_for_update())).all()
    withdrawn = 0
    for listing in listings:
        if listing.status in LIVE_LISTING_STATUSES:
            listing.status = ListingStatus.WITHDRAWN
            withdrawn += 1
        listing.title, listing.note, listing.reject_reason, listing.photo = "", "", "", None
        listing.updated_at = now
    cards_of = select(ListingCard.listing_id)
    if telegram_id is not None:
        cards_of = cards_of.where(ListingCard.chat_id != telegram_id)
    for listing_id, center_id in (await session.execute(
            select(Listing.id, Listing.center_id).where(
                or_(Listing.seller_id == villager_id, Listing.reviewed_by_id == villager_id),
                Listing.id.in_(cards_of)).order_by(Listing.id))).all():
        await outbox.enqueue(session, Kind.LISTING_CARD_EDIT, due_at=now, center_id=center_id,
                             payload={"listing_id": listing_id},
                             dedupe_key=f"unnamed:{villager_id}:listing:{listing_id}")

    # Order cards already posted (on desks, in partners' chats) that name them are edited
    # without the name, by the outbox: a crash loses none, and Telegram's limits are kept.
    cards_to_edit = 0
    for order_id in await _orders_naming(session, villager_id, telegram_id):
        await outbox.enqueue(session, Kind.CARD_EDIT, due_at=now, order_id=order_id,
                             dedupe_key=f"unnamed:{villager_id}:{order_id}")
        cards_to_edit += 1

    # Nothing more is sent to them: open notices and reminders are cancelled (their rows
    # keep how they ended, as every outbox row does), and promotion copies not yet sent too.
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.villager_id == villager_id, OutboxMessage.is_open)
        .values(is_open=False, cancelled_at=now, claimed_until=None)
        .execution_options(synchronize_session=False))
    await session.execute(
        update(BroadcastDelivery).where(BroadcastDelivery.villager_id == villager_id,
                                        BroadcastDelivery.status == Delivery.PENDING)
        .values(status=Delivery.CANCELLED, claimed_until=None)
        .execution_options(synchronize_session=False))

    removed = 0
    if telegram_id is not None:
        # Their partner rights, cards posted in their private chat, questions the bot asked them
        # in a group, and promotions they were still composing (an admin's drafts); promotions
        # already sent stay in the records.
        removed = (await session.execute(delete(Partner).where(Partner.telegram_id == telegram_id))).rowcount or 0
        await session.execute(delete(DeskPrompt).where(DeskPrompt.telegram_id == telegram_id))
        await session.execute(delete(OrderCard).where(OrderCard.chat_id == telegram_id))
        await session.execute(delete(ListingCard).where(ListingCard.chat_id == telegram_id))
        await session.execute(delete(Broadcast).where(
            Broadcast.admin_telegram_id == telegram_id, Broadcast.status == BroadcastStatus.DRAFT))

    # What they searched for, and found nothing.
    await session.execute(delete(SearchMiss).where(SearchMiss.villager_id == villager_id))
    # Problems they reported: half-written ones go; the rest stay for the accounts, without their photo.
    await session.execute(delete(OrderProblem).where(OrderProblem.villager_id == villager_id,
                                                     OrderProblem.status == "draft"))
    await session.execute(update(OrderProblem).where(OrderProblem.villager_id == villager_id).values(photo=None)
                          .execution_options(synchronize_session=False))
    # Where their finished deliveries went: the receiver's name, phone and address go, the zone
    # stays (what the delivery was priced by). An order still on its way keeps them, for the
    # carrier. Their payments stay as they are: money moved is a ledger (services/town_orders.py).
    for order in (await session.scalars(select(Order).where(
            Order.villager_id == villager_id, Order.ship_to.is_not(None),
            Order.status.in_([str(s) for s in states.FINAL])).with_for_update())).all():
        order.ship_to = {"name": "", "phone": "", "address": "", "zone": (order.ship_to or {}).get("zone", "")}
    # Nobody keeps ordering "for" the anonymous row.
    await session.execute(update(Villager).where(Villager.acting_for_id == villager_id, Villager.id != villager_id)
                          .values(acting_for_id=None).execution_options(synchronize_session=False))

    villager.first_name = ""
    villager.username = None
    villager.phone = None
    villager.telegram_id = None
    villager.awaiting = None
    villager.acting_for_id = None
    return Forgotten(withdrawn, orders_kept, removed, cards_to_edit)


# ---- /forget_walkin ---------------------------------------------------------------------------
# A villager without a phone, for whom a partner orders (/orderfor), cannot send /forget. They ask
# at their village center, so the partners of that center may erase them, and admins anywhere:
# the partners already see their name on every card, and finding them by phone reveals nothing of
# another center's villagers.

@dataclass(frozen=True, slots=True)
class WalkIn:
    villager_id: int
    name: str
    center_code: str
    center_names: dict
    orders: int  # kept, anonymized


async def may_erase_walkins(store: Store, actor: Actor) -> bool:
    """Admins may, and partners (of some center: which villagers, ``find_walkins`` says)."""
    if actor.is_admin:
        return True
    async with store.read() as session:
        return (await session.scalars(
            select(Partner.id).where(Partner.telegram_id == actor.telegram_id).limit(1))).first() is not None


async def find_walkins(store: Store, actor: Actor, phone: str) -> list[WalkIn]:
    """The villagers without Telegram who have this phone number, at the centers ``actor`` may
    act for. BadPhone if it is no phone number; NotPartner if the actor is neither an admin nor
    a partner."""
    phone = normalize_phone(phone)
    async with store.read() as session:
        query = (select(Villager, ServiceCenter).join(ServiceCenter, ServiceCenter.id == Villager.center_id)
                 .where(Villager.telegram_id.is_(None), Villager.phone == phone))
        if not actor.is_admin:
            theirs = select(Partner.center_id).where(Partner.telegram_id == actor.telegram_id)
            if not (await session.scalars(theirs.limit(1))).first():
                raise NotPartner({})
            query = query.where(Villager.center_id.in_(theirs))
        found = []
        for villager, center in (await session.execute(query.order_by(ServiceCenter.code, Villager.id))).all():
            orders = await session.scalar(select(func.count(Order.id)).where(Order.villager_id == villager.id)) or 0
            found.append(WalkIn(villager.id, villager.first_name, center.code, dict(center.names or {}), orders))
        return found


async def forget_walkin(store: Store, clock: Clock, actor: Actor, villager_id: int) -> Forgotten:
    """Erase a villager without Telegram as /forget would: their orders stay, anonymized.
    NotFound if there is no such villager (or they were erased already); NotPartner if the actor
    is neither an admin nor a partner of the villager's center."""
    now = clock.now()
    async with store.write() as session:
        villager = await session.scalar(select(Villager).where(Villager.id == villager_id).with_for_update())
        if villager is None or villager.telegram_id is not None or villager.center_id is None or (
                not villager.first_name and villager.phone is None):
            raise NotFound("villager")
        await check_may_act(session, villager.center_id, actor)
        return await _erase(session, villager, now)


async def _orders_naming(session: AsyncSession, villager_id: int, telegram_id: int | None) -> list[int]:
    """Orders with a card posted somewhere that shows the person's name: as the villager, the
    partner who ordered for them, the one who took the latest step, or the produce's seller."""
    latest = aliased(OrderEvent)
    took_last_step = select(OrderEvent.order_id).where(
        OrderEvent.actor_id == villager_id,
        OrderEvent.id == select(func.max(latest.id)).where(latest.order_id == OrderEvent.order_id).scalar_subquery())
    sold = select(OrderLine.order_id).join(Listing, Listing.id == OrderLine.listing_id).where(
        Listing.seller_id == villager_id)
    carded = select(OrderCard.order_id)
    if telegram_id is not None:  # the cards in their own chat are deleted
        carded = carded.where(OrderCard.chat_id != telegram_id)
    return list((await session.scalars(select(Order.id).where(
        Order.id.in_(carded),
        or_(Order.villager_id == villager_id, Order.assisted_by_id == villager_id,
            Order.id.in_(took_last_step), Order.id.in_(sold))).order_by(Order.id))).all())
