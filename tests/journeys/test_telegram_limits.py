"""Telegram's limits, kept: long lists come in pages within 4096 characters and 100 buttons, a cart
holds at most CART_MAX_LINES products, and a message Telegram refuses is logged as an error and
answered politely. Played through the real Application against the Bot API double, which
refuses what Telegram refuses."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.config import SettingsError, load_settings
from chat import labels, last_text, settle_in, texts, villager_id
from services import cart as carts
from services import orders
from services.caps import Caps
from store.models import Order, Product
from support.bots import ErrorRecorder
from support.desk import desk
from support.produce import SHANGYUAN, a_seller, list_produce

MAX_BUTTONS, MAX_DATA = 100, 64
RICE = "FD-001"


def assert_within_limits(message) -> None:
    buttons = [b for row in message.buttons for b in row]
    assert len(buttons) <= MAX_BUTTONS
    assert all(len(b.callback_data.encode()) <= MAX_DATA for b in buttons if b.callback_data)


async def products(store, count: int) -> list[int]:
    """Products in stock, rice (which the villager adds by hand) last."""
    async with store.read() as session:
        return list(await session.scalars(select(Product.id).where(Product.is_active, Product.stock > 5)
                                          .order_by(Product.sku == RICE, Product.id).limit(count)))


async def fill_cart(store, shopper: int, count: int, max_lines: int = carts.MAX_CART_LINES) -> None:
    for product_id in await products(store, count):
        await carts.add_to_cart(store, shopper, product_id, 1, max_lines=max_lines)


def line_numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^(\d+)\. ", text, re.MULTILINE)]


async def test_a_cart_of_120_lines_is_shown_in_pages_each_with_the_total(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    shopper = await villager_id(bot.store, 1001)
    # A cart filled before the cap, or under a higher CART_MAX_LINES: it still has to be shown.
    await fill_cart(bot.store, shopper, 120, max_lines=200)
    total = (await carts.get_cart(bot.store, shopper)).total_fen
    total_text = f"💰 Total: ¥{total // 100}.{total % 100:02d}"

    await wang.press("🛍 Cart")
    page = wang.chat.last_bot_message()
    assert page.text.startswith("🛍 Your cart\nPage 1 of 15 · 120 lines")
    assert total_text in page.text and line_numbers(page.text) == list(range(1, 9))
    assert labels(page)[-2:] == ["✅ Checkout", "📂 Continue shopping"] and "Next ▶️" in labels(page)
    seen = line_numbers(page.text)
    for number in range(2, 16):
        await wang.tap("Next ▶️", message=page)
        page = wang.chat.last_bot_message()
        assert_within_limits(page)
        assert f"Page {number} of 15" in page.text and total_text in page.text
        seen += line_numbers(page.text)
    assert seen == list(range(1, 121))
    assert "Next ▶️" not in labels(page) and "◀️ Previous" in labels(page)

    await wang.tap("◀️ Previous", message=page)
    await wang.tap("➕", message=page)  # on page 14, line 105 becomes 2: the page stays
    page = wang.chat.last_bot_message()
    assert "Page 14 of 15" in page.text and "105. " in page.text
    assert "×2 ✏️" in labels(page)[1]

    await wang.tap("✅ Checkout", message=page)
    checkout = wang.chat.last_bot_message()
    assert checkout.text.startswith("🧾 Please check your order")
    assert "… and 95 more lines: see 🛍 the cart." in checkout.text and "💰 Total:" in checkout.text
    await wang.tap("Confirm order")
    number = re.search(r"RT-[0-9A-Z]{5}", last_text(wang)).group(0)
    await wang.tap("📦 View order")
    assert "… and 90 more lines" in last_text(wang) and number in last_text(wang)


async def test_the_101st_product_is_refused_with_a_message_and_the_cap_is_a_setting(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    shopper = await villager_id(bot.store, 1001)
    await fill_cart(bot.store, shopper, 100)
    in_cart = {line.product_id for line in (await carts.get_cart(bot.store, shopper)).lines}
    async with bot.store.read() as session:
        rice = await session.scalar(select(Product).where(Product.sku == RICE))
    assert rice is not None and rice.id not in in_cart

    await wang.send("/search rice")
    await wang.tap("Rice")
    refused = await wang.tap("Add")
    assert refused.show_alert
    assert refused.text == ("🛍 Your cart is full: at most 100 different products. Check out, "
                            "or remove something first.")
    await wang.tap("✏️")  # a typed quantity is refused the same way
    await wang.send("3")
    assert last_text(wang).startswith("🛍 Your cart is full: at most 100 different products.")
    await wang.send("4")  # the question is over: a number alone is not a quantity any more
    assert "cart is full" not in last_text(wang)
    cart = await carts.get_cart(bot.store, shopper)
    assert len(cart.lines) == 100 and cart.line_for(rice.id) is None

    first = cart.lines[0]  # a product already in the cart can still be added to
    await carts.add_to_cart(bot.store, shopper, first.product_id, 1)
    assert (await carts.get_cart(bot.store, shopper)).line_for(first.product_id).quantity == first.quantity + 1

    assert load_settings({"CART_MAX_LINES": "30"}, env_file="").cart_max_lines == 30
    assert load_settings({}, env_file="").cart_max_lines == 100
    with pytest.raises(SettingsError, match="CART_MAX_LINES is invalid"):
        load_settings({"CART_MAX_LINES": "0"}, env_file="")
    bot.app.bot_data["runtime"].cart_max_lines = 101
    await wang.send("/search rice")
    await wang.tap("Rice")
    await wang.tap("Add")
    assert "✅ Added to your cart" in last_text(wang)


async def place(store, clock, shopper: int, product_id: int) -> str:
    """A pending order, placed as under a MAX_PENDING_ORDERS high enough for the many a page holds."""
    cart = await carts.add_to_cart(store, shopper, product_id, 1)
    return (await orders.place_order(store, clock, shopper, cart.checkout_token,
                                     caps=Caps(pending_orders=100))).order.number


async def test_my_orders_come_in_pages(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    shopper = await villager_id(bot.store, 1001)
    oil = (await products(bot.store, 1))[0]
    numbers = [await place(bot.store, bot.clock, shopper, oil) for _ in range(20)]

    await wang.press("📦 My orders")
    page = wang.chat.last_bot_message()
    seen = [label.split(" · ")[0] for label in labels(page) if label.startswith("RT-")]
    while "Next ▶️" in labels(page):
        await wang.tap("Next ▶️", message=page)
        page = wang.chat.last_bot_message()
        assert_within_limits(page)
        seen += [label.split(" · ")[0] for label in labels(page) if label.startswith("RT-")]
    assert sorted(seen) == sorted(numbers) and len(seen) == 20
    await wang.tap(seen[-1], message=page)
    assert f"📦 Order {seen[-1]}" in last_text(wang)
    await wang.tap("⬅️ My orders")
    assert last_text(wang).startswith("📦 Your orders")


async def test_pending_with_many_orders_comes_in_pages_of_cards_to_bring_back(bot):
    partner, _, villager, group = await desk(bot)
    shopper = await villager_id(bot.store, villager.id)
    seeds = (await products(bot.store, 1))[0]
    numbers = [await place(bot.store, bot.clock, shopper, seeds) for _ in range(45)]
    # 45 new cards for one group are more than Telegram takes at once (a burst, then 20 a minute):
    # the outbox keeps each refused one and sends it after Telegram's retry_after, none lost.
    await bot.pump()
    assert any(chat == group.id for chat, _ in bot.double.chat_limit_refusals)
    for _ in range(10):
        bot.clock.advance(timedelta(minutes=1))
        await bot.pump()
    posted = [m.text.split(" · ")[0].removeprefix("🧾 Order ") for m in group.bot_messages()
              if m.text.startswith("🧾 Order RT-")]
    assert sorted(posted) == sorted(numbers)

    await partner.send("/pending", chat=group)
    page = group.last_bot_message()
    assert page.text.startswith("⏳ Waiting for a decision: 45\nPage 1 of 5")
    seen = re.findall(r"RT-[0-9A-Z]{5}", page.text)
    while "Next ▶️" in labels(page):
        await partner.tap("Next ▶️", message=page)
        assert group.last_bot_message() is page  # the list changes in place
        assert_within_limits(page)
        assert len(page.text) <= 4096
        seen += re.findall(r"RT-[0-9A-Z]{5}", page.text)
    assert seen == numbers  # oldest first: they have waited longest
    assert labels(page)[0] == f"🧾 {numbers[40]}" and labels(page)[-1] == "◀️ Previous"

    await partner.tap(f"🧾 {numbers[44]}", message=page)  # its card comes back down the chat
    card = group.last_bot_message()
    assert card.text.startswith(f"🧾 Order {numbers[44]}") and "✅ Confirm" in labels(card)



async def test_market_pages_and_the_county_chooser_stay_within_the_limits(bot):
    _, seller = await a_seller(bot)
    for i in range(19):
        await list_produce(bot.store, bot.clock, seller, f"Apples {i:02d}")
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang, village="Qinglong")
    await wang.press("🧺 Market")
    await wang.tap("(19)")
    page = wang.chat.last_bot_message()
    assert "page 1 of 3" in page.text
    seen = [label.split(" · ")[0] for label in labels(page) if label.startswith("Apples")]
    while "Next ▶️" in labels(page):
        await wang.tap("Next ▶️", message=page)
        assert_within_limits(page)
        seen += [label.split(" · ")[0] for label in labels(page) if label.startswith("Apples")]
    assert sorted(seen) == [f"Apples {i:02d}" for i in range(19)]
    assert labels(page)[-1] == "⬅️ Back"
    await wang.tap("⬅️ Back", message=page)
    assert wang.chat.last_bot_message().text.startswith("🧺 Market")

    await wang.tap("🗺 By county")
    assert labels(wang.chat.last_bot_message()) == ["Chenggu County (19)", "⬅️ Back"]
    await wang.tap("Chenggu County (19)")
    assert wang.chat.last_bot_message().text.startswith("🗺 Chenggu County — page 1 of 3")
    assert SHANGYUAN in labels(wang.chat.last_bot_message())[0]


@pytest.fixture
def refused_requests():
    """The errors logged during a test that makes Telegram refuse something on purpose; they are
    taken off the record before the ``bot`` fixture checks that no error was logged."""
    recorder = ErrorRecorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    yield recorder.records
    root.removeHandler(recorder)
    for handler in root.handlers:
        records = getattr(handler, "records", None)
        if isinstance(records, list) and handler is not recorder:
            records[:] = [r for r in records if r not in recorder.records]


async def test_a_message_telegram_refuses_is_logged_and_the_person_gets_an_apology(bot, refused_requests):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    shopper = await villager_id(bot.store, 1001)
    first = (await products(bot.store, 1))[0]
    await carts.add_to_cart(bot.store, shopper, first, 1)
    async with bot.store.write() as session:  # an admin imported a name no message can hold
        await session.execute(update(Product).where(Product.id == first).values(names={"en": "米" * 4100}))

    await wang.press("🛍 Cart")
    assert last_text(wang) == "😔 Sorry, that could not be shown. Please try again, or send /start."
    assert [r.getMessage() for r in refused_requests] == [
        "Telegram refused what the bot sent: Message is too long"]
    assert "米" not in refused_requests[0].getMessage()

    # From a tap, the same: the tap is answered, the apology comes in the chat, once.
    await carts.add_to_cart(bot.store, shopper, (await products(bot.store, 2))[1], 1)
    before = len(texts(wang.chat))
    answer = await wang.tap_data("cart", wang.chat.last_bot_message())
    assert answer.answered
    assert texts(wang.chat)[before:] == ["😔 Sorry, that could not be shown. Please try again, or send /start."]
    assert len(refused_requests) == 2
    async with bot.store.read() as session:
        assert await session.scalar(select(Order.id)) is None
