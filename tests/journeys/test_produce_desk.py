"""Produce on the partners' desks, played with a seller, the seller's partner and a bystander in
the seller's center's group, and a buyer whose own center has another group: the review card,
reject with a reason and approve; then an order that the seller's desk confirms and the buyer's
desk receives, hands over, and the seller hears they were paid."""

from __future__ import annotations

import re

from sqlalchemy import select

from chat import body, settle_in, texts
from services import market, produce
from services.partners import add_partner
from services.produce import Step
from store.models import Order, ServiceCenter
from support.desk import ADMIN
from support.produce import desks, listing_status, published_listing, registered, review_card, review_cards


async def test_the_partner_reviews_produce_on_the_desk_and_the_seller_hears_of_it(bot):
    zhang, bystander, _, group, _ = await desks(bot)
    seller = bot.person(1001, "Wang Fang", language_code="en")
    await settle_in(seller)
    photo = bot.double.store_file("photo", b"\xff\xd8\xff\xe0-honey", "honey.jpg", "image/jpeg").file_id
    listing = await published_listing(bot, seller, photo=photo)

    card = review_card(group, "Mountain honey")
    assert card.photo, "the card shows the seller's photo"
    assert "Shangyuan Village Service Center" in body(card) and "¥45.00 / jin" in body(card)
    assert "20 jin left" in body(card) and "Waiting for review" in body(card)
    assert [b.text for row in card.buttons for b in row] == ["✅ Approve", "❌ Reject"]

    refused = await bystander.tap("✅ Approve", message=card)
    assert refused.show_alert and "Only the partners of Shangyuan Village Service Center" in refused.text
    assert await listing_status(bot.store, listing) == "review"

    await zhang.tap("❌ Reject", message=card)
    assert "Why is it rejected?" in body(review_card(group, "Mountain honey"))
    await zhang.tap("Type a reason", message=review_card(group, "Mountain honey"))
    assert "Lao Zhang, please type the reason" in texts(group)[-1]
    await zhang.reply("Price is <twice> the town's", to=group.bot_messages()[-1])  # the question
    card = review_card(group, "Mountain honey")
    assert "Rejected by Lao Zhang" in body(card) and "Reason: Price is <twice> the town's" in body(card)
    assert card.buttons == []
    told = texts(seller.chat)[-1]
    assert "Mountain honey was not approved" in told and "Reason: Price is <twice> the town's" in told
    assert await listing_status(bot.store, listing) == "rejected"

    seller_id = (await produce.listing_view(bot.store, listing)).seller_id
    await produce.edit(bot.store, bot.clock, seller_id, listing, Step.PRICE, 3000)  # back to review
    await bot.pump()
    old, fresh = review_cards(group, "Mountain honey")  # a new card for the new review
    assert "Rejected by Lao Zhang" in body(old)  # the old one stays as it was
    assert "¥30.00 / jin" in body(fresh) and "Waiting for review" in body(fresh)

    await zhang.send("/pending", chat=group)
    assert "Produce waiting for review: 1" in texts(group)[-1]
    await zhang.tap("🌾 Mountain honey", chat=group)
    card = review_card(group, "Mountain honey")
    assert card is group.bot_messages()[-1] and fresh.deleted and len(review_cards(group, "Mountain honey")) == 2
    await zhang.tap("✅ Approve", message=card)
    assert "On the market by Lao Zhang" in body(review_card(group, "Mountain honey"))
    assert "Mountain honey is approved and on the 🧺 market now" in texts(seller.chat)[-1]
    assert await listing_status(bot.store, listing) == "approved"
    again = await zhang.tap_data(f"lr:ok:{listing}", review_card(group, "Mountain honey"))
    assert again.show_alert and "Not waiting for review any more" in again.text


