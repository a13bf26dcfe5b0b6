"""Buyers' reviews without Telegram, on SQLite and PostgreSQL: the pickup queues one question per
produce line, once; only the buyer rates, once, with 1 to 5 stars; a text is checked; only the
seller's center's partners (and admins) hide, once; the stars and the seller's page count only
what is visible."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chat import center_id
from services import desks, market, parcels, ratings, sellers
from services.errors import AlreadyDone, NotYours
from services.outbox import Kind
from services.partners import Actor, NotPartner, add_partner
from store.models import BuyerReview
from support.desk import ADMIN
from support.produce import approved_listing, person
from support.store import outbox_rows

SELLER_PARTNER = Actor(501, "Lao Zhang")  # CG-01, the seller's center
BUYER_PARTNER = Actor(502, "Lao Li")  # CG-02, the buyer's center


async def picked_up(store, clock) -> tuple[int, int, int, int]:
    """(seller, buyer, listing, order id): 2.5 jin of apples bought and picked up at CG-02."""
    await add_partner(store, clock, ADMIN, "CG-01", SELLER_PARTNER.telegram_id)
    await add_partner(store, clock, ADMIN, "CG-02", BUYER_PARTNER.telegram_id)
    seller = await person(store, clock, 1)
    buyer = await person(store, clock, 2, center="CG-02")
    listing = await approved_listing(store, clock, seller)
    buyer_center = await center_id(store, "CG-02")
    order = (await market.order_listing(store, clock, buyer, listing, 2500, buyer_center, "tok-1")).order
    await desks.decide(store, clock, SELLER_PARTNER, order.id, confirm=True)
    await parcels.move_center_batch(store, clock, ADMIN, "CG-02", parcels.S.CONFIRMED, parcels.S.IN_TRANSIT)
    await parcels.arrive(store, clock, BUYER_PARTNER, order.id)
    code = (await desks.card_view(store, order.id)).order.pickup_code
    await parcels.pickup(store, clock, BUYER_PARTNER, buyer_center, code)
    return seller, buyer, listing, order.id


async def test_one_question_per_line_and_one_review_by_the_buyer_only(demo_store, clock):
    seller, buyer, listing, order_id = await picked_up(demo_store, clock)
    (asked,) = await outbox_rows(demo_store, Kind.RATE)
    assert asked.villager_id == buyer and asked.due_at == clock.now() + ratings.ASK_AFTER
    async with demo_store.read() as session:
        (review,) = (await session.scalars(select(BuyerReview))).all()
    assert (review.listing_id, review.seller_id, review.buyer_id, review.stars) == (listing, seller, buyer, None)

    question = await ratings.take_question(demo_store, clock, asked.payload["line_id"])
    assert question.review_id == review.id and question.title == "Apples"
    for stars in (0, 6, -1):
        with pytest.raises(ratings.BadStars):
            await ratings.rate(demo_store, clock, buyer, review.id, stars)
    with pytest.raises(NotYours):
        await ratings.rate(demo_store, clock, seller, review.id, 5)
    with pytest.raises(NotYours):
        await ratings.rate(demo_store, clock, buyer, review.id + 1, 5)
    assert await ratings.rate(demo_store, clock, buyer, review.id, 3) == 3
    with pytest.raises(AlreadyDone):
        await ratings.rate(demo_store, clock, buyer, review.id, 5)
    assert await ratings.take_question(demo_store, clock, asked.payload["line_id"]) is None  # answered
    with pytest.raises(ratings.BadText):
        await ratings.add_text(demo_store, clock, buyer, review.id, "   ")
    with pytest.raises(ratings.BadText):
        await ratings.add_text(demo_store, clock, buyer, review.id, "a" * (ratings.MAX_TEXT + 1))
    await ratings.add_text(demo_store, clock, buyer, review.id, "  Crisp   and sweet ")
    with pytest.raises(AlreadyDone):
        await ratings.add_text(demo_store, clock, buyer, review.id, "again")

    rating = await ratings.listing_rating(demo_store, listing)
    assert (rating.average, rating.count, [s.text for s in rating.recent]) == (3.0, 1, ["Crisp and sweet"])
    page = await sellers.seller_page(demo_store, seller)
    assert (page.orders_sold, page.sold_milli, page.rating.count) == (1, {"jin": 2500}, 1)
    assert await sellers.seller_page(demo_store, buyer) is None  # buys, sells nothing

    with pytest.raises(NotPartner):
        await ratings.hide(demo_store, clock, BUYER_PARTNER, review.id, "abusive")
    assert await ratings.hide(demo_store, clock, SELLER_PARTNER, review.id, "abusive") == ratings.HIDDEN
    with pytest.raises(AlreadyDone):
        await ratings.hide(demo_store, clock, ADMIN, review.id, "personal")
    rating = await ratings.listing_rating(demo_store, listing)
    assert (rating.count, rating.recent) == (0, [])
    async with demo_store.read() as session:
        kept = await session.get(BuyerReview, review.id)
    assert (kept.stars, kept.text, kept.hidden_reason) == (3, "Crisp and sweet", "abusive")


def test_a_seller_link_is_s_and_digits():
    assert sellers.seller_id_of("s-12") == 12
    assert [sellers.seller_id_of(p) for p in ("s-", "s-x", "l-12", "s-1234567890", "p-FD-001")] == [None] * 5
