"""A villager's whole journey, played through the real Application and the Bot API double:
start, choose a center, browse, search, cart, checkout, my orders, cancel."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from chat import SHANGYUAN, last_text, menu_labels, settle_in, stock_of, texts  # noqa: F401
from store.models import Order, Product, SearchMiss


async def open_rice_card(person) -> None:
    await settle_in(person)
    await person.send("/search rice")
    await person.tap("Rice")


async def test_new_villager_chooses_county_and_village_then_sees_the_menu(bot):
    wang = bot.person(1001, "Wang", language_code="en")

    await wang.send("/start")
    assert "Welcome, Wang" in texts(wang.chat)[0]
    assert menu_labels(wang.chat) == ["📍 Share my location"]
    counties = [b.text for row in wang.chat.last_bot_message().buttons for b in row]
    assert sorted(counties[:3]) == ["Cangxi County", "Chenggu County", "Suichang County"]
    assert counties[3:] == ["🛍 I want to buy village produce"]  # a town buyer needs no center

    await wang.tap("Chenggu County")
    villages = [b.text for row in wang.chat.last_bot_message().buttons for b in row]
    assert "Shangyuan Village Service Center" in villages and villages[-1] == "⬅️ Back"

    await wang.tap("Shangyuan Village Service Center")
    assert "✅ Your service center: Shangyuan Village Service Center" in texts(wang.chat)[-2]
    assert menu_labels(wang.chat) == ["🛒 Shop", "🔍 Search", "🛍 Cart", "📦 My orders", "🧺 Market", "🌾 Sell produce",
                                      "🧾 Services", "❓ Help"]

    await wang.send("/start")
    assert last_text(wang).startswith("👋 Welcome back, Wang!")


async def test_chinese_comes_from_telegram_and_language_can_change(bot):
    li = bot.person(1002, "李", language_code="zh-hans")
    await li.send("/start")
    assert "欢迎" in texts(li.chat)[0]

    await li.send("/language")
    await li.tap("English")
    assert "✅ Language: English" in texts(li.chat)
    # No center yet, so the county choice follows, now in English.
    assert last_text(li).startswith("📍 Choose your village service center")


async def test_shared_location_offers_the_three_nearest_centers(bot):
    zhao = bot.person(1003, "Zhao", language_code="en")
    await zhao.send("/start")
    await zhao.press("📍 Share my location", latitude=SHANGYUAN[0], longitude=SHANGYUAN[1])

    offer = zhao.chat.last_bot_message()
    assert offer.text == "📍 The nearest service centers:"
    choices = [b.text for row in offer.buttons for b in row]
    assert len(choices) == 4 and choices[-1] == "🗺 Choose from the list"
    distances = [float(re.search(r"· ([\d.]+) km", c).group(1)) for c in choices[:3]]
    assert distances == sorted(distances)

    await zhao.tap(choices[0])
    assert "✅ Your service center" in texts(zhao.chat)[-2]


async def test_villager_browses_orders_follows_and_cancels(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    rice_stock = await stock_of(bot.store, "FD-001")

    await wang.press("🛒 Shop")
    assert last_text(wang) == "📂 Choose a category:"
    await wang.tap("🍚 Food & drink")
    assert re.match(r"Food & drink — page 1 of \d", last_text(wang).replace("🍚 ", ""))
    page_one = [b.text for row in wang.chat.last_bot_message().buttons for b in row]
    await wang.tap("Next ▶️")
    assert "page 2 of" in last_text(wang)
    await wang.tap("◀️ Previous")
    assert [b.text for row in wang.chat.last_bot_message().buttons for b in row] == page_one

    await wang.tap("Rice")
    card = wang.chat.last_bot_message()
    assert "per bag" in card.text and "📦 In stock:" in card.text
    await wang.tap("➕")
    await wang.tap("➕")
    assert any(b.text == "🛍 Add 3 to cart" for row in card.buttons for b in row)
    await wang.tap("🛍 Add 3 to cart")
    assert "✅ Added to your cart. In your cart now: 3" in card.text

    await wang.press("🛍 Cart")
    cart = last_text(wang)
    assert "× 3" not in cart and "3 bag ×" in cart and "💰 Total:" in cart

    await wang.tap("✅ Checkout")
    checkout = wang.chat.last_bot_message()
    assert "📍 Pick up at: Shangyuan Village Service Center" in checkout.text
    assert "💵 Payment: cash at pickup" in checkout.text
    confirm_data = next(b.callback_data for row in checkout.buttons for b in row if b.text == "✅ Confirm order")

    await wang.tap("✅ Confirm order")
    number = re.search(r"Order (RT-[2-9A-Z]{5}) placed", checkout.text).group(1)
    assert await stock_of(bot.store, "FD-001") == rice_stock - 3

    # The same confirmation again (a double tap, an old message): one order, a polite answer.
    again = await wang.tap_data(confirm_data, checkout)
    assert again.show_alert and again.text == f"This order was already placed: {number}"
    async with bot.store.read() as session:
        assert await session.scalar(select(func.count(Order.id))) == 1

    await wang.press("📦 My orders")
    await wang.tap(number)
    detail = wang.chat.last_bot_message()
    assert f"📦 Order {number}" in detail.text and "Status: ⏳ Waiting for confirmation" in detail.text
    assert "🕒 Timeline" in detail.text

    await wang.tap("❌ Cancel order")
    await wang.tap("✅ Yes, cancel it")
    assert "Status: 🚫 Cancelled" in detail.text
    assert wang.answers[-1].text == f"🚫 Order {number} is cancelled."
    assert await stock_of(bot.store, "FD-001") == rice_stock


async def test_search_forgives_typos_pinyin_and_records_misses(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)

    await wang.send("fertiliser")
    found = wang.chat.last_bot_message()
    assert found.text == "🔍 Found for “fertiliser”:"
    assert any("fertilizer" in b.text.lower() for row in found.buttons for b in row)

    await wang.send("/search huafei")
    assert last_text(wang) == "🔍 Found for “huafei”:"
    assert any("fertilizer" in b.text.lower() for row in wang.chat.last_bot_message().buttons for b in row)

    li = bot.person(1002, "李", language_code="zh-hans")
    await settle_in(li, "城固县", "上元")
    await li.send("hua fei")
    assert any("肥" in b.text for row in li.chat.last_bot_message().buttons for b in row)

    await wang.send("<b>zqxjv</b>")
    missed = wang.chat.last_bot_message()
    assert missed.text.startswith("😕 Nothing found for “<b>zqxjv</b>”.")
    assert any(b.text == "📂 Categories" for row in missed.buttons for b in row)
    async with bot.store.read() as session:
        assert (await session.scalars(select(SearchMiss.query))).all() == ["<b>zqxjv</b>"]


async def test_typed_quantities_are_checked_and_reprompted(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await open_rice_card(wang)
    await wang.tap("1 bag ✏️")
    assert last_text(wang).startswith("✏️ How many bag of Rice")

    for bad in ("abc", "0", "-3", "1000000000000", "2.5"):
        await wang.send(bad)
        assert last_text(wang) == "⚠️ Please send a whole number from 1 to 999, for example 3.", bad
    await wang.send("２")
    assert "✅ Added to your cart. In your cart now: 2" in last_text(wang)

    # The form is done: the next text is a search again, and the cart keeps its 2.
    await wang.send("2")
    assert last_text(wang).startswith(("🔍 Found for “2”", "😕 Nothing found for “2”"))
    await wang.send("/cart")
    assert "2 bag ×" in last_text(wang)


async def test_a_quantity_in_another_unit_is_asked_again_naming_the_products_unit(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await open_rice_card(wang)
    await wang.tap("1 bag ✏️")
    await wang.send("3 kg")  # issue 22: rice is sold by the bag
    assert last_text(wang) == "⚠️ This is sold by the bag. Please type how many bag."
    await wang.send("2 bags")
    assert "✅ Added to your cart. In your cart now: 2" in last_text(wang)


async def test_an_item_that_ran_short_is_named_and_no_order_is_placed(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await open_rice_card(wang)
    await wang.tap("➕")
    await wang.tap("🛍 Add 2 to cart")
    async with bot.store.write() as session:
        product = await session.scalar(select(Product).where(Product.sku == "FD-001"))
        product.stock = 1
    await wang.send("/cart")
    await wang.tap("✅ Checkout")
    await wang.tap("✅ Confirm order")

    assert "⚠️ Only 1 left of" in last_text(wang) and "no order was placed" in last_text(wang)
    async with bot.store.read() as session:
        assert await session.scalar(select(func.count(Order.id))) == 0


async def test_bad_input_gets_short_answers_and_the_bot_keeps_serving(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    reply = "🙂 Please use the buttons below 👇"  # issue 22: no more "I can only read text" for these
    unread = "🙂 I can only read text and button taps here. Please use the buttons below, or type what you are looking for."

    await wang.send_sticker()
    assert last_text(wang) == reply
    await wang.send_voice()
    assert last_text(wang) == reply
    await wang.send_photo()
    assert last_text(wang) == unread  # a photo nobody asked for keeps its answer
    await wang.send("/teleport")
    assert last_text(wang) == "🤔 I don't know that command. Try /help."
    await wang.send("x" * 4500)
    assert last_text(wang) == "⚠️ That message is too long. Please send something shorter."

    menu = wang.chat.last_bot_message()
    gone = await wang.tap_data("p:999999:1", menu)
    assert gone.text == "😔 This product is no longer available."
    nonsense = await wang.tap_data("p:1:x'; DROP TABLE orders;--", menu)
    assert nonsense.text == "⌛ This button is no longer valid. Please open the menu again."
    huge = await wang.tap_data("add:1:9999", menu)
    assert huge.text == "⚠️ Please choose a quantity from 1 to 999."

    # Someone else's cart line and order.
    li = bot.person(1002, "Li", language_code="en")
    await settle_in(li)
    await li.send("/search rice")
    await li.tap("Rice")
    await li.tap("🛍 Add 1 to cart")
    await li.send("/cart")
    line_data = next(b.callback_data for row in li.chat.last_bot_message().buttons for b in row if b.text == "🗑")
    forged = await wang.tap_data(line_data, menu)
    assert forged.text == "This line is no longer in your cart."
    await li.tap("✅ Checkout")
    await li.tap("✅ Confirm order")
    order_id = next(b.callback_data for row in li.chat.last_bot_message().buttons for b in row).split(":")[1]
    peek = await wang.tap_data(f"ord:{order_id}", menu)
    assert peek.text == "😔 This order was not found."
    cancel = await wang.tap_data(f"ordxx:{order_id}", menu)
    assert cancel.text == "😔 This order was not found."
    async with bot.store.read() as session:
        assert await session.scalar(select(Order.status)) == "pending"

    # And after all that, the bot still serves.
    await wang.press("🛒 Shop")
    assert last_text(wang) == "📂 Choose a category:"


async def test_commands_are_registered_in_both_languages(bot):
    commands = bot.double.commands
    zh = {c["command"]: c["description"] for c in commands[("default", "zh")]}
    en = {c["command"]: c["description"] for c in commands[("default", "en")]}
    assert set(zh) == set(en) == {"start", "catalog", "search", "cart", "orders", "market", "sell", "mylistings",
                                  "promotions", "language", "mydata", "forget", "help"}
    assert en["cart"] == "Your cart" and zh["cart"] != en["cart"]
    assert en["sell"] == "Sell your produce" and zh["sell"] == "卖我的农产品"


async def test_a_product_with_a_photo_is_shown_as_a_photo_card(bot):
    async with bot.store.write() as session:
        product = await session.scalar(select(Product).where(Product.sku == "FD-001"))
        product.photo = "https://example.invalid/rice.jpg"
    wang = bot.person(1001, "Wang", language_code="en")
    await open_rice_card(wang)

    card = wang.chat.last_bot_message()
    assert card.photo == "https://example.invalid/rice.jpg"
    assert "per bag" in card.caption and card.text is None
    await wang.tap("➕")
    assert card.edited and any(b.text == "🛍 Add 2 to cart" for row in card.buttons for b in row)
    await wang.tap("⬅️ Back")
    assert "Food & drink — page" in last_text(wang)
