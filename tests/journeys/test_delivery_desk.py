"""A town buyer's delivery order on the seller's center's desk, through the Bot API double: its
card shows where it goes and how it is paid; ✅ Confirm, then 🚚 Shipped with the carrier's tracking
number typed in reply; the buyer hears of each step; a paid order rejected is refunded in full.

Zhou Li, a buyer in a town, orders 4 jin of Li Ming's apples (¥24) from Shangyuan (CG-01), delivered
in Shaanxi province (¥12). Lao Zhang runs the Shangyuan desk; Xiao Li is a bystander in its group."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from chat import body, texts, villager_id
from services import town_orders
from store.models import Order, Payment
from support.desk import card_of, desk
from support.orders import order_rice
from support.produce import approved_listing, person
from support.town import SHAANXI, TO, cash_on_delivery, prices


async def town_buyer(bot, bind: bool = True):
    """The CG-01 desk, its delivery prices (¥6 in the county, ¥12 in the province, up to 5 kg), a
    seller's approved apples, and Zhou Li, who has talked to the bot: (partner, bystander, group,
    buyer, buyer's id, listing)."""
    partner, bystander, _, group = await desk(bot, bind=bind)
    await prices(bot.store, bot.clock)
    listing = await approved_listing(bot.store, bot.clock, await person(bot.store, bot.clock, 2001))
    await bot.person(2001, "Li Ming", language_code="en").send("/start")  # the seller hears of the sale
    buyer = bot.person(3001, "Zhou Li", language_code="en")
    await buyer.send("/start")
    return partner, bystander, group, buyer, await villager_id(bot.store, 3001), listing


async def paid_order(bot, buyer_id: int, listing: int, token: str = "tok-1") -> str:
    """Zhou Li pays ¥36 online for 4 jin: the payment as the payments handler books it."""
    order = (await town_orders.place_delivery(bot.store, bot.clock, buyer_id, listing, 4000, token)).order
    await town_orders.record_payment(bot.store, bot.clock, buyer_id, town_orders.payload_of(order, token), 3600,
                                     "CNY", f"charge-{token}", f"provider-{token}", TO)
    await bot.pump()
    return order.number


def question(group, name: str):
    """The bot's last message in the group: a ForceReply asking ``name``."""
    message = group.bot_messages()[-1]
    assert (message.reply_markup or {}).get("force_reply"), f"the last message asks nothing: {message.text!r}"
    assert [e["user"]["first_name"] for e in message.entities if e["type"] == "text_mention"] == [name]
    return message


async def order_row(bot, number: str) -> Order:
    async with bot.store.read() as session:
        return await session.scalar(select(Order).where(Order.number == number))


async def test_a_paid_order_is_confirmed_then_shipped_with_its_tracking_number(bot):
    partner, bystander, group, buyer, buyer_id, listing = await town_buyer(bot)
    number = await paid_order(bot, buyer_id, listing)
    card = card_of(group, number)
    for shown in ("🚚 Delivery to 周丽 · 13900001111", f"🏠 {SHAANXI}",
                  "Zone: within the province", "Goods ¥24.00 + delivery ¥12.00 = ¥36.00", "💳 Paid online ¥36.00",
                  "Waiting for confirmation"):
        assert shown in card.text, shown
    assert "Pick up at" not in card.text and "cash at pickup" not in card.text
    assert [b.text for row in card.buttons for b in row] == ["✅ Confirm", "❌ Reject"]

    refused = await bystander.tap("✅ Confirm", message=card)
    assert refused.show_alert and "Only the partners of" in refused.text
    await partner.tap("✅ Confirm", message=card)
    card = card_of(group, number)
    assert "Confirmed by Lao Zhang" in card.text
    assert [b.text for row in card.buttons for b in row] == ["🚚 Shipped"]
    assert "The seller's center confirmed your order" in texts(buyer.chat)[-1]
    assert "It will ship soon" in texts(buyer.chat)[-1]
    await partner.send("/pending", chat=group)
    assert "Delivery orders to ship: 1" in texts(group)[-1] and number in texts(group)[-1]
    await bot.person(900, "County", language_code="en").send("/ship CG-01")  # the county's batch: not this one
    assert (await order_row(bot, number)).status == "confirmed"

    said = len(group.bot_messages())
    refused = await bystander.tap("🚚 Shipped", message=card)  # a bystander cannot ship it
    assert refused.show_alert and "Only the partners of" in refused.text
    assert len(group.bot_messages()) == said

    await partner.tap("🚚 Shipped", message=card)
    asked = question(group, "Lao Zhang")
    assert "please type the carrier's tracking number" in asked.text
    assert "Waiting for Lao Zhang to reply" in card_of(group, number).text
    await bystander.reply("SF0000000000", to=asked)  # not the person asked: their conversation
    assert (await order_row(bot, number)).status == "confirmed"

    await partner.reply("顺丰快递", to=asked)  # no tracking number: asked again, with what one looks like
    again = question(group, "Lao Zhang")
    assert again.message_id != asked.message_id
    assert "That is not a tracking number" in again.text and "SF1234567890" in again.text
    assert (await order_row(bot, number)).status == "confirmed"

    await partner.reply("sf 1234 5678 90", to=again)
    order = await order_row(bot, number)
    assert (order.status, order.tracking_number) == ("in_transit", "SF1234567890")
    assert f"{number} shipped, tracking number SF1234567890. The buyer has been told." in texts(group)[-1]
    card = card_of(group, number)
    assert "🚚 Shipped · SF1234567890 · by Lao Zhang" in card.text
    assert card.buttons == []
    told = texts(buyer.chat)[-1]
    assert f"Your order {number} has shipped" in told and "SF1234567890" in told and "/track" in told

    await partner.tap_data(f"dk:shp:{order.id}", card)  # an old button, tapped again: already done
    assert "Already done" in partner.answers[-1].text
    assert (await order_row(bot, number)).tracking_number == "SF1234567890"


