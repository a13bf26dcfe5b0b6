"""Problems after pickup, played by people: Wang picks up rice at Shangyuan (CG-01) and reports a
problem from My orders; Lao Zhang, its partner, refunds, replaces or declines it on the desk's card,
while Xiao Li, a bystander in the group, and Lao Li, the partner of Qinglong (CG-02), are refused.
Produce bought on the market is refunded at the buyer's counter, and its seller hears of it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from chat import body, labels, settle_in, stock_of, texts
from services import cashbook, market
from services.partners import add_partner
from store.models import CashEntry, Listing, Order, OrderProblem, ServiceCenter
from support.books import books_balance
from support.desk import ADMIN, card_of, desk
from support.orders import order_rice
from support.produce import desks, published_listing, registered, review_card
from support.store import status_of


async def picked_up(bot, partner, villager, group, taps: int = 2) -> str:
    """Wang's rice order (1 + ``taps`` bags), confirmed, shipped, arrived and picked up."""
    number = await order_rice(villager, quantity_taps=taps)
    await partner.tap("✅ Confirm", message=card_of(group, number))
    admin = bot.person(900, "County", language_code="en")
    await admin.send("/ship CG-01")
    await partner.send(f"/arrived {number}", chat=group)
    await partner.send(f"/pickup {(await status_of(bot.store, number)).pickup_code}", chat=group)
    assert (await status_of(bot.store, number)).status == "picked_up"
    return number


async def open_order(villager, number: str):
    await villager.send("/orders")
    await villager.tap(number)
    return villager.chat.last_bot_message()


async def report(villager, number: str, *, plus: int = 1, reason: str = "💥 Damaged", photo: bool = True) -> None:
    """⚠️ Problem on the order: ``plus`` taps of ➕ on its first line, a reason, a photo or Skip."""
    await open_order(villager, number)
    await villager.tap("⚠️ Problem")
    for _ in range(plus):
        await villager.tap("➕")
    await villager.tap("➡️ Next")
    await villager.tap(reason)
    if photo:
        await villager.send_photo()
    else:
        await villager.tap("⏭ Skip")
    assert f"Your problem with order {number} is sent to the service center" in texts(villager.chat)[-1]


def problem_card(group, number: str):
    cards = [m for m in group.bot_messages() if not m.deleted and body(m).startswith(f"⚠️ Problem with order {number}")]
    assert cards, f"no problem card for {number}"
    return group.message(cards[-1].message_id)


async def problem_of(store, number: str) -> OrderProblem:
    async with store.read() as session:
        return await session.scalar(select(OrderProblem).join(Order, Order.id == OrderProblem.order_id)
                                    .where(Order.number == number).order_by(OrderProblem.id.desc()).limit(1))


async def refunds(store, number: str) -> list[tuple[int, int, int | None]]:
    async with store.read() as session:
        return [tuple(r) for r in await session.execute(
            select(CashEntry.amount_fen, CashEntry.fee_fen, CashEntry.seller_id).join(Order, Order.id == CashEntry.order_id)
            .where(Order.number == number, CashEntry.kind == "refund").order_by(CashEntry.id))]


