"""Produce for the tests: desks with partners, published and approved listings, sellers, review cards."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from chat import body, center_id, settle_in, villager_id
from services import produce, reviews, villagers
from services.partners import add_partner
from services.produce import Step
from store.models import Listing
from support.desk import ADMIN

SHANGYUAN = "Shangyuan Village Service Center"
SELLER_DESK, BUYER_DESK = -100123, -100456


async def desks(bot):
    """Lao Zhang runs Shangyuan (CG-01), the seller's center, whose group has a bystander;
    Lao Li runs Qinglong (CG-02), where the buyer picks up."""
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 501)
    await add_partner(bot.store, bot.clock, ADMIN, "CG-02", 503)
    zhang = bot.person(501, "Lao Zhang", language_code="en")
    bystander = bot.person(502, "Xiao Li", language_code="en")
    li = bot.person(503, "Lao Li", language_code="en")
    seller_group = bot.double.group(SELLER_DESK, "Shangyuan desk")
    seller_group.add_member(bystander)
    await bot.double.add_bot_to_group(seller_group, by=zhang)
    await zhang.send("/bind CG-01", chat=seller_group)
    buyer_group = bot.double.group(BUYER_DESK, "Qinglong desk")
    await bot.double.add_bot_to_group(buyer_group, by=li)
    await li.send("/bind CG-02", chat=buyer_group)
    return zhang, bystander, li, seller_group, buyer_group


async def published_listing(bot, seller, *, photo: str | None = None, quantity: int = 20_000) -> int:
    """Honey the seller has finished and published (the steps themselves are the /sell tests')."""
    me = await registered(bot, seller)
    draft = await produce.start_draft(bot.store, bot.clock, me.id)
    await produce.choose_common(bot.store, bot.clock, me.id, draft.id, "Mountain honey", "honey")
    for step, value in ((Step.PHOTO, photo), (Step.UNIT, "jin"), (Step.QUANTITY, quantity), (Step.PRICE, 4500),
                        (Step.AVAILABLE, bot.clock.now().date()), (Step.NOTE, "From our own hives")):
        await produce.fill(bot.store, bot.clock, me.id, draft.id, step, value)
    await produce.publish(bot.store, bot.clock, me.id, draft.id)
    await bot.pump()
    return draft.id


async def registered(bot, person):
    """The villager the bot registered for someone who has talked to it."""
    return await villagers.enter(bot.store, bot.clock, telegram_id=person.id, first_name=person.first_name,
                                 username=None, locale="en")


def review_cards(group, title: str) -> list:
    return [m for m in group.bot_messages() if not m.deleted and body(m).startswith("🌾 Produce to review")
            and title in body(m)]


def review_card(group, title: str):
    """The latest review card of a listing (each review has its own)."""
    cards = review_cards(group, title)
    assert cards, f"no review card for {title}"
    return cards[-1]


async def listing_status(store, listing_id: int) -> str:
    async with store.read() as session:
        return await session.scalar(select(Listing.status).where(Listing.id == listing_id))




async def list_produce(store, clock, seller_id: int, title: str, category: str = "fruit", unit: str = "jin",
                       quantity_milli: int = 300_000, price_fen: int = 600, *, photo: str | None = None,
                       note: str = "", available: date = date(2026, 11, 20), approve: bool = True) -> int:
    """A listing made, published and (unless told not to) approved, through the services."""
    draft = await produce.start_draft(store, clock, seller_id)
    for step, value in ((Step.TITLE, title), (Step.CATEGORY, category), (Step.PHOTO, photo), (Step.UNIT, unit),
                        (Step.QUANTITY, quantity_milli), (Step.PRICE, price_fen), (Step.AVAILABLE, available),
                        (Step.NOTE, note)):
        await produce.fill(store, clock, seller_id, draft.id, step, value)
    await produce.preview(store, clock, seller_id, draft.id)
    await produce.publish(store, clock, seller_id, draft.id)
    if approve:
        await reviews.review(store, clock, ADMIN, draft.id, approve=True)
    return draft.id


async def a_seller(bot, telegram_id: int = 2001, name: str = "Li Ming", village: str = "Shangyuan"):
    seller = bot.person(telegram_id, name, language_code="en", username="liming_secret")
    await settle_in(seller, village=village)
    return seller, await villager_id(bot.store, telegram_id)


async def person(store, clock, telegram_id: int, center: str | None = "CG-01") -> int:
    found = await villagers.enter(store, clock, telegram_id=telegram_id, first_name=f"Seller {telegram_id}",
                                  username=None, locale="en")
    if center:
        await villagers.set_center(store, found.id, await center_id(store, center))
    return found.id


async def approved_listing(store, clock, seller_id: int, *, quantity: int = 10_000, price: int = 600) -> int:
    """10 jin of apples at ¥6.00, approved by an admin."""
    draft = await produce.start_draft(store, clock, seller_id)
    await produce.choose_common(store, clock, seller_id, draft.id, "Apples", "fruit")
    for step, value in ((Step.PHOTO, None), (Step.UNIT, "jin"), (Step.QUANTITY, quantity), (Step.PRICE, price),
                        (Step.AVAILABLE, clock.now().date()), (Step.NOTE, "")):
        await produce.fill(store, clock, seller_id, draft.id, step, value)
    await produce.publish(store, clock, seller_id, draft.id)
    await reviews.review(store, clock, ADMIN, draft.id, approve=True)
    return draft.id
