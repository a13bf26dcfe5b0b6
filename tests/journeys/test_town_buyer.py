"""A buyer from a town, through the real Application and the Bot API double, on both databases:
plain /start offers village produce to someone without a center; a shared listing's link leads to
delivery to an address. Without a payment provider the buyer types the address (one the seller's
center does not serve is refused), then name and phone, and pays the courier; each step goes back
or cancels, and an order left unconfirmed lapses. A buyer with a center may have it delivered too.
Paying online is tests/journeys/test_town_payments.py."""

from __future__ import annotations

from sqlalchemy import select

from chat import labels, last_text, settle_in, texts
from services import town_orders
from store.models import Order
from support.desk import card_of
from support.produce import desks
from support.town_buyer import XIAN, apples, lapse, latest_order, left, priced, to_delivery

BEIJING = "北京市海淀区中关村大街 1 号"


# ---- coming in ------------------------------------------------------------------------------------

async def test_a_stranger_is_offered_village_produce_beside_choosing_a_center(bot):
    await apples(bot)
    chen = bot.person(3001, "陈", language_code="zh-hans")
    await chen.send("/start")
    assert "🛍 我想买乡村农产品" in labels(chen.chat.last_bot_message())
    await chen.tap("🛍 我想买乡村农产品")
    assert last_text(chen).startswith("🧺")
    assert any("水果" in label for label in labels(chen.chat.last_bot_message()))

    town = bot.person(3002, "Tom", language_code="en")
    await town.send("/start")
    assert "🛍 I want to buy village produce" in labels(town.chat.last_bot_message())
    await town.tap("🛍 I want to buy village produce")
    await town.tap("Fruit (1)")
    await town.tap("红富士苹果")
    assert labels(town.chat.last_bot_message())[0] == "🛒 Order"

    # Someone with a center is welcomed back as before, without the offer.
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang, village="Qinglong")
    await wang.send("/start")
    assert last_text(wang).startswith("👋 Welcome back, Wang!")


# ---- cash on delivery -------------------------------------------------------------------------

async def test_without_a_provider_the_buyer_types_the_address_and_pays_the_courier(bot):
    await priced(bot)
    zhang, _, _, seller_group, _ = await desks(bot)
    listing = await apples(bot)
    buyer = bot.person(3001, "Zhou", language_code="en")
    await to_delivery(buyer, listing)
    asked = last_text(buyer)
    assert "Where should it be delivered?" in asked and "You pay the courier on delivery." in asked
    assert labels(buyer.chat.last_bot_message()) == ["⬅️ Back", "✖️ Cancel"]

    # An address the seller's center does not serve is refused, with the ways on.
    await buyer.send(BEIJING)
    assert last_text(buyer).startswith(f"😔 The seller's center does not deliver to {BEIJING}.")
    assert labels(buyer.chat.last_bot_message()) == ["📍 Pick up at a service center", "⬅️ Back", "✖️ Cancel"]
    assert await left(bot, listing) == 10_000

    # One it serves: the delivery is priced and the apples held while the buyer says who receives them.
    await buyer.send(XIAN)
    said = last_text(buyer)
    assert f"📍 To: {XIAN}" in said and "🚚 Delivery (same province): ¥12.00" in said
    assert "held for you for 15 minutes" in said and "name and phone number" in said
    assert await left(bot, listing) == 8_000
    await buyer.send("Zhou Li")
    assert last_text(buyer).startswith("⚠️ Please type the name and a phone number")
    await buyer.send("周丽 139 0000 1111")
    check = last_text(buyer)
    for line in ("🌾 红富士苹果 · 2 jin", "💰 Goods: ¥12.00", "🚚 Delivery (same province): ¥12.00",
                 "💰 Total: ¥24.00", f"📍 To: 周丽, 13900001111, {XIAN}", "💵 Pay the courier on delivery."):
        assert line in check, (line, check)
    confirmation = buyer.chat.last_bot_message()
    assert labels(confirmation) == ["✅ Confirm order", "⬅️ Back", "✖️ Cancel"]
    confirm = confirmation.buttons[0][0].callback_data
    await buyer.tap("✅ Confirm order")
    placed = last_text(buyer)
    order = await latest_order(bot)
    assert placed.startswith(f"✅ Order {order.number} placed!")
    assert "paid to the courier on delivery" in placed and "/track" in placed
    assert (order.status, order.payment_method, order.total_fen, order.delivery_fen) == (
        "pending", "cash_on_delivery", 1200, 1200)
    assert order.ship_to == {"name": "周丽", "phone": "13900001111", "address": XIAN, "zone": "province"}
    assert order.reserved_until is None and await left(bot, listing) == 8_000
    await bot.pump()
    assert card_of(seller_group, order.number)

    # A second tap on the old confirmation places nothing more.
    answer = await buyer.tap_data(confirm, confirmation)
    assert answer.text == f"This order was already placed: {order.number}"
    async with bot.store.read() as session:
        assert len((await session.scalars(select(Order))).all()) == 1


async def test_each_step_goes_back_or_cancels_and_an_unconfirmed_order_lapses(bot):
    await priced(bot)
    listing = await apples(bot)
    buyer = bot.person(3001, "Zhou", language_code="en")
    await to_delivery(buyer, listing)
    await buyer.send(XIAN)
    assert await left(bot, listing) == 8_000
    # ⬅️ Back from the receiver: the apples go back, and the address is asked again.
    await buyer.tap("⬅️ Back")
    assert "Where should it be delivered?" in last_text(buyer) and await left(bot, listing) == 10_000
    await buyer.send(XIAN)
    await buyer.tap("✖️ Cancel")
    assert last_text(buyer) == "✖️ Cancelled: the produce is back on sale."
    assert await left(bot, listing) == 10_000
    # What is typed now is no longer taken for a name and a phone.
    await buyer.send("周丽 13900001111")
    assert "Please check your order" not in last_text(buyer)

    # Held, then left alone: 15 minutes later the order lapses and the buyer is told.
    await to_delivery(buyer, listing, "5 jin")
    await buyer.send(XIAN)
    await buyer.send("周丽 13900001111")
    confirmation = buyer.chat.last_bot_message()
    confirm = confirmation.buttons[0][0].callback_data
    assert await left(bot, listing) == 5_000
    await lapse(bot)
    order = await latest_order(bot)
    assert order.status == "cancelled" and await left(bot, listing) == 10_000
    assert last_text(buyer).startswith(f"⌛ Order {order.number} was not confirmed within 15 minutes")
    answer = await buyer.tap_data(confirm, confirmation)
    assert answer.show_alert and "no longer held" in answer.text
    async with bot.store.read() as session:
        assert (await session.get(Order, order.id)).status == "cancelled"


async def test_a_buyer_with_a_center_may_have_it_delivered_instead(bot):
    await priced(bot)
    listing = await apples(bot)
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang, village="Qinglong")
    await wang.send(f"/start l-{listing}")
    await wang.tap("🛒 Order")
    await wang.tap("2 jin")
    assert "🚚 Deliver instead" in labels(wang.chat.last_bot_message())
    await wang.tap("🚚 Deliver instead")
    assert "Where should it be delivered?" in last_text(wang)
    await wang.send("城固县博望镇 5 号")
    assert "🚚 Delivery (same county): ¥6.00" in last_text(wang)
    await wang.send("王二 13800001111")
    await wang.tap("✅ Confirm order")
    order = await latest_order(bot)
    assert (order.status, order.delivery_fen, order.ship_to["zone"]) == ("pending", 600, "county")
    assert town_orders.CASH_ON_DELIVERY == order.payment_method
    assert texts(wang.chat)