async def test_a_villager_reports_damaged_rice_and_the_partner_refunds_one_bag(bot):
    partner, bystander, villager, group = await desk(bot)
    async with bot.store.write() as session:  # Shangyuan's partner earns 10% on each order
        center = await session.scalar(select(ServiceCenter).where(ServiceCenter.code == "CG-01"))
        center.order_fee_bp = 1000
    number = await picked_up(bot, partner, villager, group)
    order = await status_of(bot.store, number)
    price = order.total_fen // 3
    stock = await stock_of(bot.store, "FD-001")

    await open_order(villager, number)
    await villager.tap("⚠️ Problem")
    assert "step 1 of 3" in texts(villager.chat)[-1]
    assert "➡️ Next" not in labels(villager.chat.last_bot_message())  # nothing chosen yet
    for _ in range(4):  # never more than bought: ➕ stops at 3
        await villager.tap("➕")
    assert "3 bag of 3" in texts(villager.chat)[-1]
    await villager.tap("➖")
    await villager.tap("➖")
    assert "1 bag of 3" in texts(villager.chat)[-1]
    await villager.tap("➡️ Next")
    assert "What is wrong?" in texts(villager.chat)[-1]
    await villager.tap("⬅️ Back")
    assert "1 bag of 3" in texts(villager.chat)[-1]
    await villager.tap("➡️ Next")
    await villager.tap("💥 Damaged")
    assert "Send a photo of the problem" in texts(villager.chat)[-1]
    await villager.send("here it is")
    assert "Please send a photo, or tap ⏭ Skip" in texts(villager.chat)[-1]
    await villager.send_photo()
    assert f"Your problem with order {number} is sent" in texts(villager.chat)[-1]

    card = problem_card(group, number)
    assert card.photo and "Wang" in card.caption and "Rice" in card.caption and "1 bag of 3" in card.caption
    assert "Reason: 💥 Damaged" in card.caption and "Waiting for a decision" in card.caption
    assert labels(card)[:2] == [f"💰 Refund ¥{price // 100}.{price % 100:02d}", "💰 Refund the whole order: "
                                f"¥{order.total_fen // 100}.{order.total_fen % 100:02d}"]

    refused = await bystander.tap(labels(card)[0], message=card)
    assert refused.show_alert and "Only the partners of Shangyuan Village Service Center" in refused.text
    assert await refunds(bot.store, number) == []

    done = await partner.tap(labels(card)[0], message=card)
    assert "pay it back in cash at the counter" in done.text
    card = problem_card(group, number)
    assert re.search(r"Refunded ¥[\d.]+ by Lao Zhang at \d\d-\d\d \d\d:\d\d", card.caption)
    assert labels(card) == ["✅ Back to stock", "🗑 Not sellable"]
    problem = await problem_of(bot.store, number)
    twice = await partner.tap_data(f"dk:pbr:{problem.id}:some", card)
    assert twice.show_alert and "Already decided: 💰 Refunded" in twice.text
    fee = (order.total_fen * 1000 + 5000) // 10000
    assert await refunds(bot.store, number) == [(-price, -(fee * price // order.total_fen), None)]
    assert f"Your problem with order {number}: ¥{price // 100}.{price % 100:02d} is refunded" in texts(villager.chat)[-1]

    await partner.tap("✅ Back to stock", message=card)
    assert await stock_of(bot.store, "FD-001") == stock + 1
    again = await partner.tap_data(f"dk:pbs:{problem.id}:y", problem_card(group, number))
    assert again.show_alert and await stock_of(bot.store, "FD-001") == stock + 1
    assert "What came back is in stock again" in problem_card(group, number).caption

    detail = body(await open_order(villager, number))
    assert "⚠️ Problem reported" in detail and "💰 Problem: refunded" in detail
    async with bot.store.read() as session:
        book = await cashbook.balance(session, order.center_id)
    assert book.on_hand == order.total_fen - price
    assert await books_balance(bot.store) == []


async def test_one_refund_per_line_and_never_more_than_paid(bot):
    partner, _, villager, group = await desk(bot)
    number = await picked_up(bot, partner, villager, group)
    order = await status_of(bot.store, number)
    await report(villager, number, plus=2)
    await partner.tap(labels(problem_card(group, number))[0], message=problem_card(group, number))

    await open_order(villager, number)
    await villager.tap("⚠️ Problem")
    assert any(label.startswith("Rice") and label.endswith("· 0 bag") for label in labels(villager.chat.last_bot_message()))
    problem = await problem_of(bot.store, number)
    async with bot.store.read() as session:
        line_id = int(next(iter((await session.get(OrderProblem, problem.id - 1)).lines)))
    refused = await villager.tap_data(f"pb:q:{problem.id}:{line_id}:2", villager.chat.last_bot_message())
    assert refused.show_alert and "more than you bought" in refused.text
    await villager.tap("➕")
    await villager.tap("➡️ Next")
    await villager.tap("❓ Missing")
    await villager.tap("⏭ Skip")
    card = problem_card(group, number)
    await partner.tap(labels(card)[0], message=card)
    assert labels(problem_card(group, number)) == []  # nothing came back: no restock question
    assert sum(-amount for amount, _, _ in await refunds(bot.store, number)) == order.total_fen

    await open_order(villager, number)
    answer = await villager.tap("⚠️ Problem")
    assert answer.show_alert and "refunded or replaced already" in answer.text
    assert await books_balance(bot.store) == []


async def test_the_partner_replaces_a_wrong_item_with_a_new_order_at_no_charge(bot):
    partner, _, villager, group = await desk(bot)
    number = await picked_up(bot, partner, villager, group, taps=0)
    stock = await stock_of(bot.store, "FD-001")
    await report(villager, number, reason="🔀 Wrong item", photo=False)
    card = problem_card(group, number)
    assert "No photo" in card.text

    await partner.tap("🔁 Replace", message=card)
    problem = await problem_of(bot.store, number)
    async with bot.store.read() as session:
        new = await session.get(Order, problem.replacement_order_id)
    assert (new.status, new.total_fen, new.payment_method) == ("confirmed", 0, "replacement")
    assert await stock_of(bot.store, "FD-001") == stock - 1
    assert f"replacement order {new.number} is on its way" in texts(villager.chat)[-1]
    assert f"new order {new.number}" in problem_card(group, number).text
    card_of(group, new.number)  # on the desk, on its way as any order
    twice = await partner.tap_data(f"dk:pbp:{problem.id}", problem_card(group, number))
    assert twice.show_alert and "Already decided" in twice.text

    await partner.tap("🗑 Not sellable", message=problem_card(group, number))
    assert await stock_of(bot.store, "FD-001") == stock - 1
    assert "cannot be sold" in problem_card(group, number).text
    assert "🔁 Problem: replacement order" in body(await open_order(villager, number))
    assert await books_balance(bot.store) == []


async def test_the_partner_declines_with_a_reason_a_button_or_typed(bot):
    partner, _, villager, group = await desk(bot)
    number = await picked_up(bot, partner, villager, group)
    await report(villager, number, reason="🥀 Spoiled or poor quality", photo=False)
    card = problem_card(group, number)
    await partner.tap("❌ Decline", message=card)
    await partner.tap("⬅️ Back", message=problem_card(group, number))
    await partner.tap("❌ Decline", message=problem_card(group, number))
    await partner.tap("No problem could be seen", message=problem_card(group, number))
    assert "Declined by Lao Zhang" in problem_card(group, number).text
    assert "Reason: No problem could be seen" in problem_card(group, number).text
    notice = texts(villager.chat)[-1]
    assert f"Your problem with order {number} was declined" in notice and "No problem could be seen" in notice

    await report(villager, number, reason="✏️ Other", photo=False)
    await partner.tap("❌ Decline", message=problem_card(group, number))
    await partner.tap("✏️ Type a reason", message=problem_card(group, number))
    await partner.reply("Used for a week already", to=group.bot_messages()[-1])
    assert "Reason: Used for a week already" in problem_card(group, number).text
    assert "Used for a week already" in texts(villager.chat)[-1]
    detail = body(await open_order(villager, number))
    assert "❌ Problem: declined — No problem could be seen" in detail
    assert await refunds(bot.store, number) == []


async def test_a_bystander_and_another_centers_partner_are_refused(bot):
    partner, bystander, villager, group = await desk(bot)
    await add_partner(bot.store, bot.clock, ADMIN, "CG-02", 503)
    li = bot.person(503, "Lao Li", language_code="en")
    li_group = bot.double.group(-100456, "Qinglong desk")
    await bot.double.add_bot_to_group(li_group, by=li)
    await li.send("/bind CG-02", chat=li_group)
    await li.send("/start")
    number = await picked_up(bot, partner, villager, group)
    await report(villager, number)
    problem = await problem_of(bot.store, number)

    for data in (f"dk:pbr:{problem.id}:all", f"dk:pbp:{problem.id}", f"dk:pbx:{problem.id}",
                 f"dk:pbj:{problem.id}:settled"):
        answer = await bystander.tap_data(data, problem_card(group, number))
        assert answer.show_alert and "Only the partners of Shangyuan" in answer.text
        for chat in (li_group, li.chat):
            answer = await li.tap_data(data, chat.last_bot_message())
            assert answer.show_alert and "this button is not for you" in answer.text
    assert (await problem_of(bot.store, number)).status == "open"
    assert await refunds(bot.store, number) == []
    stranger = bot.person(1002, "Zhao", language_code="en")
    await settle_in(stranger, "Suichang", "Dazhe")
    answer = await stranger.tap_data(f"pb:new:{(await status_of(bot.store, number)).id}",
                                     stranger.chat.last_bot_message())
    assert answer.show_alert and "not found" in answer.text


async def test_after_seven_days_there_is_no_problem_button(bot):
    partner, _, villager, group = await desk(bot)
    number = await picked_up(bot, partner, villager, group)
    detail = await open_order(villager, number)
    assert "⚠️ Problem" in labels(detail)
    bot.clock.advance(timedelta(days=7, minutes=1))
    assert "⚠️ Problem" not in labels(await open_order(villager, number))
    stale = await villager.tap_data(next(b.callback_data for row in detail.buttons for b in row
                                         if b.text == "⚠️ Problem"), villager.chat.last_bot_message())
    assert stale.show_alert and "within 7 days of receiving the order" in stale.text
    assert await problem_of(bot.store, number) is None


async def test_produce_refund_corrects_the_sellers_earnings_and_the_seller_is_told(bot):
    zhang, _, li, seller_group, buyer_group = await desks(bot)
    seller = bot.person(1001, "Wang Fang", language_code="en")
    buyer = bot.person(1002, "Zhao", language_code="en")
    await settle_in(seller)
    await settle_in(buyer, village="Qinglong")
    listing = await published_listing(bot, seller, quantity=5000)
    await zhang.tap("✅ Approve", message=review_card(seller_group, "Mountain honey"))
    async with bot.store.read() as session:
        qinglong = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == "CG-02"))
    placed = await market.order_listing(bot.store, bot.clock, (await registered(bot, buyer)).id, listing, 5000,
                                        qinglong, "t1")
    await bot.pump()
    number = placed.order.number
    await zhang.tap("✅ Confirm", message=next(m for m in seller_group.bot_messages()
                                             if body(m).startswith(f"🧾 Order {number}")))
    await bot.person(900, "County", language_code="en").send("/ship CG-02")
    await li.send(f"/arrived {number}", chat=buyer_group)
    await li.send(f"/pickup {(await status_of(bot.store, number)).pickup_code}", chat=buyer_group)

    await report(buyer, number, plus=2, reason="🥀 Spoiled or poor quality")
    card = problem_card(buyer_group, number)
    assert "2 jin of 5" in card.caption
    refused = await zhang.tap_data(f"dk:pbr:{(await problem_of(bot.store, number)).id}:some", card)
    assert refused.show_alert and "Only the partners of Qinglong" in refused.text  # the seller's partner
    await li.tap("💰 Refund ¥90.00", message=card)
    seller_id = (await registered(bot, seller)).id
    assert await refunds(bot.store, number) == [(-9000, 0, seller_id)]
    told = texts(seller.chat)[-1]
    assert f"The buyer of order {number} reported a problem" in told and "¥90.00 was refunded" in told
    async with bot.store.read() as session:
        book = await cashbook.balance(session, qinglong)
    assert book.owed_to_sellers == {seller_id: 22500 - 9000}
    await li.tap("✅ Back to stock", message=problem_card(buyer_group, number))
    async with bot.store.read() as session:
        assert (await session.get(Listing, listing)).left_milli == 2000
    assert await books_balance(bot.store) == []


async def test_without_a_group_the_card_goes_to_the_partner_who_declines_in_words_and_stats_count_it(bot):
    partner, _, villager, group = await desk(bot)
    number = await picked_up(bot, partner, villager, group)
    await partner.send("/unbind", chat=group)
    await partner.send("/start")
    await report(villager, number, plus=1)
    card = problem_card(partner.chat, number)
    assert card.photo and "1 bag of 3" in card.caption
    await partner.tap("❌ Decline", message=card)
    await partner.tap("✏️ Type a reason", message=problem_card(partner.chat, number))
    await partner.send("Bag was opened at home")
    assert "Reason: Bag was opened at home" in problem_card(partner.chat, number).caption
    problem = await problem_of(bot.store, number)
    again = await partner.tap_data(f"dk:pbj:{problem.id}:settled", problem_card(partner.chat, number))
    assert again.show_alert and "Already decided: ❌ Declined" in again.text

    await report(villager, number, plus=1)
    card = problem_card(partner.chat, number)
    await partner.tap(labels(card)[0], message=card)
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/stats")
    report_text = next(text for text in reversed(texts(admin.chat)) if "Problems reported" in text)
    price = (await status_of(bot.store, number)).total_fen // 3
    assert f"Problems reported, 30 days: 2 · 💰 refunds: 1, ¥{price // 100}.{price % 100:02d}" in report_text


async def test_a_chinese_villager_and_desk_read_it_all_in_chinese(bot):
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 501)
    partner = bot.person(501, "老张", language_code="zh-hans")
    villager = bot.person(1001, "王芳", language_code="zh-hans")
    group = bot.double.group(-100123, "上元接单群")
    await bot.double.add_bot_to_group(group, by=partner)
    await partner.send("/bind CG-01", chat=group)
    await settle_in(villager, "城固县", "上元")
    await villager.send("/search 大米")
    await villager.tap("大米")
    await villager.tap("加入购物车")
    await villager.send("/cart")
    await villager.tap("✅ 去结算")
    await villager.tap("✅ 确认下单")
    number = re.search(r"RT-[0-9A-Z]{5}", texts(villager.chat)[-1]).group(0)
    await partner.tap("✅ 确认", message=next(m for m in group.bot_messages() if number in body(m)))
    await bot.person(900, "周", language_code="zh-hans").send("/ship CG-01")
    await partner.send(f"/arrived {number}", chat=group)
    await partner.send(f"/pickup {(await status_of(bot.store, number)).pickup_code}", chat=group)

    await villager.send(f"/track {number}")
    await villager.tap("⚠️ 有问题")
    await villager.tap("➕")
    await villager.tap("➡️ 下一步")
    assert "出了什么问题？" in texts(villager.chat)[-1]
    await villager.tap("❓ 缺少")
    await villager.tap("⏭ 跳过")
    assert "已发给服务站" in texts(villager.chat)[-1]
    card = problem_card_zh(group, number)
    assert "原因：❓ 缺少" in card.text and "⏳ 等待处理" in card.text
    await partner.tap("❌ 不予受理", message=card)
    await partner.tap("已在柜台处理过", message=problem_card_zh(group, number))
    assert "您反映的订单" in texts(villager.chat)[-1] and "已在柜台处理过" in texts(villager.chat)[-1]
    await villager.send(f"/track {number}")
    assert "❌ 问题：不予受理 — 已在柜台处理过" in texts(villager.chat)[-1]


def problem_card_zh(group, number: str):
    cards = [m for m in group.bot_messages() if body(m).startswith(f"⚠️ 订单 <b>{number}") or
             body(m).startswith(f"⚠️ 订单 {number}")]
    assert cards, f"no problem card for {number}"
    return group.message(cards[-1].message_id)
