"""Amounts as people say them (issue 22), played through the real Application: a villager types
"两袋" into the cart, a seller types "三斤半" and "一块五" in /sell, and a date typed without a year
that is more than six months ahead is asked about before it is taken.

The clock is the fixture's: 2026-11-11 in Asia/Shanghai, so "11-01" means 2027-11-01.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from chat import labels, last_text, settle_in, stock_of
from handlers.listings import category_name
from locales import translator
from store.models import CartLine, Listing
from support.produce import a_seller, list_produce
from support.store import product

ZH = translator("zh_Hans")


async def cart_quantities(store) -> list[int]:
    async with store.read() as session:
        return list(await session.scalars(select(CartLine.quantity)))


async def test_a_villager_types_two_bags_into_the_cart_and_another_unit_is_asked_again(bot):
    li = bot.person(1002, "李", language_code="zh-hans")
    await settle_in(li, "城固县", "上元")
    await li.send("大米")
    await li.tap("大米 10公斤")
    await li.tap("✏️")
    await li.send("两袋")
    assert "✅ 已加入购物车。这件商品共 2 ·" in last_text(li) and await cart_quantities(bot.store) == [2]

    await li.send("/cart")
    await li.tap("×2 ✏️")
    await li.send("2斤")  # rice is sold by the bag: asked again, in the right unit
    assert last_text(li) == "⚠️ 这个按袋卖，请输入多少袋。"
    assert await cart_quantities(bot.store) == [2]
    await li.send(" 十二 ")
    assert await cart_quantities(bot.store) == [12]
    assert "×12" in " ".join(labels(li.chat.last_bot_message()))


async def listing(store) -> Listing:
    async with store.read() as session:
        return await session.scalar(select(Listing))


async def test_a_seller_types_amounts_and_a_far_date_in_chinese_words(bot):
    seller = bot.person(1001, "王芳", language_code="zh-hans")
    await settle_in(seller, "城固县", "上元")
    await seller.send("/sell")
    await seller.send("红富士苹果")
    await seller.tap(category_name(ZH, "fruit"))
    await seller.tap("⏭")
    await seller.tap("斤")

    await seller.send("2袋")  # apples are not sold by the bag here: asked again
    assert last_text(seller).startswith("⚠️ 这个按斤卖，请输入多少斤。")
    assert (await listing(bot.store)).left_milli == 0
    await seller.send("三斤半")
    assert (await listing(bot.store)).left_milli == 3500
    await seller.send("一块五")
    assert (await listing(bot.store)).price_fen == 150

    await seller.send("11-01")
    question = seller.chat.last_bot_message()
    assert question.text.startswith("📅 11-01 是指 2027-11-01 吗？")
    assert labels(question) == ["✅ 是的", "✏️ 不是，重新输入"]
    assert (await listing(bot.store)).available_from is None
    await seller.tap("✏️ 不是，重新输入")
    assert last_text(seller).startswith("📅 ")
    await seller.send("12-01")  # within six months: taken without a question
    assert (await listing(bot.store)).available_from == date(2026, 12, 1)

    await seller.tap("⬅️")  # back to the date: shown as the day chosen, not after "现在是"
    shown = last_text(seller)
    assert "📅 已选日期：2026-12-01" in shown and "现在是" not in shown
    await seller.send("11月1日")
    assert last_text(seller).startswith("📅 11月1日 是指 2027-11-01 吗？")
    await seller.tap("✅ 是的")
    assert (await listing(bot.store)).available_from == date(2027, 11, 1)
    assert last_text(seller).startswith("📝")


async def test_an_english_seller_is_asked_about_a_yearless_date_and_an_old_yes_is_refused(bot):
    seller = bot.person(1001, "Wang Fang", language_code="en")
    await settle_in(seller)
    await seller.send("/sell")
    await seller.send("Red dates")
    await seller.tap(category_name(translator("en"), "fruit"))
    await seller.tap("⏭ Skip")
    await seller.tap("jin")
    await seller.send("half a jin")
    await seller.send("¥6.5")
    assert ((await listing(bot.store)).left_milli, (await listing(bot.store)).price_fen) == (500, 650)
    await seller.send("06-01")
    assert last_text(seller).startswith("📅 06-01 means 2027-06-01? That is more than six months from now.")
    asked = seller.chat.last_bot_message()
    forged = await seller.tap_data(f"sl:date:{(await listing(bot.store)).id}:20271399", asked)
    assert forged.text == "⌛ This button is no longer valid. Please open the menu again."
    assert (await listing(bot.store)).available_from is None
    await seller.send("05-01")  # typing another date answers too
    assert (await listing(bot.store)).available_from == date(2027, 5, 1)
    await seller.tap("✅ Yes", asked)  # the old question: the date is answered already
    assert (await listing(bot.store)).available_from == date(2027, 5, 1)


async def test_an_admin_types_a_price_and_a_stock_as_people_say_them(bot):
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/start")
    await admin.send("/product FD-001")
    await admin.tap("💰 Price")
    await admin.send("四十八块五")
    assert last_text(admin).startswith("✅ New price: ¥48.50")
    assert (await product(bot.store, "FD-001")).price_fen == 4850
    await admin.tap("📦 Stock")
    await admin.send("5斤")  # rice is stocked by the bag
    assert last_text(admin).startswith("⚠️ This is sold by the bag. Please type how many bag.\n📦 Type the new stock")
    await admin.send("两百袋")
    assert "✅ New stock: 200" in last_text(admin)
    assert await stock_of(bot.store, "FD-001") == 200


async def test_a_buyer_says_how_much_produce_in_chinese(bot):
    _, seller = await a_seller(bot)
    await list_produce(bot.store, bot.clock, seller, "红富士苹果", quantity_milli=10_000, price_fen=600)
    li = bot.person(1002, "李", language_code="zh-hans")
    await settle_in(li, "城固县", "青龙")
    await li.send("/market")
    await li.tap(category_name(ZH, "fruit"))
    await li.tap("红富士苹果")
    await li.tap("🛒")
    await li.send("两袋")  # apples here are sold by the 斤
    assert last_text(li).startswith("⚠️ 这个按斤卖，请输入多少斤。")
    await li.send("三斤半")
    assert "3.5 斤" in last_text(li) and "¥21.00" in last_text(li)