async def test_a_paid_order_rejected_is_refunded_and_the_buyer_told(bot):
    partner, _, group, buyer, buyer_id, listing = await town_buyer(bot)
    number = await paid_order(bot, buyer_id, listing)
    await partner.tap("❌ Reject", message=card_of(group, number))
    await partner.tap("Out of stock", message=card_of(group, number))
    order = await order_row(bot, number)
    assert order.status == "rejected"
    async with bot.store.read() as session:
        rows = (await session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id))).all()
        assert [(p.kind, p.amount_fen) for p in rows] == [("payment", 3600), ("refund", -3600)]
    told = texts(buyer.chat)
    assert f"the seller's center could not take your order {number}" in told[-2]
    assert "Reason: Out of stock" in told[-2]
    assert f"¥36.00 you paid for order {number} will be refunded to your card within a few days" in told[-1]
    assert "Rejected by Lao Zhang" in card_of(group, number).text


async def test_a_cash_on_delivery_card_says_the_carrier_collects(bot):
    partner, _, group, buyer, buyer_id, listing = await town_buyer(bot)
    placed = await cash_on_delivery(bot.store, bot.clock, buyer_id, listing, 5000, "tok-c",
                                    {**TO, "address": "陕西省汉中市城固县博望镇"})
    await bot.pump()
    card = card_of(group, placed.order.number)
    assert "Zone: within the county" in card.text
    assert "Goods ¥30.00 + delivery ¥6.00 = ¥36.00" in card.text
    assert "💵 Cash on delivery: the carrier collects ¥36.00" in card.text and "Paid online" not in card.text
    sold = texts(bot.double.person(2001, "Li Ming").chat)[-1]
    assert f"order {placed.order.number}" in sold and "goes by carrier to a buyer beyond the village" in sold
    assert "picks it up" not in sold

    # An invoice still open (not paid) never reaches the desk.
    other = bot.person(3002, "Qian", language_code="en")
    await other.send("/start")
    unpaid = await town_orders.place_delivery(bot.store, bot.clock, await villager_id(bot.store, 3002), listing,
                                              1000, "tok-u")
    await bot.pump()
    assert not any(unpaid.order.number in body(m) for m in group.bot_messages())
    await partner.send("/pending", chat=group)
    assert unpaid.order.number not in texts(group)[-1] and placed.order.number in texts(group)[-1]

    # Confirmed and not yet shipped, it is in the desk's morning digest.
    await partner.tap("✅ Confirm", message=card_of(group, placed.order.number))
    bot.clock.advance(datetime(2026, 11, 12, 8, 10, tzinfo=ZoneInfo("Asia/Shanghai")) - bot.clock.now())
    await bot.pump()
    [digest] = [text for text in texts(group) if text.startswith("☀️ Good morning!")]
    assert "Delivery orders to ship: 1" in digest and placed.order.number in digest


