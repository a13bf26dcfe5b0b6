"""The partner's order desk, played in a group with a partner, a bystander and a villager:
binding, confirm, reject with a reason, refused taps, assisted orders, arrival and pickup."""

from __future__ import annotations

import re

from sqlalchemy import select

from chat import last_text, settle_in, stock_of, texts
from store.models import Order, ServiceCenter, Villager
from support.desk import GROUP_ID, card_of, confirmed_order, desk
from support.orders import order_rice
from support.store import status_of


async def test_partner_binds_the_group_and_a_non_partner_is_refused(bot):
    partner, bystander, _, group = await desk(bot, bind=False)

    await bystander.send("/bind CG-01", chat=group)
    assert "Only the partners of Shangyuan Village Service Center and admins" in texts(group)[-1]

    await partner.send("/bind CG-01", chat=group)
    assert "This group is now the order desk of Shangyuan Village Service Center (CG-01)" in texts(group)[-1]
    async with bot.store.read() as session:
        assert await session.scalar(select(ServiceCenter.group_chat_id).where(ServiceCenter.code == "CG-01")) == GROUP_ID

    await partner.send("/bind XX-99", chat=group)
    assert "There is no service center with the code XX-99" in texts(group)[-1]

    await partner.send("/unbind", chat=group)
    assert "no longer the order desk" in texts(group)[-1]
    await partner.send("/bind CG-01", chat=group)
    await bot.double.remove_bot_from_group(group, by=partner)
    async with bot.store.read() as session:
        assert await session.scalar(select(ServiceCenter.group_chat_id).where(ServiceCenter.code == "CG-01")) is None


async def test_new_order_posts_a_card_and_the_partner_confirms_it(bot):
    partner, bystander, villager, group = await desk(bot)
    number = await order_rice(villager, quantity_taps=1)

    card = card_of(group, number)
    assert "Wang" in card.text and "Rice" in card.text and "× 2" not in card.text
    assert "Shangyuan Village Service Center" in card.text and "Waiting for confirmation" in card.text
    assert [b.text for row in card.buttons for b in row] == ["✅ Confirm", "❌ Reject"]

    answer = await bystander.tap("✅ Confirm", message=card)
    assert answer.show_alert and "Only the partners of Shangyuan Village Service Center" in answer.text
    assert (await status_of(bot.store, number)).status == "pending"
    assert "Waiting for confirmation" in card_of(group, number).text

    await partner.tap("✅ Confirm", message=card)
    card = card_of(group, number)
    assert re.search(r"Confirmed by Lao Zhang at \d\d-\d\d \d\d:\d\d", card.text)
    assert [b.text for row in card.buttons for b in row] == []
    assert (await status_of(bot.store, number)).status == "confirmed"
    assert f"Your order {number} is confirmed" in texts(villager.chat)[-1]

    again = await partner.tap_data(f"dk:ok:{(await status_of(bot.store, number)).id}", card)
    assert again.show_alert and "Already done" in again.text


async def test_reject_with_a_common_reason_and_with_a_typed_one(bot):
    partner, _, villager, group = await desk(bot)
    stock_before = await stock_of(bot.store, "FD-001")
    first = await order_rice(villager)
    second = await order_rice(villager)

    await partner.tap("❌ Reject", message=card_of(group, first))
    await partner.tap("Out of stock", message=card_of(group, first))
    assert "Rejected by Lao Zhang" in card_of(group, first).text
    assert "Reason: Out of stock" in card_of(group, first).text
    told = texts(villager.chat)[-1]
    assert f"your order {first} was rejected" in told and "Reason: Out of stock" in told

    await partner.tap("❌ Reject", message=card_of(group, second))
    await partner.tap("Type a reason", message=card_of(group, second))
    assert "please type the reason" in texts(group)[-1]
    await partner.reply("Road <closed> by the flood", to=group.bot_messages()[-1])  # the question
    assert "Reason: Road &lt;closed&gt; by the flood" not in texts(villager.chat)[-1]  # escaped, shown as typed
    assert "Reason: Road <closed> by the flood" in texts(villager.chat)[-1]
    assert (await status_of(bot.store, second)).status == "rejected"
    assert await stock_of(bot.store, "FD-001") == stock_before


