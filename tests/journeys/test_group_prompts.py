"""In a group, only an answer counts as an answer: a partner's typed reason or pickup code is a
reply to the bot's question, from the person asked, while the question is open. Played in a group
with two partners, a bystander and a villager, with the double in privacy mode (as BotFather
sets a new bot)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from chat import body, settle_in, texts
from services import prompts
from services.partners import add_partner
from store.models import DeskPrompt, Order
from support.desk import ADMIN, card_of, confirmed_order, desk
from support.orders import order_rice
from support.produce import desks, listing_status, published_listing, review_card
from support.store import status_of


def question(group, name: str):
    """The bot's last question in the group, asking ``name`` (a ForceReply that mentions them)."""
    message = group.bot_messages()[-1]
    assert (message.reply_markup or {}).get("force_reply"), f"the last message asks nothing: {message.text!r}"
    assert message.reply_markup.get("selective") is True
    mentioned = [e["user"]["first_name"] for e in message.entities if e["type"] == "text_mention"]
    assert mentioned == [name]
    return message


async def open_prompts(store) -> list[DeskPrompt]:
    async with store.read() as session:
        return list((await session.scalars(select(DeskPrompt).where(DeskPrompt.closed_at.is_(None)))).all())


async def asked_for_a_reason(partner, villager, group) -> str:
    """Wang orders rice; the partner taps ❌ Reject, then ✏️ Type a reason: the order's number."""
    number = await order_rice(villager)
    await partner.tap("❌ Reject", message=card_of(group, number))
    await partner.tap("Type a reason", message=card_of(group, number))
    return number


async def test_chatter_after_type_a_reason_is_not_the_reason(bot):
    assert bot.double.privacy_mode
    partner, bystander, villager, group = await desk(bot)
    number = await asked_for_a_reason(partner, villager, group)
    asked = question(group, "Lao Zhang")
    assert "Lao Zhang, please type the reason for rejecting this order" in asked.text
    assert asked.reply_markup["input_field_placeholder"] == "Reason for rejecting"
    card = card_of(group, number)
    assert "Waiting for Lao Zhang to reply" in card.text
    assert [b.text for row in card.buttons for b in row] == ["✖️ Cancel"]

    chatter = await partner.send("大家好，今天下午三点到货", chat=group)
    assert not bot.double.hears(chatter)  # privacy mode: Telegram does not even give it to the bot
    bot.double.privacy_mode = False  # and a bot that reads everything takes it for no answer either
    await partner.send("大家好，今天下午三点到货", chat=group)
    await bystander.send("好的", chat=group)
    bot.double.privacy_mode = True
    assert group.bot_messages()[-1] is asked  # the bot said nothing
    assert (await status_of(bot.store, number)).status == "pending"
    assert not any("rejected" in text for text in texts(villager.chat))

    await partner.reply("Road closed by the flood", to=asked)
    assert (await status_of(bot.store, number)).status == "rejected"
    assert "Reason: Road closed by the flood" in texts(villager.chat)[-1]
    assert "Rejected. The buyer has been told why" in texts(group)[-1]
    assert "Reason: Road closed by the flood" in card_of(group, number).text
    assert await open_prompts(bot.store) == []

    await partner.reply("one more thing", to=asked)  # answered: it asks nothing any more
    assert "This question has expired" in texts(group)[-1]


async def test_only_the_person_asked_answers(bot):
    partner, bystander, villager, group = await desk(bot)
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 503)
    colleague = bot.person(503, "Lao Li", language_code="en")
    group.add_member(colleague)
    number = await asked_for_a_reason(partner, villager, group)
    asked = question(group, "Lao Zhang")

    said = len(group.bot_messages())
    await colleague.reply("Out of season", to=asked)
    await bystander.reply("Too expensive", to=asked)
    assert len(group.bot_messages()) == said  # the others' replies are their conversation: no answer
    assert (await status_of(bot.store, number)).status == "pending"
    assert len(await open_prompts(bot.store)) == 1

    await partner.send("/pending", chat=group)  # a command is heard, and changes nothing
    assert "Waiting for a decision: 1" in texts(group)[-1]
    await partner.reply("No truck this week", to=asked)
    assert (await status_of(bot.store, number)).status == "rejected"
    assert "Reason: No truck this week" in texts(villager.chat)[-1]


