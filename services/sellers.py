"""A seller's page (👤 Seller on a listing, or the link t.me/<bot>?start=s-<id>): their first name
and village, their produce on the market, how much they have sold, and their buyers' stars
(services/ratings.py). A seller is a villager with a listing that was ever approved; a person who
used /forget has no page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from services.listings import ListingView, first_name_only, load_listing_views
from services.market import ON_MARKET
from services.ratings import RECEIVED, Rating, rating_of
from store.db import Store
from store.models import Listing, Order, OrderLine, ServiceCenter, Villager

LISTINGS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class SellerPage:
    seller_id: int
    name: str  # the first name only
    village_names: dict  # their center's name, by language
    listings: list[ListingView]  # on the market now
    orders_sold: int  # orders of their produce the buyers received
    sold_milli: dict[str, int]  # unit -> thousandths of it, in those orders
    rating: Rating


def seller_id_of(payload: str) -> int | None:
    """The seller's villager id in a deep link's payload "s-12"; None for anything else."""
    prefix, _, rest = payload.partition("-")
    return int(rest) if prefix == "s" and rest.isdigit() and len(rest) <= 9 else None


async def seller_page(store: Store, seller_id: int) -> SellerPage | None:
    async with store.read() as session:
        seller = await session.get(Villager, seller_id)
        if seller is None or seller.telegram_id is None or not await session.scalar(
                select(Listing.id).where(Listing.seller_id == seller_id, Listing.approved_at.is_not(None)).limit(1)):
            return None
        center_id = seller.center_id or await session.scalar(
            select(Listing.center_id).where(Listing.seller_id == seller_id).order_by(Listing.id.desc()).limit(1))
        village = await session.scalar(select(ServiceCenter.names).where(ServiceCenter.id == center_id))
        ids = (await session.scalars(select(Listing.id).where(Listing.seller_id == seller_id, ON_MARKET)
                                     .order_by(Listing.approved_at.desc(), Listing.id.desc())
                                     .limit(LISTINGS_SHOWN))).all()
        received = (select(OrderLine.order_id, OrderLine.quantity_milli, Listing.unit)
                    .join(Listing, Listing.id == OrderLine.listing_id).join(Order, Order.id == OrderLine.order_id)
                    .where(Listing.seller_id == seller_id, Order.status.in_([str(s) for s in RECEIVED])))
        orders = await session.scalar(select(func.count(func.distinct(received.subquery().c.order_id))))
        sold: dict[str, int] = {}
        for _, milli, unit in (await session.execute(received)).all():
            sold[unit] = sold.get(unit, 0) + (milli or 0)
        return SellerPage(seller_id, first_name_only(seller.first_name), dict(village or {}),
                          await load_listing_views(session, list(ids)), int(orders or 0), sold,
                          await rating_of(session, seller_id=seller_id))