async def test_forged_callback_for_another_centers_order_is_refused(bot):
    partner, _, _, group = await desk(bot)
    other = bot.person(1002, "Zhao", language_code="en")
    await settle_in(other, "Suichang", "Dazhe")  # a center in another county, not Lao Zhang's
    number = await order_rice(other)
    order = await status_of(bot.store, number)

    message = group.bot_messages()[-1]
    answer = await partner.tap_data(f"dk:ok:{order.id}", message)
    assert answer.show_alert and "not for you" in answer.text  # not even the other center's name
    assert (await status_of(bot.store, number)).status == "pending"


async def test_pending_lists_orders_waiting_for_a_decision_and_brings_back_their_cards(bot):
    partner, bystander, villager, group = await desk(bot)
    number = await order_rice(villager)
    await partner.send("/pending", chat=group)
    assert "Waiting for a decision: 1" in texts(group)[-1] and number in texts(group)[-1]

    old_card = card_of(group, number)
    refused = await bystander.tap(f"🧾 {number}", chat=group)
    assert refused.show_alert and "Only the partners of Shangyuan" in refused.text
    await partner.tap(f"🧾 {number}", chat=group)
    card = card_of(group, number)  # posted again at the bottom, and the old one deleted
    assert card is group.bot_messages()[-1] and card is not old_card and old_card.deleted
    await partner.tap("✅ Confirm", message=card)
    assert "Confirmed by Lao Zhang" in card_of(group, number).text
    await partner.send("/pending", chat=group)
    assert "No orders are waiting for a decision" in texts(group)[-1]


async def test_cards_go_to_partners_privately_without_a_group(bot):
    partner, _, villager, _ = await desk(bot, bind=False)
    await partner.send("/start")
    number = await order_rice(villager)
    card = next(m for m in partner.chat.bot_messages() if number in (m.text or ""))
    await partner.tap("✅ Confirm", message=card)
    assert "Confirmed by Lao Zhang" in partner.chat.message(card.message_id).text

    second = await order_rice(villager)
    card = next(m for m in partner.chat.bot_messages() if (m.text or "").startswith(f"🧾 Order {second}"))
    await partner.tap("❌ Reject", message=card)
    await partner.tap("Type a reason", message=partner.chat.message(card.message_id))
    await partner.send("No truck this week")
    assert "Reason: No truck this week" in partner.chat.message(card.message_id).text
    assert "Reason: No truck this week" in texts(villager.chat)[-1]


async def test_parcel_arrives_and_is_picked_up_with_the_right_code(bot):
    partner, _, villager, group = await desk(bot)
    number, admin = await confirmed_order(bot, partner, villager, group)

    await admin.send("/ship CG-01")
    assert f"1 order shipped: {number}" in last_text(admin)
    assert f"Your order {number} is on its way" in texts(villager.chat)[-1]
    await admin.send("/county")
    await admin.tap("CG-01")
    assert f"Your order {number} has reached the county service center" in texts(villager.chat)[-1]

    await partner.tap("📬 Arrived at the village", message=card_of(group, number))
    order = await status_of(bot.store, number)
    assert order.status == "ready_for_pickup" and re.fullmatch(r"\d{6}", order.pickup_code)
    notice = [m for m in villager.chat.bot_messages() if order.pickup_code in (m.text or "")]
    assert notice and "Open 08:00-20:00" in notice[-1].text
    assert villager.chat.bot_messages()[-1].venue is not None

    await partner.tap("🤝 Picked up", message=card_of(group, number))
    wrong = "000000" if order.pickup_code != "000000" else "111111"
    await partner.reply(wrong, to=group.bot_messages()[-1])  # a reply to the question
    assert "Wrong pickup code" in texts(group)[-1]
    assert (await status_of(bot.store, number)).status == "ready_for_pickup"
    await partner.reply(order.pickup_code, to=group.bot_messages()[-1])  # to the question asked again
    order = await status_of(bot.store, number)
    assert order.status == "picked_up" and order.cash_collected_fen == order.total_fen
    assert f"{number} picked up" in texts(group)[-1]
    assert "Picked up by Lao Zhang" in card_of(group, number).text
    assert f"You picked up order {number}" in texts(villager.chat)[-1]


