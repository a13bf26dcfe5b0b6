"""A produce listing as the rest of the village meets it: its status, its view (seller, village,
county, sales), the card and the notices it sends, and the quantity an order gives back.

How a seller makes and manages a listing is services/produce.py; the partner's review,
services/reviews.py; buying from one, services/market.py. Each of them reads and shows listings
through this module, which imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services import outbox
from services.errors import NotFound
from services.outbox import Kind
from services.states import RETURNS_STOCK, OrderStatus
from store.models import County, Listing, Order, OrderLine, ServiceCenter, Villager

MARKET_CHANGED = "market"  # what an approval marks its session with (``store.db.mark_effect``)


class Status(StrEnum):
    """Where a listing is in its life (drawn in services/produce.py)."""

    DRAFT = "draft"
    REVIEW = "review"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAUSED = "paused"
    SOLD_OUT = "sold_out"
    WITHDRAWN = "withdrawn"


def first_name_only(name: str | None) -> str:
    """What buyers and other centers learn of a seller: "Wang Fang" -> "Wang"."""
    return (name or "").split(" ")[0]


@dataclass(frozen=True, slots=True)
class ListingView:
    id: int
    seller_id: int
    seller_name: str  # the first name only: buyers never see more
    center_id: int
    center_names: dict
    county_names: dict
    status: str
    step: str | None
    title: str
    category: str
    photo: str | None
    unit: str
    left_milli: int
    price_fen: int
    available_from: date | None
    note: str
    reject_reason: str
    created_at: datetime
    sold_milli: int = 0  # in orders not rejected, cancelled or returned
    earned_fen: int = 0  # paid by buyers who picked it up
    reviewer: str | None = None
    previewed: bool = False  # a draft whose preview the seller has seen: a changed step returns to it

    @property
    def is_on_market(self) -> bool:
        return self.status == Status.APPROVED and self.left_milli > 0


async def load_listing_views(session: AsyncSession, ids: list[int]) -> list[ListingView]:
    """Listings with their village, county and sales, in the order of ``ids``."""
    if not ids:
        return []
    reviewed_by = aliased(Villager)
    reviewer = select(reviewed_by.first_name).where(reviewed_by.id == Listing.reviewed_by_id).scalar_subquery()
    rows = (await session.execute(
        select(Listing, Villager.first_name, ServiceCenter.names, County.names, reviewer)
        .join(Villager, Villager.id == Listing.seller_id)
        .join(ServiceCenter, ServiceCenter.id == Listing.center_id)
        .join(County, County.id == ServiceCenter.county_id)
        .where(Listing.id.in_(ids))
    )).all()
    live = Order.status.not_in([str(status) for status in RETURNS_STOCK])  # rejected, cancelled, returned
    paid = Order.status.in_([str(OrderStatus.PICKED_UP), str(OrderStatus.DELIVERED)])  # the buyer has it, paid
    sales = {row.listing_id: (row.sold, row.earned) for row in await session.execute(
        select(OrderLine.listing_id,
               func.sum(case((live, OrderLine.quantity_milli), else_=0)).label("sold"),
               func.sum(case((paid, Order.total_fen), else_=0)).label("earned"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.listing_id.in_(ids)).group_by(OrderLine.listing_id))}
    views = {}
    for listing, seller_name, center_names, county_names, reviewed_by in rows:
        sold, earned = sales.get(listing.id, (0, 0))
        views[listing.id] = ListingView(
            id=listing.id, seller_id=listing.seller_id, seller_name=first_name_only(seller_name),
            center_id=listing.center_id, center_names=center_names, county_names=county_names,
            status=listing.status, step=listing.step, title=listing.title, category=listing.category,
            photo=listing.photo, unit=listing.unit, left_milli=listing.left_milli, price_fen=listing.price_fen,
            available_from=listing.available_from, note=listing.note, reject_reason=listing.reject_reason,
            created_at=listing.created_at, sold_milli=int(sold or 0), earned_fen=int(earned or 0),
            reviewer=reviewed_by, previewed=bool(listing.previewed),
        )
    return [views[i] for i in ids if i in views]


async def load_listing_view(session: AsyncSession, listing_id: int) -> ListingView:
    views = await load_listing_views(session, [listing_id])
    if not views:
        raise NotFound("listing")
    return views[0]


async def refresh_card(session: AsyncSession, listing: Listing, at: datetime) -> None:
    """Post the listing's review card on its desk, or show its new state where it is."""
    await outbox.enqueue(session, Kind.LISTING_CARD, due_at=at, center_id=listing.center_id,
                         payload={"listing_id": listing.id})


async def tell_seller(session: AsyncSession, listing: Listing, at: datetime, event: str, **payload) -> None:
    await outbox.enqueue(session, Kind.SELLER, due_at=at, villager_id=listing.seller_id,
                         payload={"event": event, "listing_id": listing.id, **payload})


async def return_to_listing(session: AsyncSession, line: OrderLine) -> None:
    """A rejected, cancelled or returned produce order gives its quantity back; a listing that had
    sold out is on the market again."""
    await session.execute(
        update(Listing).where(Listing.id == line.listing_id)
        .values(left_milli=Listing.left_milli + line.quantity_milli)
        .execution_options(synchronize_session=False))
    await session.execute(
        update(Listing).where(Listing.id == line.listing_id, Listing.status == Status.SOLD_OUT)
        .values(status=Status.APPROVED).execution_options(synchronize_session=False))
