"""The center's cash book as people use it: Lao Zhang, the partner of Shangyuan (CG-01), reads
/cash in his desk group and privately, pays a seller, hands cash to the county; Zhou, staff of
Chenggu county, confirms a handover or says it never came, and Qian, staff of Suichang county, is
refused; Xiao Li (a bystander in the group) and Wang (a villager) are refused; the admin sets the
partner's fees. Each story ends with the books balancing."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from chat import center_id, last_text, texts, villager_id
from services import desks, market, parcels
from services.partners import Actor, add_partner
from services.states import OrderStatus
from store.models import CashEntry, County, CountyStaff, Handover, Order
from support.books import books_balance
from support.desk import ADMIN, card_of, desk
from support.orders import order_rice
from support.produce import a_seller, approved_listing
from support.store import status_of

ZHANG = Actor(501, "Lao Zhang")
S = OrderStatus


async def picked_up_in_chat(bot, partner, villager, group) -> str:
    """Rice ordered, confirmed, shipped, at the county, at the village and picked up, all by chat."""
    admin = bot.person(900, "County", language_code="en")
    number = await order_rice(villager)
    await partner.tap("✅ Confirm", message=card_of(group, number))
    await admin.send("/ship CG-01")
    await admin.send("/county CG-01")
    await partner.send(f"/arrived {number}", chat=group)
    code = (await status_of(bot.store, number)).pickup_code
    await partner.send(f"/pickup {code}", chat=group)
    assert (await status_of(bot.store, number)).status == "picked_up"
    return number


async def through_to_pickup(bot, order_id: int) -> None:
    """A confirmed order's way to the buyer's hands, through the services."""
    await parcels.move_center_batch(bot.store, bot.clock, ADMIN, "CG-01", S.CONFIRMED, S.IN_TRANSIT)
    await parcels.arrive(bot.store, bot.clock, ADMIN, order_id)
    async with bot.store.read() as session:
        order = await session.get(Order, order_id)
        center, code = order.center_id, order.pickup_code
    await parcels.pickup(bot.store, bot.clock, ZHANG, center, code)
    await bot.pump()


async def apples_sold(bot, buyer, jin: int = 2) -> tuple[object, int]:
    """Li Ming (a seller of Shangyuan) sells ``jin`` jin of apples at ¥6.00 to ``buyer``, who picks
    them up at Shangyuan and pays: the partner holds Li Ming's money."""
    seller, seller_id = await a_seller(bot)
    listing = await approved_listing(bot.store, bot.clock, seller_id)
    placed = await market.order_listing(bot.store, bot.clock, await villager_id(bot.store, buyer.id), listing,
                                        jin * 1000, await center_id(bot.store, "CG-01"), "0123456789")
    await desks.decide(bot.store, bot.clock, ADMIN, placed.order.id, confirm=True)
    await through_to_pickup(bot, placed.order.id)
    return seller, seller_id


async def staff(bot, telegram_id: int, county: str, name: str):
    """Someone made county staff by a row (another part of the bot makes them with /staff)."""
    async with bot.store.write() as session:
        county_id = await session.scalar(select(County.id).where(County.name == county))
        session.add(CountyStaff(county_id=county_id, telegram_id=telegram_id, added_at=bot.clock.now()))
    person = bot.person(telegram_id, name, language_code="en")
    await person.send("/help")
    return person


async def entries(store, kind: str) -> list[CashEntry]:
    async with store.read() as session:
        return list((await session.scalars(select(CashEntry).where(CashEntry.kind == kind)
                                           .order_by(CashEntry.id))).all())


async def handover_status(store) -> list[str]:
    async with store.read() as session:
        return list((await session.scalars(select(Handover.status).order_by(Handover.id))).all())


# ---- the stories --------------------------------------------------------------------------------

async def test_pickups_then_cash_shows_them_in_the_group_and_privately(bot):
    partner, bystander, villager, group = await desk(bot)
    await picked_up_in_chat(bot, partner, villager, group)
    await picked_up_in_chat(bot, partner, villager, group)

    await partner.send("/cash", chat=group)
    book = texts(group)[-1]
    assert "Cash book · Shangyuan Village Service Center (CG-01)" in book
    assert "Collected at pickup: ¥104.00" in book
    assert "Cash on hand: ¥104.00" in book
    assert "Owed to sellers: nothing" in book
    assert "Owed to the county: ¥104.00" in book
    assert "Fees earned this month: ¥0.00" in book

    await partner.send("/cash")  # privately: his one center
    assert "Cash on hand: ¥104.00" in last_text(partner)

    bot.clock.advance(timedelta(days=1))  # the center's next day: nothing taken yet, the cash still there
    await partner.send("/cash")
    assert "Nothing yet today." in last_text(partner) and "Cash on hand: ¥104.00" in last_text(partner)
    await partner.tap("🔄 Refresh")
    assert "Cash on hand: ¥104.00" in last_text(partner)

    await add_partner(bot.store, bot.clock, ADMIN, "CG-02", 501)  # a partner of two centers picks one
    await partner.send("/cash")
    assert "Which center's cash book?" in last_text(partner)
    await partner.tap("CG-02")
    assert "Qinglong Village Service Center (CG-02)" in last_text(partner)
    assert "Cash on hand: ¥0.00" in last_text(partner)
    assert await books_balance(bot.store) == []


