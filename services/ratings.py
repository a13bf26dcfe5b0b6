"""Buyers' reviews of market produce: 1 to 5 stars and an optional short text, for each order line
of produce they picked up (not to be confused with the partner's review of a listing, services/reviews.py).

    pickup (or delivery) ──> a review row per produce line, and the buyer's question queued
        in the outbox ASK_AFTER later (``queue_questions``, in the caller's transaction)
    the outbox sends it ──> ⭐ 1..5 (``rate``) ──> a text of at most MAX_TEXT (``add_text``) or ⏭ Skip
    a text ──> a card on the seller's center's desk, where its partners (and admins) may 🙈 hide it

The row is made when the question is queued, one per order line (unique), so a line is asked
once whatever happens after (a second pickup event, a restart, the outbox repeating a message).
Only the buyer of a picked-up order rates its line, once; a line refunded in full is not asked,
and can no longer be rated. A hidden review stays in the store; it no longer counts or shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services import outbox
from services.clock import Clock
from services.errors import AlreadyDone, DomainError, NotFound, NotYours
from services.listings import first_name_only
from services.outbox import Kind
from services.partners import Actor, check_may_act, check_may_see
from services.states import OrderStatus
from store.db import Store, insert_unless_there
from store.models import BuyerReview, Listing, Order, OrderLine, OrderProblem, ServiceCenter, Villager

ASK_AFTER = timedelta(days=1)  # time to taste the produce before being asked
MAX_TEXT = 300
RECENT = 3  # texts shown under the stars
HIDE_REASONS = ("abusive", "personal", "off_topic")
MAX_REASON = 300
# Orders whose buyer has their produce: picked up at a village, or delivered to a town buyer.
RECEIVED = (OrderStatus.PICKED_UP, OrderStatus.DELIVERED)
HIDDEN, SHOWN = "hidden", "shown"


class BadStars(DomainError):
    """Stars are 1 to 5."""


class BadText(DomainError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "empty" or "too_long"


class Refunded(DomainError):
    """The line was refunded in full: there is no purchase left to review."""


# ---- asking -------------------------------------------------------------------------------------

async def queue_questions(session: AsyncSession, order: Order, now: datetime) -> int:
    """In the transaction that hands the buyer their produce (``parcels.pickup``, ``parcels.deliver``): a review row and the buyer's question for each produce line not asked before.
    A replacement order (services/problem_desk.py) is not asked again. Returns how many were queued."""
    if order.seller_center_id is None:
        return 0
    if await session.scalar(select(OrderProblem.id).where(OrderProblem.replacement_order_id == order.id).limit(1)):
        return 0
    timezone = await session.scalar(select(ServiceCenter.timezone).where(ServiceCenter.id == order.center_id))
    rows = (await session.execute(
        select(OrderLine.id, Listing.id, Listing.seller_id, Listing.center_id)
        .join(Listing, Listing.id == OrderLine.listing_id).where(OrderLine.order_id == order.id)
        .order_by(OrderLine.id))).all()
    queued = 0
    for line_id, listing_id, seller_id, center_id in rows:
        added = await session.execute(insert_unless_there(session, BuyerReview), dict(
            order_line_id=line_id, order_id=order.id, listing_id=listing_id, seller_id=seller_id,
            buyer_id=order.villager_id, center_id=center_id, stars=None, text="", created_at=now,
            hidden_reason="", cards={}))
        if added.rowcount == 0:
            continue
        await outbox.enqueue(session, Kind.RATE, due_at=now + ASK_AFTER, order_id=order.id,
                             villager_id=order.villager_id, payload={"line_id": line_id, "timezone": timezone},
                             dedupe_key=f"rate:{line_id}")
        queued += 1
    return queued


async def _refunded_in_full(session: AsyncSession, line: OrderLine) -> bool:
    """Whether the line's whole quantity was refunded by problems after pickup."""
    refunded = 0
    for lines in (await session.scalars(select(OrderProblem.refund_lines).where(
            OrderProblem.order_id == line.order_id, OrderProblem.status == "refunded"))).all():
        refunded += int((lines or {}).get(str(line.id), 0))
    bought = line.quantity_milli if line.quantity_milli is not None else line.quantity or 0
    return refunded >= bought > 0


