"""The catalog and the centers from chat, played by an admin (telegram id 900) and a villager:
importing CSV files (good, bad, unreadable), the product card with its price, stock and
visibility, the permission checks, and the low-stock alerts, once per crossing."""

from __future__ import annotations

import re

from sqlalchemy import select

from chat import last_text, settle_in, stock_of, texts
from services import catalog, villagers
from services.outbox import Kind
from store.models import County, OutboxMessage, Product, ServiceCenter, Villager
from support.store import count, product

HEADER = "sku,category,price,unit,stock,name:zh,name:en,keywords\n"
CENTERS_HEADER = "code,name:zh,name:en,county,county:en,address,latitude,longitude,opening_hours\n"


async def admin_of(bot):
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/start")
    return admin


def button_texts(message) -> list[str]:
    return [b.text for row in message.buttons for b in row]


async def search_finds(villager, words: str, name: str) -> bool:
    await villager.send(f"/search {words}")
    return any(name in text for text in button_texts(villager.chat.last_bot_message()))


async def order(villager, words: str, name: str, quantity: int = 1) -> str:
    """The villager finds a product, puts ``quantity`` in the cart and orders; returns the number."""
    await villager.send(f"/search {words}")
    await villager.tap(name)
    for _ in range(quantity - 1):
        await villager.tap("➕")
    await villager.tap(f"Add {quantity} to cart")
    await villager.send("/cart")
    await villager.tap("Checkout")
    await villager.tap("Confirm order")
    return re.search(r"RT-[0-9A-Z]{5}", last_text(villager)).group(0)


def low_stock_alerts(admin) -> list[str]:
    return [text for text in texts(admin.chat) if text.startswith("⚠️ Low stock")]


# ---- importing from chat ----------------------------------------------------------------------

async def test_admin_imports_products_from_a_csv_file_and_search_sees_them(bot):
    admin = await admin_of(bot)
    villager = bot.person(1001, "Wang", language_code="en")
    await settle_in(villager)
    before = await count(bot.store, Product)
    assert not await search_finds(villager, "walking tractor", "Walking tractor")

    await admin.send_document("products.csv", (
        HEADER
        + "FD-001,food_drink,49.90,bag,150,大米 10公斤,Rice 10 kg,米;rice\n"   # an update
        + "AM-900,agri_machinery,6800.00,set,3,手扶拖拉机,Walking tractor,拖拉机;tractor\n"  # new
    ).encode("utf-8"), mime_type="text/csv")

    assert last_text(admin) == "✅ Products imported: 1 added, 1 updated."
    assert await count(bot.store, Product) == before + 1
    rice, tractor = await product(bot.store, "FD-001"), await product(bot.store, "AM-900")
    assert (rice.price_fen, rice.stock) == (4990, 150)
    assert (tractor.names["en"], tractor.price_fen, tractor.stock, tractor.is_active) == (
        "Walking tractor", 680000, 3, True)
    assert await search_finds(villager, "walking tractor", "Walking tractor")  # the index was rebuilt


async def test_a_bad_csv_file_names_every_bad_line_and_changes_nothing(bot):
    admin = await admin_of(bot)
    products_before = await count(bot.store, Product)
    rice_before = (await product(bot.store, "FD-001")).price_fen

    await admin.send_document("products.csv", (
        HEADER
        + "FD-001,food_drink,1.00,bag,10,大米 10公斤,Rice 10 kg,\n"   # fine alone, but not with bad rows
        + "NEW-1,food_drink,abc,bag,10,面粉,Flour,\n"                 # line 3: the price
        + "NEW-2,food_drink,5.00,bag,10,油,<b>Oil</b>,\n"             # fine
        + "NEW-3,food_drink,5.00,bag,-4,,Salt,\n"                     # line 5: stock, no Chinese name
    ).encode("utf-8"), mime_type="text/csv")

    report = admin.chat.last_bot_message()
    assert report.text.splitlines() == [  # two bad rows, three reasons
        "❌ 3 bad rows; nothing was imported:",
        "line 3: price 'abc' is not a number.",
        "line 5: stock '-4' must be a whole number from 0 to 10000000.",
        "line 5: name:zh must be given.",
    ]
    assert await count(bot.store, Product) == products_before
    assert (await product(bot.store, "FD-001")).price_fen == rice_before
    assert await product(bot.store, "NEW-2") is None


