"""Sharing the market, through the real Application and the Bot API double: a listing's 📤 Share and
its deep link (``/start l-<id>``), opened by a stranger, a newcomer and a villager; links to what
is not for sale, and broken ones; and inline mode (``@bot 苹果`` in any chat) in Chinese and
English, with photos, prices and a 🛒 Buy link, the newest listings for an empty query, nothing for
words nothing matches, 50 results at a time, and no write to the store."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from chat import body, labels, last_text, menu_labels, settle_in, texts
from services import produce
from store.models import Base, ProcessedUpdate, Villager
from support.produce import a_seller, list_produce, person

BOT = "rural_test_bot"


def link_to(listing_id: int) -> str:
    return f"https://t.me/{BOT}?start=l-{listing_id}"


def raw_buttons(message) -> list[dict]:
    return [b for row in (message.inline_markup or {}).get("inline_keyboard", []) for b in row]


def payload_of(url: str) -> str:
    """What Telegram sends as /start's argument when someone opens a t.me link."""
    assert urlsplit(url).netloc == "t.me" and urlsplit(url).path == f"/{BOT}", url
    return parse_qs(urlsplit(url).query)["start"][0]


async def everything(store) -> dict[str, list]:
    """Every row of every table, the update ledger included."""
    async with store.read() as session:
        return {table.name: sorted(map(repr, (await session.execute(select(table))).all()))
                for table in Base.metadata.sorted_tables}


def apples_photo(bot) -> str:
    return bot.double.store_file("photo", b"\xff\xd8\xff\xe0-apples", "apples.jpg", "image/jpeg").file_id


# ---- 📤 Share and the deep link ---------------------------------------------------------------------

async def test_a_seller_shares_a_listing_and_a_stranger_opens_its_link(bot):
    seller, seller_id = await a_seller(bot)
    photo = apples_photo(bot)
    apples = await list_produce(bot.store, bot.clock, seller_id, "红富士苹果", photo=photo)

    # The seller, in 📋 My listings: 📤 Share gives the link as a message to forward.
    await seller.send("/mylistings")
    await seller.tap("1. 红富士苹果")
    assert "📤 Share" in labels(seller.chat.last_bot_message())
    await seller.tap("📤 Share")
    shared = seller.chat.last_bot_message()
    assert shared.text.startswith("🌾 红富士苹果\n💰 ¥6.00 / jin\n📍 Shangyuan Village Service Center, Chenggu County")
    assert "Send this link to anyone" in shared.text and shared.text.endswith(link_to(apples))
    assert any(e["type"] == "url" for e in shared.entities)  # Telegram makes the link tappable
    share_in_chat, back = raw_buttons(shared)
    assert share_in_chat == {"text": "📨 Share in a chat", "switch_inline_query": "红富士苹果"}
    assert back["text"] == "⬅️ Back"
    # In Telegram the seller picks a chat, where "@rural_test_bot 红富士苹果" is typed for them.
    group = bot.double.group(-100777, "Family")
    group.add_member(seller)
    found = await seller.ask_inline(shared.buttons[0][0].switch_inline_query, chat_type="group")
    assert found.results[0]["id"] == f"l{apples}"
    posted = seller.choose_inline(found, f"l{apples}", group)
    assert posted.caption.startswith("🌾 红富士苹果") and posted.buttons[0][0].url == link_to(apples)
    await seller.tap("⬅️ Back", message=shared)
    assert "This is your own produce" in body(seller.chat.last_bot_message())

    # A stranger who never talked to the bot opens the link: the listing at once, with its buttons.
    stranger = bot.person(3001, "陈", language_code="zh-hans")
    await stranger.send(f"/start {payload_of(link_to(apples))}")
    [card] = stranger.chat.bot_messages()
    assert card.photo == photo
    assert card.caption.startswith("🌾 红富士苹果") and "¥6.00/斤" in card.caption and "上元村服务站" in card.caption
    assert labels(card) == ["🛒 下单", "📤 分享", "👤 卖家", "⬅️ 返回"]
    async with bot.store.read() as session:
        newcomer = await session.scalar(select(Villager).where(Villager.telegram_id == 3001))
    assert newcomer.center_id is None
    # Ordering asks a newcomer how to get it: delivered (test_town_buyer), or picked up at a center.
    await stranger.tap("🛒 下单")
    await stranger.tap("2 斤")
    assert labels(stranger.chat.last_bot_message()) == ["🚚 送货到我的地址", "📍 到服务站自提", "⬅️ 返回"]
    await stranger.tap("📍 到服务站自提")
    assert "📍" in last_text(stranger) and "城固县" in labels(stranger.chat.last_bot_message())

    # A villager with a center opens it too, and shares it from the market's card.
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang, village="Qinglong")
    await wang.send(f"/start l-{apples}")
    market_card = wang.chat.last_bot_message()
    assert labels(market_card) == ["🛒 Order", "📤 Share", "👤 Seller", "⬅️ Back"]
    await wang.tap("📤 Share", message=market_card)
    assert wang.chat.last_bot_message().text.endswith(link_to(apples))
    # Plain /start is as before.
    await wang.send("/start")
    assert last_text(wang).startswith("👋 Welcome back, Wang!")