@dataclass(frozen=True, slots=True)
class Question:
    review_id: int
    buyer_id: int
    title: str
    seller_name: str
    number: str


async def take_question(store: Store, clock: Clock, line_id: int) -> Question | None:
    """The question for an order line, when the outbox sends it (its time noted); None when there
    is nothing to ask any more: answered, the order no longer the buyer's, or refunded in full."""
    async with store.write() as session:
        review = await session.scalar(select(BuyerReview).where(BuyerReview.order_line_id == line_id)
                                      .with_for_update())
        if review is None or review.stars is not None:
            return None
        line = await session.get(OrderLine, line_id)
        order = await session.get(Order, review.order_id)
        if order.status not in RECEIVED or await _refunded_in_full(session, line):
            return None
        listing = await session.get(Listing, review.listing_id)
        seller = await session.get(Villager, review.seller_id)
        review.asked_at = review.asked_at or clock.now()
        title = listing.title or localized_name(line.names)
        return Question(review.id, review.buyer_id, title, first_name_only(seller.first_name), order.number)


def localized_name(names: dict | None) -> str:
    return next(iter((names or {}).values()), "")


# ---- answering ----------------------------------------------------------------------------------

async def _own(session: AsyncSession, villager_id: int, review_id: int, lock: bool = True) -> BuyerReview:
    """The buyer's own review row (``lock``: locked) of an order they have; NotYours for anything else."""
    query = select(BuyerReview).where(BuyerReview.id == review_id)
    review = await session.scalar(query.with_for_update() if lock else query)
    if review is None or review.buyer_id != villager_id:
        raise NotYours()
    order = await session.get(Order, review.order_id)
    if order is None or order.villager_id != villager_id or order.status not in RECEIVED:
        raise NotYours()
    if await _refunded_in_full(session, await session.get(OrderLine, review.order_line_id)):
        raise Refunded()
    return review


async def check_own(store: Store, villager_id: int, review_id: int) -> None:
    """NotYours (or Refunded) unless the review is the buyer's own to answer."""
    async with store.read() as session:
        await _own(session, villager_id, review_id, lock=False)


async def rate(store: Store, clock: Clock, villager_id: int, review_id: int, stars: int) -> int:
    """The buyer's stars, once; returns them."""
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise BadStars()
    async with store.write() as session:
        review = await _own(session, villager_id, review_id)
        if review.stars is not None:
            raise AlreadyDone(str(review.stars))
        review.stars, review.rated_at = stars, clock.now()
        return stars


def clean_text(text: str) -> str:
    words = " ".join((text or "").split())
    if not words:
        raise BadText("empty")
    if len(words) > MAX_TEXT:
        raise BadText("too_long")
    return words


async def add_text(store: Store, clock: Clock, villager_id: int, review_id: int, text: str) -> None:
    """The buyer's short text after their stars, once; it goes on the seller's center's desk."""
    words = clean_text(text)
    now = clock.now()
    async with store.write() as session:
        review = await _own(session, villager_id, review_id)
        if review.stars is None:
            raise NotFound("stars")
        if review.text:
            raise AlreadyDone("text")
        review.text = words
        await outbox.enqueue(session, Kind.REVIEW_CARD, due_at=now, center_id=review.center_id,
                             payload={"review_id": review.id}, dedupe_key=f"review-card:{review.id}:new")


# ---- what buyers read ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Said:
    stars: int
    text: str
    buyer_name: str  # first name only; "" once the buyer used /forget
    at: datetime


