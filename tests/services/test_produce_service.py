"""Produce listings and market orders, on SQLite and PostgreSQL, without Telegram: the draft's
steps, review, edits, how a produce order moves between the seller's and the buyer's centers,
and what amounts people type."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from chat import center_id
from services import desks, market, parcels, produce, reviews, villagers
from services.amounts import BadAmount, BadDate, format_milli, line_total_fen, parse_date, parse_price, parse_quantity
from services.errors import AlreadyDone, NoCenterChosen, NotAllowed, NotFound
from services.outbox import Kind
from services.partners import Actor, NotPartner, add_partner
from services.produce import BadInput, Incomplete, ReviewTooSoon, Status, Step
from store.models import Listing
from support.desk import ADMIN
from support.produce import approved_listing, person
from support.store import outbox_rows

SELLER_PARTNER = Actor(501, "Lao Zhang")  # partner of CG-01, the seller's center
BUYER_PARTNER = Actor(502, "Lao Li")  # partner of CG-02, the buyer's center


async def test_a_draft_moves_step_by_step_goes_back_and_survives_as_it_is(demo_store, clock):
    seller = await person(demo_store, clock, 1)
    draft = await produce.start_draft(demo_store, clock, seller)
    assert draft.step == Step.TITLE and draft.status == Status.DRAFT
    assert (await produce.start_draft(demo_store, clock, seller)).id == draft.id  # one draft at a time

    draft = await produce.fill(demo_store, clock, seller, draft.id, Step.TITLE, "  红富士   苹果 ")
    assert (draft.title, draft.step) == ("红富士 苹果", Step.CATEGORY)
    draft = await produce.fill(demo_store, clock, seller, draft.id, Step.CATEGORY, "fruit")
    draft = await produce.fill(demo_store, clock, seller, draft.id, Step.PHOTO, "photo-file-id")
    draft = await produce.fill(demo_store, clock, seller, draft.id, Step.UNIT, "kg")
    draft = await produce.fill(demo_store, clock, seller, draft.id, Step.QUANTITY, 3000, unit="jin")
    assert (draft.unit, draft.left_milli, draft.step) == ("jin", 3000, Step.PRICE)  # "3斤" switched the unit
    draft = await produce.go_to(demo_store, clock, seller, draft.id)
    assert draft.step == Step.QUANTITY and draft.left_milli == 3000  # back keeps the answer

    assert (await produce.current_draft(demo_store, seller)).step == Step.QUANTITY  # read afresh from the store
    with pytest.raises(Incomplete) as refused:
        await produce.publish(demo_store, clock, seller, draft.id)
    assert refused.value.step == Step.PRICE  # the first answer still missing
    assert (await produce.current_draft(demo_store, seller)).status == Status.DRAFT


async def test_bad_values_are_refused_and_change_nothing(demo_store, clock):
    seller = await person(demo_store, clock, 1)
    draft = await produce.start_draft(demo_store, clock, seller)
    for step, value, reason in ((Step.TITLE, "x", "too_short"), (Step.TITLE, "x" * 61, "too_long"),
                                (Step.CATEGORY, "weapons", "unknown"), (Step.UNIT, "litre", "unknown"),
                                (Step.NOTE, "n" * 201, "too_long")):
        with pytest.raises(BadInput) as refused:
            await produce.fill(demo_store, clock, seller, draft.id, step, value)
        assert refused.value.reason == reason
    with pytest.raises(BadDate):
        await produce.fill(demo_store, clock, seller, draft.id, Step.AVAILABLE, clock.now().date() - timedelta(days=1))
    again = await produce.current_draft(demo_store, seller)
    assert (again.title, again.category, again.unit, again.step) == ("", "", "", Step.TITLE)


async def test_selling_needs_a_center_and_a_draft_can_be_discarded(demo_store, clock):
    homeless = await person(demo_store, clock, 2, center=None)
    with pytest.raises(NoCenterChosen):
        await produce.start_draft(demo_store, clock, homeless)
    seller = await person(demo_store, clock, 1)
    draft = await produce.start_draft(demo_store, clock, seller)
    with pytest.raises(NotFound):
        await produce.discard_draft(demo_store, homeless, draft.id)  # not theirs
    await produce.discard_draft(demo_store, seller, draft.id)
    assert await produce.current_draft(demo_store, seller) is None


async def test_only_the_sellers_partner_reviews_and_the_seller_is_told(demo_store, clock):
    await add_partner(demo_store, clock, ADMIN, "CG-01", SELLER_PARTNER.telegram_id)
    await villagers.enter(demo_store, clock, telegram_id=SELLER_PARTNER.telegram_id, first_name="Lao Zhang",
                          username=None, locale="en")
    await add_partner(demo_store, clock, ADMIN, "CG-02", BUYER_PARTNER.telegram_id)
    seller = await person(demo_store, clock, 1)
    draft = await produce.start_draft(demo_store, clock, seller)
    await produce.choose_common(demo_store, clock, seller, draft.id, "Eggs", "eggs_poultry")
    for step, value in ((Step.PHOTO, None), (Step.UNIT, "dozen"), (Step.QUANTITY, 5000), (Step.PRICE, 1500),
                        (Step.AVAILABLE, clock.now().date()), (Step.NOTE, "free range")):
        await produce.fill(demo_store, clock, seller, draft.id, step, value)
    published = await produce.publish(demo_store, clock, seller, draft.id)
    assert published.status == Status.REVIEW
    assert (await produce.publish(demo_store, clock, seller, draft.id)).status == Status.REVIEW  # twice: one review
    assert [row.payload for row in await outbox_rows(demo_store, Kind.LISTING_CARD)] == [{"listing_id": draft.id}]
    assert await reviews.in_review(demo_store, await center_id(demo_store, "CG-01")) == [(draft.id, "Eggs")]

    with pytest.raises(NotPartner):
        await reviews.review(demo_store, clock, BUYER_PARTNER, draft.id, approve=True)
    rejected = await reviews.review(demo_store, clock, SELLER_PARTNER, draft.id, approve=False, reason="photo")
    assert (rejected.status, rejected.reject_reason) == (Status.REJECTED, "photo")
    with pytest.raises(AlreadyDone):
        await reviews.review(demo_store, clock, SELLER_PARTNER, draft.id, approve=False)
    notices = [row.payload for row in await outbox_rows(demo_store, Kind.SELLER)]
    assert notices == [{"event": "rejected", "listing_id": draft.id, "reason": "photo"}]

    edited = await produce.edit(demo_store, clock, seller, draft.id, Step.PHOTO, "a-clear-photo")
    assert edited.to_review and edited.listing.status == Status.REVIEW  # a rejected listing changed: reviewed again
    approved = await reviews.review(demo_store, clock, SELLER_PARTNER, draft.id, approve=True)
    assert approved.status == Status.APPROVED and approved.is_on_market and approved.reviewer == "Lao Zhang"


async def test_a_higher_price_or_quantity_goes_back_to_review_a_lower_one_does_not(demo_store, clock):
    seller = await person(demo_store, clock, 1)
    listing = await approved_listing(demo_store, clock, seller)
    lower = await produce.edit(demo_store, clock, seller, listing, Step.PRICE, 500)
    assert not lower.to_review and lower.listing.status == Status.APPROVED and lower.listing.price_fen == 500
    fewer = await produce.edit(demo_store, clock, seller, listing, Step.QUANTITY, 4000)
    assert not fewer.to_review and fewer.listing.left_milli == 4000
    higher = await produce.edit(demo_store, clock, seller, listing, Step.PRICE, 900)
    assert higher.to_review and higher.listing.status == Status.REVIEW and not higher.listing.is_on_market
    await reviews.review(demo_store, clock, ADMIN, listing, approve=True)
    # Back to review at most once an hour (REVIEW_AGAIN_MINUTES): each time is a new card on the desk.
    clock.advance(timedelta(minutes=59))
    with pytest.raises(ReviewTooSoon) as refused:
        await produce.edit(demo_store, clock, seller, listing, Step.QUANTITY, 8000)
    assert refused.value.again_at == clock.now() + timedelta(minutes=1)
    assert (await produce.my_listing(demo_store, seller, listing)).left_milli == 4000  # nothing changed
    clock.advance(timedelta(minutes=1))
    more = await produce.edit(demo_store, clock, seller, listing, Step.QUANTITY, 8000)
    assert more.to_review
    with pytest.raises(BadInput):
        await produce.edit(demo_store, clock, seller, listing, Step.TITLE, "Pears")  # not editable once published
    with pytest.raises(NotFound):
        await produce.edit(demo_store, clock, await person(demo_store, clock, 2), listing, Step.PRICE, 1)


async def test_pause_resume_and_withdraw(demo_store, clock):
    seller = await person(demo_store, clock, 1)
    listing = await approved_listing(demo_store, clock, seller)
    assert (await produce.pause(demo_store, clock, seller, listing, paused=True)).status == Status.PAUSED
    with pytest.raises(NotFound):
        await market.on_market(demo_store, listing)
    with pytest.raises(NotAllowed):
        await produce.pause(demo_store, clock, seller, listing, paused=True)
    assert (await produce.pause(demo_store, clock, seller, listing, paused=False)).is_on_market
    assert (await produce.withdraw(demo_store, clock, seller, listing)).status == Status.WITHDRAWN
    assert await produce.my_listings(demo_store, seller) == []
    with pytest.raises(NotAllowed):
        await produce.withdraw(demo_store, clock, seller, listing)


async def test_a_produce_order_is_decided_by_the_sellers_center_and_received_by_the_buyers(demo_store, clock):
    await add_partner(demo_store, clock, ADMIN, "CG-01", SELLER_PARTNER.telegram_id)
    await add_partner(demo_store, clock, ADMIN, "CG-02", BUYER_PARTNER.telegram_id)
    seller = await person(demo_store, clock, 1)
    buyer = await person(demo_store, clock, 2, center="CG-02")
    listing = await approved_listing(demo_store, clock, seller)
    buyer_center = await center_id(demo_store, "CG-02")

    placed = await market.order_listing(demo_store, clock, buyer, listing, 2500, buyer_center, "tok-1")
    order = placed.order
    assert (order.center_id, order.seller_center_id) == (buyer_center, await center_id(demo_store, "CG-01"))
    assert order.total_fen == 1500 and order.lines[0].quantity == "2.5"
    assert (await market.order_listing(demo_store, clock, buyer, listing, 2500, buyer_center, "tok-1")).already_placed
    assert (await produce.listing_view(demo_store, listing)).left_milli == 7500
    # No group is bound: the card goes to the seller's partner, who decides, then to the buyer's.
    assert [d.chat_id for d in await desks.card_destinations(demo_store, order.id)] == [501, 502]
    assert await desks.pending(demo_store, await center_id(demo_store, "CG-01")) != []
    assert await desks.pending(demo_store, buyer_center) == []

    with pytest.raises(NotPartner):
        await desks.decide(demo_store, clock, BUYER_PARTNER, order.id, confirm=True)
    await desks.decide(demo_store, clock, SELLER_PARTNER, order.id, confirm=True)
    await parcels.move_center_batch(demo_store, clock, ADMIN, "CG-02", parcels.S.CONFIRMED, parcels.S.IN_TRANSIT)
    with pytest.raises(NotPartner):
        await parcels.arrive(demo_store, clock, SELLER_PARTNER, order.id)
    await parcels.arrive(demo_store, clock, BUYER_PARTNER, order.id)
    code = (await desks.card_view(demo_store, order.id)).order.pickup_code
    await parcels.pickup(demo_store, clock, BUYER_PARTNER, buyer_center, code)

    events = [row.payload["event"] for row in await outbox_rows(demo_store, Kind.SELLER)]
    assert events == ["approved", "sold", "earned"]
    mine = (await produce.my_listings(demo_store, seller))[0]
    assert (mine.sold_milli, mine.earned_fen, mine.left_milli) == (2500, 1500, 7500)


async def test_the_last_units_close_the_listing_and_a_rejection_reopens_it(demo_store, clock):
    seller = await person(demo_store, clock, 1)
    buyer = await person(demo_store, clock, 2)
    listing = await approved_listing(demo_store, clock, seller, quantity=3000)
    here = await center_id(demo_store, "CG-01")
    with pytest.raises(market.OwnListing):
        await market.order_listing(demo_store, clock, seller, listing, 1000, here, "own")
    with pytest.raises(market.NotEnoughLeft) as short:
        await market.order_listing(demo_store, clock, buyer, listing, 3500, here, "too-much")
    assert short.value.left_milli == 3000
    last = await market.order_listing(demo_store, clock, buyer, listing, 3000, here, "all")
    assert (await produce.listing_view(demo_store, listing)).status == Status.SOLD_OUT
    assert [row.payload["event"] for row in await outbox_rows(demo_store, Kind.SELLER)][-2:] == ["sold", "sold_out"]
    with pytest.raises(market.NotEnoughLeft) as late:
        await market.order_listing(demo_store, clock, buyer, listing, 1000, here, "late")
    assert late.value.left_milli == 0

    await desks.decide(demo_store, clock, ADMIN, last.order.id, confirm=False, reason="cannot_deliver")
    reopened = await produce.listing_view(demo_store, listing)
    assert (reopened.status, reopened.left_milli, reopened.sold_milli) == (Status.APPROVED, 3000, 0)


async def test_the_market_lists_and_finds_only_what_is_on_it(demo_store, clock):
    seller = await person(demo_store, clock, 1)
    on_market = await approved_listing(demo_store, clock, seller)
    other = await person(demo_store, clock, 3)
    paused = await approved_listing(demo_store, clock, other)
    await produce.pause(demo_store, clock, other, paused, paused=True)
    page = await market.by_category(demo_store, "fruit")
    assert [listing.id for listing in page.listings] == [on_market]
    assert await market.categories(demo_store) == [("fruit", 1)]
    found = await market.MarketSearch(demo_store).search("apples")
    assert [listing.id for listing in found] == [on_market]
    async with demo_store.read() as session:
        assert await session.scalar(select(Listing.status).where(Listing.id == paused)) == Status.PAUSED


@pytest.mark.parametrize("typed, unit, expected", [
    ("12.5", "kg", (12500, None)), ("12,5", "kg", (12500, None)), ("１２", "kg", (12000, None)),
    ("3斤", "kg", (3000, "jin")), ("3 kg", "jin", (3000, "kg")), ("1,200", "piece", (1_200_000, None)),
    ("0.125", "ton", (125, None)),
])
def test_quantities_are_read_as_people_type_them(typed, unit, expected):
    assert parse_quantity(typed, unit) == expected


@pytest.mark.parametrize("typed, unit, reason", [
    ("abc", "kg", "not_a_number"), ("-3", "kg", "not_positive"), ("0", "kg", "not_positive"),
    ("2.5", "piece", "whole_only"), ("1.0005", "kg", "too_precise"), ("2000000", "kg", "too_big"),
    ("3 litres", "kg", "not_a_number"), ("1,2,3", "kg", "not_a_number"),
])
def test_unreadable_quantities_say_why(typed, unit, reason):
    with pytest.raises(BadAmount) as refused:
        parse_quantity(typed, unit)
    assert refused.value.reason == reason


@pytest.mark.parametrize("typed, fen", [("12.5", 1250), ("12,5", 1250), ("¥12.5", 1250), ("12.5元", 1250),
                                        ("６元/斤", 600), ("0.01", 1)])
def test_prices_are_read_as_people_type_them(typed, fen):
    assert parse_price(typed, "jin") == fen


@pytest.mark.parametrize("typed, reason", [("1.234", "too_precise"), ("0", "not_positive"),
                                           ("200000", "too_big"), ("6元/kg", "other_unit"), ("cheap", "not_a_number")])
def test_unreadable_prices_say_why(typed, reason):
    with pytest.raises(BadAmount) as refused:
        parse_price(typed, "jin")
    assert refused.value.reason == reason


def test_dates_and_amounts_read_and_shown():
    today = date(2026, 11, 22)
    assert parse_date("12月1日", today) == date(2026, 12, 1)
    assert parse_date("3/15", today) == date(2027, 3, 15)  # no year: the next such day
    for typed, reason in (("2026-11-21", "past"), ("2028-01-01", "too_far"), ("13-45", "not_a_date"),
                          ("soon", "not_a_date")):
        with pytest.raises(BadDate) as refused:
            parse_date(typed, today)
        assert refused.value.reason == reason
    assert [format_milli(m) for m in (3000, 2500, 1250, 1)] == ["3", "2.5", "1.25", "0.001"]
    assert line_total_fen(333, 1500) == 500  # ¥3.33 × 1.5 = ¥4.995, rounded half up