async def test_links_to_what_is_not_for_sale_are_answered_politely(bot):
    _, seller_id = await a_seller(bot)
    withdrawn = await list_produce(bot.store, bot.clock, seller_id, "Dried persimmons")
    paused = await list_produce(bot.store, bot.clock, seller_id, "Walnuts", "nuts")
    in_review = await list_produce(bot.store, bot.clock, seller_id, "New rice", "grain", approve=False)
    await produce.withdraw(bot.store, bot.clock, seller_id, withdrawn)
    await produce.pause(bot.store, bot.clock, seller_id, paused, paused=True)

    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    for listing_id in (withdrawn, paused, in_review, 99999):
        before = len(wang.chat.bot_messages())
        await wang.send(f"/start l-{listing_id}")
        said = texts(wang.chat)[before:]
        assert said == ["😔 This produce is no longer for sale.", "👋 Welcome back, Wang! What would you like to do?"]
        assert "🧺 Market" in menu_labels(wang.chat)

    # A newcomer gets the word in their language, then the first-time welcome and the centers.
    newcomer = bot.person(3002, "李", language_code="zh-hans")
    await newcomer.send(f"/start l-{withdrawn}")
    said = texts(newcomer.chat)
    assert said[0] == "😔 这个农产品已经不卖了。"
    assert said[1].startswith("👋") and "县" in labels(newcomer.chat.last_bot_message())[0]


async def test_broken_and_forged_start_payloads_get_the_menu_not_an_error(bot):
    _, seller_id = await a_seller(bot)
    await list_produce(bot.store, bot.clock, seller_id, "红富士苹果")
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    for payload in ("l-abc", "l-99999999999999999999", "l-", "l-12abc", "l--1", "l-2147483648"):
        before = len(wang.chat.bot_messages())
        await wang.send(f"/start {payload}")
        said = texts(wang.chat)[before:]
        assert said == ["🤔 This link is broken: it does not lead to any produce.",
                        "👋 Welcome back, Wang! What would you like to do?"], payload
    # An unknown prefix, or a promotion's link to nothing, is the plain /start, as before.
    for payload in ("zz-1", "p-NOPE", "x" * 70):
        before = len(wang.chat.bot_messages())
        await wang.send(f"/start {payload}")
        assert texts(wang.chat)[before:] == ["👋 Welcome back, Wang! What would you like to do?"], payload
    # "Open the market" from inline mode opens 🧺 Market.
    await wang.send("/start mk")
    assert last_text(wang).startswith("🧺 Market")


# ---- inline mode -------------------------------------------------------------------------------------

async def test_inline_queries_in_chinese_and_english_find_listings_with_photo_price_and_buy(bot):
    _, seller_id = await a_seller(bot)
    photo = apples_photo(bot)
    apples = await list_produce(bot.store, bot.clock, seller_id, "红富士苹果", photo=photo)
    honey = await list_produce(bot.store, bot.clock, seller_id, "Fresh honey", "honey", "kg", 20_000, 8000)
    await list_produce(bot.store, bot.clock, seller_id, "红苹果干", approve=False)  # in review: not shown
    assert "inline_query" in bot.double.allowed_updates and "chosen_inline_result" not in bot.double.allowed_updates
    me = await bot.app.bot.get_me()
    assert me.supports_inline_queries and me.username == BOT

    # Someone who never talked to the bot types "@rural_test_bot 苹果" in a group.
    chen = bot.person(3001, "陈", language_code="zh-hans")
    await bot.pump()  # the sellers' news sent: nothing else moves the store meanwhile
    before = await everything(bot.store)
    answer = await chen.ask_inline("苹果", chat_type="group")
    assert answer.answered and not answer.is_personal and answer.cache_time <= 60
    [result] = answer.results
    assert result["type"] == "photo" and result["photo_file_id"] == photo and result["title"] == "红富士苹果"
    assert result["caption"] == "🌾 <b>红富士苹果</b>\n💰 ¥6.00/斤\n📍 上元村服务站, 城固县"
    assert result["description"] == "¥6.00/斤 · 上元村服务站"
    assert result["reply_markup"] == {"inline_keyboard": [[{"text": "🛒 购买", "url": link_to(apples)}]]}
    assert await everything(bot.store) == before  # nothing written: no person, no update claimed

    # The same in English; a listing without a photo is an article.
    li = bot.person(3002, "Li", language_code="en")
    answer = await li.ask_inline("honey")
    [result] = answer.results
    assert result["type"] == "article" and result["title"] == "Fresh honey"
    assert result["description"] == "¥80.00 / kg · Shangyuan Village Service Center"
    assert result["input_message_content"]["message_text"].startswith("🌾 <b>Fresh honey</b>\n💰 ¥80.00 / kg")
    assert result["reply_markup"]["inline_keyboard"][0][0] == {"text": "🛒 Buy", "url": link_to(honey)}
    assert (await li.ask_inline("pingguo")).titles == ["红富士苹果"]  # the market's own search: pinyin too

    # Chosen, it is posted in the group as Chen's message via the bot; a neighbour opens 🛒 Buy.
    group = bot.double.group(-100777, "Family")
    group.add_member(chen)
    neighbour = bot.person(3003, "Zhao", language_code="en")
    group.add_member(neighbour)
    chosen = await chen.ask_inline("苹果", chat_type="group")
    posted = chen.choose_inline(chosen, f"l{apples}", group)
    assert posted.sender is chen and posted.media["via_bot"]["username"] == BOT
    assert posted.photo == photo and posted.caption.startswith("🌾 红富士苹果")
    [buy] = posted.buttons[0]
    await neighbour.send(f"/start {payload_of(buy.url)}")
    assert neighbour.chat.bot_messages()[0].caption.startswith("🌾 红富士苹果")
    async with bot.store.read() as session:
        assert await session.scalar(select(Villager.id).where(Villager.telegram_id == chen.id)) is None