async def test_pickup_command_and_arrived_command(bot):
    partner, bystander, villager, group = await desk(bot)
    number, admin = await confirmed_order(bot, partner, villager, group)
    await admin.send("/ship CG-01")

    await bystander.send(f"/arrived {number}", chat=group)
    assert "Only the partners" in texts(group)[-1]
    await partner.send(f"/arrived {number}", chat=group)
    assert "is ready for pickup" in texts(group)[-1]
    code = (await status_of(bot.store, number)).pickup_code

    await partner.send("/pickup 12", chat=group)
    assert "Wrong pickup code" in texts(group)[-1]
    await partner.send(f"/pickup {code}", chat=group)
    assert (await status_of(bot.store, number)).status == "picked_up"


async def test_assisted_order_for_a_villager_without_a_phone(bot):
    partner, _, _, group = await desk(bot)
    cousin = bot.person(1003, "Li Wei", language_code="en")
    await settle_in(cousin)
    await cousin.share_contact("+86 138-0013-8000")
    assert "phone number is saved" in last_text(cousin)

    await partner.send("/start")
    await partner.send("/orderfor Li Wei 13800138000")
    assert "You are now ordering for Li Wei" in texts(partner.chat)[-2]
    await partner.send("/search rice")
    await partner.tap("Rice")
    await partner.tap("Add")
    await partner.send("/cart")
    assert "Cart of Li Wei" in last_text(partner)
    await partner.tap("Checkout")
    assert "Ordering for Li Wei" in last_text(partner)
    await partner.tap("Confirm order")
    number = re.search(r"RT-[0-9A-Z]{5}", last_text(partner)).group(0)
    assert "placed for Li Wei" in last_text(partner)

    async with bot.store.read() as session:
        order = await session.scalar(select(Order).where(Order.number == number))
        buyer = await session.get(Villager, order.villager_id)
        helper = await session.get(Villager, order.assisted_by_id)
    assert buyer.telegram_id is None and buyer.first_name == "Li Wei" and buyer.phone == "13800138000"
    assert helper.telegram_id == 501
    assert "Ordered for them by Lao Zhang" in card_of(group, number).text

    await partner.tap("✅ Confirm", message=card_of(group, number))
    assert f"Your order {number} is confirmed" in texts(cousin.chat)[-1]
    await partner.send("/cart")
    assert "Your cart" in last_text(partner)  # ordering for oneself again


async def test_villagers_see_only_their_own_orders_with_track(bot):
    partner, _, villager, group = await desk(bot)
    number = await order_rice(villager)
    await villager.send(f"/track {number}")
    assert f"Order {number}" in last_text(villager) and "Timeline" in last_text(villager)
    snoop = bot.person(1009, "Snoop", language_code="en")
    await settle_in(snoop)
    await snoop.send(f"/track {number}")
    assert "This order was not found" in last_text(snoop)



async def test_admin_manages_partners_in_chat_and_others_cannot(bot):
    admin = bot.person(900, "County", language_code="en")
    zhang = bot.person(501, "Lao Zhang", language_code="en", username="laozhang")
    await zhang.send("/start")
    await admin.send("/start")

    await zhang.send("/partner add CG-01 @laozhang")
    assert "Only admins can do this" in last_text(zhang)
    await admin.send("/partner add CG-01 @nobody")
    assert "I don't know @nobody yet" in last_text(admin)
    await admin.send("/partner add CG-01 @laozhang")
    await admin.tap("✅ Confirm")
    assert "Lao Zhang @laozhang (id 501) is now a partner of Shangyuan Village Service Center (CG-01)" in last_text(
        admin)
    await admin.send("/partner add CG-02 502")
    await admin.tap("✅ Confirm")
    await admin.send("/partner list")
    assert "CG-01" in last_text(admin) and "Lao Zhang @laozhang (501)" in last_text(admin)
    assert "(502)" in last_text(admin)
    await admin.send("/partner remove CG-02 502")
    await admin.tap("✅ Confirm")
    assert "id 502 (has not written to the bot yet) is no longer a partner of CG-02" in last_text(admin)
    await admin.send("/partner list CG-02")
    assert "No partners yet" in last_text(admin)


async def test_a_villager_who_blocks_the_bot_is_unreachable_until_they_unblock_it(bot):
    villager = bot.person(1001, "Wang", language_code="en")
    await settle_in(villager)

    async def unreachable() -> bool:
        async with bot.store.read() as session:
            return await session.scalar(select(Villager.unreachable).where(Villager.telegram_id == 1001))

    double = bot.double
    await double.deliver(double.member_update(villager.chat, villager, "member", "kicked"))
    assert await unreachable()
    await double.deliver(double.member_update(villager.chat, villager, "kicked", "member"))
    assert not await unreachable()