@dataclass(frozen=True, slots=True)
class Rating:
    average: float
    count: int
    recent: list[Said]


COUNTED = (BuyerReview.stars.is_not(None), BuyerReview.hidden_at.is_(None))


async def rating_of(session: AsyncSession, *, listing_id: int | None = None, seller_id: int | None = None) -> Rating:
    """The visible stars of a listing (or of all a seller's listings): average, count and the
    RECENT latest texts."""
    where = [*COUNTED, BuyerReview.listing_id == listing_id] if listing_id is not None else [
        *COUNTED, BuyerReview.seller_id == seller_id]
    average, count = (await session.execute(select(func.avg(BuyerReview.stars), func.count(BuyerReview.id))
                                            .where(*where))).one()
    rows = await session.execute(
        select(BuyerReview.stars, BuyerReview.text, Villager.first_name, BuyerReview.rated_at)
        .join(Villager, Villager.id == BuyerReview.buyer_id).where(*where, BuyerReview.text != "")
        .order_by(BuyerReview.rated_at.desc(), BuyerReview.id.desc()).limit(RECENT))
    recent = [Said(stars, text, first_name_only(name), at) for stars, text, name, at in rows]
    return Rating(float(average or 0), int(count or 0), recent)


async def listing_rating(store: Store, listing_id: int) -> Rating:
    async with store.read() as session:
        return await rating_of(session, listing_id=listing_id)


# ---- the desk's card ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReviewCard:
    id: int
    center_id: int
    desk_locale: str | None
    cards: dict[int, int]
    stars: int
    text: str
    buyer_name: str
    seller_name: str
    title: str
    number: str
    status: str  # SHOWN or HIDDEN
    hidden_by: str
    hidden_reason: str
    hidden_at: datetime | None
    timezone: str


async def _card(session: AsyncSession, review: BuyerReview) -> ReviewCard:
    buyer, seller, hider = aliased(Villager), aliased(Villager), aliased(Villager)
    row = (await session.execute(
        select(buyer.first_name, seller.first_name, Listing.title, Order.number, ServiceCenter.desk_locale,
               ServiceCenter.timezone, OrderLine.names)
        .select_from(BuyerReview).join(buyer, buyer.id == BuyerReview.buyer_id)
        .join(seller, seller.id == BuyerReview.seller_id).join(Listing, Listing.id == BuyerReview.listing_id)
        .join(Order, Order.id == BuyerReview.order_id).join(OrderLine, OrderLine.id == BuyerReview.order_line_id)
        .join(ServiceCenter, ServiceCenter.id == BuyerReview.center_id).where(BuyerReview.id == review.id))).one()
    hidden_by = await session.scalar(select(hider.first_name).where(hider.id == review.hidden_by)) \
        if review.hidden_by else ""
    return ReviewCard(review.id, review.center_id, row[4], {int(k): v for k, v in (review.cards or {}).items()},
                      review.stars or 0, review.text, first_name_only(row[0]), first_name_only(row[1]),
                      row[2] or localized_name(row[6]), row[3], HIDDEN if review.hidden_at else SHOWN,
                      hidden_by or "", review.hidden_reason, review.hidden_at, row[5])


async def card_view(store: Store, review_id: int) -> ReviewCard | None:
    """A review with a text, as its desk card shows it (one without text has no card)."""
    async with store.read() as session:
        review = await session.get(BuyerReview, review_id)
        if review is None or review.stars is None or not (review.text or review.cards):
            return None
        return await _card(session, review)


async def card_for(store: Store, review_id: int, actor: Actor, chat_id: int) -> ReviewCard:
    """The card for ``actor`` in ``chat_id``: NotYours unless it may be seen there (the seller's
    center's desk, or the private chat of one of its partners or of an admin)."""
    async with store.read() as session:
        review = await session.get(BuyerReview, review_id)
        if review is None or review.stars is None or not (review.text or review.cards):
            raise NotYours()
        await check_may_see(session, {review.center_id}, actor, chat_id)
        return await _card(session, review)