async def test_files_that_cannot_be_imported_get_the_reason(bot):
    admin = await admin_of(bot)
    before = await count(bot.store, Product)

    gbk = (HEADER + "FD-001,food_drink,1.00,bag,10,大米,Rice,\n").encode("gbk")
    await admin.send_document("products.csv", gbk)
    assert "line 2: The file is not UTF-8 text." in last_text(admin)
    assert "CSV UTF-8" in last_text(admin)

    await admin.send_document("prices.xlsx", b"PK\x03\x04 a spreadsheet")
    assert "spreadsheet" in last_text(admin) and "CSV UTF-8" in last_text(admin)

    await admin.send_document("photo.jpg", b"\xff\xd8\xff\xe0-jpeg", mime_type="image/jpeg")
    assert last_text(admin).startswith("🙂 I can only read text and button taps here.")

    await admin.send_document("notes.csv", b"name,price\nrice,12\n")
    assert "cannot tell what this file holds" in last_text(admin)

    await admin.send_document("products.csv", HEADER.encode() + b"X,food_drink,1.00,bag,1,x,x,\n" * 80_000)
    assert last_text(admin).startswith("⚠️ The file is 2.2 MB; I can import files up to 2 MB here.")

    await admin.send_document("products.csv", HEADER.encode())
    assert "line 2: The file has no products." in last_text(admin)
    assert await count(bot.store, Product) == before


async def test_a_long_report_comes_whole_as_a_file(bot):
    admin = await admin_of(bot)
    rows = "".join(f"BAD-{n},food_drink,abc,bag,1,坏,Bad,\n" for n in range(300))
    await admin.send_document("products.csv", (HEADER + rows).encode())

    [message, file] = admin.chat.bot_messages()[-2:]
    assert message.text.startswith("❌ 300 bad rows; nothing was imported:\nline 2: price 'abc' is not a number.")
    assert len(message.text) < 4096
    assert "more: the whole report is in the file below." in message.text
    assert file.document["file_name"] == "import-report.txt"
    report = bot.double.files[file.document["file_id"]].content.decode()
    assert report.count("is not a number.") == 300 and "line 301: price 'abc' is not a number." in report


async def test_admin_imports_centers_from_a_csv_file(bot):
    admin = await admin_of(bot)
    before = await count(bot.store, ServiceCenter)
    counties = await count(bot.store, County)

    await admin.send_document("centers.csv", (
        CENTERS_HEADER
        + "CG-90,新村服务站,Xincun Village Service Center,城固县,Chenggu County,新村村委会,33.2,107.4,08:00-18:00\n"
    ).encode("utf-8"))

    assert last_text(admin) == "✅ Service centers imported: 1 added, 0 updated."
    async with bot.store.read() as session:
        center = await session.scalar(select(ServiceCenter).where(ServiceCenter.code == "CG-90"))
    assert center.names["en"] == "Xincun Village Service Center" and center.opening_hours == "08:00-18:00"
    assert await count(bot.store, ServiceCenter) == before + 1 and await count(bot.store, County) == counties
    # A file without the province column leaves the county's province (陕西省, from the demo data) as it was.
    async with bot.store.read() as session:
        assert await session.scalar(select(County.province).where(County.name == "城固县")) == "陕西省"

    # With it, the county's province is set: delivery prices go by it.
    with_province = CENTERS_HEADER.replace("county:en,", "county:en,province,")
    await admin.send_document("centers.csv", (
        with_province + "MX-01,武侯村服务站,Wuhou Village Service Center,勉县,Mian County,陕西省,勉县武侯镇,"
        "33.15,106.67,08:00-18:00\n").encode("utf-8"))
    assert last_text(admin) == "✅ Service centers imported: 1 added, 0 updated."
    async with bot.store.read() as session:
        mian = await session.scalar(select(County).where(County.name == "勉县"))
    assert (mian.names, mian.province) == ({"zh": "勉县", "en": "Mian County"}, "陕西省")
    await admin.send_document("centers.csv", (
        with_province + "MX-02,新村服务站,Xincun,勉县,Mian County," + "省" * 51 + ",勉县,33.1,106.6,08:00-18:00\n"
    ).encode("utf-8"))
    assert texts(admin.chat)[-1].splitlines()[1:] == [f"line 2: province '{'省' * 51}' must be at most 50 characters."]

    await admin.send_document("centers.csv", (
        CENTERS_HEADER + "CG-91,,Nameless,城固县,Chenggu County,,91,107.4,8-18\n").encode("utf-8"))
    assert texts(admin.chat)[-1].splitlines()[1:] == [
        "line 2: name:zh must be given.",
        "line 2: latitude '91' must be a number from -90 to 90.",
        "line 2: opening_hours '8-18' must look like 08:00-20:00.",
    ]
    assert await count(bot.store, ServiceCenter) == before + 2


