"""The sell side from end to end, through chat only: a seller lists apples in steps (with a bad
quantity and a bad price on the way), her partner rejects them with a reason while a bystander in
the group is refused, she lowers the price, the partner approves, two buyers find the apples
(browsing, and searching with a typo) and order them down to sold out, and the seller hears of
every sale. The listing's steps alone, and a restart in the middle of one, are played in
test_produce_listing.py; the desks' share of an order in test_produce_desk.py."""

from __future__ import annotations

import re

from sqlalchemy import select

from chat import body, last_text, settle_in, texts
from handlers.listings import category_name, unit_name
from locales import translator
from services.partners import add_partner
from store.models import Listing, Order, OrderLine
from support.desk import ADMIN

EN = translator("en")
FRUIT, JIN = category_name(EN, "fruit"), unit_name(EN, "jin")
DESK = -100123


def latest(group, start: str):
    return [m for m in group.bot_messages() if body(m).startswith(start)][-1]


async def test_apples_are_listed_reviewed_found_and_sold_out_to_two_buyers(bot):
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 501)
    partner = bot.person(501, "Lao Zhang", language_code="en")
    bystander = bot.person(502, "Xiao Li", language_code="en")
    group = bot.double.group(DESK, "Shangyuan desk")
    group.add_member(bystander)
    await bot.double.add_bot_to_group(group, by=partner)
    await partner.send("/bind CG-01", chat=group)
    seller = bot.person(1001, "Wang Fang", language_code="en")
    near = bot.person(1002, "Zhao", language_code="en")
    far = bot.person(1003, "Sun", language_code="en")
    await settle_in(seller)
    await settle_in(near)
    await settle_in(far, village="Qinglong")

    # The seller lists her apples, one step at a time.
    await seller.press("🌾 Sell produce")
    await seller.send("Red Fuji apples")
    await seller.tap(FRUIT)
    await seller.send_photo()
    await seller.tap(JIN)
    await seller.send("lots")
    assert "Please type a number" in last_text(seller) and "How many" in last_text(seller)
    await seller.send("１０")
    await seller.send("0")
    assert "It must be more than 0" in last_text(seller) and "Your price" in last_text(seller)
    await seller.send("6,5")
    await seller.tap("Now")
    await seller.tap("⏭ Skip")
    preview = last_text(seller)
    assert "Red Fuji apples" in preview and "¥6.50 / jin" in preview and "10 jin left" in preview
    assert "Wang Fang" not in preview and "sold by Wang" in preview
    await seller.tap("📤 Publish")

    # Her partner reviews it on the desk; the bystander cannot.
    card = latest(group, "🌾 Produce to review")
    assert card.photo and "Red Fuji apples" in body(card)
    refused = await bystander.tap("✅ Approve", message=card)
    assert refused.show_alert and "Only the partners of Shangyuan" in refused.text
    await partner.tap("❌ Reject", message=card)
    await partner.tap("The price looks wrong", message=latest(group, "🌾 Produce to review"))
    assert "Reason: The price looks wrong" in texts(seller.chat)[-1]
    await seller.send("/market")
    assert "The market is empty for now" in last_text(seller)  # a rejected listing is not for sale

    await seller.send("/mylistings")
    await seller.tap("Red Fuji apples")
    await seller.tap("💰 Price")
    await seller.send("5")
    assert "sent to your partner for review again" in last_text(seller)
    await partner.tap("✅ Approve", message=latest(group, "🌾 Produce to review"))
    assert "Red Fuji apples is approved" in texts(seller.chat)[-1]

    # The first buyer browses and orders 3 jin.
    await near.press("🧺 Market")
    await near.tap(FRUIT)
    await near.tap("Red Fuji apples")
    listing_card = near.chat.last_bot_message()
    assert listing_card.photo and "¥5.00 / jin" in body(listing_card) and "10 jin left" in body(listing_card)
    await near.tap("🛒 Order")
    await near.send("11")
    assert "Only 10 jin left" in last_text(near)
    await near.send("3")
    assert "Total: ¥15.00" in last_text(near)
    await near.tap("✅ Confirm order")
    first = re.search(r"RT-[0-9A-Z]{5}", last_text(near)).group(0)
    assert any(f"Sold: 3 jin of Red Fuji apples for ¥15.00, order {first}" in text for text in texts(seller.chat))

    # The second buyer, in another village, searches with a typo and takes the rest.
    await far.send("/market red fuji aples")
    await far.tap("Red Fuji apples")
    await far.tap("🛒 Order")
    await far.tap("All 7 jin")
    assert "Pick up at: Qinglong Village Service Center" in last_text(far)
    await far.tap("✅ Confirm order")
    second = re.search(r"RT-[0-9A-Z]{5}", last_text(far)).group(0)
    assert "Red Fuji apples is sold out" in texts(seller.chat)[-1]
    await near.send("/market")
    assert "The market is empty for now" in last_text(near)

    # Both orders wait on the seller's desk; the partner confirms them and the buyers hear so.
    for number, buyer in ((first, near), (second, far)):
        order_card = latest(group, f"🧾 Order {number}")
        assert "Produce of Wang, Shangyuan Village Service Center" in order_card.text
        await partner.tap("✅ Confirm", message=order_card)
        assert f"Your order {number} is confirmed" in texts(buyer.chat)[-1]
    async with bot.store.read() as session:
        listing = await session.scalar(select(Listing))
        sold = (await session.execute(select(Order.number, Order.status, OrderLine.quantity_milli)
                                      .join(OrderLine).order_by(Order.id))).all()
    assert (listing.status, listing.left_milli, listing.price_fen) == ("sold_out", 0, 500)
    assert sold == [(first, "confirmed", 3000), (second, "confirmed", 7000)]
