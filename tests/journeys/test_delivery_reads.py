"""What a town buyer's delivery order reads like on the screens made for pickup orders, played by
people: Li Ming of Shangyuan (CG-01) sells apples at ¥6.00 a jin; Zhou, in Xi'an, has no center and
orders 2 jin for delivery (¥12 to the province). 📦 My orders marks it 🚚 and shows the receiver,
the address, goods + delivery = total, how it is paid, and once shipped the tracking number --
never "pick up at" or "cash at pickup"."""

from __future__ import annotations

import json

from sqlalchemy import select

from chat import body, labels, villager_id
from handlers.ui import local_time
from services import parcels, town_orders
from store.models import Order, Payment
from support.produce import registered
from support.town import confirm, delivery_order, ship
from support.town_buyer import apples, priced

XIAN = "陕西省西安市雁塔区科技路 10 号"


async def town_buyer(bot):
    """Apples for sale with Shangyuan's delivery prices, and Zhou, who came in by /start."""
    await priced(bot)
    listing = await apples(bot)
    buyer = bot.person(1002, "Zhou", language_code="en")
    await buyer.send("/start")
    assert "or buy village produce delivered to your door" in buyer.chat.bot_messages()[0].text
    return buyer, (await registered(bot, buyer)).id, listing


async def opened(buyer, number: str) -> str:
    """📦 My orders, then the order: its detail."""
    await buyer.send("/orders")
    listed = buyer.chat.last_bot_message()
    assert f"🚚 {number} · " in " ".join(labels(listed)), labels(listed)
    await buyer.tap(next(label for label in labels(listed) if number in label))
    return body(buyer.chat.last_bot_message())


def no_pickup_words(text: str) -> None:
    assert "Pick up" not in text and "pickup" not in text, text


async def test_my_orders_read_a_paid_delivery_order_at_each_step(bot):
    buyer, buyer_id, listing = await town_buyer(bot)
    order = await delivery_order(bot.store, bot.clock, buyer_id, listing, 2000)
    await bot.pump()

    await buyer.send("/orders")
    assert f"🚚 {order.number} · ⏳ Waiting for confirmation · ¥24.00" in labels(buyer.chat.last_bot_message())
    shown = await opened(buyer, order.number)
    no_pickup_words(shown)
    assert "🚚 To: 周丽, 13900001111" in shown and f"🏠 Address: {XIAN}" in shown
    assert "💰 Goods ¥12.00 + delivery ¥12.00 = ¥24.00" in shown
    assert "💳 Paid online: ¥24.00." in shown and "Tracking number" not in shown
    assert labels(buyer.chat.last_bot_message()) == ["❌ Cancel order", "⬅️ My orders"]

    await confirm(bot.store, bot.clock, order.id)
    await ship(bot.store, bot.clock, order.id, "SF1234567890")
    await bot.pump()
    shown = await opened(buyer, order.number)
    no_pickup_words(shown)
    assert "Status: 🚚 On the way" in shown and "🔖 Tracking number: SF1234567890" in shown
    assert "💳 Paid online: ¥24.00." in shown


async def test_a_paid_delivery_order_cancelled_says_it_is_refunded(bot):
    buyer, buyer_id, listing = await town_buyer(bot)
    order = await delivery_order(bot.store, bot.clock, buyer_id, listing, 2000)
    await bot.pump()
    await opened(buyer, order.number)
    await buyer.tap("❌ Cancel order")
    asked = body(buyer.chat.last_bot_message())
    assert f"Cancel order {order.number} (¥24.00)?" in asked and "refunded in full" in asked
    await buyer.tap("✅ Yes, cancel it")
    await bot.pump()
    shown = next(body(m) for m in reversed(buyer.chat.bot_messages()) if body(m).startswith("📦 Order"))
    assert "Status: 🚫 Cancelled" in shown and "💳 Paid online ¥24.00: refunded in full." in shown


async def test_my_orders_read_a_cash_on_delivery_order(bot):
    buyer, buyer_id, listing = await town_buyer(bot)
    order = await delivery_order(bot.store, bot.clock, buyer_id, listing, 2000, online=False)
    await bot.pump()
    shown = await opened(buyer, order.number)
    no_pickup_words(shown)
    assert "💵 Cash on delivery: ¥24.00 to the courier." in shown and "🚚 To: 周丽, 13900001111" in shown
    assert "cash at pickup" not in shown


async def test_an_open_invoice_says_until_when_it_is_held_and_can_be_cancelled(bot):
    buyer, buyer_id, listing = await town_buyer(bot)
    order = (await town_orders.place_delivery(bot.store, bot.clock, buyer_id, listing, 2000, "town-open")).order
    shown = await opened(buyer, order.number)
    no_pickup_words(shown)
    until = local_time(order.reserved_until, "Asia/Shanghai")  # the buyer's time: no center, the bot's zone
    assert "Status: 💳 Waiting for payment" in shown
    assert "💰 Goods: ¥12.00, delivery priced from your address." in shown
    assert f"⏳ Waiting for your payment until {until}: pay the invoice sent in this chat, or cancel." in shown
    assert labels(buyer.chat.last_bot_message()) == ["✖️ Cancel", "⬅️ My orders"]
    await buyer.tap("✖️ Cancel")
    assert body(buyer.chat.last_bot_message()).startswith("✖️ Cancelled: the produce is back on sale.")


