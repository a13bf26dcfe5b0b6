"""Refunds of money paid online are made by a person at the payment provider (the Bot API cannot
refund physical goods), so the bot tells them, through the Bot API double, on both databases.

Zhou Li, in town, pays ¥36 online for 4 jin of apples from Shangyuan (CG-01), delivered in Shaanxi;
Lao Zhang rejects the order at the desk. The admin (Zhou Min, English) and Xiao Chen, staff of
Chenggu County (Chinese), each get a card with the charge ids; the admin refunds it in the
provider's dashboard and taps ✅ Refunded at the provider: it is confirmed once, and /refunds has
nothing left. A villager's forged tap is refused."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from chat import body, last_text, texts
from services import counties
from store.models import Order, Payment
from support.desk import ADMIN, card_of, desk
from support.produce import approved_listing, person
from support.town import delivery_order, prices

CHEN = 700  # Xiao Chen, staff of Chenggu County (城固县)


async def refund_row(bot) -> Payment:
    async with bot.store.read() as session:
        return await session.scalar(select(Payment).where(Payment.kind == "refund"))


async def rejected_paid_order(bot):
    """The desk, the admin and the county's staff (who have talked to the bot), and Zhou Li's paid
    order rejected at the desk: (admin, staff, villager, order)."""
    partner, _, villager, group = await desk(bot)
    admin = bot.person(900, "Zhou Min", language_code="en")
    await admin.send("/refunds")
    assert last_text(admin) == "✅ No refunds waiting."
    chen = bot.person(CHEN, "小陈", language_code="zh-hans")
    await chen.send("/start")
    change = await counties.preview_staff_change(bot.store, ADMIN, "城固县", str(CHEN), True)
    await counties.confirm_staff_change(bot.store, bot.clock, ADMIN, change.county_id, CHEN,
                                        change.person.fingerprint, bot.clock.now(), True)
    await prices(bot.store, bot.clock)
    listing = await approved_listing(bot.store, bot.clock, await person(bot.store, bot.clock, 2001))
    buyer_id = await person(bot.store, bot.clock, 3001, center=None)
    order = await delivery_order(bot.store, bot.clock, buyer_id, listing, 4000, token="tok-3", charge="tg-charge-3")
    await bot.pump()
    await partner.tap("❌ Reject", message=card_of(group, order.number))
    await partner.tap("Out of stock", message=card_of(group, order.number))
    await bot.pump()
    return admin, chen, villager, order


async def test_a_refund_is_told_to_the_admins_and_confirmed_once(bot):
    admin, chen, villager, order = await rejected_paid_order(bot)
    card = admin.chat.last_bot_message()
    for shown in (f"💳 Refund ¥36.00 to 周丽 for order {order.number} at the payment provider: "
                  "Telegram charge tg-charge-3, provider charge p-tok-3.",
                  "Reason: the seller's center rejected the order (Out of stock)",
                  "refund it in the provider's dashboard by the provider charge"):
        assert shown in last_text(admin), (shown, last_text(admin))
    assert [b.text for row in card.buttons for b in row] == ["✅ Refunded at the provider"]
    chen_card = chen.chat.last_bot_message()
    assert f"为订单 {order.number}" in last_text(chen) and "tg-charge-3" in last_text(chen), last_text(chen)
    assert len(chen_card.buttons) == 1

    await admin.send("/refunds")
    listed = texts(admin.chat)
    assert "Refunds to make at the payment provider: 1, oldest first." in listed[-2]
    assert f"order {order.number}" in listed[-1] and admin.chat.last_bot_message().buttons

    refused = await villager.tap_data(card.buttons[0][0].callback_data, villager.chat.last_bot_message())
    assert refused.show_alert and "not for you" in refused.text
    assert (await refund_row(bot)).confirmed_at is None

    await admin.tap("✅ Refunded at the provider", message=card)
    row = await refund_row(bot)
    assert (row.confirmed_by, row.confirmed_at) == (900, bot.clock.now())
    when = bot.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M")  # the center's time
    assert f"✅ Refunded at the provider by Zhou Min at {when}" in body(card)  # the card tapped, edited
    assert card.buttons == [] and "dashboard" not in body(card)

    again = await chen.tap("✅", message=chen_card)  # the other card, tapped after: already done
    assert again.show_alert and "Zhou Min" in again.text
    assert f"✅ Zhou Min 已于 {when} 在支付服务商处退款" in body(chen_card)
    assert (await refund_row(bot)).confirmed_by == 900
    await admin.send("/refunds")
    assert last_text(admin) == "✅ No refunds waiting."
    await chen.send("/refunds")
    assert last_text(chen) == "✅ 没有待办的退款。"
    async with bot.store.read() as session:
        assert await session.scalar(select(Order.status).where(Order.id == order.id)) == "rejected"


async def test_refunds_is_only_for_admins_and_county_staff(bot):
    _, _, villager, _ = await desk(bot)
    await villager.send("/refunds")
    assert last_text(villager) == "🔒 Only admins can do this."
    await villager.send("/help")
    assert "/refunds" not in last_text(villager)
    admin = bot.person(900, "Zhou Min", language_code="en")
    await admin.send("/help")
    assert "💳 /refunds — Refunds of money paid online still to make at the payment provider" in last_text(admin)