async def record_card(store: Store, review_id: int, chat_id: int, message_id: int) -> None:
    async with store.write() as session:
        review = await session.get(BuyerReview, review_id, with_for_update=True)
        if review is not None:
            review.cards = {**(review.cards or {}), str(chat_id): message_id}


async def hide(store: Store, clock: Clock, actor: Actor, review_id: int, reason: str) -> str:
    """🙈 Hide, by the seller's center's partners and admins, once, with a reason (a code of
    HIDE_REASONS or typed). Returns the new status."""
    now = clock.now()
    reason = " ".join(reason.split())[:MAX_REASON]
    async with store.write() as session:
        review = await session.get(BuyerReview, review_id, with_for_update=True)
        if review is None or review.stars is None or not review.text:
            raise NotFound("review")
        await check_may_act(session, review.center_id, actor)
        if review.hidden_at is not None:
            raise AlreadyDone(HIDDEN)
        review.hidden_at, review.hidden_reason = now, reason
        review.hidden_by = await session.scalar(select(Villager.id).where(Villager.telegram_id == actor.telegram_id))
        await outbox.enqueue(session, Kind.REVIEW_CARD, due_at=now, center_id=review.center_id,
                             payload={"review_id": review.id}, dedupe_key=f"review-card:{review.id}:hidden")
        return HIDDEN


# ---- the person's own data ----------------------------------------------------------------------

async def personal(session: AsyncSession, villager_id: int) -> list[dict]:
    """/mydata (in the caller's session): the reviews the person gave."""
    rows = await session.execute(
        select(BuyerReview, Order.number, Listing.title).join(Order, Order.id == BuyerReview.order_id)
        .join(Listing, Listing.id == BuyerReview.listing_id).where(BuyerReview.buyer_id == villager_id)
        .order_by(BuyerReview.id))
    return [{"order": number, "listing_id": review.listing_id, "listing": title, "stars": review.stars,
             "text": review.text, "asked_at": _time(review.asked_at), "rated_at": _time(review.rated_at),
             "hidden": review.hidden_at is not None, "hidden_reason": review.hidden_reason}
            for review, number, title in rows]


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def forget(session: AsyncSession, villager_id: int, now: datetime) -> None:
    """/forget (in the caller's transaction): the buyer's reviews keep their stars and lose their
    text (their name goes with the villager's); questions not answered go; desk cards are redrawn."""
    rows = (await session.scalars(select(BuyerReview).where(BuyerReview.buyer_id == villager_id)
                                  .with_for_update())).all()
    for review in rows:
        if review.stars is None:
            await session.delete(review)
            continue
        review.text = ""
        if review.cards:
            await outbox.enqueue(session, Kind.REVIEW_CARD, due_at=now, center_id=review.center_id,
                                 payload={"review_id": review.id}, dedupe_key=f"review-card:{review.id}:forget")


async def group_migrated(session: AsyncSession, center_id: int, old_chat_id: int, new_chat_id: int,
                         now: datetime) -> int:
    """The center's desk group became a supergroup (services.desks.group_migrated, in its
    transaction): the review cards there that still offer 🙈 Hide are posted again in the new one."""
    moved = 0
    for review in (await session.scalars(select(BuyerReview).where(
            BuyerReview.center_id == center_id, BuyerReview.hidden_at.is_(None), BuyerReview.text != "")
            .order_by(BuyerReview.id).with_for_update())).all():
        if str(old_chat_id) not in (review.cards or {}):
            continue
        review.cards = {chat: message for chat, message in review.cards.items() if chat != str(old_chat_id)}
        await outbox.enqueue(session, Kind.REVIEW_CARD, due_at=now, center_id=center_id,
                             payload={"review_id": review.id}, dedupe_key=f"moved:{new_chat_id}:review:{review.id}")
        moved += 1
    return moved
