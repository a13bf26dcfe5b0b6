"""The partner's review of a villager's listing: approve it into the market or reject it with a
reason, the listings waiting on a desk, and the review card a desk shows (see ``produce`` for the
listing's states).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import Clock
from services.errors import AlreadyDone, DomainError, NotAllowed, NotFound, NotYours
from services.listings import (
    MARKET_CHANGED,
    ListingView,
    Status,
    load_listing_view,
    load_listing_views,
    refresh_card,
    tell_seller,
)
from services.partners import Actor, check_may_act, check_may_see
from store.db import Store, mark_effect, upsert
from store.models import Listing, ListingCard, ServiceCenter, Villager

MAX_REASON = 300
REJECT_REASONS = ("photo", "price", "not_allowed", "unclear")


class OwnReview(DomainError):
    """A partner (or admin) who sells produce does not approve their own listing: another partner
    of ``center_names``, or an admin, does. Rejecting it is allowed, as withdrawing it is."""

    def __init__(self, center_names: dict):
        super().__init__("one's own listing")
        self.center_names = center_names


async def review(store: Store, clock: Clock, actor: Actor, listing_id: int, *, approve: bool,
                 reason: str = "") -> ListingView:
    """The seller's partner (or an admin) approves the listing into the market, or rejects it
    with a reason the seller is told."""
    now = clock.now()
    reason = reason.strip()[:MAX_REASON]
    async with store.write() as session:
        listing = await session.scalar(select(Listing).where(Listing.id == listing_id).with_for_update())
        if listing is None:
            raise NotFound("listing")
        await check_may_act(session, listing.center_id, actor)
        if approve and await _sold_by(session, listing, actor):
            center = await session.get(ServiceCenter, listing.center_id)
            raise OwnReview(center.names)
        to = Status.APPROVED if approve else Status.REJECTED
        if listing.status == to:
            raise AlreadyDone(to)
        if listing.status != Status.REVIEW:
            raise NotAllowed(listing.status)
        listing.status = to
        listing.reject_reason = "" if approve else reason
        listing.reviewed_by_id = await session.scalar(
            select(Villager.id).where(Villager.telegram_id == actor.telegram_id))
        listing.updated_at = now
        if approve:
            listing.approved_at = now
            mark_effect(session, MARKET_CHANGED)
        await refresh_card(session, listing, now)
        await tell_seller(session, listing, now, "approved" if approve else "rejected", reason=reason)
        await session.flush()
        return await load_listing_view(session, listing.id)


async def _sold_by(session: AsyncSession, listing: Listing, actor: Actor) -> bool:
    """Whether the listing is the actor's own: its seller is their villager record."""
    return await session.scalar(select(Villager.telegram_id).where(Villager.id == listing.seller_id)) \
        == actor.telegram_id


async def in_review(store: Store, center_id: int) -> list[tuple[int, str]]:
    """Listings of a center waiting for review: (id, title), oldest first."""
    async with store.read() as session:
        rows = await session.execute(select(Listing.id, Listing.title).where(
            Listing.center_id == center_id, Listing.status == Status.REVIEW).order_by(Listing.updated_at, Listing.id))
        return [tuple(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ReviewCard:
    listing: ListingView
    group_chat_id: int | None
    desk_locale: str | None
    cards: dict[int, int]  # chat id -> message id of the card already posted there


async def review_card(store: Store, listing_id: int) -> ReviewCard | None:
    async with store.read() as session:
        return await _review_card(session, listing_id)


async def _review_card(session: AsyncSession, listing_id: int) -> ReviewCard | None:
    views = await load_listing_views(session, [listing_id])
    if not views:
        return None
    center = await session.get(ServiceCenter, views[0].center_id)
    cards = dict((await session.execute(
        select(ListingCard.chat_id, ListingCard.message_id).where(ListingCard.listing_id == listing_id))).all())
    return ReviewCard(views[0], center.group_chat_id, center.desk_locale, cards)


async def review_card_for(store: Store, listing_id: int, actor: Actor, chat_id: int) -> ReviewCard:
    """The listing's review card, for ``actor`` in ``chat_id``: NotYours unless they may see it
    there (``partners.check_may_see``, for the listing's center). A draft has no review card: it
    is its seller's alone until it is sent. A listing that does not exist is NotYours too."""
    async with store.read() as session:
        listing = await session.get(Listing, listing_id)
        if listing is None or listing.status == Status.DRAFT:
            raise NotYours()
        await check_may_see(session, {listing.center_id}, actor, chat_id)
        return await _review_card(session, listing_id)


async def record_card(store: Store, listing_id: int, chat_id: int, message_id: int) -> None:
    """Remember where a listing's card is (a card posted again replaces the one that was deleted)."""
    async with store.write() as session:
        await session.execute(upsert(session, ListingCard, {"listing_id": listing_id, "chat_id": chat_id,
                                                            "message_id": message_id}, keys=("listing_id", "chat_id")))
