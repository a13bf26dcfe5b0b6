"""Villagers' produce listings: made step by step, reviewed by the partner (services/reviews.py),
managed by the seller.

    draft ──publish──> review ──approve──> approved ──pause──> paused ──resume──> approved
                          └──reject──> rejected ──resubmit──> review
    approved ──last units sold──> sold_out;  any but withdrawn ──withdraw──> withdrawn

A draft lives in the store with the step it is at, so it survives a restart and can be resumed
or discarded. Raising the price or the quantity of a listing sends it back to review, and so does
any change to a rejected one; only approved listings are in the market (services/market.py).
Each time in review is a card on the partner's desk, so a seller has at most
``caps.listings_in_review`` listings waiting there, and one listing goes back to review at most
once in ``caps.review_again_after``. A listing's status and its view, as others see it, are
services/listings.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import villagers
from services.amounts import UNITS, BadAmount, check_date
from services.caps import CAPS, Caps
from services.clock import Clock
from services.errors import DomainError, NoCenterChosen, NotAllowed, NotFound
from services.listings import ListingView, Status, load_listing_view, load_listing_views, refresh_card
from store.db import Store
from store.models import Listing, ListingCard, ServiceCenter, Villager

MAX_TITLE = 60
MAX_NOTE = 200
PAGE_SIZE = 8

# Produce categories, and common produce offered as one-tap answers to "what do you sell?".
CATEGORIES = ("fruit", "vegetables", "grain", "eggs_poultry", "meat", "tea", "nuts", "honey", "preserves",
              "herbs", "crafts", "other")
COMMON_PRODUCE = {  # code -> category; the names are the catalog entries "produce:<code>"
    "apples": "fruit", "oranges": "fruit", "rice": "grain", "corn": "grain", "eggs": "eggs_poultry",
    "potatoes": "vegetables", "tea": "tea", "walnuts": "nuts", "honey": "honey", "chili_sauce": "preserves",
}


class Step(StrEnum):
    TITLE = "title"
    CATEGORY = "category"
    PHOTO = "photo"
    UNIT = "unit"
    QUANTITY = "quantity"
    PRICE = "price"
    AVAILABLE = "available"
    NOTE = "note"
    PREVIEW = "preview"


STEPS = tuple(Step)
OPTIONAL = frozenset({Step.PHOTO, Step.NOTE})
EDITABLE = frozenset({Step.PRICE, Step.QUANTITY, Step.PHOTO, Step.NOTE})  # of a published listing


class BadInput(DomainError):
    """A field's value was refused: ``too_long``, ``too_short``, ``unknown``."""

    def __init__(self, reason: str, limit: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


class Incomplete(DomainError):
    """The draft cannot be published yet: ``step`` is the first one still to answer."""

    def __init__(self, step: Step):
        super().__init__(f"{step} is missing")
        self.step = step


class TooManyInReview(DomainError):
    """The seller already has ``limit`` listings waiting for review."""

    def __init__(self, limit: int):
        super().__init__(f"at most {limit} listings in review")
        self.limit = limit


class ReviewTooSoon(DomainError):
    """The listing went back to review a short while ago; it may go again at ``again_at``
    (``timezone``: the seller's center's)."""

    def __init__(self, again_at: datetime, timezone: str):
        super().__init__(f"back to review again from {again_at.isoformat()}")
        self.again_at = again_at
        self.timezone = timezone


async def _own(session: AsyncSession, seller_id: int, listing_id: int) -> Listing:
    listing = await session.scalar(
        select(Listing).where(Listing.id == listing_id, Listing.seller_id == seller_id).with_for_update())
    if listing is None:
        raise NotFound("listing")
    return listing


async def _draft(session: AsyncSession, seller_id: int, listing_id: int) -> Listing:
    listing = await _own(session, seller_id, listing_id)
    if listing.status != Status.DRAFT:
        raise NotAllowed(listing.status)
    return listing


def today_for(clock: Clock, timezone: str) -> date:
    return clock.now().astimezone(ZoneInfo(timezone)).date()


# ---- the draft --------------------------------------------------------------------------------

async def current_draft(store: Store, seller_id: int) -> ListingView | None:
    """The seller's half-finished listing, if any (there is at most one)."""
    async with store.read() as session:
        listing_id = await session.scalar(select(Listing.id).where(
            Listing.seller_id == seller_id, Listing.status == Status.DRAFT).order_by(Listing.id.desc()).limit(1))
        return await load_listing_view(session, listing_id) if listing_id else None


async def start_draft(store: Store, clock: Clock, seller_id: int) -> ListingView:
    """A new draft at its first step, for sale through the seller's center; or the draft they
    already have."""
    now = clock.now()
    async with store.write() as session:
        seller = await session.scalar(select(Villager).where(Villager.id == seller_id).with_for_update())
        if seller.center_id is None:
            raise NoCenterChosen()
        listing_id = await session.scalar(select(Listing.id).where(
            Listing.seller_id == seller_id, Listing.status == Status.DRAFT).limit(1))
        if listing_id is None:
            listing = Listing(seller_id=seller_id, center_id=seller.center_id, status=Status.DRAFT, step=Step.TITLE,
                              previewed=False, title="", category="", unit="", left_milli=0, price_fen=0, note="",
                              reject_reason="", created_at=now, updated_at=now)
            session.add(listing)
            await session.flush()
            listing_id = listing.id
        return await load_listing_view(session, listing_id)


async def discard_draft(store: Store, seller_id: int, listing_id: int) -> None:
    async with store.write() as session:
        await session.delete(await _draft(session, seller_id, listing_id))


def _check_value(step: Step, value: object, today: date) -> object:
    if step == Step.TITLE:
        value = " ".join(str(value).split())
        if len(value) < 2:
            raise BadInput("too_short", 2)
        if len(value) > MAX_TITLE:
            raise BadInput("too_long", MAX_TITLE)
    elif step == Step.CATEGORY and value not in CATEGORIES:
        raise BadInput("unknown")
    elif step == Step.UNIT and value not in UNITS:
        raise BadInput("unknown")
    elif step == Step.NOTE:
        value = str(value or "").strip()
        if len(value) > MAX_NOTE:
            raise BadInput("too_long", MAX_NOTE)
    elif step == Step.AVAILABLE:
        value = check_date(value, today)
    elif step in (Step.QUANTITY, Step.PRICE) and (not isinstance(value, int) or value <= 0):
        raise BadInput("unknown")
    return value


_COLUMN = {Step.TITLE: "title", Step.CATEGORY: "category", Step.PHOTO: "photo", Step.UNIT: "unit",
           Step.QUANTITY: "left_milli", Step.PRICE: "price_fen", Step.AVAILABLE: "available_from", Step.NOTE: "note"}


async def fill(store: Store, clock: Clock, seller_id: int, listing_id: int, step: Step, value: object,
               *, unit: str | None = None) -> ListingView:
    """Answer a step of the draft and move to the next one (or, once the seller has seen the
    preview, back to it). Amounts come parsed (services.amounts); ``unit`` is one the typed
    quantity named ("3斤"), which replaces the unit chosen before."""
    now = clock.now()
    async with store.write() as session:
        listing = await _draft(session, seller_id, listing_id)
        center = await session.get(ServiceCenter, listing.center_id)
        value = _check_value(step, value, today_for(clock, center.timezone))
        setattr(listing, _COLUMN[step], value)
        if unit is not None:
            listing.unit = _check_value(Step.UNIT, unit, now.date())
        listing.step = Step.PREVIEW if listing.previewed else STEPS[STEPS.index(step) + 1]
        listing.updated_at = now
        await session.flush()
        return await load_listing_view(session, listing.id)


async def choose_common(store: Store, clock: Clock, seller_id: int, listing_id: int, title: str,
                        category: str) -> ListingView:
    """A common produce tapped as the answer to "what do you sell?": its name and category at once."""
    await fill(store, clock, seller_id, listing_id, Step.TITLE, title)
    return await fill(store, clock, seller_id, listing_id, Step.CATEGORY, category)


async def go_to(store: Store, clock: Clock, seller_id: int, listing_id: int, step: Step | None = None) -> ListingView:
    """Back one step (``step`` None), or to a given step, e.g. from the preview's Edit."""
    async with store.write() as session:
        listing = await _draft(session, seller_id, listing_id)
        if step is None:
            here = STEPS.index(Step(listing.step))
            step = STEPS[max(0, here - 1)]
        listing.step = step
        listing.updated_at = clock.now()
        await session.flush()
        return await load_listing_view(session, listing.id)


async def preview(store: Store, clock: Clock, seller_id: int, listing_id: int) -> ListingView:
    async with store.write() as session:
        listing = await _draft(session, seller_id, listing_id)
        listing.step = Step.PREVIEW
        listing.previewed = True
        await session.flush()
        return await load_listing_view(session, listing.id)


def missing_step(listing: ListingView | Listing) -> Step | None:
    """The first required step not answered yet."""
    for step in STEPS[:-1]:
        if step not in OPTIONAL and not getattr(listing, _COLUMN[step]):
            return step
    return None


async def publish(store: Store, clock: Clock, seller_id: int, listing_id: int, caps: Caps = CAPS) -> ListingView:
    """Send the finished draft to the partner's desk for review. Publishing twice is one review.
    A seller with ``caps.listings_in_review`` listings in review is refused (``TooManyInReview``)."""
    now = clock.now()
    async with store.write() as session:
        await villagers.lock(session, seller_id)
        listing = await _own(session, seller_id, listing_id)
        if listing.status == Status.REVIEW:
            return await load_listing_view(session, listing.id)
        if listing.status != Status.DRAFT:
            raise NotAllowed(listing.status)
        if (step := missing_step(listing)) is not None:
            raise Incomplete(step)
        await _to_review(session, listing, now, caps)
        return await load_listing_view(session, listing.id)


async def _to_review(session: AsyncSession, listing: Listing, now: datetime, caps: Caps, *,
                     again: bool = False) -> None:
    """A review card goes to the seller's center; a card of an earlier review stays as it was.
    ``again``: the listing was in review before (an edit sends it back). The caller holds the
    seller's row (``villagers.lock``), so two of their listings sent at once count each other."""
    if again and listing.back_to_review_at is not None:
        again_at = listing.back_to_review_at + caps.review_again_after
        if now < again_at:
            center = await session.get(ServiceCenter, listing.center_id)
            raise ReviewTooSoon(again_at, center.timezone)
    waiting = await session.scalar(select(func.count(Listing.id)).where(
        Listing.seller_id == listing.seller_id, Listing.status == Status.REVIEW, Listing.id != listing.id))
    if waiting >= caps.listings_in_review:
        raise TooManyInReview(caps.listings_in_review)
    if again:
        listing.back_to_review_at = now
    listing.status = Status.REVIEW
    listing.step = None
    listing.reject_reason = ""
    listing.updated_at = now
    await session.execute(ListingCard.__table__.delete().where(ListingCard.listing_id == listing.id))
    await refresh_card(session, listing, now)


# ---- the seller's listings ----------------------------------------------------------------

async def my_listings(store: Store, seller_id: int) -> list[ListingView]:
    """Everything the seller has published, newest first (not drafts, not withdrawn ones)."""
    async with store.read() as session:
        ids = (await session.scalars(select(Listing.id).where(
            Listing.seller_id == seller_id, Listing.status.not_in([Status.DRAFT, Status.WITHDRAWN]))
            .order_by(Listing.created_at.desc(), Listing.id.desc()))).all()
        return await load_listing_views(session, list(ids))


async def has_listings(store: Store, seller_id: int) -> bool:
    """Whether the seller has anything /mylistings shows (the main menu then offers 📋 My listings):
    one look-up on the index of the seller's listings."""
    async with store.read() as session:
        return await session.scalar(select(Listing.id).where(
            Listing.seller_id == seller_id, Listing.status.not_in([Status.DRAFT, Status.WITHDRAWN])).limit(1)) is not None


async def my_listing(store: Store, seller_id: int, listing_id: int) -> ListingView:
    async with store.read() as session:
        view = await load_listing_view(session, listing_id)
        if view.seller_id != seller_id:
            raise NotFound("listing")
        return view


@dataclass(frozen=True, slots=True)
class Edited:
    listing: ListingView
    to_review: bool  # the change sent it back to the partner


async def edit(store: Store, clock: Clock, seller_id: int, listing_id: int, step: Step, value: object,
               *, unit: str | None = None, caps: Caps = CAPS) -> Edited:
    """Change the price, the quantity left, the photo or the note of a published listing.
    A higher price or quantity needs the partner's review again; a lower one does not. A change
    that would send it back to review is refused, and nothing changes, when it went back less
    than ``caps.review_again_after`` ago (``ReviewTooSoon``) or when the seller has
    ``caps.listings_in_review`` others in review (``TooManyInReview``)."""
    if step not in EDITABLE:
        raise BadInput("unknown")
    now = clock.now()
    async with store.write() as session:
        await villagers.lock(session, seller_id)
        listing = await _own(session, seller_id, listing_id)
        if listing.status in (Status.DRAFT, Status.WITHDRAWN):
            raise NotAllowed(listing.status)
        if unit is not None and unit != listing.unit:
            raise BadAmount("other_unit")
        value = _check_value(step, value, now.date())
        before = getattr(listing, _COLUMN[step])
        setattr(listing, _COLUMN[step], value)
        listing.updated_at = now
        raised = step in (Step.PRICE, Step.QUANTITY) and value > before
        to_review = raised and listing.status in (Status.APPROVED, Status.PAUSED, Status.SOLD_OUT)
        if to_review or listing.status == Status.REJECTED:
            await _to_review(session, listing, now, caps, again=True)
            to_review = True
        elif listing.status == Status.REVIEW:
            await refresh_card(session, listing, now)
        await session.flush()
        return Edited(await load_listing_view(session, listing.id), to_review)


async def pause(store: Store, clock: Clock, seller_id: int, listing_id: int, *, paused: bool) -> ListingView:
    """Take an approved listing off the market for a while, or put it back."""
    async with store.write() as session:
        listing = await _own(session, seller_id, listing_id)
        source, to = (Status.APPROVED, Status.PAUSED) if paused else (Status.PAUSED, Status.APPROVED)
        if listing.status != source:
            raise NotAllowed(listing.status)
        listing.status = to
        listing.updated_at = clock.now()
        await refresh_card(session, listing, listing.updated_at)
        await session.flush()
        return await load_listing_view(session, listing.id)


async def withdraw(store: Store, clock: Clock, seller_id: int, listing_id: int) -> ListingView:
    """Off the market for good. Orders already placed go on as they are."""
    async with store.write() as session:
        listing = await _own(session, seller_id, listing_id)
        if listing.status in (Status.DRAFT, Status.WITHDRAWN):
            raise NotAllowed(listing.status)
        listing.status = Status.WITHDRAWN
        listing.updated_at = clock.now()
        await refresh_card(session, listing, listing.updated_at)
        await session.flush()
        return await load_listing_view(session, listing.id)


async def listing_view(store: Store, listing_id: int) -> ListingView | None:
    async with store.read() as session:
        views = await load_listing_views(session, [listing_id])
        return views[0] if views else None


