"""No dead ends (issue 22): /phone can be cancelled, every screen has a way back, sellers find
📋 My listings in the menu, /help says what the reader's role can do, media and chit-chat get a
friendly answer with the big buttons, and a double tap on "add to cart" adds once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from chat import labels, last_text, menu_labels, settle_in, villager_id
from services.partners import add_partner
from store.models import Cart, CartLine, SearchMiss, Villager
from support.desk import ADMIN
from support.produce import approved_listing, person

MENU_EN = ["🛒 Shop", "🔍 Search", "🛍 Cart", "📦 My orders", "🧺 Market", "🌾 Sell produce", "🧾 Services", "❓ Help"]
MENU_ZH = ["🛒 购物", "🔍 搜索", "🛍 购物车", "📦 我的订单", "🧺 集市", "🌾 卖农产品", "🧾 便民服务", "❓ 帮助"]
# A button that leads back: to the previous screen, the shop, the cart, the menu, or out of a flow.
WAY_BACK = ("⬅️", "📂", "🏠 Menu", "✖️", "🛒 Shop", "🛍 Cart", "✏️ Change cart")


async def misses(store) -> int:
    async with store.read() as session:
        return await session.scalar(select(func.count(SearchMiss.id)))


async def phone_of(store, telegram_id: int) -> str | None:
    async with store.read() as session:
        return await session.scalar(select(Villager.phone).where(Villager.telegram_id == telegram_id))


# ---- 1. /phone --------------------------------------------------------------------------------

async def test_phone_can_be_cancelled_and_the_menu_comes_back(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)

    await wang.send("/phone")
    assert menu_labels(wang.chat) == ["📱 Share my phone number", "✖️ Cancel"]
    await wang.send("hello there")  # neither the contact nor Cancel: asked again, Cancel still offered
    assert last_text(wang) == "📱 Please tap “📱 Share my phone number” below, or ✖️ Cancel."
    assert menu_labels(wang.chat) == ["📱 Share my phone number", "✖️ Cancel"]
    await wang.press("✖️ Cancel")
    assert last_text(wang) == "✖️ Cancelled. Nothing changed."
    assert menu_labels(wang.chat) == MENU_EN
    assert await phone_of(bot.store, 1001) is None
    await wang.send("rice")  # the question is over: text is a search again
    assert last_text(wang) == "🔍 Found for “rice”:"

    await wang.send("/phone")
    await wang.press("📱 Share my phone number", phone="+86 138 0013 8000")
    assert last_text(wang) == "✅ Thank you, your phone number is saved."
    assert menu_labels(wang.chat) == MENU_EN
    assert await phone_of(bot.store, 1001) == "13800138000"


async def test_phone_cancel_in_chinese(bot):
    li = bot.person(1002, "李")
    await settle_in(li, county="城固县", village="上元")
    await li.send("/phone")
    await li.press("✖️ 取消")
    assert last_text(li) == "✖️ 已取消，什么都没有改。"
    assert menu_labels(li.chat) == MENU_ZH


# ---- 2. a way back from every screen -----------------------------------------------------------

# Screens the big menu opens: the menu itself, shown below them, is their way back.
TOP = {"start", "shop", "market", "sell", "my listings"}


def offers_a_way_back(person, screen: str) -> bool:
    message = person.chat.last_bot_message()
    if not message.inline_markup or screen in TOP:  # the big buttons of the menu must be there
        return menu_labels(person.chat) == MENU_EN
    return any(text.startswith(WAY_BACK) for text in labels(message))


async def test_every_screen_of_a_villager_offers_a_way_back(bot):
    seller = await person(bot.store, bot.clock, 3001)
    await approved_listing(bot.store, bot.clock, seller)
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    stuck = []

    async def visit(name: str, step) -> None:
        await step
        if not offers_a_way_back(wang, name):
            stuck.append((name, labels(wang.chat.last_bot_message())))

    await visit("start", wang.send("/start"))
    await visit("shop", wang.press("🛒 Shop"))
    await visit("category", wang.tap("🍚 Food & drink"))
    await visit("product card", wang.tap("Rice"))
    await visit("added", wang.tap("🛍 Add 1 to cart"))
    await visit("search", wang.send("/search rice"))
    await visit("nothing found", wang.send("qqqzzzxx"))
    await visit("cart", wang.press("🛍 Cart"))
    await visit("checkout", wang.tap("✅ Checkout"))
    await visit("order placed", wang.tap("✅ Confirm order"))
    await visit("orders", wang.press("📦 My orders"))
    await visit("order detail", wang.tap("RT-"))
    await visit("cancel order?", wang.tap("❌ Cancel order"))
    await visit("empty cart", wang.send("/cart"))
    await visit("market", wang.press("🧺 Market"))
    await visit("market category", wang.tap("🍎 Fruit"))
    await visit("market listing", wang.tap("Apples"))
    await visit("market category again", wang.tap("⬅️ Back"))
    await visit("market", wang.send("/market"))
    await visit("market by county", wang.tap("🗺 By county"))
    await visit("sell", wang.press("🌾 Sell produce"))
    await visit("my listings", wang.send("/mylistings"))
    await visit("help", wang.press("❓ Help"))
    await visit("language", wang.send("/language"))
    await visit("help again", wang.send("/help"))
    await visit("counties", wang.tap("📍 Change my service center"))
    await visit("villages", wang.tap("Chenggu County"))
    await visit("forget", wang.send("/forget"))
    assert not stuck, f"screens without a way back: {stuck}"

    # The new ways back lead somewhere: 🏠 Menu gives the big buttons again.
    await wang.send("/orders")
    await wang.tap("🏠 Menu")
    assert last_text(wang) == "What would you like to do? Use the buttons below."
    assert menu_labels(wang.chat) == MENU_EN


# ---- 3. 📋 My listings in the menu --------------------------------------------------------------

async def test_my_listings_is_in_the_menu_of_people_who_have_listings(bot):
    li = bot.person(2001, "Li Ming", language_code="en")
    await settle_in(li)
    assert "📋 My listings" not in menu_labels(li.chat)

    await approved_listing(bot.store, bot.clock, await villager_id(bot.store, 2001))
    await li.send("/start")
    assert menu_labels(li.chat) == MENU_EN[:-1] + ["📋 My listings", "❓ Help"]
    await li.press("📋 My listings")
    assert last_text(li).startswith("📋 Your listings")
    assert "Apples" in last_text(li)

    wang = bot.person(1001, "Wang", language_code="en")  # no listings: the usual menu
    await settle_in(wang)
    assert menu_labels(wang.chat) == MENU_EN


# ---- 4. /help by role ---------------------------------------------------------------------------

async def test_help_lists_what_a_villager_can_do_with_meanings_in_their_language(bot):
    li = bot.person(1002, "李")
    await settle_in(li, county="城固县", village="上元")
    await li.send("/help")
    text = last_text(li)
    assert "📦 /orders — 我的订单" in text
    assert "🔍 /search — 搜索商品" in text
    assert "/orderfor" not in text and "/broadcast" not in text and "站长" not in text.split("\n")[-1]
    assert not any(line.startswith("命令") or line.startswith("Commands") for line in text.splitlines())
    for line in text.splitlines():  # every command is shown with its meaning
        if "/" in line and line.split()[1:2] and line.split()[1].startswith("/"):
            assert " — " in line, line


async def test_help_for_a_partner_names_their_center_and_for_an_admin_the_admin_commands(bot):
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 501)
    zhang = bot.person(501, "Lao Zhang", language_code="en")
    await settle_in(zhang)
    await zhang.send("/help")
    text = last_text(zhang)
    assert "🤝 As the partner of Shangyuan Village Service Center" in text
    assert "🤝 /orderfor — Order for a villager without a phone" in text
    assert "/broadcast" not in text

    admin = bot.person(900, "Admin", language_code="en")
    await settle_in(admin)
    await admin.send("/help")
    text = last_text(admin)
    assert "🛠 As an admin" in text and "📢 /broadcast — Send a promotion" in text
    assert "📊 /stats — " in text and "As the partner" not in text

    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    await wang.press("❓ Help")
    assert "As an admin" not in last_text(wang) and "As the partner" not in last_text(wang)
    assert "📦 /orders — Your orders" in last_text(wang)


# ---- 5. welcome, then welcome back -------------------------------------------------------------

async def test_the_first_start_is_a_welcome_even_with_a_center_chosen_before(bot):
    # As the demo seeds its people: known to the store, with a center, but never started.
    await person(bot.store, bot.clock, 1005, center="CG-01")
    zhou = bot.person(1005, "Zhou", language_code="en")
    await zhou.send("/start")
    assert last_text(zhou).startswith("👋 Welcome, Zhou!")
    assert "back" not in last_text(zhou)
    assert menu_labels(zhou.chat) == MENU_EN
    await zhou.send("/start")
    assert last_text(zhou).startswith("👋 Welcome back, Zhou!")

    # Someone who chose a language, then a center, before ever sending /start.
    li = bot.person(1002, "Li", language_code="en")
    await li.send("/language")
    await li.tap("English")
    await li.tap("Chenggu County")
    await li.tap("Shangyuan")
    await li.send("/start")
    assert last_text(li).startswith("👋 Welcome, Li!")
    await li.send("/start")
    assert last_text(li).startswith("👋 Welcome back, Li!")


# ---- 6. voice, sticker, video -------------------------------------------------------------------

async def test_voice_sticker_and_video_get_a_short_answer_with_the_big_buttons(bot):
    li = bot.person(1002, "李")
    await settle_in(li, county="城固县", village="上元")
    for send in (li.send_voice, li.send_sticker, li.send_video):
        await send()
        assert last_text(li) == "🙂 请点下面的按钮 👇"
        assert menu_labels(li.chat) == MENU_ZH


# ---- 7. chit-chat -------------------------------------------------------------------------------

async def test_greetings_thanks_and_emoji_get_a_friendly_answer_and_are_no_missed_search(bot):
    li = bot.person(1002, "李")
    await settle_in(li, county="城固县", village="上元")
    answers = {}
    for words in ("你好", "您好", "hi", "hello", "谢谢", "thanks", "👍", "🙏", "好的", "ok", "谢谢！"):
        await li.send(words)
        answers[words] = last_text(li)
        assert menu_labels(li.chat) == MENU_ZH, words
        assert "没有找到" not in answers[words] and "找到" not in answers[words], words
    assert answers["你好"].startswith("👋 您好")
    assert answers["谢谢"].startswith("😊 不客气")
    assert answers["👍"].startswith("👍 好的")
    assert await misses(bot.store) == 0

    await li.send("qqqzzzxx")  # a real search that finds nothing is still recorded
    assert await misses(bot.store) == 1


# ---- 8. the double tap --------------------------------------------------------------------------

async def cart_quantity(store, villager: int) -> int:
    async with store.read() as session:
        return await session.scalar(select(func.coalesce(func.sum(CartLine.quantity), 0)).join(
            Cart, Cart.id == CartLine.cart_id).where(Cart.villager_id == villager))


async def test_add_to_cart_tapped_twice_within_a_second_adds_once(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    me = await villager_id(bot.store, 1001)
    await wang.send("/search rice")
    await wang.tap("Rice")
    card = wang.chat.last_bot_message()

    await wang.tap("🛍 Add 1 to cart", card)
    await wang.tap("🛍 Add 1 to cart", card)  # the same button again, at once
    assert await cart_quantity(bot.store, me) == 1

    bot.clock.advance(timedelta(milliseconds=900))
    await wang.tap("🛍 Add 1 to cart", card)  # still within the second of the first tap
    assert await cart_quantity(bot.store, me) == 1

    bot.clock.advance(timedelta(seconds=2))
    await wang.tap("🛍 Add 1 to cart", card)  # a second, deliberate add
    assert await cart_quantity(bot.store, me) == 2
    assert "In your cart now: 2" in last_text(wang)