async def test_bystander_and_villager_are_refused_politely(bot):
    partner, bystander, villager, group = await desk(bot)
    await picked_up_in_chat(bot, partner, villager, group)

    await bystander.send("/cash", chat=group)
    assert "The cash book is for the center's partners" in texts(group)[-1]
    assert "¥52.00" not in texts(group)[-1]
    await bystander.send("/handover 10", chat=group)
    assert "Only the center's partners and admins can record a handover" in texts(group)[-1]
    await villager.send("/cash")
    assert "The cash book is for the center's partners" in last_text(villager)
    await villager.send("/cash CG-01")
    assert "The cash book is for the center's partners" in last_text(villager)
    await villager.send("/cash XX-99")
    assert "no service center with the code XX-99" in last_text(villager)
    await partner.send("/fee CG-01 order 5%")
    assert "Only admins can do this" in last_text(partner)

    # A partner's /cash CG-02, or his cash book's button in another center's group: not shown there.
    await partner.send("/cash CG-02")
    assert "The cash book is for the center's partners" in last_text(partner)
    await partner.send("/cash", chat=group)
    refresh = group.bot_messages()[-1]
    answer = await bystander.tap("🔄 Refresh", message=refresh)
    assert answer.show_alert and "not for you" in answer.text
    assert await handover_status(bot.store) == []
    assert await books_balance(bot.store) == []


async def test_pay_a_seller_all_or_less_never_more_and_once(bot):
    partner, bystander, villager, group = await desk(bot)
    seller, seller_id = await apples_sold(bot, villager)

    await partner.send("/cash", chat=group)
    assert "Owed to sellers:\n• Li Ming: ¥12.00" in texts(group)[-1]
    assert "Owed to the county: ¥0.00" in texts(group)[-1]
    answer = await bystander.tap("💸 Pay Li Ming ¥12.00", message=group.bot_messages()[-1])
    assert answer.show_alert and "Only the center's partners and admins can pay sellers" in answer.text

    await partner.tap("💸 Pay Li Ming ¥12.00", message=group.bot_messages()[-1])
    ask = group.bot_messages()[-1]
    assert "Pay Li Ming ¥12.00 in cash, now?" in ask.text
    assert f"/payout CG-01 {seller_id} AMOUNT" in ask.text

    await partner.send(f"/payout CG-01 {seller_id} 20", chat=group)
    assert "Li Ming is owed only ¥12.00" in texts(group)[-1]
    await partner.send(f"/payout CG-01 {seller_id} 0", chat=group)
    assert "amount above ¥0" in texts(group)[-1]
    await partner.send(f"/payout {seller_id} 五块", chat=group)  # in the desk, the center goes without saying
    less = group.bot_messages()[-1]
    assert "Pay Li Ming ¥5.00 in cash, now?" in less.text
    paid = less.buttons[0][0].callback_data
    await partner.tap("✅ Paid ¥5.00", message=less)
    assert "Paid Li Ming ¥5.00. Still owed to them: ¥7.00" in texts(group)[-1]
    again = await partner.tap_data(paid, less)  # tapped twice
    assert again.show_alert and "already recorded" in again.text
    assert [e.amount_fen for e in await entries(bot.store, "payout")] == [-500]
    assert "paid you ¥5.00 in cash for your produce" in last_text(seller)

    stale = await partner.tap("✅ Paid ¥12.00", message=ask)  # the first question, for more than is owed now
    assert stale.show_alert and "Only ¥7.00 is owed now. Nothing was recorded." in stale.text
    await partner.send("/cash", chat=group)
    await partner.tap("💸 Pay Li Ming ¥7.00", chat=group)
    assert "Pay Li Ming ¥7.00 in cash, now?" in texts(group)[-1]
    await partner.tap("✅ Paid ¥7.00", chat=group)
    assert [e.amount_fen for e in await entries(bot.store, "payout")] == [-500, -700]
    assert all(e.seller_id == seller_id for e in await entries(bot.store, "payout"))
    await partner.send("/cash", chat=group)
    assert "Owed to sellers: nothing" in texts(group)[-1] and "Cash on hand: ¥0.00" in texts(group)[-1]
    assert "Paid to sellers: -¥12.00" in texts(group)[-1]
    assert "💸" not in "".join(b.text for row in group.bot_messages()[-1].buttons for b in row)
    assert await books_balance(bot.store) == []


