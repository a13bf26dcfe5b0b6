"""Services at the center, as stories: Wang asks his center (Shangyuan, CG-01) for a phone top-up,
an electricity or water bill, a train or bus ticket, one step at a time; Lao Zhang, the partner,
does it at the counter and marks it done with what was charged (or declines it); Xiao Li, in the
desk group, may not; a walk-in villager's service is recorded with /service. Every service done is
one entry in the cash book, of what was charged plus the center's fee, and the books balance."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from chat import labels, last_text, settle_in, texts
from services.partners import add_partner
from services.service_requests import local_today
from store.models import CashEntry, ServiceCenter, ServiceRequest
from support.books import books_balance
from support.desk import ADMIN, desk


async def set_fees(store, fees: dict) -> None:
    """The admin's schedule of the partner's fees (set in another part: here, straight in the store)."""
    async with store.write() as session:
        await session.execute(update(ServiceCenter).where(ServiceCenter.code == "CG-01").values(service_fees=fees))


async def requests_of(store) -> list[ServiceRequest]:
    async with store.read() as session:
        return list((await session.scalars(select(ServiceRequest).order_by(ServiceRequest.id))).all())


async def service_entries(store) -> list[tuple[int, int, str]]:
    async with store.read() as session:
        rows = await session.execute(select(CashEntry.amount_fen, CashEntry.fee_fen, CashEntry.ref)
                                     .where(CashEntry.kind == "service").order_by(CashEntry.id))
        return [tuple(row) for row in rows]


def service_card(chat, request_id: int):
    cards = [m for m in chat.bot_messages() if (m.text or "").startswith(f"🧾 Service #{request_id} ")]
    assert len(cards) == 1, f"expected one card for service {request_id}, found {len(cards)}"
    return cards[0]


def day(bot, days: int) -> str:
    return (local_today(bot.clock.now(), "Asia/Shanghai") + timedelta(days=days)).isoformat()


async def test_a_phone_top_up_from_the_menu_to_done_with_the_fee(bot):
    partner, bystander, wang, group = await desk(bot)
    await set_fees(bot.store, {"topup": 200})

    await wang.send("🧾 Services")
    assert "Services at your center" in last_text(wang)
    await wang.tap("📱 Phone top-up")
    assert "Please type its 11 digits" in last_text(wang)
    assert labels(wang.chat.last_bot_message()) == ["⬅️ Back", "✖️ Cancel"]

    await wang.send("138 0000 123")  # 10 digits
    assert "A phone number has 11 digits" in last_text(wang)
    await wang.send("138-0000-1234")
    assert "Tap an amount or type another" in last_text(wang)
    assert labels(wang.chat.last_bot_message()) == ["¥10", "¥20", "¥50", "¥100", "⬅️ Back", "✖️ Cancel"]
    await wang.send("0")
    assert "The amount must be more than ¥0" in last_text(wang)
    await wang.send("6000")
    assert "At most ¥5,000" in last_text(wang)
    await wang.tap("¥50")
    summary = last_text(wang)
    for words in ("Please check your request", "Phone number: 13800001234", "Amount: ¥50.00",
                  "The center's fee: ¥2.00", "To pay at the center: ¥52.00"):
        assert words in summary
    await wang.tap("✅ Send to the center")
    assert "Sent to Shangyuan Village Service Center as request #1" in last_text(wang)

    card = service_card(group, 1)
    assert "Phone top-up · Wang" in card.text and "Waiting for the partner" in card.text
    assert labels(card) == ["✅ Done", "❌ Decline"]
    answer = await bystander.tap("✅ Done", message=card)
    assert answer.show_alert and "Only the partners of Shangyuan Village Service Center" in answer.text

    await partner.tap("✅ Done", message=card)
    asked = group.bot_messages()[-1]
    assert asked.reply_markup.get("force_reply") and "please type what was charged" in asked.text
    assert labels(service_card(group, 1)) == ["✅ As asked: ¥50.00", "✖️ Cancel"]
    await partner.tap("✅ As asked: ¥50.00", message=service_card(group, 1))
    await bot.pump()

    assert await service_entries(bot.store) == [(5200, 200, "service:1")]
    assert asked.text == "✅ Done."  # the question is closed
    card = service_card(group, 1)
    assert "Done by Lao Zhang" in card.text and "charged ¥50.00, fee ¥2.00, collected ¥52.00" in card.text
    assert labels(card) == []
    told = texts(wang.chat)[-1]
    assert "Your request #1 is done" in told and "Charged: ¥50.00" in told and "Total: ¥52.00" in told

    again = await partner.tap_data("sd:asis:1", card)  # the same decision, tapped twice
    assert "Already decided" in again.text
    again = await partner.tap_data("sd:ok:1", card)
    assert "Already decided" in again.text
    await partner.reply("60", to=asked)  # the question was closed with the decision
    assert await service_entries(bot.store) == [(5200, 200, "service:1")]
    assert await books_balance(bot.store) == []


async def test_a_bill_with_a_spoken_amount_and_the_charge_typed_in_reply(bot):
    partner, bystander, wang, group = await desk(bot)
    await set_fees(bot.store, {"topup": 200})  # no fee on bills

    await wang.send("🧾 Services")
    await wang.tap("💡 Electricity bill")
    assert "account number on the bill" in last_text(wang)
    await wang.send("A1")
    assert "4 to 30 letters or digits" in last_text(wang)
    await wang.send("0512 3456 78")
    assert "How much is the bill" in last_text(wang)
    await wang.send("一百二")
    summary = last_text(wang)
    assert "Electricity bill" in summary and "Account number: 0512345678" in summary
    assert "Amount: ¥120.00" in summary and "The center's fee: none" in summary
    await wang.tap("✅ Send to the center")

    card = service_card(group, 1)
    await partner.tap("✅ Done", message=card)
    asked = group.bot_messages()[-1]
    await bystander.reply("100", to=asked)  # not asked: the group's conversation
    await partner.reply("0", to=asked)
    assert "The amount must be more than ¥0" in group.bot_messages()[-1].text  # asked again
    await partner.reply("121.5", to=group.bot_messages()[-1])
    assert "Done: charged ¥121.50 and the fee ¥0.00. Collect ¥121.50." in texts(group)[-1]
    await bot.pump()
    assert await service_entries(bot.store) == [(12150, 0, "service:1")]
    assert "Charged: ¥121.50" in texts(wang.chat)[-1] and "The center's fee: none" in texts(wang.chat)[-1]
    assert await books_balance(bot.store) == []


async def test_a_bus_ticket_step_by_step_on_a_desk_without_a_group(bot):
    partner, _, wang, _ = await desk(bot, bind=False)  # cards go to the partner privately
    await set_fees(bot.store, {"ticket": 300})

    await wang.send("🧾 Services")
    await wang.tap("🚌 Bus ticket")
    await wang.send("苍溪")
    assert "Please type the route as from - to" in last_text(wang)
    await wang.send("苍溪-成都")
    assert "On which day?" in last_text(wang)
    await wang.tap("⬅️ Back")
    assert "From where to where?" in last_text(wang)
    await wang.send("苍溪 → 成都")
    await wang.send("the day after")
    assert "Please type the date as 2026-12-20 or 12-20" in last_text(wang)
    await wang.send(day(bot, -1))
    assert "That day is in the past" in last_text(wang)
    await wang.send(day(bot, 3))
    assert "For how many people?" in last_text(wang)
    assert labels(wang.chat.last_bot_message())[:5] == ["1", "2", "3", "4", "5"]
    await wang.send("0")
    assert "from 1 to 9" in last_text(wang)
    await wang.send("12")
    assert "from 1 to 9" in last_text(wang)
    await wang.send("7")
    summary = last_text(wang)
    for words in ("Bus ticket", "Route: 苍溪 → 成都", f"Date: {day(bot, 3)}", "People: 7",
                  "The center's fee: ¥3.00", "the ticket's price, and the fee"):
        assert words in summary
    await wang.tap("⬅️ Back")
    await wang.tap("2")
    assert "People: 2" in last_text(wang)
    await wang.tap("✅ Send to the center")

    card = service_card(partner.chat, 1)
    await partner.tap("✅ Done", message=card)
    assert "please type what was charged" in last_text(partner)
    assert labels(service_card(partner.chat, 1)) == ["✖️ Cancel"]  # a ticket has no amount asked
    await partner.send("abc")
    assert "Please type an amount in yuan" in last_text(partner)
    await partner.send("380")
    await bot.pump()
    assert await service_entries(bot.store) == [(38300, 300, "service:1")]
    told = texts(wang.chat)[-1]
    assert "Bus ticket" in told and "Charged: ¥380.00" in told and "Total: ¥383.00" in told
    assert await books_balance(bot.store) == []


async def test_the_partner_declines_with_a_reason_tapped_or_typed(bot):
    partner, bystander, wang, group = await desk(bot)
    for request_id in (1, 2):
        await wang.send("🧾 Services")
        await wang.tap("🚰 Water bill")
        await wang.send("W-20931")
        await wang.send("35")
        await wang.tap("✅ Send to the center")

    await partner.tap("❌ Decline", message=service_card(group, 1))
    assert labels(service_card(group, 1)) == ["Not available now", "The details are wrong", "No tickets left",
                                              "✏️ Type a reason", "⬅️ Back"]
    answer = await bystander.tap("Not available now", message=service_card(group, 1))
    assert "Only the partners" in answer.text
    await partner.tap("Not available now", message=service_card(group, 1))
    await bot.pump()
    assert "Declined by Lao Zhang" in service_card(group, 1).text
    assert "declined: 🚰 Water bill" in texts(wang.chat)[-1] and "Reason: Not available now" in texts(wang.chat)[-1]

    await partner.tap("❌ Decline", message=service_card(group, 2))
    await partner.tap("✏️ Type a reason", message=service_card(group, 2))
    await partner.reply("The water company's office is closed this week", to=group.bot_messages()[-1])
    await bot.pump()
    assert "Reason: The water company's office is closed this week" in texts(wang.chat)[-1]
    again = await partner.tap_data("sd:asis:2", service_card(group, 2))
    assert "Already decided" in again.text

    assert [r.status for r in await requests_of(bot.store)] == ["declined", "declined"]
    assert await service_entries(bot.store) == []
    assert await books_balance(bot.store) == []


async def test_a_walk_in_service_is_recorded_at_once_and_counted_in_stats(bot):
    partner, bystander, _, group = await desk(bot)
    await set_fees(bot.store, {"topup": 200, "bill": 100, "train": 500})

    await partner.send("/help")
    assert "/service — A walk-in's service, with what you charged: /service topup 13800001234 50" in last_text(partner)
    await partner.send("/service topup 13800001234 50", chat=group)
    said = texts(group)[-1]
    assert "Recorded #1: 📱 Phone top-up" in said and "Collect ¥52.00 in cash" in said
    await partner.send("/service bill 0512345678 120.5", chat=group)
    assert "Collect ¥121.50 in cash" in texts(group)[-1]
    await partner.send(f"/service ticket 苍溪-成都 {day(bot, 10)} 2 380", chat=group)
    assert "Route: 苍溪 → 成都" in texts(group)[-1] and "Collect ¥385.00 in cash" in texts(group)[-1]
    await partner.send("/service 水费 0512-777 30")  # in private: his only center; the kind in Chinese
    assert "Collect ¥31.00 in cash" in last_text(partner)

    for bad, reason in (("/service topup 1380000123 50", "11 digits"),
                        ("/service topup 13800001234 0", "more than ¥0"),
                        ("/service topup 13800001234 5000.01", "At most ¥5,000"),
                        (f"/service ticket 苍溪-成都 {day(bot, -2)} 2 380", "in the past"),
                        (f"/service ticket 苍溪-成都 {day(bot, 2)} 0 380", "from 1 to 9"),
                        (f"/service ticket - {day(bot, 2)} 2 380", "as from - to"),
                        ("/service", "Usage"), ("/service topup", "Usage")):
        await partner.send(bad, chat=group)
        assert reason in texts(group)[-1] and "/service topup 13800001234 50" in texts(group)[-1], bad
    await bystander.send("/service topup 13800001234 50", chat=group)
    assert "Only the partners of Shangyuan Village Service Center" in texts(group)[-1]
    stranger = bot.person(777, "Stranger", language_code="en")
    await stranger.send("/service topup 13800001234 50")
    assert "Only a center's partners can record a service" in last_text(stranger)

    assert await service_entries(bot.store) == [(5200, 200, "service:1"), (12150, 100, "service:2"),
                                                (38500, 500, "service:3"), (3100, 100, "service:4")]
    walk_ins = await requests_of(bot.store)
    assert [r.kind for r in walk_ins] == ["topup", "electricity", "train", "water"]
    assert all(r.walk_in and r.status == "done" for r in walk_ins)
    assert await books_balance(bot.store) == []

    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/stats")
    report = next(text for text in reversed(texts(admin.chat)) if "Services, 30 days" in text)
    assert "Done: 4 · charged ¥580.50 · fees ¥9.00" in report


async def test_without_a_center_first_choose_one_and_a_cancelled_draft_sends_nothing(bot):
    li = bot.person(1002, "Li", language_code="en")
    await li.send("/start")
    await li.send("🧾 Services")
    assert any("First choose your service center" in text for text in texts(li.chat)[-3:])
    await li.tap("Chenggu")
    await li.tap("Shangyuan")
    await li.send("🧾 Services")
    await li.tap("🚆 Train ticket")
    await li.send("苍溪-成都")
    question = li.chat.last_bot_message()
    await li.tap("✖️ Cancel")
    assert "Cancelled. Nothing was sent." in last_text(li)
    assert await requests_of(bot.store) == []
    answer = await li.tap_data("sv:back:1", question)  # a button of the draft that is gone
    assert "no longer valid" in answer.text
    await li.send("苍溪-成都")  # no longer an answer: a search
    assert await requests_of(bot.store) == []

    await li.send("🧾 Services")
    await li.tap("📱 Phone top-up")
    await li.tap("⬅️ Back")  # from the first question: the services again
    assert "Services at your center" in last_text(li)
    assert await requests_of(bot.store) == []


async def test_in_chinese_with_a_forged_tap_from_another_center_refused(bot):
    partner, _, _, group = await desk(bot)
    await set_fees(bot.store, {"topup": 200})
    await add_partner(bot.store, bot.clock, ADMIN, "CG-02", 503)
    other = bot.person(503, "Lao Li", language_code="en")
    fang = bot.person(1003, "王芳")  # Chinese
    await settle_in(fang, "城固县", "上元")

    await fang.send("🧾 便民服务")
    await fang.tap("📱 话费充值")
    await fang.send("13800001234")
    await fang.send("五十")
    summary = last_text(fang)
    assert "金额：¥50.00" in summary and "服务站手续费：¥2.00" in summary and "<b>" not in summary
    await fang.tap("✅ 发给服务站")
    await fang.tap_data("sv:ok:1", fang.chat.last_bot_message())  # sent twice: one request, one card
    await bot.pump()
    assert [r.status for r in await requests_of(bot.store)] == ["requested"]

    card = service_card(group, 1)
    await other.send("/start")
    forged = await other.tap_data("sd:asis:1", other.chat.last_bot_message())  # another center's partner
    assert forged.show_alert and "not for you" in forged.text
    await partner.tap("✅ Done", message=card)
    await partner.tap("✅ As asked: ¥50.00", message=service_card(group, 1))
    await bot.pump()
    told = texts(fang.chat)[-1]
    assert "您的申请 #1 已办好" in told and "收取：¥50.00" in told and "合计：¥52.00" in told
    assert await service_entries(bot.store) == [(5200, 200, "service:1")]
    assert await books_balance(bot.store) == []


async def test_an_empty_end_of_the_route_is_refused_then_taken(bot):
    _, _, wang, _ = await desk(bot)
    await wang.send("🧾 Services")
    await wang.tap("🚆 Train ticket")
    for empty in ("苍溪-", "-成都", " - ", "苍溪-苍溪"):
        await wang.send(empty)
        assert "Please type the route as from - to" in last_text(wang), empty
    await wang.send("苍溪到成都")
    assert "Route: 苍溪 → 成都" in last_text(wang) and "On which day?" in last_text(wang)


async def test_mydata_has_the_services_and_forget_removes_the_draft_and_the_numbers_but_keeps_the_books(bot):
    partner, _, wang, group = await desk(bot)
    await wang.send("🧾 Services")
    await wang.tap("📱 Phone top-up")
    await wang.send("13800001234")
    await wang.tap("¥20")
    await wang.tap("✅ Send to the center")
    await partner.tap("✅ Done", message=service_card(group, 1))
    await partner.tap("✅ As asked: ¥20.00", message=service_card(group, 1))
    await wang.send("🧾 Services")
    await wang.tap("💡 Electricity bill")
    await wang.send("0512345678")  # a draft, left half-filled

    await wang.send("/mydata")
    message = wang.chat.last_bot_message()
    mine = json.loads(bot.double.files[message.document["file_id"]].content)["services_at_the_center"]
    assert [(s["kind"], s["status"], s["details"], s["charged_fen"]) for s in mine] == [
        ("topup", "done", {"phone": "13800001234", "amount_fen": 2000}, 2000),
        ("electricity", "draft", {"account": "0512345678"}, None)]

    await wang.send("/forget")
    await wang.tap("🗑 Yes, forget me")
    await bot.pump()
    card = service_card(group, 1).text
    assert "Wang" not in card and "13800001234" not in card and "(name deleted)" in card and "¥20.00" in card
    kept = await requests_of(bot.store)
    assert [(r.status, r.details, r.charged_fen) for r in kept] == [("done", {"amount_fen": 2000}, 2000)]
    assert await service_entries(bot.store) == [(2000, 0, "service:1")]
    assert await books_balance(bot.store) == []


async def test_a_villagers_button_forged_in_the_group_changes_nothing_and_services_lists_what_waits(bot):
    partner, bystander, wang, group = await desk(bot)
    await wang.send("🧾 Services")
    await wang.tap("🚰 Water bill")
    await wang.send("W-20931")
    await wang.send("35")
    await wang.tap("✅ Send to the center")
    card = service_card(group, 1)
    before = (card.text, labels(card))
    for data in ("sv:new:topup", "sv:ok:1", "sv:x:1", "sv:back:1", "sv:amt:1:50", "sv:ppl:1:2"):
        answer = await bystander.tap_data(data, card)
        assert answer.show_alert and "not for you" in answer.text, data
    assert (service_card(group, 1).text, labels(service_card(group, 1))) == before
    assert [(r.status, r.villager_id is not None) for r in await requests_of(bot.store)] == [("requested", True)]

    await bystander.send("/services", chat=group)  # anyone in the group sees what waits
    listed = group.bot_messages()[-1]
    assert "Services waiting: 1" in listed.text and labels(listed)[0].startswith("🧾 #1 · 🚰 Water bill · ")
    refused = await bystander.tap(labels(listed)[0], message=listed)
    assert "Only the partners" in refused.text
    await partner.tap(labels(listed)[0], message=listed)  # the card again, at the bottom of the chat
    assert group.bot_messages()[-1].text == before[0] and labels(group.bot_messages()[-1]) == before[1]
    assert service_card(group, 1) is group.bot_messages()[-1]  # the old one deleted
    await partner.tap("✅ Done", message=group.bot_messages()[-1])
    await partner.tap("✅ As asked: ¥35.00", message=service_card(group, 1))
    await partner.send("/services", chat=group)
    assert "No service is waiting" in texts(group)[-1]
    assert await service_entries(bot.store) == [(3500, 0, "service:1")]
    assert await books_balance(bot.store) == []


async def test_a_waiting_service_card_follows_the_desk_to_its_supergroup(bot):
    partner, _, wang, group = await desk(bot)
    for _ in range(2):
        await wang.send("🧾 Services")
        await wang.tap("📱 Phone top-up")
        await wang.send("13800001234")
        await wang.tap("¥10")
        await wang.tap("✅ Send to the center")
    await partner.tap("✅ Done", message=service_card(group, 1))
    await partner.tap("✅ As asked: ¥10.00", message=service_card(group, 1))

    supergroup = await bot.double.migrate_to_supergroup(group, by=partner, service_messages=True)
    await bot.pump()
    waiting = service_card(supergroup, 2)  # posted again there, with its buttons
    assert labels(waiting) == ["✅ Done", "❌ Decline"]
    assert not any((m.text or "").startswith("🧾 Service #1 ") for m in supergroup.bot_messages()), "done already"
    await partner.tap("✅ Done", message=waiting)
    await partner.tap("✅ As asked: ¥10.00", message=service_card(supergroup, 2))
    await bot.pump()
    assert "Done by Lao Zhang" in service_card(supergroup, 2).text
    assert await service_entries(bot.store) == [(1000, 0, "service:1"), (1000, 0, "service:2")]
    assert await books_balance(bot.store) == []
