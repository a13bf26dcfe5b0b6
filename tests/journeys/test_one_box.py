"""One search box: typed text and /search find the shop's products and the neighbours' produce in the
market together, in two labelled sections; a search only the market answers is not a miss."""

from __future__ import annotations

from sqlalchemy import select

from catalog.importer import import_products
from chat import body, labels, last_text, settle_in
from handlers.callbacks import MarketFind, MarketWords
from store.models import SearchMiss
from support.produce import SHANGYUAN, a_seller, list_produce

APPLE_BAGS = ("sku,category,price,unit,stock,name:zh,name:en,keywords\n"
              "FT-900,farm_tools,12.00,pack,80,苹果套袋 100只,Apple fruit bags 100 pcs,苹果袋;果袋;套袋;fruit bag\n")


async def misses(store) -> list[str]:
    async with store.read() as session:
        return list(await session.scalars(select(SearchMiss.query).order_by(SearchMiss.id)))


async def test_apples_typed_find_the_shop_and_the_neighbours_apples(bot):
    assert (await import_products(bot.store, bot.clock.now(), APPLE_BAGS.encode())).ok
    _, seller = await a_seller(bot)
    await list_produce(bot.store, bot.clock, seller, "红富士苹果")
    await list_produce(bot.store, bot.clock, seller, "青苹果", approve=False)  # still under review

    li = bot.person(1002, "李", language_code="zh-hans")
    await settle_in(li, "城固县", "上元")
    await li.send("苹果")
    found = li.chat.last_bot_message()
    lines = found.text.split("\n")
    assert lines[0] == "🔍 “苹果”的搜索结果："
    assert lines[1].startswith("🛒 商店里：") and lines[2] == "🧺 集市上乡亲们卖的：1 件"
    shop = [label for label in labels(found) if "苹果套袋" in label]
    market = [label for label in labels(found) if label.startswith("🧺")]
    assert shop == ["苹果套袋 100只 · ¥12.00"]
    assert market == ["🧺 红富士苹果 · ¥6.00/斤 · 上元村服务站"]
    assert labels(found).index(shop[0]) < labels(found).index(market[0])  # the shop's section first
    assert not any("青苹果" in label for label in labels(found))  # not on the market yet
    assert labels(found)[-2:] == ["📂 分类", "🛍 购物车"]

    await li.tap("🧺 红富士苹果")
    card = li.chat.last_bot_message()
    assert body(card).startswith("🌾 红富士苹果")
    assert any("下单" in label for label in labels(card))

    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    await wang.send("/search 苹果")
    found = wang.chat.last_bot_message()
    assert found.text.startswith("🔍 Found for “苹果”:\n🛒 In the shop: ")
    assert found.text.endswith("\n🧺 From your neighbours, in the market: 1")
    assert f"🧺 红富士苹果 · ¥6.00 / jin · {SHANGYUAN}" in labels(found)
    assert "Apple fruit bags 100 pcs · ¥12.00" in labels(found)
    assert await misses(bot.store) == []


async def test_a_search_only_the_market_answers_is_no_miss_and_one_nothing_answers_still_is(bot):
    _, seller = await a_seller(bot)
    await list_produce(bot.store, bot.clock, seller, "山核桃", "fruit", price_fen=2500)

    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang, village="Qinglong")
    await wang.send("核桃")
    found = wang.chat.last_bot_message()
    assert found.text == "🔍 Found for “核桃”:\n🧺 From your neighbours, in the market: 1"
    assert labels(found) == [f"🧺 山核桃 · ¥25.00 / jin · {SHANGYUAN}", "📂 Categories", "🛍 Cart"]
    assert await misses(bot.store) == []

    await wang.send("zqxjv")
    assert last_text(wang).startswith("😕 Nothing found for “zqxjv”.")
    assert await misses(bot.store) == ["zqxjv"]

    # /market keeps searching the market alone.
    await wang.send("/market 核桃")
    assert last_text(wang) == "🔍 In the market for “核桃”:"


async def test_more_in_the_market_opens_the_markets_own_search(bot):
    _, seller = await a_seller(bot)
    for n in range(6):
        await list_produce(bot.store, bot.clock, seller, f"苹果 {n + 1}号", price_fen=500 + n)

    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang, village="Qinglong")
    await wang.send("苹果")
    found = wang.chat.last_bot_message()
    assert len([label for label in labels(found) if label.startswith("🧺 苹果")]) == 4
    assert "🧺 More in the market" in labels(found)

    await wang.tap("🧺 More in the market")
    market = wang.chat.last_bot_message()
    assert market.text == "🔍 In the market for “苹果”:"
    assert len([label for label in labels(market) if label.startswith("苹果")]) == 6

    # Words too long for a button ask for the words again instead.
    assert isinstance(MarketWords.or_ask("苹果" * 20), MarketFind)
    assert MarketWords.or_ask(" red: apples ") == MarketWords("red apples")