async def test_a_villager_is_refused_the_admin_things(bot):
    villager = bot.person(1001, "Wang", language_code="en")
    await settle_in(villager)
    before = await count(bot.store, Product)

    await villager.send_document("products.csv", (
        HEADER + "HACK-1,food_drink,0.01,bag,1,便宜,Cheap,\n").encode(), mime_type="text/csv")
    assert last_text(villager) == "🔒 Only admins can do this."
    assert await count(bot.store, Product) == before

    await villager.send_document("letter.pdf", b"%PDF-1.4", mime_type="application/pdf")
    assert last_text(villager).startswith("🙂 I can only read text and button taps here.")

    await villager.send("/product FD-001")
    assert last_text(villager) == "🔒 Only admins can do this."

    rice = await product(bot.store, "FD-001")
    for data in (f"ap:{rice.id}", f"ap:hide:{rice.id}", f"ap:price:{rice.id}"):  # forged in their own chat
        answer = await villager.tap_data(data, villager.chat.last_bot_message())
        assert answer.text == "🔒 Only admins can do this." and answer.show_alert
    assert (await product(bot.store, "FD-001")).is_active

    # Typed into a form they could never have opened: refused, and the form is dropped.
    async with bot.store.write() as session:
        (await session.scalar(select(Villager).where(Villager.telegram_id == 1001))).awaiting = f"aprice:{rice.id}"
    await villager.send("0.01")
    assert last_text(villager) == "🔒 Only admins can do this."
    assert (await product(bot.store, "FD-001")).price_fen == rice.price_fen


# ---- the product card -------------------------------------------------------------------------

async def test_admin_changes_price_and_stock_and_hides_and_shows_a_product(bot):
    admin = await admin_of(bot)
    villager = bot.person(1001, "Wang", language_code="en")
    await settle_in(villager)

    await admin.send("/product")
    assert last_text(admin).startswith("Usage: /product SKU")
    await admin.send("/product NO-SUCH")
    assert last_text(admin) == "😔 There is no product with the sku NO-SUCH."

    await admin.send("/product fd-001")
    assert last_text(admin).splitlines() == [
        "📦 Rice 10 kg · FD-001",
        "💰 Price: ¥52.00 / bag",
        "🧮 Stock: 120 bag (alert below 5)",
        "👁 Shown in the shop",
    ]
    assert button_texts(admin.chat.last_bot_message()) == ["💰 Price", "📦 Stock", "🙈 Hide"]

    await admin.tap("💰 Price")
    assert last_text(admin).startswith("💰 Type the new price of Rice 10 kg in yuan per bag")
    await admin.send("fifty")
    assert last_text(admin).startswith("⚠️ Please type a number, for example 12.5\n💰 Type the new price")
    await admin.send("-3")
    assert last_text(admin).startswith("⚠️ It must be more than 0.")
    await admin.send("48.5")
    assert last_text(admin).startswith("✅ New price: ¥48.50\n\n📦 Rice 10 kg · FD-001\n💰 Price: ¥48.50 / bag")
    assert (await product(bot.store, "FD-001")).price_fen == 4850
    await admin.send("rice")  # the form is done: text is a search again
    assert last_text(admin).startswith("🔍 Found for “rice”")

    await admin.send("/product FD-001")
    await admin.tap("📦 Stock")
    await admin.send("12.5")
    assert last_text(admin).startswith("⚠️ Please type a whole number from 0 to 10000000.\n📦 Type the new stock")
    await admin.send("８0")  # a full-width digit, as a Chinese keyboard may type it
    assert "✅ New stock: 80" in last_text(admin) and "🧮 Stock: 80 bag" in last_text(admin)
    assert await stock_of(bot.store, "FD-001") == 80

    # ⬅️ Back leaves a form without changing anything.
    await admin.tap("💰 Price")
    await admin.tap("⬅️ Back")
    assert last_text(admin).startswith("📦 Rice 10 kg · FD-001")
    await admin.send("1")
    assert (await product(bot.store, "FD-001")).price_fen == 4850

    assert await search_finds(villager, "rice 10 kg", "Rice 10 kg")
    await admin.send("/product FD-001")
    await admin.tap("🙈 Hide")
    assert last_text(admin).startswith("🙈 Hidden: villagers no longer see it")
    assert "🙈 Hidden from the shop" in last_text(admin)
    assert not (await product(bot.store, "FD-001")).is_active
    assert not await search_finds(villager, "rice 10 kg", "Rice 10 kg")

    await admin.tap("👁 Show")
    assert "👁 Shown in the shop" in last_text(admin)
    assert await search_finds(villager, "rice 10 kg", "Rice 10 kg")


