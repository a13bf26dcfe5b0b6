"""🌾 Selling produce, played through the real Application and the Bot API double: a listing made
step by step (/sell) with Back, Edit, Cancel and a restart in the middle; then the seller's
listings (/mylistings): status, sales, edits, pause, withdraw; and refused input.

The clock is the fixture's ManualClock: 2026-11-11 10:00 in Asia/Shanghai, the demo centers'
timezone, so "today" for a Shangyuan seller is 2026-11-11.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from chat import labels, last_text, settle_in
from handlers.listings import category_name, common_produce, unit_name
from locales import translator
from services import reviews
from store.models import Listing, Villager
from support.desk import ADMIN

EN = translator("en")
APPLES = next(name for code, name, _ in common_produce(EN) if code == "apples")
FRUIT, GRAIN = category_name(EN, "fruit"), category_name(EN, "grain")
JIN, KG, PIECE = unit_name(EN, "jin"), unit_name(EN, "kg"), unit_name(EN, "piece")


# ---- helpers ------------------------------------------------------------------------------------

async def wang(bot, language_code: str = "en"):
    person = bot.person(1001, "Wang Fang", language_code=language_code)
    if language_code == "en":
        await settle_in(person)
    else:
        await settle_in(person, "城固县", "上元")
    return person


def last(person):
    return person.chat.last_bot_message()


async def listings_of(store, telegram_id: int = 1001) -> list[Listing]:
    async with store.read() as session:
        return list(await session.scalars(select(Listing).join(Villager, Villager.id == Listing.seller_id)
                                          .where(Villager.telegram_id == telegram_id).order_by(Listing.id)))


async def the_listing(store, telegram_id: int = 1001) -> Listing:
    found = await listings_of(store, telegram_id)
    assert len(found) == 1, found
    return found[0]


async def awaiting_of(store, telegram_id: int = 1001) -> str | None:
    async with store.read() as session:
        return await session.scalar(select(Villager.awaiting).where(Villager.telegram_id == telegram_id))


async def sell_apples(person, quantity: str = "100", price: str = "8.5") -> None:
    """Apples in kg through every step, published."""
    await person.send("/sell")
    await person.tap(APPLES)
    await person.tap("⏭ Skip")
    await person.tap(KG)
    await person.send(quantity)
    await person.send(price)
    await person.tap("Now")
    await person.tap("⏭ Skip")
    await person.tap("📤 Publish")


async def approve(bot, listing_id: int) -> None:
    await reviews.review(bot.store, bot.clock, ADMIN, listing_id, approve=True)
    await bot.pump()  # the seller is told; that message comes before what the test does next


# ---- the steps of /sell -----------------------------------------------------------------------

async def test_a_villager_makes_a_listing_step_by_step_and_publishes_it(bot):
    seller = await wang(bot)

    await seller.press("🌾 Sell produce")
    assert last_text(seller).startswith("🌾 What do you want to sell?")
    assert APPLES in labels(last(seller)) and "✖️ Cancel" in labels(last(seller))
    assert "⬅️ Back" not in labels(last(seller)), "nothing to go back to at the first step"
    assert await awaiting_of(bot.store) == f"sell:{(await the_listing(bot.store)).id}"

    await seller.send("a")
    assert "⚠️ That is too short" in last_text(seller) and "What do you want to sell?" in last_text(seller)
    await seller.send("x" * 61)
    assert "⚠️ That is too long" in last_text(seller)
    await seller.send("Red <b>dates</b>")
    assert last_text(seller).startswith("📂 What kind of produce is Red <b>dates</b>?")
    assert "Step 2 of 8" in last_text(seller)

    await seller.tap(FRUIT)
    assert last_text(seller).startswith("📷 Send a photo of Red <b>dates</b>")
    assert "Listings with a photo sell faster" in last_text(seller)
    await seller.send("here it is")
    assert last_text(seller).startswith("📷 Please send a photo, or tap Skip.")
    photo = (await seller.send_photo()).photo

    assert last_text(seller).startswith("⚖️ How do you sell Red <b>dates</b>?")
    assert labels(last(seller))[:6] == [JIN, KG, PIECE, unit_name(EN, "dozen"), unit_name(EN, "box"),
                                        unit_name(EN, "ton")]
    await seller.tap(JIN)
    assert last_text(seller).startswith(f"📦 How many {JIN} of Red <b>dates</b>")

    for typed, why in (("abc", "Please type a number"), ("-3", "must be more than 0"), ("0", "must be more than 0"),
                       ("2.5个", "can only be counted whole"), ("1.0005", "Too many decimals")):
        await seller.send(typed)
        assert why in last_text(seller), typed
        assert f"How many {JIN}" in last_text(seller), "the same question again"
    await seller.send("１２")
    assert last_text(seller).startswith(f"💰 Your price for 1 {JIN}")
    listing = await the_listing(bot.store)
    assert (listing.left_milli, listing.unit, listing.step) == (12_000, "jin", "price")

    await seller.tap("⬅️ Back")
    assert last_text(seller).startswith(f"📦 How many {JIN}") and f"Now: 12 {JIN}" in last_text(seller)
    assert (await the_listing(bot.store)).step == "quantity"
    await seller.tap("⬅️ Back")
    assert last_text(seller).startswith("⚖️ How do you sell") and f"✅ {JIN}" in labels(last(seller))
    await seller.tap(PIECE)
    await seller.send("2.5")
    assert f"{PIECE} can only be counted whole" in last_text(seller)
    await seller.send("3斤")  # the unit typed with the number wins
    listing = await the_listing(bot.store)
    assert (listing.left_milli, listing.unit) == (3000, "jin")
    await seller.tap("⬅️ Back")
    await seller.send("12,5")
    assert (await the_listing(bot.store)).left_milli == 12_500

    for typed, why in (("abc", "Please type a number"), ("0", "must be more than 0"),
                       ("1.234", "Too many decimals"), ("5元/公斤", f"Please type the amount per {JIN}"),
                       ("200000", "That is more than ¥100000.00")):
        await seller.send(typed)
        assert why in last_text(seller), typed
        assert f"Your price for 1 {JIN}" in last_text(seller)
    await seller.send("6,5")
    assert (await the_listing(bot.store)).price_fen == 650

    assert last_text(seller).startswith("📅 From when can buyers have it?")
    assert labels(last(seller))[:4] == ["Now", "In a week", "In two weeks", "In a month"]
    for typed, why in (("soon", "Please type a date"), ("2026-11-01", "That date has passed"),
                       ("2030-01-01", "more than a year away")):
        await seller.send(typed)
        assert why in last_text(seller), typed
    await seller.send("12-01")
    assert (await the_listing(bot.store)).available_from == date(2026, 12, 1)

    assert last_text(seller).startswith("📝 Anything buyers should know")
    await seller.send("y" * 201)
    assert "⚠️ That is too long" in last_text(seller) and "200" in last_text(seller)
    await seller.send("Sweet, from the hill <farm>")

    preview = last(seller)
    assert preview.photo == photo, "the preview shows the seller's photo"
    assert preview.caption.startswith("👀 Please check. Buyers will see your listing like this:")
    for part in ("🌾 Red <b>dates</b> · " + FRUIT, "Shangyuan Village Service Center", "sold by Wang",
                 f"💰 ¥6.50 / {JIN}", f"📦 12.5 {JIN} left", "📅 Available from 2026-12-01",
                 "📝 Sweet, from the hill <farm>"):
        assert part in preview.caption, part
    assert "Fang" not in preview.caption, "buyers see the seller's first name only"
    assert labels(preview) == ["📤 Publish", "✏️ Edit", "✖️ Cancel"]

    await seller.tap("✏️ Edit")
    assert last_text(seller) == "✏️ What do you want to change?"
    await seller.tap("💰 Price")
    assert last_text(seller).startswith(f"💰 Your price for 1 {JIN}") and "Now: ¥6.50" in last_text(seller)
    assert "⬅️ Back to the preview" in labels(last(seller))
    await seller.send("7")
    assert f"💰 ¥7.00 / {JIN}" in last_text(seller) and last(seller).photo == photo

    await seller.tap("📤 Publish")
    assert "Red <b>dates</b> is sent to your partner for review" in last_text(seller)
    assert "We will tell you when it is on the market" in last_text(seller)
    listing = await the_listing(bot.store)
    assert (listing.status, listing.step, listing.title, listing.category) == ("review", None, "Red <b>dates</b>",
                                                                              "fruit")
    assert (listing.left_milli, listing.price_fen, listing.unit, listing.photo) == (12_500, 700, "jin", photo)
    assert (listing.available_from, listing.note) == (date(2026, 12, 1), "Sweet, from the hill <farm>")
    assert await awaiting_of(bot.store) is None

    again = await seller.tap_data(f"sl:pub:{listing.id}", preview)  # tapped twice: still one review
    assert not again.show_alert
    assert [(x.id, x.status) for x in await listings_of(bot.store)] == [(listing.id, "review")]
    await seller.send("honey")  # typed text is a search again, not an answer to the listing
    assert (await the_listing(bot.store)).note == "Sweet, from the hill <farm>"


async def test_a_common_produce_fills_its_name_and_kind_and_days_are_buttons(bot):
    seller = await wang(bot)
    await seller.send("/sell")
    await seller.tap(APPLES)

    assert last_text(seller).startswith(f"📷 Send a photo of {APPLES}")
    listing = await the_listing(bot.store)
    assert (listing.title, listing.category, listing.step) == (APPLES, "fruit", "photo")

    await seller.tap("⬅️ Back")
    assert f"✅ {FRUIT}" in labels(last(seller)), "the kind chosen with the produce is marked"
    await seller.tap(GRAIN)
    await seller.tap("⏭ Skip")
    await seller.tap(KG)
    await seller.send("20 kg")
    await seller.send("¥8")
    await seller.tap("In a week")
    listing = await the_listing(bot.store)
    assert (listing.category, listing.photo, listing.available_from) == ("grain", None, date(2026, 11, 18))
    assert (listing.left_milli, listing.price_fen, listing.step) == (20_000, 800, "note")

    await seller.tap("⏭ Skip")
    assert last_text(seller).startswith("👀 Please check.") and last(seller).photo is None
    await seller.tap("✏️ Edit")
    await seller.tap("📅 Available from")
    await seller.tap("In a month")
    assert "📅 Available from 2026-12-11" in last_text(seller)

    stale = await seller.tap_data(f"sl:cat:{listing.id}:fruit", last(seller))  # an old button
    assert stale.show_alert and "already" in stale.text
    assert (await the_listing(bot.store)).category == "grain"


async def test_cancel_says_it_deletes_the_draft_then_does(bot):
    seller = await wang(bot)
    await seller.send("/sell")
    await seller.send("Walnuts from grandpa")
    listing = await the_listing(bot.store)

    await seller.tap("✖️ Cancel")
    assert last_text(seller).startswith("❓ Stop making this listing? What you answered so far will be deleted.")
    await seller.tap("⬅️ No, go on")
    assert last_text(seller).startswith("📂 What kind of produce is Walnuts from grandpa?")

    await seller.tap("✖️ Cancel")
    await seller.tap("🗑 Yes, delete it")
    assert last_text(seller).startswith("🗑 The listing was deleted.")
    assert await listings_of(bot.store) == []
    assert await awaiting_of(bot.store) is None

    gone = await seller.tap_data(f"sl:go:{listing.id}", last(seller))
    assert gone.show_alert and gone.text == "⌛ This listing is no longer being edited."
    await seller.tap("🌾 Start a new listing")
    assert last_text(seller).startswith("🌾 What do you want to sell?")
    assert len(await listings_of(bot.store)) == 1


async def test_a_half_finished_listing_survives_a_restart(bot, restart):
    seller = await wang(bot)
    await seller.send("/sell")
    await seller.send("New rice")
    await seller.tap(GRAIN)
    await seller.tap("⏭ Skip")
    await seller.tap(KG)
    await seller.send("50")
    assert last_text(seller).startswith(f"💰 Your price for 1 {KG}")

    await restart()
    await seller.send("4,5")  # the answer is still awaited after the restart
    assert last_text(seller).startswith("📅 From when can buyers have it?")

    await restart()
    await seller.press("🌾 Sell produce")
    offer = last(seller)
    assert offer.text.startswith("📝 You have a listing that is not finished: New rice, at 📅 Available from.")
    assert labels(offer) == ["▶️ Continue", "🗑 Discard"]
    assert await awaiting_of(bot.store) is None, "typed text does not answer a step while the offer is open"
    await seller.tap("▶️ Continue")
    assert last_text(seller).startswith("📅 From when can buyers have it?")
    listing = await the_listing(bot.store)
    assert (listing.title, listing.category, listing.unit, listing.left_milli, listing.price_fen) == (
        "New rice", "grain", "kg", 50_000, 450)

    await seller.send("/sell")
    await seller.tap("🗑 Discard")
    assert await listings_of(bot.store) == []
    await seller.tap("🌾 Start a new listing")
    assert (await the_listing(bot.store)).title == ""


async def test_a_chinese_seller_chooses_units_in_chinese(bot):
    seller = await wang(bot, "zh-hans")
    await seller.send("/sell")
    await seller.send("红富士苹果")
    await seller.tap(category_name(translator("zh_Hans"), "fruit"))
    await seller.tap("⏭")
    units = labels(last(seller))
    assert units[:2] == ["斤", "公斤"] and "⬅️ 返回" in units
    await seller.tap("公斤")
    await seller.send("３斤")
    await seller.send("５.５元")
    listing = await the_listing(bot.store)
    assert (listing.title, listing.unit, listing.left_milli, listing.price_fen) == ("红富士苹果", "jin", 3000, 550)


async def test_no_service_center_means_choosing_one_first(bot):
    li = bot.person(1003, "Li", language_code="en")
    await li.send("/start")
    await li.send("/sell")
    assert last_text(li).startswith("📍 To sell, first choose your village service center")
    await li.tap("📍 Choose my service center")
    assert last_text(li).startswith("📍 Choose your village service center")
    assert await listings_of(bot.store, 1003) == []


# ---- /mylistings ------------------------------------------------------------------------------

async def test_my_listings_show_status_and_sales_and_can_be_changed(bot):
    seller = await wang(bot)
    await seller.send("/mylistings")
    assert last_text(seller) == "📋 You have nothing for sale yet."
    await seller.tap("🌾 Sell produce")
    assert last_text(seller).startswith("🌾 What do you want to sell?")
    await seller.send("/start")

    await sell_apples(seller)
    listing = await the_listing(bot.store)
    await seller.tap("📋 My listings")
    text = last_text(seller)
    assert text.startswith("📋 Your listings")
    assert f"1. {APPLES} · ⏳ Waiting for the partner's review" in text
    assert f"📦 100 {KG} left · 🧺 0 {KG} sold · 💵 ¥0.00 earned" in text
    assert labels(last(seller)) == [f"1. {APPLES}", "➕ Sell something else"]

    await approve(bot, listing.id)
    await seller.send("/mylistings")
    assert "✅ On the market" in last_text(seller)
    await seller.tap(f"1. {APPLES}")
    screen = last_text(seller)
    assert screen.startswith(f"🌾 {APPLES}") and "✅ On the market" in screen and "🧺 Sold: 0 kg" in screen
    assert labels(last(seller)) == ["💰 Price", "📦 Quantity", "📷 Photo", "📝 Note", "⏸ Pause", "📤 Share",
                                    "🗑 Withdraw", "⬅️ My listings"]

    # A lower price stays on the market; a higher one goes back to the partner.
    await seller.tap("💰 Price")
    assert "Now: ¥8.50 / kg" in last_text(seller)
    await seller.send("abc")
    assert "Please type a number" in last_text(seller)
    await seller.send("7.5")
    assert last_text(seller).startswith("✅ Saved.") and "💰 ¥7.50 / kg" in last_text(seller)
    assert "✅ On the market" in last_text(seller)
    await seller.tap("💰 Price")
    await seller.send("9")
    assert "⏳ A higher price or quantity needs your partner's review again; it is off the market until then" in (
        last_text(seller))
    listing = await the_listing(bot.store)
    assert (listing.status, listing.price_fen) == ("review", 900)
    assert await awaiting_of(bot.store) is None

    # Quantity in another unit is refused; a note; a photo sent when none is asked for.
    await approve(bot, listing.id)
    await seller.send("/mylistings")
    await seller.tap(f"1. {APPLES}")
    await seller.tap("📦 Quantity")
    await seller.send("30斤")
    assert "That is for another unit" in last_text(seller)
    await seller.send("80")
    assert (await the_listing(bot.store)).left_milli == 80_000 and "✅ On the market" in last_text(seller)
    await seller.tap("📝 Note")
    await seller.send("Picked <today>")
    assert "📝 Picked <today>" in last_text(seller)
    await seller.tap("📷 Photo")
    photo = (await seller.send_photo()).photo
    assert last(seller).photo == photo and last_text(seller).startswith("✅ Saved.")
    assert (await the_listing(bot.store)).photo == photo

    # Pause and resume.
    await seller.tap("⏸ Pause")
    assert "⏸ Paused" in last_text(seller) and "▶️ Resume" in labels(last(seller))
    assert (await the_listing(bot.store)).status == "paused"
    twice = await seller.tap_data(f"ml:pause:{listing.id}", last(seller))
    assert twice.show_alert and "⏸ Paused" in twice.text
    await seller.tap("▶️ Resume")
    assert "It is on the market again" in last_text(seller)
    assert (await the_listing(bot.store)).status == "approved"

    # Withdraw asks first.
    await seller.tap("🗑 Withdraw")
    assert last_text(seller).startswith(f"❓ Withdraw {APPLES} for good?")
    await seller.tap("⬅️ No, keep it")
    assert (await the_listing(bot.store)).status == "approved"
    await seller.tap("🗑 Withdraw")
    confirm = last(seller)
    await seller.tap("🗑 Yes, withdraw it")
    assert f"🗑 {APPLES} is withdrawn" in last_text(seller)
    assert "📋 You have nothing for sale yet." in last_text(seller)
    assert (await the_listing(bot.store)).status == "withdrawn"
    again = await seller.tap_data(f"ml:wd:{listing.id}:ok", confirm)  # tapped twice
    assert again.show_alert and "Withdrawn" in again.text


async def test_a_rejected_listing_shows_why_and_an_edit_sends_it_back(bot):
    seller = await wang(bot)
    await sell_apples(seller)
    listing = await the_listing(bot.store)
    await reviews.review(bot.store, bot.clock, ADMIN, listing.id, approve=False, reason="photo")
    await bot.pump()

    await seller.send("/mylistings")
    assert "❌ Rejected" in last_text(seller)
    await seller.tap(f"1. {APPLES}")
    assert "❌ Reason: The photo is unclear or missing" in last_text(seller)
    assert "it goes to your partner for review again" in last_text(seller)
    await seller.tap("📷 Photo")
    await seller.send_photo()
    assert "It is sent to your partner for review again" in last_text(seller)
    assert (await the_listing(bot.store)).status == "review"


# ---- refused input ----------------------------------------------------------------------------

async def test_odd_input_gets_a_polite_answer(bot):
    seller = await wang(bot)
    await seller.send_photo()
    assert last_text(seller).startswith("🙂 I can only read text and button taps here.")

    await seller.send("/sell")
    await seller.send("Honey")
    await seller.send_photo()  # asked for the kind of produce, not a photo
    assert last_text(seller).startswith("🙂 I can only read text")
    await seller.send("something")
    assert "👆 Please tap one of the buttons." in last_text(seller)
    listing = await the_listing(bot.store)

    for data, why in ((f"sl:cat:{listing.id}:spaceships", "no longer valid"),
                      (f"sl:to:{listing.id + 1}:price", "no longer being edited"),
                      (f"ml:{listing.id + 1}", "no longer available"),
                      (f"ml:e:{listing.id}:title", "no longer valid")):
        answer = await seller.tap_data(data, last(seller))
        assert answer.show_alert and why in answer.text, data
    assert (await the_listing(bot.store)).category == ""

    await seller.tap_data(f"sl:pub:{listing.id}", last(seller))  # a forged Publish before the listing is done
    assert (await the_listing(bot.store)).status == "draft"
    assert last_text(seller).startswith("⚠️ Something is still missing: 📂 Kind of produce")
    assert "📂 What kind of produce is Honey?" in last_text(seller)

    other = bot.person(1002, "Zhao", language_code="en")
    await settle_in(other)
    answer = await other.tap_data(f"sl:go:{listing.id}", last(other))  # someone else's draft
    assert answer.show_alert and "no longer being edited" in answer.text