async def test_handover_confirmed_by_the_county_staff(bot):
    partner, _, villager, group = await desk(bot)
    await picked_up_in_chat(bot, partner, villager, group)
    zhou = await staff(bot, 3001, "城固县", "Zhou")

    await partner.send("/handover ¥1,200", chat=group)
    assert "Only ¥52.00 is on hand, so ¥1200.00 cannot have been handed over" in texts(group)[-1]
    await partner.send("/handover 三十", chat=group)
    assert "Recorded: ¥30.00 handed to the county (CG-01)" in texts(group)[-1]
    await partner.send("/cash", chat=group)
    assert "Cash on hand: ¥22.00" in texts(group)[-1]
    assert "waiting for the county to confirm: ¥30.00" in texts(group)[-1]

    card = zhou.chat.bot_messages()[-1]
    assert "Cash handed to the county · Shangyuan Village Service Center (CG-01)" in card.text
    assert "¥30.00 from Lao Zhang" in card.text
    received = card.buttons[0][0].callback_data
    await zhou.tap("✅ Received", message=card)
    assert "Received, confirmed by Zhou" in zhou.chat.message(card.message_id).text
    assert "The county confirmed the handover of ¥30.00 from Lao Zhang (CG-01)" in texts(group)[-1]
    again = await zhou.tap_data(received, card)
    assert again.show_alert and "already decided" in again.text
    assert await handover_status(bot.store) == ["confirmed"]
    assert [e.amount_fen for e in await entries(bot.store, "handover")] == [-3000]

    await zhou.send("/cash CG-01")  # staff read their county's books, and move no cash
    assert "Cash on hand: ¥22.00" in last_text(zhou)
    assert "💸" not in str(zhou.chat.last_bot_message().buttons)
    assert await books_balance(bot.store) == []


async def test_handover_not_received_puts_the_cash_back_on_hand(bot):
    partner, _, villager, group = await desk(bot)
    await picked_up_in_chat(bot, partner, villager, group)
    zhou = await staff(bot, 3001, "城固县", "Zhou")

    await partner.send("/handover 52", chat=group)
    await partner.send("/cash", chat=group)
    assert "Cash on hand: ¥0.00" in texts(group)[-1]
    await zhou.tap("⚠️ Not received")
    assert "Not received, said Zhou" in last_text(zhou)
    assert "did not reach them. The cash is back on hand" in texts(group)[-1]
    assert await handover_status(bot.store) == ["disputed"]
    fix = await entries(bot.store, "correction")
    handover = await entries(bot.store, "handover")
    assert [(e.amount_fen, e.corrects_id) for e in fix] == [(5200, handover[0].id)]
    assert handover[0].amount_fen == -5200  # never edited
    await partner.send("/cash", chat=group)
    assert "Cash on hand: ¥52.00" in texts(group)[-1] and "Owed to the county: ¥52.00" in texts(group)[-1]
    assert await books_balance(bot.store) == []


async def test_staff_of_another_county_are_refused_and_admins_hear_when_a_county_has_no_staff(bot):
    partner, _, villager, group = await desk(bot)
    await picked_up_in_chat(bot, partner, villager, group)
    zhou = await staff(bot, 3001, "城固县", "Zhou")
    qian = await staff(bot, 3002, "遂昌县", "Qian")

    await partner.send("/handover 20", chat=group)
    card = zhou.chat.bot_messages()[-1]
    assert not any("Cash handed" in t for t in texts(qian.chat))
    answer = await qian.tap_data(card.buttons[0][0].callback_data, qian.chat.bot_messages()[-1])
    assert answer.show_alert and "not for you" in answer.text
    answer = await villager.tap_data(card.buttons[0][1].callback_data, villager.chat.bot_messages()[-1])
    assert answer.show_alert and "not for you" in answer.text
    assert await handover_status(bot.store) == ["pending"]
    await qian.send("/cash CG-01")
    assert "The cash book is for the center's partners" in last_text(qian)
    admin = bot.person(900, "County", language_code="en")
    await admin.send("/cash CG-01")
    assert "Cash on hand: ¥32.00" in last_text(admin)
    await admin.send("/cash")
    assert "Usage: /cash CENTER-CODE" in last_text(admin)

    async with bot.store.write() as session:  # Chenggu has no staff any more: the admins get the card
        for row in (await session.scalars(select(CountyStaff))).all():
            await session.delete(row)
    await partner.send("/handover 2")  # privately: his one center
    assert "Recorded: ¥2.00 handed to the county (CG-01)" in last_text(partner)
    assert "¥2.00 from Lao Zhang" in last_text(admin)
    await admin.tap("✅ Received")
    assert await handover_status(bot.store) == ["pending", "confirmed"]
    assert "The county confirmed the handover of ¥2.00" in texts(group)[-1]
    assert await books_balance(bot.store) == []