async def test_a_cash_order_held_while_typed_can_be_confirmed_from_my_orders(bot):
    buyer, buyer_id, listing = await town_buyer(bot)
    held = (await town_orders.hold_delivery(bot.store, bot.clock, buyer_id, listing, 2000, "town-held", XIAN)).order
    await town_orders.set_receiver(bot.store, bot.clock, buyer_id, held.id, "周丽", "13900001111")
    shown = await opened(buyer, held.number)
    assert "⏳ Held for you until" in shown and "💰 Goods ¥12.00 + delivery ¥12.00 = ¥24.00" in shown
    assert labels(buyer.chat.last_bot_message()) == ["✅ Confirm order", "✖️ Cancel", "⬅️ My orders"]
    await buyer.tap("✅ Confirm order")
    assert body(buyer.chat.last_bot_message()).startswith(f"✅ Order {held.number} placed!")


async def delivered(bot, order_id: int, tracking: str = "SF1234567890") -> None:
    """Confirmed, shipped and delivered (the carrier's event, as its endpoint takes it)."""
    await confirm(bot.store, bot.clock, order_id)
    await ship(bot.store, bot.clock, order_id, tracking)
    await parcels.carrier_event(bot.store, bot.clock, tracking, "delivered", bot.clock.now())
    await bot.pump()


async def test_a_delivered_order_reads_paid_and_counts_as_received_on_the_sellers_page(bot):
    buyer, buyer_id, listing = await town_buyer(bot)
    order = await delivery_order(bot.store, bot.clock, buyer_id, listing, 2000, online=False)
    await delivered(bot, order.id)
    shown = await opened(buyer, order.number)
    assert "Status: 📦 Delivered" in shown and "💵 Paid in cash on delivery: ¥24.00." in shown
    assert labels(buyer.chat.last_bot_message())[0] == "⚠️ Problem"

    await buyer.send(f"/start s-{await villager_id(bot.store, 2001)}")  # Li Ming's page
    page = body(buyer.chat.last_bot_message())
    assert "🧺 Sold: orders received by buyers: 1 (2 jin)" in page and "picked up" not in page


async def my_data(bot, person) -> dict:
    await person.send("/mydata")
    message = person.chat.last_bot_message()
    assert message.document["file_name"] == "my-data.json"
    return json.loads(bot.double.files[message.document["file_id"]].content.decode("utf-8"))


async def order_row(bot, order_id: int) -> Order:
    async with bot.store.read() as session:
        return await session.get(Order, order_id)


async def test_mydata_has_the_delivery_addresses_and_payments_and_forget_blanks_the_finished_ones(bot):
    buyer, buyer_id, listing = await town_buyer(bot)
    done = await delivery_order(bot.store, bot.clock, buyer_id, listing, 2000)  # paid online ¥24
    await delivered(bot, done.id)
    going = await delivery_order(bot.store, bot.clock, buyer_id, listing, 2000, online=False, token="town-2")
    await bot.pump()

    data = await my_data(bot, buyer)
    first, second = data["orders"]
    assert first["number"] == done.number and first["pickup_center"] is None
    assert first["delivery"] == {"ship_to": {"name": "周丽", "phone": "13900001111", "address": XIAN,
                                             "zone": "province"},
                                 "delivery_fen": 1200, "tracking_number": "SF1234567890", "reserved_until": None}
    [paid] = first["payments"]
    assert (paid["kind"], paid["amount_fen"], paid["currency"], paid["telegram_charge_id"]) == (
        "payment", 2400, "CNY", "tg-town-1")
    assert paid["at"].startswith("2026-") and paid["provider_charge_id"] == "p-town-1"
    assert second["delivery"]["ship_to"]["address"] == XIAN and second["payments"] == []

    await buyer.send("/forget")
    screen = body(buyer.chat.last_bot_message())
    assert "• the receivers’ names, phone numbers and addresses of your finished delivery orders" in screen
    assert "• the record of what you paid online and what was refunded" in screen
    assert "⚠️ Deliveries still on their way keep their address" in screen and "pickup code" not in screen
    await buyer.tap("🗑 Yes, forget me")

    assert (await order_row(bot, done.id)).ship_to == {"name": "", "phone": "", "address": "", "zone": "province"}
    assert (await order_row(bot, going.id)).ship_to["address"] == XIAN  # on its way: the carrier needs it
    async with bot.store.read() as session:
        kept = (await session.scalars(select(Payment).where(Payment.order_id == done.id))).all()
    assert [(p.kind, p.amount_fen, p.telegram_charge_id) for p in kept] == [("payment", 2400, "tg-town-1")]


async def test_help_tells_a_town_buyer_how_to_order_for_delivery(bot):
    buyer, _, _ = await town_buyer(bot)
    await buyer.send("/help")
    shown = body(buyer.chat.last_bot_message())
    assert "5. 🚚 In a town? Order village produce in the 🧺 /market, delivered to your door" in shown


async def test_a_town_buyer_with_no_orders_is_sent_to_the_market(bot):
    buyer, _, _ = await town_buyer(bot)
    await buyer.send("/orders")
    shown = buyer.chat.last_bot_message()
    assert body(shown) == "📦 You have no orders yet." and labels(shown) == ["🧺 Market"]
    await buyer.tap("🧺 Market")
    assert body(buyer.chat.last_bot_message()).startswith("🧺 Market")
