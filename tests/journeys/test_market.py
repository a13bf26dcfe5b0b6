"""The market, played through the real Application and the Bot API double: browsing by category
and by county, the listing card, search, and buyers ordering produce; and, at the service level,
buyers racing for the last units on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from chat import center_id, labels, last_text, settle_in, texts, villager_id
from handlers.listings import category_name
from locales import translator
from services import market, produce, villagers
from services.market import NotEnoughLeft
from services.outbox import Kind
from services.partners import add_partner
from store.models import Listing, Order, OrderLine, Villager
from support.desk import ADMIN
from support.produce import SHANGYUAN, a_seller, list_produce
from support.store import outbox_rows

EN = translator("en")
FRUIT, HONEY = category_name(EN, "fruit"), category_name(EN, "honey")
QINGLONG = "Qinglong Village Service Center"
DAZHE = "Dazhe Village Service Center"


async def listing(store, listing_id: int) -> Listing:
    async with store.read() as session:
        return await session.get(Listing, listing_id)


def data_of(message, text: str) -> str:
    return next(b.callback_data for row in message.buttons for b in row if text in b.text)


async def orders_of(store, buyer_id: int) -> list[Order]:
    async with store.read() as session:
        return list(await session.scalars(select(Order).where(Order.villager_id == buyer_id).order_by(Order.id)))


# ---- browsing ---------------------------------------------------------------------------------

async def test_browse_by_category_and_county_and_the_listing_card(bot):
    _, seller = await a_seller(bot)
    photo = bot.double.store_file("photo", b"\xff\xd8\xff\xe0-apples", "apples.jpg", "image/jpeg").file_id
    apples = await list_produce(bot.store, bot.clock, seller, "红富士苹果", photo=photo, note="Sweet <crisp>")
    await list_produce(bot.store, bot.clock, seller, "Fresh honey", "honey", "kg", 20_000, 8000)
    await list_produce(bot.store, bot.clock, seller, "New rice", "grain", approve=False)  # under review
    paused = await list_produce(bot.store, bot.clock, seller, "Dried persimmons", "fruit")
    await produce.pause(bot.store, bot.clock, seller, paused, paused=True)

    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang, village="Qinglong")
    await wang.press("🧺 Market")
    front = wang.chat.last_bot_message()
    assert front.text.startswith("🧺 Market")
    assert labels(front) == [f"{FRUIT} (1)", f"{HONEY} (1)", "🗺 By county", "🔍 Search the market"]

    await wang.tap(f"{FRUIT} (1)")
    page = wang.chat.last_bot_message()
    assert page.message_id == front.message_id  # the screen changes in place
    assert labels(page) == [f"红富士苹果 · ¥6.00 / jin · {SHANGYUAN}", "⬅️ Back"]

    await wang.tap("红富士苹果")
    card = wang.chat.last_bot_message()
    assert card.photo == photo
    assert card.caption.startswith("🌾 红富士苹果")
    assert f"📍 {SHANGYUAN}, Chenggu County · sold by Li" in card.caption
    assert "¥6.00 / jin" in card.caption and "300 jin left" in card.caption
    assert "Available from 2026-11-20" in card.caption and "Sweet <crisp>" in card.caption
    assert "Ming" not in card.caption and "liming_secret" not in card.caption
    assert labels(card) == ["🛒 Order", "📤 Share", "👤 Seller", "⬅️ Back"]

    await wang.tap("⬅️ Back", message=card)
    assert labels(wang.chat.last_bot_message())[0].startswith("红富士苹果")

    await wang.send("/market")
    await wang.tap("🗺 By county")
    assert labels(wang.chat.last_bot_message()) == ["Chenggu County (2)", "⬅️ Back"]
    await wang.tap("Chenggu County (2)")
    county_page = wang.chat.last_bot_message()
    assert county_page.text.startswith("🗺 Chenggu County — page 1 of 1")
    assert [b.split(" · ")[0] for b in labels(county_page)] == ["Fresh honey", "红富士苹果", "⬅️ Back"]
    await wang.tap("Fresh honey")
    honey_card = wang.chat.last_bot_message()
    assert honey_card.photo is None and "20 kg left" in honey_card.text and "¥80.00 / kg" in honey_card.text
    await wang.tap("⬅️ Back")
    assert wang.chat.last_bot_message().text.startswith("🗺 Chenggu County")

    # A listing that left the market meanwhile: an old button says so and shows the market.
    await produce.pause(bot.store, bot.clock, seller, apples, paused=True)
    answer = await wang.tap_data(f"mk:l:{apples}", honey_card)
    assert answer.show_alert and "no longer for sale" in answer.text
    assert labels(wang.chat.last_bot_message()) == [f"{HONEY} (1)", "🗺 By county", "🔍 Search the market"]
    answer = await wang.tap_data("mk:cat:fruit:0", honey_card)
    assert answer.show_alert and "Nothing for sale here any more" in answer.text


async def test_an_empty_market_says_so_and_suggests_selling(bot):
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    await wang.send("/market")
    assert "The market is empty for now" in last_text(wang) and "/sell" in last_text(wang)
    assert labels(wang.chat.last_bot_message()) == ["🛒 Shop"]


# ---- search ----------------------------------------------------------------------------------

async def test_search_finds_chinese_pinyin_and_typos(bot):
    _, seller = await a_seller(bot)
    await list_produce(bot.store, bot.clock, seller, "红富士苹果")
    await list_produce(bot.store, bot.clock, seller, "Fresh honey", "honey", "kg", 20_000, 8000)
    await list_produce(bot.store, bot.clock, seller, "New rice", "grain", approve=False)

    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang, village="Qinglong")
    await wang.send("/market 苹果")
    found = wang.chat.last_bot_message()
    assert found.text == "🔍 In the market for “苹果”:"
    assert labels(found)[0].startswith("红富士苹果 · ¥6.00 / jin") and len(labels(found)) == 3

    await wang.tap("🔍 Search again")
    assert "What produce are you looking for?" in last_text(wang)
    await wang.send("pingguo")
    assert labels(wang.chat.last_bot_message())[0].startswith("红富士苹果")
    # The search was answered: the next text is an ordinary catalog search again.
    async with bot.store.read() as session:
        assert await session.scalar(select(Villager.awaiting).where(Villager.telegram_id == 1001)) is None

    await wang.send("/market hony")
    assert labels(wang.chat.last_bot_message())[0].startswith("Fresh honey · ¥80.00 / kg")
    await wang.tap("Fresh honey")
    assert "20 kg left" in last_text(wang)

    await wang.send("/market rice")
    assert "Nothing in the market for “rice”" in last_text(wang)
    await wang.send("/market <b>x</b>")
    assert "“<b>x</b>”" in last_text(wang)


# ---- ordering ------------------------------------------------------------------------------

async def bind_desk(bot, code: str, partner_id: int, group_id: int):
    await add_partner(bot.store, bot.clock, ADMIN, code, partner_id)
    partner = bot.person(partner_id, f"Partner {code}", language_code="en")
    group = bot.double.group(group_id, f"{code} desk")
    await bot.double.add_bot_to_group(group, by=partner)
    await partner.send(f"/bind {code}", chat=group)
    return partner, group


async def test_two_buyers_order_the_listing_down_to_sold_out(bot):
    _, seller = await a_seller(bot)
    apples = await list_produce(bot.store, bot.clock, seller, "红富士苹果", quantity_milli=10_000, price_fen=600)
    _, seller_desk = await bind_desk(bot, "CG-01", 501, -100501)

    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang, village="Qinglong")
    zhao = bot.person(1002, "Zhao", language_code="en")
    await settle_in(zhao, village="Liujiaying")
    wang_id, zhao_id = await villager_id(bot.store, 1001), await villager_id(bot.store, 1002)

    # Wang: the card, how much (with bad amounts first), and the confirmation.
    await wang.send("/market")
    await wang.tap(FRUIT)
    await wang.tap("红富士苹果")
    await wang.tap("🛒 Order")
    ask = wang.chat.last_bot_message()
    assert "How much 红富士苹果?" in ask.text and "10 jin left" in ask.text
    assert labels(ask) == ["1 jin", "2 jin", "5 jin", "All 10 jin", "⬅️ Back"]
    for typed, problem in (("abc", "Please type a number"), ("3kg", "This is sold by the jin"),
                           ("20", "Only 10 jin left"), ("-1", "It must be more than 0"),
                           ("0,0001", "Too many decimals")):
        await wang.send(typed)
        assert problem in last_text(wang), typed
        assert "How much 红富士苹果?" in last_text(wang)
    await wang.send("2,5")
    check = wang.chat.last_bot_message()
    assert "Please check your order" in check.text
    assert "2.5 jin × ¥6.00 / jin" in check.text and "Total: ¥15.00" in check.text
    assert f"Pick up at: {QINGLONG}" in check.text and "cash at pickup" in check.text
    assert labels(check) == ["✅ Confirm order", "📍 Another center", "🚚 Deliver instead", "✏️ Change the amount",
                             "⬅️ Back"]
    confirm = data_of(check, "Confirm order")
    assert len(confirm.encode()) < 64

    await wang.tap_data(confirm, check)
    placed = last_text(wang)
    number = re.search(r"Order (RT-[0-9A-Z]{5}) placed", placed).group(1)
    assert f"Pick up at: {QINGLONG}" in placed and "¥15.00" in placed and "seller's partner" in placed
    assert labels(wang.chat.last_bot_message()) == ["📦 Track", "🧺 Market"]
    again = await wang.tap_data(confirm, check)  # a double tap: the same order
    assert again.show_alert and number in again.text
    [order] = await orders_of(bot.store, wang_id)
    assert order.number == number and order.status == "pending" and order.total_fen == 1500
    assert order.center_id == await center_id(bot.store, "CG-02")
    assert order.seller_center_id == await center_id(bot.store, "CG-01")
    async with bot.store.read() as session:
        lines = list(await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
    assert [(line.listing_id, line.quantity_milli) for line in lines] == [(apples, 2500)]
    assert (await listing(bot.store, apples)).left_milli == 7500

    # The seller's partner gets the card to confirm; the seller is told.
    await bot.pump()
    assert any(text.startswith(f"🧾 Order {number}") for text in texts(seller_desk))
    sold = [row.payload for row in await outbox_rows(bot.store, Kind.SELLER) if row.villager_id == seller]
    assert {"event": "sold", "listing_id": apples, "order_id": order.id} in sold

    await wang.tap("📦 Track")
    assert f"Order {number}" in last_text(wang) and "2.5 jin" in last_text(wang)

    # Zhao types a quantity with its unit and picks up at a center in another county.
    await zhao.send("/market 苹果")
    await zhao.tap("红富士苹果")
    await zhao.tap("🛒 Order")
    await zhao.send("3斤")
    assert "Pick up at: Liujiaying Village Service Center" in last_text(zhao)
    await zhao.tap("📍 Another center")
    await zhao.tap("Suichang County")
    await zhao.tap(DAZHE)
    assert f"Pick up at: {DAZHE}" in last_text(zhao) and "Total: ¥18.00" in last_text(zhao)
    await zhao.tap("✅ Confirm order")
    assert f"Pick up at: {DAZHE}" in last_text(zhao)
    [zhao_order] = await orders_of(bot.store, zhao_id)
    assert zhao_order.center_id == await center_id(bot.store, "SC-01")
    assert zhao_order.seller_center_id == await center_id(bot.store, "CG-01")
    assert (await listing(bot.store, apples)).left_milli == 4500

    # Wang holds a confirmation for all that is left; Zhao is quicker with 1 jin.
    await wang.send("/market 苹果")
    await wang.tap("红富士苹果")
    await wang.tap("🛒 Order")
    await wang.send("5")
    assert "Only 4.5 jin left" in last_text(wang)
    await wang.tap("All 4.5 jin")
    stale = wang.chat.last_bot_message()
    assert "4.5 jin × ¥6.00 / jin" in stale.text and "Total: ¥27.00" in stale.text
    await zhao.send("/market 苹果")
    await zhao.tap("红富士苹果")
    await zhao.tap("🛒 Order")
    await zhao.tap("1 jin")
    await zhao.tap("✅ Confirm order")
    assert "placed" in last_text(zhao)
    refused = await wang.tap("✅ Confirm order", message=stale)
    assert refused.show_alert and "only 3.5 jin left" in refused.text
    assert len(await orders_of(bot.store, wang_id)) == 1
    assert "How much 红富士苹果?" in last_text(wang)

    # Wang buys the last units: the listing closes itself and leaves the market.
    await wang.tap("All 3.5 jin")
    await wang.tap("✅ Confirm order")
    assert "placed" in last_text(wang)
    closed = await listing(bot.store, apples)
    assert (closed.left_milli, closed.status) == (0, "sold_out")
    async with bot.store.read() as session:
        ordered = sum(await session.scalars(select(OrderLine.quantity_milli).where(OrderLine.listing_id == apples)))
    assert ordered == 10_000
    events = [row.payload["event"] for row in await outbox_rows(bot.store, Kind.SELLER)
              if row.villager_id == seller and row.payload.get("listing_id") == apples]
    assert events.count("sold") == 4 and events.count("sold_out") == 1
    await wang.send("/market")
    assert "The market is empty for now" in last_text(wang)
    answer = await zhao.tap_data(f"mk:n:{apples}", zhao.chat.last_bot_message())
    assert answer.show_alert and "no longer for sale" in answer.text


async def test_the_seller_cannot_buy_their_own_produce(bot):
    seller_person, seller = await a_seller(bot)
    apples = await list_produce(bot.store, bot.clock, seller, "红富士苹果")
    await bot.pump()  # the seller is told of the approval first
    await seller_person.send("/market 苹果")
    await seller_person.tap("红富士苹果")
    card = seller_person.chat.last_bot_message()
    assert "This is your own produce" in card.text
    assert labels(card) == ["📤 Share", "👤 Seller", "⬅️ Back"]  # their own: no Order, but they may share it

    answer = await seller_person.tap_data(f"mk:n:{apples}", card)
    assert answer.show_alert and "your own produce" in answer.text
    center = await center_id(bot.store, "CG-01")
    answer = await seller_person.tap_data(f"mk:ok:{apples}:1000:{center}:0123456789", card)
    assert answer.show_alert and "your own produce" in answer.text
    assert await orders_of(bot.store, seller) == []
    assert (await listing(bot.store, apples)).left_milli == 300_000


async def test_a_buyer_without_a_center_picks_one_and_forged_buttons_are_refused(bot):
    _, seller = await a_seller(bot)
    eggs = await list_produce(bot.store, bot.clock, seller, "土鸡蛋", "eggs_poultry", "piece", 30_000, 150)
    newcomer = bot.person(1003, "Sun", language_code="en")
    await newcomer.send("/start")  # no center chosen
    await newcomer.send("/market 鸡蛋")
    await newcomer.tap("土鸡蛋")
    await newcomer.tap("🛒 Order")
    await newcomer.send("2.5")
    assert "can only be counted whole" in last_text(newcomer)
    await newcomer.send("12")
    assert "How would you like to get it?" in last_text(newcomer)  # delivered (test_town_buyer), or picked up
    await newcomer.tap("📍 Pick up at a service center")
    assert "Where will you pick it up?" in last_text(newcomer)
    await newcomer.tap("Chenggu County")
    await newcomer.tap(QINGLONG)
    check = newcomer.chat.last_bot_message()
    assert "12 piece × ¥1.50 / piece" in check.text and "Total: ¥18.00" in check.text

    # More than is left, a center that does not exist, a listing that does not exist.
    answer = await newcomer.tap_data(f"mk:c:{eggs}:99000:{await center_id(bot.store, 'CG-02')}", check)
    assert answer.show_alert and "Only 30 piece left" in answer.text
    answer = await newcomer.tap_data(f"mk:ok:{eggs}:1000:999999:0123456789", check)
    assert answer.show_alert and "service center" in answer.text
    answer = await newcomer.tap_data("mk:ok:999999:1000:1:0123456789", check)
    assert answer.show_alert and "no longer for sale" in answer.text
    answer = await newcomer.tap_data(f"mk:ok:{eggs}:0:1:0123456789", check)
    assert answer.show_alert
    answer = await newcomer.tap_data(f"mk:q:{eggs}:1500", check)  # half an egg
    assert answer.show_alert and "can only be counted whole" in answer.text
    answer = await newcomer.tap_data(f"mk:ok:{eggs}:1500:1:0123456789", check)
    assert answer.show_alert and "can only be counted whole" in answer.text
    answer = await newcomer.tap_data("mk:cat:nonsense:0", check)
    assert answer.show_alert and "Nothing for sale" in answer.text
    buyer = await villager_id(bot.store, 1003)
    assert await orders_of(bot.store, buyer) == []
    assert (await listing(bot.store, eggs)).left_milli == 30_000


# ---- racing buyers (the service) ----------------------------------------------------------

async def test_racing_buyers_never_oversell(demo_store, clock):
    async def person(telegram_id: int, code: str) -> int:
        villager = await villagers.enter(demo_store, clock, telegram_id=telegram_id, first_name=f"V{telegram_id}",
                                         username=None, locale="en")
        await villagers.set_center(demo_store, villager.id, await center_id(demo_store, code))
        return villager.id

    seller = await person(1, "CG-01")
    honey = await list_produce(demo_store, clock, seller, "Fresh honey", "honey", "kg", 5_000, 8000)
    buyers = [await person(10 + i, "CG-02") for i in range(8)]
    pickup = await center_id(demo_store, "CG-02")

    async def buy(buyer: int):
        try:
            return await market.order_listing(demo_store, clock, buyer, honey, 2_000, pickup, f"race{buyer}")
        except NotEnoughLeft as exc:
            return exc

    results = await asyncio.gather(*(buy(buyer) for buyer in buyers))
    placed = [r for r in results if not isinstance(r, NotEnoughLeft)]
    refused = [r for r in results if isinstance(r, NotEnoughLeft)]
    assert len(placed) == 2 and len(refused) == 6
    assert all(r.left_milli == 1_000 for r in refused)
    left = await listing(demo_store, honey)
    assert (left.left_milli, left.status) == (1_000, "approved")

    # The last unit, raced for by everyone: exactly one gets it, and the listing closes.
    results = await asyncio.gather(*(market.order_listing(demo_store, clock, buyer, honey, 1_000, pickup,
                                                          f"last{buyer}") for buyer in buyers),
                                   return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, NotEnoughLeft) for r in results if isinstance(r, Exception))
    async with demo_store.read() as session:
        ordered = sum(await session.scalars(select(OrderLine.quantity_milli).where(OrderLine.listing_id == honey)))
    closed = await listing(demo_store, honey)
    assert ordered == 5_000
    assert (closed.left_milli, closed.status) == (0, "sold_out")
    assert await market.categories(demo_store) == []


async def test_a_partner_orders_produce_for_a_villager_without_a_phone(bot):
    _, seller = await a_seller(bot)
    honey = await list_produce(bot.store, bot.clock, seller, "Mountain honey", "honey", quantity_milli=5000)
    await add_partner(bot.store, bot.clock, ADMIN, "CG-02", 501)
    partner = bot.person(501, "Lao Zhang", language_code="en")
    await settle_in(partner, village="Qinglong")
    await partner.send("/orderfor Grandma Liu")
    await partner.send("/market honey")
    await partner.tap("Mountain honey")
    await partner.tap("🛒 Order")
    await partner.tap("2 jin")
    assert "Pick up at: Qinglong Village Service Center" in last_text(partner)  # the villager's center
    await partner.tap("✅ Confirm order")
    assert any(re.match(r"✅ Order RT-\w{5} placed!", text) for text in texts(partner.chat))

    async with bot.store.read() as session:
        order = await session.scalar(select(Order).join(OrderLine).where(OrderLine.listing_id == honey))
        buyer = await session.get(Villager, order.villager_id)
    assert buyer.first_name == "Grandma Liu" and buyer.telegram_id is None
    assert order.assisted_by_id == await villager_id(bot.store, 501)
    assert order.center_id == await center_id(bot.store, "CG-02")
