"""Buyers' reviews and the seller's page, played by people: Wang Fang sells honey at Shangyuan
(CG-01, Lao Zhang's desk, with Xiao Li a bystander in its group); Zhao buys some on the market and
picks it up at Qinglong (CG-02, Lao Li). A day later Zhao is asked for stars, once; he gives 4 and a
few words, which show on the listing and on Wang's page, and reach Shangyuan's desk, where Lao Zhang
hides them with a reason (Xiao Li may not). Forged stars and another's line are refused."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from chat import body, center_id, labels, settle_in, texts, villager_id
from services import market, problem_desk, ratings
from services.problems import Status as ProblemStatus
from store.models import BuyerReview, Order, OrderLine, OrderProblem
from support.desk import ADMIN
from support.produce import desks, published_listing, registered, review_card
from support.store import status_of

ASKED = "How was your Mountain honey"


def order_card(group, number: str):
    return next(m for m in group.bot_messages() if body(m).startswith(f"🧾 Order {number}"))


async def bought_and_picked_up(bot, quantity_milli: int = 2000):
    zhang, bystander, li, seller_group, buyer_group = await desks(bot)
    seller = bot.person(1001, "Wang Fang", language_code="en")
    buyer = bot.person(1002, "Zhao", language_code="en")
    await settle_in(seller)
    await settle_in(buyer, village="Qinglong")
    listing = await published_listing(bot, seller, quantity=5000)
    await zhang.tap("✅ Approve", message=review_card(seller_group, "Mountain honey"))
    placed = await market.order_listing(bot.store, bot.clock, (await registered(bot, buyer)).id, listing,
                                        quantity_milli, await center_id(bot.store, "CG-02"), "t1")
    await bot.pump()
    number = placed.order.number
    await zhang.tap("✅ Confirm", message=order_card(seller_group, number))
    await bot.person(900, "County", language_code="en").send("/ship CG-02")
    await li.send(f"/arrived {number}", chat=buyer_group)
    await li.send(f"/pickup {(await status_of(bot.store, number)).pickup_code}", chat=buyer_group)
    assert (await status_of(bot.store, number)).status == "picked_up"
    return dict(zhang=zhang, bystander=bystander, li=li, seller_group=seller_group, seller=seller, buyer=buyer,
                listing=listing, number=number)


def questions(person) -> list:
    return [m for m in person.chat.bot_messages() if ASKED in body(m)]


async def reviews_in(store) -> list[BuyerReview]:
    async with store.read() as session:
        return list((await session.scalars(select(BuyerReview).order_by(BuyerReview.id))).all())


def review_cards(group) -> list:
    return [m for m in group.bot_messages() if body(m).startswith("⭐ Buyer's review")]


async def open_listing(person, listing: int):
    await person.send("/market")
    await person.tap("Honey")
    await person.tap("Mountain honey")
    return person.chat.last_bot_message()


async def test_a_buyer_rates_once_and_the_partner_hides_the_text(bot, restart):
    w = await bought_and_picked_up(bot)
    buyer, zhang, bystander, group = w["buyer"], w["zhang"], w["bystander"], w["seller_group"]
    await bot.pump()
    assert questions(buyer) == []  # a day to taste it first

    bot.clock.advance(timedelta(days=1, minutes=1))
    await bot.pump()
    (question,) = questions(buyer)
    assert "from Wang" in body(question) and w["number"] in body(question) and "Fang" not in body(question)
    assert labels(question) == ["1⭐", "2⭐", "3⭐", "4⭐", "5⭐"]
    (review,) = await reviews_in(bot.store)
    assert review.asked_at is not None and review.stars is None

    # Asked once: another pump, a restart, the same line again: no second question.
    await restart()
    bot.clock.advance(timedelta(days=2))
    await bot.pump()
    assert len(questions(buyer)) == 1 and len(await reviews_in(bot.store)) == 1

    # Forged: six stars; a stranger's tap on Zhao's line.
    six = await buyer.tap_data(f"rv:s:{review.id}:6", question)
    assert six.show_alert and "from 1 to 5 stars" in six.text
    stranger = bot.person(1003, "Sun", language_code="en")
    await settle_in(stranger)
    forged = await stranger.tap_data(f"rv:s:{review.id}:1", stranger.chat.last_bot_message())
    assert forged.show_alert and "not for you" in forged.text
    assert (await reviews_in(bot.store))[0].stars is None

    await buyer.tap("4⭐", message=question)
    assert "Thank you: ⭐⭐⭐⭐" in texts(buyer.chat)[-1]
    await buyer.send("x" * 301)
    assert "too long" in texts(buyer.chat)[-1]
    await buyer.send("Sweet <b>honey</b>, thank you")
    assert "Your review helps other buyers" in texts(buyer.chat)[-1]
    again = await buyer.tap_data(f"rv:s:{review.id}:5", question)  # the old button, tapped again
    assert again.show_alert and "already reviewed" in again.text
    (review,) = await reviews_in(bot.store)
    assert (review.stars, review.text) == (4, "Sweet <b>honey</b>, thank you")

    # The listing and the seller's page show it, escaped, with the buyer's first name.
    card = await open_listing(stranger, w["listing"])
    assert "⭐ 4.0 of 5 · reviews: 1" in body(card)
    assert "⭐⭐⭐⭐ “Sweet <b>honey</b>, thank you” — Zhao" in body(card)
    await stranger.tap("👤 Seller", message=card)
    page = stranger.chat.last_bot_message()
    assert body(page).startswith("👤 Wang\n📍 Shangyuan")
    assert "⭐ 4.0 of 5 · reviews: 1" in body(page) and "Sold: orders received by buyers: 1 (2 jin)" in body(page)
    assert "Mountain honey" in " ".join(labels(page))
    share = next(b for row in page.buttons for b in row if b.text == "📤 Share")
    assert f"start%3Ds-{await villager_id(bot.store, 1001)}" in share.url

    # On the seller's desk: a bystander may not hide it; the partner hides it with a reason, once.
    await bot.pump()
    (desk_card,) = review_cards(group)
    assert "Sweet <b>honey</b>" in body(desk_card) and labels(desk_card) == ["🙈 Hide"]
    refused = await bystander.tap("🙈 Hide", message=desk_card)
    assert refused.show_alert and "Only the partners of Shangyuan" in refused.text
    refused = await bystander.tap_data(f"dk:rvj:{review.id}:abusive", desk_card)
    assert refused.show_alert and "Only the partners of Shangyuan" in refused.text
    await zhang.tap("🙈 Hide", message=desk_card)
    assert "Why hide it?" in body(group.message(desk_card.message_id))
    hidden = await zhang.tap("Abusive or rude", message=group.message(desk_card.message_id))
    assert "Hidden" in hidden.text
    twice = await zhang.tap_data(f"dk:rvj:{review.id}:personal", desk_card)
    assert twice.show_alert and "Already hidden" in twice.text
    await bot.pump()
    shown = body(group.message(desk_card.message_id))
    assert "🙈 Hidden by Lao Zhang" in shown and "Reason: Abusive or rude" in shown
    (review,) = await reviews_in(bot.store)
    assert review.hidden_at is not None and review.hidden_reason == "abusive" and review.text

    # It no longer shows or counts; it stays in the store.
    card = await open_listing(stranger, w["listing"])
    assert "Sweet" not in body(card) and "⭐ 4.0" not in body(card)
    await stranger.tap("👤 Seller", message=card)
    assert "⭐ No reviews yet" in body(stranger.chat.last_bot_message())
    # The link works for someone with a center too (the promotions' links come first, and pass it on).
    await stranger.send(f"/start s-{await villager_id(bot.store, 1001)}")
    assert body(stranger.chat.last_bot_message()).startswith("👤 Wang\n📍 Shangyuan")


async def test_the_seller_page_by_its_link_and_an_unknown_seller(bot):
    w = await bought_and_picked_up(bot)
    seller_id = await villager_id(bot.store, 1001)
    reader = bot.person(1004, "Town buyer", language_code="en")
    await reader.send(f"/start s-{seller_id}")
    page = reader.chat.last_bot_message()
    assert body(page).startswith("👤 Wang\n📍 Shangyuan") and "⭐ No reviews yet" in body(page)
    assert "Sold: orders received by buyers: 1 (2 jin)" in body(page)
    await reader.tap("Mountain honey", message=page)
    assert "Mountain honey" in body(reader.chat.last_bot_message())

    await reader.send("/start s-99999")
    assert "This seller was not found" in texts(reader.chat)[-1]
    # The buyer has bought, but sells nothing: no page.
    await reader.send(f"/start s-{await villager_id(bot.store, w['buyer'].id)}")
    assert "This seller was not found" in texts(reader.chat)[-1]


async def test_a_refunded_purchase_is_not_asked_and_cannot_be_rated(bot):
    w = await bought_and_picked_up(bot)
    buyer = w["buyer"]
    problem = await whole_order_problem(bot, w["number"])
    await problem_desk.refund(bot.store, bot.clock, ADMIN, problem, whole=True)
    bot.clock.advance(timedelta(days=1, minutes=1))
    await bot.pump()
    assert questions(buyer) == []
    (review,) = await reviews_in(bot.store)
    refunded = await buyer.tap_data(f"rv:s:{review.id}:5", buyer.chat.last_bot_message())
    assert refunded.show_alert and "refunded" in refunded.text
    assert (await reviews_in(bot.store))[0].stars is None


async def whole_order_problem(bot, number: str) -> int:
    """An open problem on the whole of the order's line (the reporting steps are test_problems')."""
    async with bot.store.write() as session:
        order = await session.scalar(select(Order).where(Order.number == number))
        line = await session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
        problem = OrderProblem(order_id=order.id, villager_id=order.villager_id, center_id=order.center_id,
                               status=ProblemStatus.OPEN, lines={str(line.id): line.quantity_milli}, reason="spoiled",
                               created_at=bot.clock.now(), reported_at=bot.clock.now(), cards={})
        session.add(problem)
        await session.flush()
        return problem.id


async def test_forget_keeps_the_stars_without_the_text_and_mydata_has_them(bot):
    w = await bought_and_picked_up(bot)
    buyer = w["buyer"]
    bot.clock.advance(timedelta(days=1, minutes=1))
    await bot.pump()
    await buyer.tap("5⭐", message=questions(buyer)[0])
    await buyer.send("Best honey in the county")
    await buyer.send("/mydata")
    message = buyer.chat.last_bot_message()
    data = json.loads(bot.double.files[message.document["file_id"]].content.decode("utf-8"))
    (given,) = data["reviews_you_gave"]
    assert (given["stars"], given["text"], given["order"]) == (5, "Best honey in the county", w["number"])

    await buyer.send("/forget")
    await buyer.tap("🗑 Yes, forget me")
    await bot.pump()
    (review,) = await reviews_in(bot.store)
    assert (review.stars, review.text) == (5, "")
    (desk_card,) = review_cards(w["seller_group"])
    shown = body(w["seller_group"].message(desk_card.message_id))
    assert "Best honey" not in shown and "(text deleted)" in shown and "Zhao" not in shown
    page_reader = bot.person(1005, "Reader", language_code="en")
    await page_reader.send(f"/start s-{await villager_id(bot.store, 1001)}")
    page = body(page_reader.chat.last_bot_message())
    assert "⭐ 5.0 of 5 · reviews: 1" in page and "Zhao" not in page


async def test_a_typed_reason_hides_it_and_queuing_again_asks_nothing_more(bot):
    w = await bought_and_picked_up(bot)
    buyer, zhang, group = w["buyer"], w["zhang"], w["seller_group"]
    # The pickup's transaction queued the question; queuing again for the same order adds nothing.
    async with bot.store.write() as session:
        order = await session.scalar(select(Order).where(Order.number == w["number"]))
        assert await ratings.queue_questions(session, order, bot.clock.now()) == 0
    bot.clock.advance(timedelta(days=1, minutes=1))
    await bot.pump()
    await buyer.tap("2⭐", message=questions(buyer)[0])
    await buyer.send("Call me on 13800001234, the seller is a thief")
    await bot.pump()
    (card,) = review_cards(group)
    await zhang.tap("🙈 Hide", message=card)
    await zhang.tap("✏️ Type a reason", message=group.message(card.message_id))
    asked = group.bot_messages()[-1]
    assert (asked.reply_markup or {}).get("force_reply") and "reason for hiding this review" in body(asked)
    await zhang.reply("Phone number and insults", to=asked)
    await bot.pump()
    (review,) = await reviews_in(bot.store)
    assert review.hidden_reason == "Phone number and insults" and review.stars == 2
    shown = body(group.message(card.message_id))
    assert "Reason: Phone number and insults" in shown and labels(group.message(card.message_id)) == []