async def test_an_empty_inline_query_shows_the_newest_and_unmatched_words_show_nothing(bot):
    _, seller_id = await a_seller(bot)
    first = await list_produce(bot.store, bot.clock, seller_id, "红富士苹果")
    paused = await list_produce(bot.store, bot.clock, seller_id, "Walnuts", "nuts")
    bot.clock.advance(timedelta(minutes=5))
    newest = await list_produce(bot.store, bot.clock, seller_id, "Fresh honey", "honey", "kg", 20_000, 8000)
    await produce.pause(bot.store, bot.clock, seller_id, paused, paused=True)

    li = bot.person(3002, "Li", language_code="en")
    answer = await li.ask_inline("")
    assert [r["id"] for r in answer.results] == [f"l{newest}", f"l{first}"]
    assert answer.button is None and answer.next_offset == ""

    answer = await li.ask_inline("tractor")
    assert answer.answered and answer.results == []
    assert answer.button == {"text": "🧺 Open the market", "start_parameter": "mk"}
    await li.send(f"/start {answer.button['start_parameter']}")
    assert last_text(li).startswith("🧺 Market")


async def test_sixty_matching_listings_come_fifty_at_a_time(bot):
    _, seller_id = await a_seller(bot)
    made = [await list_produce(bot.store, bot.clock, seller_id, f"苹果 {n + 1}号", price_fen=500 + n)
            for n in range(60)]
    wang = bot.person(1001, "Wang", language_code="en")
    first = await wang.ask_inline("苹果")
    assert len(first.results) == 50 and first.next_offset == "50"
    rest = await wang.ask_inline("苹果", offset=first.next_offset)
    assert len(rest.results) == 10 and rest.next_offset == ""
    ids = [r["id"] for r in first.results + rest.results]
    assert sorted(ids) == sorted(f"l{listing}" for listing in made)
    empty = await wang.ask_inline("")
    assert len(empty.results) == 50 and empty.next_offset == "50"
    assert len((await wang.ask_inline("", offset="50")).results) == 10
    # A forged offset is the first page; one far down is the end.
    assert len((await wang.ask_inline("苹果", offset="abc")).results) == 50
    assert (await wang.ask_inline("苹果", offset="9999")).results == []


async def test_a_flood_of_inline_queries_is_held_back_without_a_word_or_a_write(bot):
    """Inline queries come at every keystroke: past USER_RATE they go unanswered (there is no chat
    to say "slow down" in), and none of them, answered or not, writes to the store."""
    _, seller_id = await a_seller(bot)
    await list_produce(bot.store, bot.clock, seller_id, "红富士苹果")
    await bot.pump()
    before = await everything(bot.store)
    typist = bot.person(3005, "Typist", language_code="en")
    flood = [bot.double.inline_query_update(typist, "苹果", "", "private") for n in range(30)]
    await bot.double.deliver_injected([bot.double.inject(update) for update in flood])
    answers = [bot.double.inline_answers[update["inline_query"]["id"]] for update in flood]
    assert sum(a.answered for a in answers) == 10  # USER_RATE's burst
    assert all(a.results for a in answers if a.answered)
    assert typist.chat.bot_messages() == []
    assert await everything(bot.store) == before
    # A moment later (the person's time moves on), they are answered again.
    assert (await typist.ask_inline("苹果")).answered


async def test_inline_queries_by_webhook_too(demo_store, clock, telegram, webhook_bot):
    """``rural-bot webhook`` asks Telegram for inline queries when it sets its webhook, and answers
    them without claiming the update or registering the asker."""
    seller_id = await person(demo_store, clock, 2001)
    await list_produce(demo_store, clock, seller_id, "红富士苹果")
    await webhook_bot(demo_store.url, telegram)
    assert "inline_query" in telegram.allowed_updates and "chosen_inline_result" not in telegram.allowed_updates
    chen = telegram.person(3001, "陈", language_code="zh-hans")
    answer = await chen.ask_inline("苹果")
    assert answer.answered and answer.titles == ["红富士苹果"] and "¥6.00/斤" in answer.results[0]["description"]
    async with demo_store.read() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0
        assert await session.scalar(select(Villager.id).where(Villager.telegram_id == chen.id)) is None