async def test_a_tracking_number_question_cancelled_gives_the_card_back(bot):
    partner, _, group, _, buyer_id, listing = await town_buyer(bot)
    number = await paid_order(bot, buyer_id, listing)
    await partner.tap("✅ Confirm", message=card_of(group, number))
    await partner.tap("🚚 Shipped", message=card_of(group, number))
    asked = question(group, "Lao Zhang")
    await partner.tap("✖️ Cancel", message=card_of(group, number))
    assert [b.text for row in card_of(group, number).buttons for b in row] == ["🚚 Shipped"]
    assert group.message(asked.message_id).text == "✖️ Cancelled."
    await partner.reply("SF1234567890", to=asked)
    assert "This question has expired" in texts(group)[-1]
    assert (await order_row(bot, number)).status == "confirmed"


async def test_shipping_from_a_partners_private_chat(bot):
    """A center with no group: its cards go to its partners privately, where the next text answers."""
    partner, _, group, buyer, buyer_id, listing = await town_buyer(bot, bind=False)
    await partner.send("/start")
    number = await paid_order(bot, buyer_id, listing)
    assert not group.bot_messages() or number not in texts(group)[-1]
    await partner.tap("✅ Confirm", message=card_of(partner.chat, number))
    await partner.tap("🚚 Shipped", message=card_of(partner.chat, number))
    assert "please type the carrier's tracking number" in texts(partner.chat)[-1]
    await partner.send("12")
    assert "That is not a tracking number" in texts(partner.chat)[-1]
    await partner.send("YT-2026-0001")
    assert "shipped, tracking number YT-2026-0001" in texts(partner.chat)[-1]
    assert (await order_row(bot, number)).tracking_number == "YT-2026-0001"
    assert "🚚 Shipped · YT-2026-0001 · by Lao Zhang" in card_of(partner.chat, number).text
    assert "YT-2026-0001" in texts(buyer.chat)[-1]


def labels_of(message) -> list[str]:
    return [b.text for row in message.buttons for b in row]


async def test_a_delivery_order_is_rejected_for_reasons_that_fit_a_town_buyer(bot):
    partner, _, group, buyer, buyer_id, listing = await town_buyer(bot)
    number = await paid_order(bot, buyer_id, listing)
    await partner.tap("❌ Reject", message=card_of(group, number))
    await partner.send("/pending", chat=group)
    assert f"• {number} · ¥36.00" in texts(group)[-1]  # goods + delivery, as on the card
    assert labels_of(card_of(group, number)) == ["Out of stock", "Cannot deliver to this address",
                                                 "Receiver unreachable by phone", "✏️ Type a reason", "⬅️ Back"]
    await partner.tap("Cannot deliver to this address", message=card_of(group, number))
    assert (await order_row(bot, number)).status == "rejected"
    assert "Reason: Cannot deliver to this address" in texts(buyer.chat)[-2]
    assert "Reason: Cannot deliver to this address" in card_of(group, number).text


async def test_a_village_reason_button_already_on_a_desk_still_rejects(bot):
    """A button of the reasons offered before (dk:rj:<id>:cannot_deliver) still works on a delivery
    order; and a pickup order's card keeps the village's reasons."""
    partner, _, group, buyer, buyer_id, listing = await town_buyer(bot)
    number = await paid_order(bot, buyer_id, listing)
    order = await order_row(bot, number)
    await partner.tap_data(f"dk:rj:{order.id}:cannot_deliver", message=card_of(group, number))
    assert (await order_row(bot, number)).status == "rejected"
    assert "Reason: Cannot deliver to this village" in card_of(group, number).text

    rice = await order_rice(bot.person(1001, "Wang", language_code="en"))  # the desk's villager, at CG-01
    await partner.tap("❌ Reject", message=card_of(group, rice))
    assert labels_of(card_of(group, rice)) == ["Out of stock", "Cannot deliver to this village",
                                               "Villager unreachable", "✏️ Type a reason", "⬅️ Back"]


async def test_a_buyer_who_forgets_leaves_a_finished_delivery_card_without_whom_and_where(bot):
    partner, _, group, buyer, buyer_id, listing = await town_buyer(bot)
    number = await paid_order(bot, buyer_id, listing)
    await partner.tap("❌ Reject", message=card_of(group, number))
    await partner.tap("Out of stock", message=card_of(group, number))
    await buyer.send("/forget")
    await buyer.tap("🗑 Yes, forget me")
    await bot.pump()
    card = card_of(group, number).text
    assert "🚚 Delivery to (name deleted) · —\n🏠 (address deleted)" in card, card
    assert SHAANXI not in card and "周丽" not in card and "13900001111" not in card
    assert "Zone: within the province" in card and "Goods ¥24.00 + delivery ¥12.00 = ¥36.00" in card