# ---- low-stock alerts -------------------------------------------------------------------------

async def test_low_stock_alerts_the_admin_once_per_crossing(bot):
    admin = await admin_of(bot)
    villager = bot.person(1001, "Wang", language_code="en")
    await settle_in(villager)
    await admin.send("/product FD-001")
    await admin.tap("📦 Stock")
    await admin.send("6")
    await bot.pump()
    assert low_stock_alerts(admin) == []

    first = await order(villager, "rice 10 kg", "Rice 10 kg", quantity=2)
    await bot.pump()
    assert await stock_of(bot.store, "FD-001") == 4
    assert low_stock_alerts(admin) == ["⚠️ Low stock: Rice 10 kg (FD-001) has 4 left."]

    await order(villager, "rice 10 kg", "Rice 10 kg")
    await bot.pump()
    assert await stock_of(bot.store, "FD-001") == 3
    assert len(low_stock_alerts(admin)) == 1  # still below: no second alert

    await villager.send(f"/track {first}")
    await villager.tap("❌ Cancel order")
    await villager.tap("✅ Yes, cancel it")
    await bot.pump()
    assert await stock_of(bot.store, "FD-001") == 5  # back at the threshold
    assert len(low_stock_alerts(admin)) == 1

    await order(villager, "rice 10 kg", "Rice 10 kg")
    await bot.pump()
    assert low_stock_alerts(admin) == ["⚠️ Low stock: Rice 10 kg (FD-001) has 4 left."] * 2

    alert = next(m for m in reversed(admin.chat.bot_messages()) if (m.text or "").startswith("⚠️ Low stock"))
    await admin.tap("📦 Open the product", message=alert)
    assert "🧮 Stock: 4 bag (alert below 5)\n⚠️ Low stock" in last_text(admin)
    assert alert.text == "⚠️ Low stock: Rice 10 kg (FD-001) has 4 left."  # the card came below it

    # The admin's own stock change below the threshold alerts too, once.
    await admin.tap("📦 Stock")
    await admin.send("20")
    await admin.tap("📦 Stock")
    await admin.send("2")
    await bot.pump()
    await admin.send("/product FD-001")  # the alert came after the card
    await admin.tap("📦 Stock")
    await admin.send("1")
    await bot.pump()
    assert low_stock_alerts(admin)[2:] == ["⚠️ Low stock: Rice 10 kg (FD-001) has 2 left."]


async def test_low_stock_is_noted_once_per_crossing_and_fans_out_to_reachable_admins(demo_store, clock):
    async def alerts() -> list[dict]:
        async with demo_store.read() as session:
            return [row.payload for row in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == str(Kind.LOW_STOCK)).order_by(OutboxMessage.id))]

    rice = await catalog.find_product(demo_store, "FD-001")
    for stock in (6, 4, 3, 0):
        await catalog.set_stock(demo_store, clock, rice.id, stock)
    assert await alerts() == [{"product_id": rice.id}]
    await catalog.set_stock(demo_store, clock, rice.id, 5)  # back at the threshold
    await catalog.set_stock(demo_store, clock, rice.id, 2)
    assert await alerts() == [{"product_id": rice.id}] * 2

    hidden = await catalog.find_product(demo_store, "SF-001")
    await catalog.set_visible(demo_store, clock, hidden.id, False)
    await catalog.set_stock(demo_store, clock, hidden.id, 1)  # nobody can order it: no alert
    assert len(await alerts()) == 2
    await catalog.set_visible(demo_store, clock, hidden.id, True)  # on sale again, and low
    assert (await alerts())[-1] == {"product_id": hidden.id}

    for telegram_id in (900, 902):
        await villagers.enter(demo_store, clock, telegram_id=telegram_id, first_name="Admin", username=None,
                              locale="en")
    await villagers.set_reachable(demo_store, 902, False)
    # 901 never wrote to the bot and 902 blocked it: only 900 gets a message, however often it is asked.
    assert await catalog.fan_out_low_stock(demo_store, 1, rice.id, {900, 901, 902}, clock.now()) == 1
    await catalog.fan_out_low_stock(demo_store, 1, rice.id, {900, 901, 902}, clock.now())
    assert (await alerts())[-1:] == [{"product_id": rice.id, "admin": 900}] and len(await alerts()) == 4