async def test_cancel_restores_the_card_and_a_later_reply_does_nothing(bot):
    partner, bystander, villager, group = await desk(bot)
    number = await asked_for_a_reason(partner, villager, group)
    asked = question(group, "Lao Zhang")

    refused = await bystander.tap("✖️ Cancel", message=card_of(group, number))
    assert refused.show_alert and "Only the partners of" in refused.text
    await partner.tap("✖️ Cancel", message=card_of(group, number))
    card = card_of(group, number)
    assert "Waiting for Lao Zhang" not in card.text and "Waiting for confirmation" in card.text
    assert [b.text for row in card.buttons for b in row] == ["✅ Confirm", "❌ Reject"]
    assert group.message(asked.message_id).text == "✖️ Cancelled."
    async with bot.store.read() as session:
        assert (await session.scalars(select(DeskPrompt.outcome))).all() == ["cancelled"]

    await partner.reply("Road closed", to=asked)
    assert "This question has expired. Please tap the button on the card again." in texts(group)[-1]
    assert (await status_of(bot.store, number)).status == "pending"


async def test_a_reply_after_ten_minutes_has_expired(bot):
    partner, _, villager, group = await desk(bot)
    number = await asked_for_a_reason(partner, villager, group)
    asked = question(group, "Lao Zhang")

    bot.clock.advance(prompts.LAPSE)
    await partner.reply("Road closed", to=asked)
    assert "This question has expired" in texts(group)[-1]
    assert (await status_of(bot.store, number)).status == "pending"
    card = card_of(group, number)  # the card has its buttons back
    assert [b.text for row in card.buttons for b in row] == ["✅ Confirm", "❌ Reject"]
    async with bot.store.read() as session:
        assert (await session.scalars(select(DeskPrompt.outcome))).all() == ["lapsed"]


async def test_a_question_answered_just_in_time_counts(bot):
    partner, _, villager, group = await desk(bot)
    number = await asked_for_a_reason(partner, villager, group)
    bot.clock.advance(prompts.LAPSE - timedelta(seconds=1))
    await partner.reply("Road closed", to=question(group, "Lao Zhang"))
    assert (await status_of(bot.store, number)).status == "rejected"


async def test_the_sweep_closes_lapsed_questions_and_brings_the_cards_back(bot):
    partner, _, villager, group = await desk(bot)
    number = await asked_for_a_reason(partner, villager, group)
    asked = question(group, "Lao Zhang")
    bot.clock.advance(prompts.LAPSE)
    job = bot.app.job_queue.get_jobs_by_name("lapse desk prompts")[0]
    await job.run(bot.app)
    assert group.message(asked.message_id).text.startswith("⌛ This question has expired")
    assert [b.text for row in card_of(group, number).buttons for b in row] == ["✅ Confirm", "❌ Reject"]
    assert await open_prompts(bot.store) == []


async def ready_parcel(bot):
    partner, bystander, villager, group = await desk(bot)
    number, admin = await confirmed_order(bot, partner, villager, group)
    await admin.send("/ship CG-01")
    await partner.send(f"/arrived {number}", chat=group)
    return partner, bystander, villager, group, number, (await status_of(bot.store, number)).pickup_code


async def test_pickup_code_as_a_reply_with_spaces_or_full_width_digits(bot):
    partner, _, villager, group, number, code = await ready_parcel(bot)
    await partner.tap("🤝 Picked up", message=card_of(group, number))
    asked = question(group, "Lao Zhang")
    assert "please type the 6-digit pickup code" in asked.text
    assert asked.reply_markup["input_field_placeholder"] == "6-digit pickup code"

    await partner.send(code, chat=group)  # not a reply: the group's conversation
    assert (await status_of(bot.store, number)).status == "ready_for_pickup"

    wrong = "000000" if code != "000000" else "111111"
    await partner.reply(wrong, to=asked)
    again = question(group, "Lao Zhang")  # asked again, in a new question
    assert "Wrong pickup code" in again.text and again is not asked
    assert (await status_of(bot.store, number)).status == "ready_for_pickup"
    await partner.reply(code, to=asked)  # the old question was replaced by the new one
    assert "This question has expired" in texts(group)[-1]

    full_width = "".join(chr(ord(d) + 0xFEE0) for d in code)
    await partner.reply(f"{full_width[:4]} {full_width[4:]}", to=again)
    order = await status_of(bot.store, number)
    assert order.status == "picked_up" and order.cash_collected_fen == order.total_fen
    assert f"{number} picked up" in texts(group)[-1]
    assert "Picked up by Lao Zhang" in card_of(group, number).text


