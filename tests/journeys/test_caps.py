"""What one person may ask of the others at once, played through the real Application and the Bot
API double on SQLite and PostgreSQL: a villager with five orders waiting, a partner ordering for a
walk-in villager who has as many, a seller with three listings in review, a listing sent back to
review twice within an hour, and the same search miss typed again and again. Each time the person
is told what to do instead, and the store is as it was. Two checkouts at once are played at the
service level in test_orders_service.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.config import SettingsError, load_settings
from chat import labels, last_text, settle_in, stock_of, texts, villager_id
from services import cart as carts
from services import orders, produce, reviews
from services.caps import Caps
from services.produce import Step
from store.models import Listing, Order, Product, SearchMiss, Villager
from support.desk import ADMIN, card_of, desk
from support.orders import rice_in_cart
from support.produce import a_seller, list_produce

RICE = "FD-001"
WAIT_OR_CANCEL = ("⏳ You already have 5 orders waiting for the center to confirm them. Please wait until one "
                  "is confirmed, or cancel one in 📦 My orders. No order was placed.")


async def place_pending(store, clock, shopper: int, count: int) -> list[str]:
    """``count`` pending orders of one bag of rice, placed as the checkout would."""
    async with store.read() as session:
        rice = await session.scalar(select(Product.id).where(Product.sku == RICE))
    numbers = []
    for _ in range(count):
        cart = await carts.add_to_cart(store, shopper, rice, 1)
        numbers.append((await orders.place_order(store, clock, shopper, cart.checkout_token)).order.number)
    return numbers


async def pending_of(store, shopper: int) -> list[str]:
    async with store.read() as session:
        return list(await session.scalars(select(Order.number).where(
            Order.villager_id == shopper, Order.status == "pending").order_by(Order.id)))


async def check_out(person) -> None:
    await person.send("/cart")
    await person.tap("Checkout")
    await person.tap("Confirm order")


async def test_a_villager_with_five_pending_orders_is_told_to_wait_or_cancel_one(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    shopper = await villager_id(bot.store, 1001)
    numbers = await place_pending(bot.store, bot.clock, shopper, 5)
    await rice_in_cart(wang)
    stock = await stock_of(bot.store, RICE)

    await check_out(wang)
    refused = wang.chat.last_bot_message()
    assert refused.text == WAIT_OR_CANCEL
    assert labels(refused) == ["📦 My orders", "🛍 Cart"]
    assert await pending_of(bot.store, shopper) == numbers
    assert await stock_of(bot.store, RICE) == stock
    assert len((await carts.get_cart(bot.store, shopper)).lines) == 1  # the cart is kept

    # Produce from the market is an order too.
    _, seller = await a_seller(bot)
    honey = await list_produce(bot.store, bot.clock, seller, "Mountain honey", "honey", quantity_milli=5000)
    await wang.send("/market honey")
    await wang.tap("Mountain honey")
    await wang.tap("🛒 Order")
    await wang.tap("2 jin")
    await wang.tap("✅ Confirm order")
    assert last_text(wang) == WAIT_OR_CANCEL
    assert labels(wang.chat.last_bot_message()) == ["📦 My orders", "⬅️ Back"]
    async with bot.store.read() as session:
        assert (await session.get(Listing, honey)).left_milli == 5000
    assert await pending_of(bot.store, shopper) == numbers

    # The way out: My orders, cancel one, and the checkout goes through.
    await wang.tap("📦 My orders")
    await wang.tap(numbers[0])
    await wang.tap("❌ Cancel order")
    await wang.tap("✅ Yes, cancel it")
    await wang.send("/cart")
    await wang.tap("Checkout")
    checkout = wang.chat.last_bot_message()
    confirm = next(b.callback_data for row in checkout.buttons for b in row if b.text == "✅ Confirm order")
    await wang.tap("✅ Confirm order")
    number = re.search(r"Order (RT-\w{5}) placed!", checkout.text).group(1)
    # A double tap at the cap: the order just placed, not a refusal.
    again = await wang.tap_data(confirm, checkout)
    assert again.show_alert and again.text == f"This order was already placed: {number}"
    assert await pending_of(bot.store, shopper) == numbers[1:] + [number]


async def test_a_partner_ordering_for_a_walk_in_villager_with_five_pending_orders_is_told(bot):
    partner, _, _, group = await desk(bot)
    await partner.send("/start")
    await partner.send("/orderfor Li Wei 13800138000")
    async with bot.store.read() as session:
        walk_in = await session.scalar(select(Villager.id).where(Villager.phone == "13800138000"))
    numbers = await place_pending(bot.store, bot.clock, walk_in, 5)
    await bot.pump()  # their cards reach the desk
    await rice_in_cart(partner)

    await check_out(partner)
    assert last_text(partner) == ("⏳ Li Wei already has 5 orders waiting for confirmation. Confirm or reject them "
                                  "at the desk first (/pending). No order was placed; their cart is kept.")
    assert await pending_of(bot.store, walk_in) == numbers

    await partner.tap("✅ Confirm", message=card_of(group, numbers[0]))
    await check_out(partner)
    assert "placed for Li Wei" in last_text(partner)
    assert len(await pending_of(bot.store, walk_in)) == 5


async def test_a_seller_with_three_listings_in_review_keeps_the_fourth_as_a_draft(bot):
    seller, seller_id = await a_seller(bot)
    waiting = [await list_produce(bot.store, bot.clock, seller_id, title, approve=False)
               for title in ("Apples", "Pears", "Plums")]
    draft = await produce.start_draft(bot.store, bot.clock, seller_id)
    for step, value in ((Step.TITLE, "Walnuts"), (Step.CATEGORY, "nuts"), (Step.PHOTO, None), (Step.UNIT, "jin"),
                        (Step.QUANTITY, 20_000), (Step.PRICE, 1800), (Step.AVAILABLE, bot.clock.now().date()),
                        (Step.NOTE, "")):
        await produce.fill(bot.store, bot.clock, seller_id, draft.id, step, value)

    await seller.send("/sell")
    await seller.tap("▶️ Continue")
    await seller.tap("📤 Publish")
    refused = last_text(seller)
    assert refused.startswith("⏳ You already have 3 listings waiting for your partner's review. Publish this one "
                              "when one of them has been reviewed; it is kept as it is.")
    assert "Walnuts" in refused and "📤 Publish" in labels(seller.chat.last_bot_message())
    async with bot.store.read() as session:
        assert (await session.get(Listing, draft.id)).status == "draft"
        assert await session.scalar(select(func.count(Listing.id)).where(Listing.status == "review")) == 3

    await reviews.review(bot.store, bot.clock, ADMIN, waiting[0], approve=True)
    await seller.tap("📤 Publish")
    assert any(text.startswith("📤 Walnuts is sent to your partner for review.") for text in texts(seller.chat))
    async with bot.store.read() as session:
        assert (await session.get(Listing, draft.id)).status == "review"


async def test_a_listing_goes_back_to_review_at_most_once_an_hour(bot):
    seller, seller_id = await a_seller(bot)
    apples = await list_produce(bot.store, bot.clock, seller_id, "Apples")  # ¥6.00 a jin, approved at 10:00
    await bot.pump()  # the seller hears it is approved

    async def new_price(price: str) -> str:
        await seller.send("/mylistings")
        await seller.tap("Apples")
        await seller.tap("💰 Price")
        await seller.send(price)
        return last_text(seller)

    assert "needs your partner's review again" in await new_price("7")
    await reviews.review(bot.store, bot.clock, ADMIN, apples, approve=True)
    await bot.pump()
    bot.clock.advance(timedelta(minutes=20))

    refused = await new_price("8")
    # Shangyuan's center keeps Beijing time: the first went back at 10:00, so 11:00 there.
    assert refused.startswith("⏳ This listing went back to review a short while ago. You can send it to review "
                              "again from 11-11 11:00; nothing was changed.")
    async with bot.store.read() as session:
        listing = await session.get(Listing, apples)
    assert (listing.status, listing.price_fen) == ("approved", 700)

    assert "✅ Saved." in await new_price("6.5")  # a lower price needs no review
    bot.clock.advance(timedelta(minutes=40))
    assert "needs your partner's review again" in await new_price("8")
    async with bot.store.read() as session:
        listing = await session.get(Listing, apples)
    assert (listing.status, listing.price_fen) == ("review", 800)


async def test_the_same_search_miss_from_one_person_is_recorded_once_a_day(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    li = bot.person(1002, "Li", language_code="en")
    await settle_in(wang)
    await settle_in(li)

    async def misses() -> list[tuple[str, int]]:
        async with bot.store.read() as session:
            return [tuple(row) for row in await session.execute(
                select(SearchMiss.query, Villager.telegram_id).join(Villager).order_by(SearchMiss.id))]

    for words in ("zqxjv", "zqxjv", "ZQXJV "):
        await wang.send(words)
        assert last_text(wang).startswith("😕 Nothing found for")
    assert await misses() == [("zqxjv", 1001)]
    await li.send("zqxjv")  # another person's miss counts apart
    assert await misses() == [("zqxjv", 1001), ("zqxjv", 1002)]

    bot.clock.advance(timedelta(days=1))
    await wang.send("zqxjv")
    assert await misses() == [("zqxjv", 1001), ("zqxjv", 1002), ("zqxjv", 1001)]
    assert sum("Nothing found" in text for text in texts(wang.chat)) == 4


def test_each_cap_is_a_setting_with_a_default():
    assert load_settings({}, env_file="").caps == Caps()
    assert Caps() == Caps(pending_orders=5, listings_in_review=3, review_again_after=timedelta(hours=1),
                          search_miss_days=1)
    caps = load_settings({"MAX_PENDING_ORDERS": "8", "MAX_LISTINGS_IN_REVIEW": "1", "REVIEW_AGAIN_MINUTES": "90",
                          "SEARCH_MISS_DAYS": "0"}, env_file="").caps
    assert caps == Caps(pending_orders=8, listings_in_review=1, review_again_after=timedelta(minutes=90),
                        search_miss_days=0)
    for name, bad in (("MAX_PENDING_ORDERS", "0"), ("MAX_PENDING_ORDERS", "2.5"), ("MAX_LISTINGS_IN_REVIEW", "x"),
                      ("REVIEW_AGAIN_MINUTES", "-1"), ("SEARCH_MISS_DAYS", "1.5")):
        with pytest.raises(SettingsError, match=f"{name} is invalid"):
            load_settings({name: bad}, env_file="")