async def test_fees_set_by_an_admin_show_to_the_partner_after_a_pickup_and_never_to_the_villager(bot):
    partner, _, villager, group = await desk(bot)
    admin = bot.person(900, "County", language_code="en")
    await admin.send("/fee CG-01 order 1.5%")
    assert "Orders: 1.50% + ¥0.00 per order" in last_text(admin)
    await admin.send("/fee CG-01 order ¥0.5")
    assert "Orders: 1.50% + ¥0.50 per order" in last_text(admin)
    await admin.send("/fee cg-01 topup 2")
    await admin.send("/fee CG-01")
    assert "Phone top-up: ¥2.00" in last_text(admin) and "Bill: —" in last_text(admin)
    await admin.send("/fee CG-01 缴费 1")  # the words of a Chinese admin
    assert "Bill: ¥1.00" in last_text(admin)
    await admin.send("/fee CG-01 order lots")
    assert last_text(admin).startswith("Usage: /fee")
    await admin.send("/fee CG-01 haircut 2")
    assert last_text(admin).startswith("Usage: /fee")
    await admin.send("/fee XX-99 order 1%")
    assert "no service center with the code XX-99" in last_text(admin)

    number = await picked_up_in_chat(bot, partner, villager, group)
    await partner.send("/cash", chat=group)
    book = texts(group)[-1]
    assert "Fees earned this month: ¥1.28" in book  # 1.5% of ¥52.00, and ¥0.50
    assert "Cash on hand: ¥52.00" in book and "Owed to the county: ¥50.72" in book
    assert not any("1.28" in t or "0.50" in t for t in texts(villager.chat))
    assert f"You picked up order {number} and paid ¥52.00" in texts(villager.chat)[-1]
    await admin.send("/stats")
    report = texts(admin.chat)[-2]  # then the chart
    assert "Partners' fees this month: ¥1.28" in report and "Cash on hand at the centers: ¥52.00" in report
    assert await books_balance(bot.store) == []


async def test_a_correction_is_a_new_entry(bot):
    partner, bystander, villager, group = await desk(bot)
    await picked_up_in_chat(bot, partner, villager, group)
    (collected,) = await entries(bot.store, "collected")

    await partner.send("/correct", chat=group)
    assert texts(group)[-1].startswith("Usage: /correct")
    await partner.send(f"/correct {collected.id} -¥2 ", chat=group)
    assert texts(group)[-1].startswith("Usage: /correct")
    await bystander.send(f"/correct {collected.id} -2 not his", chat=group)
    assert f"No cash book entry #{collected.id}" in texts(group)[-1]
    await partner.send("/cash", chat=group)
    await partner.tap("📒 Latest entries", chat=group)
    assert f"#{collected.id} · 11-11 10:" in texts(group)[-1] and "Collected at pickup · ¥52.00" in texts(group)[-1]
    await partner.send(f"/correct #{collected.id} -2 counted a coin twice", chat=group)
    reply = texts(group)[-1]
    assert re.search(rf"Correction #\d+ recorded: -¥2.00 on entry #{collected.id}\. Reason: counted a coin twice",
                     reply)
    (fix,) = await entries(bot.store, "correction")
    assert (fix.amount_fen, fix.corrects_id, fix.note, fix.actor_telegram_id) == (
        -200, collected.id, "counted a coin twice", 501)
    assert [e.amount_fen for e in await entries(bot.store, "collected")] == [5200]
    await partner.send("/cash", chat=group)
    assert "Cash on hand: ¥50.00" in texts(group)[-1] and "Corrections: -¥2.00" in texts(group)[-1]
    await partner.tap("📒 Latest entries", chat=group)
    assert "Corrections · -¥2.00 · RT-" in texts(group)[-1]
    assert f"counted a coin twice · corrects #{collected.id}" in texts(group)[-1]
    assert await books_balance(bot.store) == []