async def test_pickup_command_reads_spaces_and_dashes(bot):
    partner, _, _, group, number, code = await ready_parcel(bot)
    await partner.send(f"/pickup {code[:4]}-{code[4:]}x", chat=group)
    assert "Wrong pickup code" in texts(group)[-1]
    await partner.send(f"/pickup {code[:4]} {code[4:]}", chat=group)
    async with bot.store.read() as session:
        assert await session.scalar(select(Order.status).where(Order.number == number)) == "picked_up"


async def test_pickup_command_reads_a_dash_and_full_width_digits(bot):
    partner, _, _, group, number, code = await ready_parcel(bot)
    full_width = "".join(chr(ord(d) + 0xFEE0) for d in code)
    await partner.send(f"/pickup {full_width[:4]}-{full_width[4:]}", chat=group)
    assert (await status_of(bot.store, number)).status == "picked_up"


async def test_a_listing_reason_is_a_reply_too(bot):
    zhang, bystander, _, group, _ = await desks(bot)
    seller = bot.person(1001, "Wang Fang", language_code="en")
    await settle_in(seller)
    photo = bot.double.store_file("photo", b"\xff\xd8\xff\xe0-honey", "honey.jpg", "image/jpeg").file_id
    listing = await published_listing(bot, seller, photo=photo)
    await zhang.tap("❌ Reject", message=review_card(group, "Mountain honey"))
    await zhang.tap("Type a reason", message=review_card(group, "Mountain honey"))
    asked = question(group, "Lao Zhang")
    assert "please type the reason for rejecting this produce" in asked.text
    card = review_card(group, "Mountain honey")
    assert "Waiting for Lao Zhang to reply" in body(card) and card.photo

    await zhang.send("Price is too high, I think", chat=group)
    await bystander.reply("I'd buy it", to=asked)
    assert await listing_status(bot.store, listing) == "review"
    await zhang.reply("x" * 301, to=asked)  # too long: asked again
    again = question(group, "Lao Zhang")
    assert "Please type a reason of at most" in again.text
    await zhang.reply("Price is <twice> the town's", to=again)
    assert await listing_status(bot.store, listing) == "rejected"
    assert "Reason: Price is <twice> the town's" in body(review_card(group, "Mountain honey"))
    assert "Reason: Price is <twice> the town's" in texts(seller.chat)[-1]


async def test_privacy_mode_gives_the_bot_commands_replies_and_mentions_only(bot):
    partner, bystander, _, group = await desk(bot)
    double = bot.double
    card_or_any = group.bot_messages()[-1]
    assert double.hears(await bystander.send("/pending", chat=group))
    assert double.hears(await bystander.send("/pending@rural_test_bot", chat=group))
    assert not double.hears(await bystander.send("/pending@other_bot", chat=group))
    assert double.hears(await bystander.send("hello @Rural_Test_Bot", chat=group))
    assert not double.hears(await bystander.send("hello @rural_test_bot_2", chat=group))
    assert double.hears(await bystander.reply("thanks", to=card_or_any))
    assert not double.hears(await bystander.reply("me too", to=await partner.send("hi", chat=group)))
    assert not double.hears(await bystander.send("hi all", chat=group))
    group.bot_status = "administrator"  # an admin bot reads everything
    assert double.hears(await bystander.send("hi all", chat=group))
    me = await bot.app.bot.get_me()
    assert me.can_read_all_group_messages is False