async def test_a_produce_order_goes_from_the_sellers_desk_to_the_buyers_and_the_seller_is_paid(bot):
    zhang, bystander, li, seller_group, buyer_group = await desks(bot)
    seller = bot.person(1001, "Wang Fang", language_code="en")
    buyer = bot.person(1002, "Zhao", language_code="en")
    await settle_in(seller)
    await settle_in(buyer, village="Qinglong")
    listing = await published_listing(bot, seller, quantity=5000)
    await zhang.tap("✅ Approve", message=review_card(seller_group, "Mountain honey"))

    async with bot.store.read() as session:
        qinglong = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == "CG-02"))
    me = await registered(bot, buyer)
    placed = await market.order_listing(bot.store, bot.clock, me.id, listing, 5000, qinglong, "t1")
    await bot.pump()
    number = placed.order.number

    sold = texts(seller.chat)[-2:]
    assert any(f"Sold: 5 jin of Mountain honey for ¥225.00, order {number}" in text for text in sold)
    assert any("The buyer picks it up at Qinglong Village Service Center" in text for text in sold)
    assert "Mountain honey is sold out" in texts(seller.chat)[-1]

    seller_card = next(m for m in seller_group.bot_messages() if body(m).startswith(f"🧾 Order {number}"))
    buyer_card = next(m for m in buyer_group.bot_messages() if body(m).startswith(f"🧾 Order {number}"))
    assert "Produce of Wang, Shangyuan Village Service Center" in seller_card.text
    assert "5 jin × ¥45.00" in seller_card.text and "Pick up at: Qinglong Village Service Center" in seller_card.text
    assert [b.text for row in seller_card.buttons for b in row] == ["✅ Confirm", "❌ Reject"]
    assert buyer_card.buttons == []  # not theirs to decide

    refused = await li.tap_data(f"dk:ok:{placed.order.id}", buyer_card)
    assert refused.show_alert and "Only the partners of Shangyuan" in refused.text
    await zhang.tap("✅ Confirm", message=seller_card)
    assert "Confirmed by Lao Zhang" in seller_group.message(seller_card.message_id).text
    assert "Confirmed by Lao Zhang" in buyer_group.message(buyer_card.message_id).text
    assert f"Your order {number} is confirmed" in texts(buyer.chat)[-1]

    admin = bot.person(900, "County", language_code="en")
    await admin.send("/ship CG-02")
    seller_card = seller_group.message(seller_card.message_id)
    buyer_card = buyer_group.message(buyer_card.message_id)
    assert [b.text for row in seller_card.buttons for b in row] == []  # the seller's desk is done with it
    refused = await zhang.tap_data(f"dk:arr:{placed.order.id}", seller_card)
    assert refused.show_alert and "Only the partners of Qinglong" in refused.text
    await li.tap("📬 Arrived at the village", message=buyer_card)
    async with bot.store.read() as session:
        code = await session.scalar(select(Order.pickup_code).where(Order.number == number))
    assert re.fullmatch(r"\d{6}", code) and any(code in text for text in texts(buyer.chat))

    await li.send(f"/pickup {code}", chat=buyer_group)
    assert f"{number} picked up. Collect ¥225.00 in cash." in texts(buyer_group)[-1]
    earned = texts(seller.chat)[-1]
    assert f"Order {number} was picked up and paid: you earned ¥225.00 for your Mountain honey" in earned
    mine = (await produce.my_listings(bot.store, (await produce.listing_view(bot.store, listing)).seller_id))[0]
    assert (mine.status, mine.sold_milli, mine.earned_fen) == ("sold_out", 5000, 22500)
    assert bystander.chat.bot_messages() == []  # the bystander only sees the group


async def test_a_partner_cannot_approve_their_own_produce_another_partner_does(bot):
    zhang, _, _, group, _ = await desks(bot)
    await settle_in(zhang)  # Lao Zhang lives in Shangyuan and sells honey there too
    listing = await published_listing(bot, zhang)
    card = review_card(group, "Mountain honey")

    refused = await zhang.tap("✅ Approve", message=card)
    assert refused.show_alert and refused.text == (
        "🙅 You cannot approve your own produce. Another partner of Shangyuan Village Service Center, or an "
        "admin, must approve it.")
    assert await listing_status(bot.store, listing) == "review"
    assert "Waiting for review" in body(review_card(group, "Mountain honey"))

    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 504)
    wu = bot.person(504, "Lao Wu", language_code="en")
    group.add_member(wu)
    await wu.tap("✅ Approve", message=review_card(group, "Mountain honey"))
    assert "On the market by Lao Wu" in body(review_card(group, "Mountain honey"))
    assert await listing_status(bot.store, listing) == "approved"


async def test_an_admin_approves_a_partners_own_produce_and_the_partner_may_reject_their_own(bot):
    zhang, _, _, group, _ = await desks(bot)
    await settle_in(zhang)
    first = await published_listing(bot, zhang)
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/start")
    await admin.tap_data(f"lr:show:{first}", admin.chat.last_bot_message())  # the card in the admin's chat
    await admin.tap("✅ Approve", message=review_card(admin.chat, "Mountain honey"))
    assert await listing_status(bot.store, first) == "approved"

    second = await published_listing(bot, zhang, quantity=5_000)
    await zhang.tap("❌ Reject", message=review_card(group, "Mountain honey"))
    await zhang.tap("The description is unclear", message=review_card(group, "Mountain honey"))
    assert await listing_status(bot.store, second) == "rejected"
