"""The market: approved produce listings, browsed by category or county, searched, and ordered.

An order for produce takes its quantity from the listing in the same transaction, with one
conditional UPDATE, so two buyers racing for the last units can never oversell. It is an
ordinary order (services/orders.py) for pickup at the buyer's center, whose ``seller_center_id``
names the seller's center: that center's partners confirm it and send it on. From there it
follows the same parcel way, states and reminders as a catalog order.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.search import SearchDoc
from services import outbox
from services.amounts import check_whole, format_milli, line_total_fen
from services.caps import CAPS, Caps
from services.clock import Clock
from services.errors import DomainError, NotFound
from services.listings import MARKET_CHANGED, ListingView, Status, load_listing_views, refresh_card, tell_seller
from services.orders import PlacedOrder, begin_order, load_order_view, new_order_number, placed_once
from services.outbox import Kind
from services.produce import PAGE_SIZE
from services.search import LiveIndex, category_words
from services.states import OrderStatus
from store.db import Store
from store.models import County, Listing, Order, OrderEvent, OrderLine, ServiceCenter

ON_MARKET = (Listing.status == Status.APPROVED) & (Listing.left_milli > 0)


class NotEnoughLeft(DomainError):
    def __init__(self, left_milli: int):
        super().__init__(f"only {format_milli(left_milli)} left")
        self.left_milli = left_milli


class OwnListing(DomainError):
    """A seller cannot buy their own produce."""


@dataclass(frozen=True, slots=True)
class ListingsPage:
    listings: list[ListingView]
    page: int
    pages: int


async def _page(store: Store, where, page: int) -> ListingsPage:
    async with store.read() as session:
        query = select(Listing.id).join(ServiceCenter, ServiceCenter.id == Listing.center_id).where(ON_MARKET, where)
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        ids = (await session.scalars(query.order_by(Listing.approved_at.desc(), Listing.id.desc())
                                     .offset(page * PAGE_SIZE).limit(PAGE_SIZE))).all()
        return ListingsPage(await load_listing_views(session, list(ids)), page, pages)


async def by_category(store: Store, category: str, page: int = 0) -> ListingsPage:
    return await _page(store, Listing.category == category, page)


async def by_county(store: Store, county_id: int, page: int = 0) -> ListingsPage:
    return await _page(store, ServiceCenter.county_id == county_id, page)


async def categories(store: Store) -> list[tuple[str, int]]:
    """Categories with listings on the market, and how many."""
    async with store.read() as session:
        rows = await session.execute(select(Listing.category, func.count(Listing.id)).where(ON_MARKET)
                                     .group_by(Listing.category).order_by(Listing.category))
        return [tuple(r) for r in rows]


async def counties(store: Store) -> list[tuple[int, dict, int]]:
    """Counties with listings on the market: (id, names, how many)."""
    async with store.read() as session:
        rows = await session.execute(
            select(County.id, County.names, func.count(Listing.id))
            .join(ServiceCenter, ServiceCenter.county_id == County.id)
            .join(Listing, Listing.center_id == ServiceCenter.id).where(ON_MARKET)
            .group_by(County.id).order_by(County.id))  # names depend on the key (JSON has no equality on PostgreSQL)
        return [tuple(r) for r in rows]


async def on_market(store: Store, listing_id: int) -> ListingView:
    """A listing buyers may see; NotFound if it is not on the market (any more)."""
    async with store.read() as session:
        views = await load_listing_views(session, [listing_id])
    if not views or not views[0].is_on_market:
        raise NotFound("listing")
    return views[0]


class MarketSearch(LiveIndex):
    """The catalog's search engine over the market's listings: typos, pinyin and Chinese words.

    The index holds every listing ever approved (title, category and village names) and is
    rebuilt when one is approved (a ``LiveIndex``, as the catalog's); whether a hit is still on the
    market is read from the store.
    """

    effect = MARKET_CHANGED
    _APPROVED = Listing.approved_at.is_not(None)

    async def _current_version(self) -> tuple:
        async with self._store.read() as session:
            return tuple((await session.execute(
                select(func.count(Listing.id), func.max(Listing.approved_at)).where(self._APPROVED))).one())

    async def _documents(self) -> list[SearchDoc]:
        async with self._store.read() as session:
            rows = (await session.execute(
                select(Listing.id, Listing.title, Listing.category, ServiceCenter.names)
                .join(ServiceCenter, ServiceCenter.id == Listing.center_id).where(self._APPROVED))).all()
        return [SearchDoc(id=i, names={"title": title}, keywords=list(names.values()),
                          extra=category_words(category, "produce_category")) for i, title, category, names in rows]

    async def search(self, query: str, limit: int = PAGE_SIZE) -> list[ListingView]:
        await self.refresh(force=False)
        hits = await asyncio.to_thread(self._index.search, query.strip()[:100], limit * 3)
        async with self._store.read() as session:
            views = await load_listing_views(session, [hit.doc_id for hit in hits])
        return [view for view in views if view.is_on_market][:limit]


async def order_listing(store: Store, clock: Clock, buyer_id: int, listing_id: int, quantity_milli: int,
                        center_id: int, token: str, assisted_by_id: int | None = None,
                        caps: Caps = CAPS) -> PlacedOrder:
    """Order produce for pickup at ``center_id``. ``token`` is the one the confirmation was shown
    with: a second tap returns the order already placed. A buyer with ``caps.pending_orders``
    orders still pending is refused (``TooManyPendingOrders``)."""
    return await placed_once(store, buyer_id, token, _order_listing(store, clock, buyer_id, listing_id, quantity_milli,
                                                                     center_id, token, assisted_by_id, caps))


async def _order_listing(store: Store, clock: Clock, buyer_id: int, listing_id: int, quantity_milli: int,
                         center_id: int, token: str, assisted_by_id: int | None, caps: Caps) -> PlacedOrder:
    now = clock.now()
    async with store.write() as session:
        if (placed := await begin_order(session, buyer_id, token, caps)) is not None:
            return placed
        center = await session.get(ServiceCenter, center_id)
        if center is None or not center.is_active:
            raise NotFound("center")
        listing = await take_listing(session, buyer_id, listing_id, quantity_milli, now)
        order = Order(number=await unused_order_number(session), villager_id=buyer_id, center_id=center_id,
                      seller_center_id=listing.center_id,
                      status=OrderStatus.PENDING, total_fen=line_total_fen(listing.price_fen, quantity_milli),
                      payment_method="cash_on_pickup", checkout_token=token, created_at=now, updated_at=now,
                      assisted_by_id=assisted_by_id)
        order.lines = [listing_line(listing, quantity_milli)]
        order.events = [OrderEvent(status=OrderStatus.PENDING, at=now, actor_id=assisted_by_id or buyer_id)]
        session.add(order)
        await session.flush()
        await outbox.enqueue(session, Kind.CARD, due_at=now, order_id=order.id)
        await tell_seller(session, listing, now, "sold", order_id=order.id)
        await close_if_sold_out(session, listing, now)
        return PlacedOrder(await load_order_view(session, order.id), already_placed=False)


async def take_listing(session: AsyncSession, buyer_id: int, listing_id: int, quantity_milli: int,
                       now: datetime) -> Listing:
    """Take ``quantity_milli`` from a listing on the market for ``buyer_id``, in the caller's
    transaction: NotEnoughLeft, NotFound or OwnListing when it cannot be."""
    listing = await session.get(Listing, listing_id)
    if listing is not None and listing.status == Status.SOLD_OUT:
        raise NotEnoughLeft(0)  # a buyer who lost the race hears so, whether or not it had closed yet
    if listing is None or listing.status != Status.APPROVED:
        raise NotFound("listing")
    if listing.seller_id == buyer_id:
        raise OwnListing()
    if quantity_milli <= 0:
        raise NotEnoughLeft(listing.left_milli)
    check_whole(listing.unit, quantity_milli)
    # Check and take in one statement: the row lock (PostgreSQL) or the write lock (SQLite)
    # makes it atomic, so racing buyers can never take more than is left.
    taken = await session.execute(
        update(Listing)
        .where(Listing.id == listing_id, Listing.status == Status.APPROVED, Listing.left_milli >= quantity_milli)
        .values(left_milli=Listing.left_milli - quantity_milli, updated_at=now)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise NotEnoughLeft(await session.scalar(select(Listing.left_milli).where(Listing.id == listing_id)))
    await session.refresh(listing)
    return listing


def listing_line(listing: Listing, quantity_milli: int) -> OrderLine:
    """An order's line for produce, as it was sold."""
    return OrderLine(listing_id=listing.id, sku=f"L{listing.id}", names={"title": listing.title}, unit=listing.unit,
                     price_fen=listing.price_fen, quantity=None, quantity_milli=quantity_milli)


async def close_if_sold_out(session: AsyncSession, listing: Listing, now: datetime) -> None:
    """A listing with nothing left is sold out: its seller hears so and its card says so."""
    if listing.left_milli == 0:
        listing.status = Status.SOLD_OUT
        await tell_seller(session, listing, now, "sold_out")
        await refresh_card(session, listing, now)


async def unused_order_number(session: AsyncSession) -> str:
    number = new_order_number()
    while await session.scalar(select(Order.id).where(Order.number == number)) is not None:
        number = new_order_number()
    return number


async def newest(store: Store, offset: int = 0, limit: int = PAGE_SIZE) -> list[ListingView]:
    """The listings on the market, the last approved first (reads only: inline mode asks this for
    every keystroke)."""
    async with store.read() as session:
        ids = (await session.scalars(select(Listing.id).where(ON_MARKET)
                                     .order_by(Listing.approved_at.desc(), Listing.id.desc())
                                     .offset(max(offset, 0)).limit(limit))).all()
        return await load_listing_views(session, list(ids))
