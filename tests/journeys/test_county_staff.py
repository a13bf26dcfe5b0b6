"""County staff: an admin makes Xiao Chen staff of Chenggu County (城固县) with /staff; she ships
and receives the parcels of Chenggu's centers (CG-01, Shangyuan) and reads Chenggu's figures, and
nothing of Suichang County's (SC-01, Dazhe): not by command, not by a forged button. She may send
a promotion to Chenggu's villagers, and to nobody else. She cannot use the admins' global
commands; once removed, she has no rights left.

Wang (Shangyuan) and Zhao (Dazhe) each have a confirmed order; Lao Zhang is Shangyuan's partner.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from chat import center_id, labels, last_text, settle_in, texts
from services import broadcast, counties, desks, parcels
from services.broadcast import Status
from services.counties import NotYourCounty
from services.errors import NotAdmin
from services.partners import Actor
from services.states import OrderStatus as S
from store.models import Broadcast, County, CountyStaff, Order
from support.desk import ADMIN, card_of, desk
from support.orders import order_rice
from support.promotions import compose, promotions_in

CHEN = 700  # Xiao Chen, county staff of Chenggu


async def status_of(store, number: str) -> str:
    async with store.read() as session:
        return await session.scalar(select(Order.status).where(Order.number == number))


async def county_id(store, name: str) -> int:
    async with store.read() as session:
        return await session.scalar(select(County.id).where(County.name == name))


async def staff_rows(store) -> list[tuple[int, int]]:
    async with store.read() as session:
        return [tuple(r) for r in await session.execute(select(CountyStaff.county_id, CountyStaff.telegram_id))]


async def make_staff(bot, telegram_id: int, county: str) -> None:
    """An admin made ``telegram_id`` staff of ``county`` (as /staff add does, confirmed)."""
    change = await counties.preview_staff_change(bot.store, ADMIN, county, str(telegram_id), True)
    await counties.confirm_staff_change(bot.store, bot.clock, ADMIN, change.county_id, telegram_id,
                                        change.person.fingerprint, bot.clock.now(), True)


async def two_counties(bot):
    """Wang's order at Shangyuan (Chenggu), confirmed on its desk; Zhao's at Dazhe (Suichang),
    confirmed by an admin; Xiao Chen, who has written to the bot; and the admin."""
    partner, _, wang, group = await desk(bot)
    here = await order_rice(wang)
    await partner.tap("✅ Confirm", message=card_of(group, here))
    zhao = bot.person(1002, "Zhao", language_code="en")
    await settle_in(zhao, county="Suichang", village="Dazhe")
    there = await order_rice(zhao)
    async with bot.store.read() as session:
        there_id = await session.scalar(select(Order.id).where(Order.number == there))
    await desks.decide(bot.store, bot.clock, ADMIN, there_id, confirm=True)
    chen = bot.person(CHEN, "Xiao Chen", language_code="en", username="xiaochen")
    await chen.send("/start")
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/start")
    return wang, zhao, here, there, chen, admin


async def test_an_admin_makes_someone_county_staff_and_nobody_else_can(bot):
    chen = bot.person(CHEN, "Xiao Chen", language_code="en", username="xiaochen")
    admin = bot.person(900, "Admin", language_code="en")
    await chen.send("/start")

    await chen.send("/staff add 城固县 @xiaochen")
    assert last_text(chen) == "🔒 Only admins can do this."
    await chen.send("/ship CG-01")
    assert last_text(chen) == "🔒 Only admins can do this."
    assert await staff_rows(bot.store) == []

    await admin.send("/staff add")
    assert last_text(admin).startswith("Usage: /staff add COUNTY @username or user id")
    await admin.send("/staff add Atlantis @xiaochen")
    assert last_text(admin) == "😔 There is no county named Atlantis."
    await admin.send("/staff add 城固县 @nobody")
    assert "I don't know @nobody yet" in last_text(admin)
    await admin.send("/staff add chenggu county @xiaochen")  # its English name, in any letter case
    question = admin.chat.last_bot_message()
    assert question.text == "🏛 Make this person county staff of Chenggu County?\n👤 Xiao Chen @xiaochen (id 700)"
    assert labels(question) == ["✅ Confirm", "✖️ Cancel"]
    confirm = question.buttons[0][0].callback_data

    answer = await chen.tap_data(confirm, question)  # not hers to confirm
    assert answer.show_alert and "Only admins" in answer.text
    assert await staff_rows(bot.store) == []

    await admin.tap("✅ Confirm", message=question)
    assert last_text(admin) == "✅ Xiao Chen @xiaochen (id 700) is now county staff of Chenggu County."
    await admin.tap_data(confirm, question)  # tapped twice: one staff row, and a polite answer
    assert last_text(admin) == "ℹ️ Xiao Chen @xiaochen (id 700) is already county staff of Chenggu County."
    assert await staff_rows(bot.store) == [(await county_id(bot.store, "城固县"), CHEN)]
    await admin.send("/staff add 城固县 700")
    assert last_text(admin) == "ℹ️ Xiao Chen @xiaochen (id 700) is already county staff of Chenggu County."

    await admin.send("/staff add 遂昌县 @xiaochen")  # a question left to lapse
    late = admin.chat.last_bot_message()
    bot.clock.advance(timedelta(minutes=16))
    await admin.tap("✅ Confirm", message=late)
    assert last_text(admin) == "⌛ This question has expired, so nothing changed. Send the command again."
    await admin.send("/staff add 遂昌县 @xiaochen")
    await admin.tap("✖️ Cancel")
    assert last_text(admin) == "✖️ Cancelled. Nothing changed."
    assert len(await staff_rows(bot.store)) == 1

    await admin.send("/staff list")
    assert texts(admin.chat)[-1] == "🏛 County staff\n• Chenggu County: Xiao Chen @xiaochen (700)"
    await admin.send("/staff list Suichang County")
    assert last_text(admin) == "ℹ️ No county staff yet."
    await chen.send("/staff list")
    assert last_text(chen) == "🔒 Only admins can do this."

    await chen.send("/help")
    help_text = last_text(chen)
    assert "🏛 As county staff of Chenggu County" in help_text
    assert "🚚 /ship — A center of your county: its confirmed orders leave for the county" in help_text
    assert "📊 /stats — Your county's figures" in help_text
    assert "📢 /broadcast — Send a promotion to your county's villagers" in help_text
    assert "As an admin" not in help_text
    await admin.send("/help")
    assert "🏛 /staff — Add, remove or list county staff" in last_text(admin)

    zh = bot.person(701, "小陈")  # the same, in Chinese
    await zh.send("/start")
    await make_staff(bot, 701, "Chenggu County")
    await zh.send("/help")
    assert "作为城固县的县级工作人员" in last_text(zh)


async def test_staff_ship_their_own_countys_center_and_are_refused_anothers(bot):
    wang, zhao, here, there, chen, admin = await two_counties(bot)
    await make_staff(bot, CHEN, "城固县")

    await chen.send("/ship")  # the buttons offer only Chenggu's centers
    assert last_text(chen) == "🚚 Which center's confirmed orders are shipped?"
    choices = chen.chat.last_bot_message()
    assert labels(choices) == ["CG-01 Shangyuan Village Service Center · 1"]
    await admin.send("/ship")  # an admin's offer every county's
    assert labels(admin.chat.last_bot_message()) == ["CG-01 Shangyuan Village Service Center · 1",
                                                     "SC-01 Dazhe Village Service Center · 1"]

    await chen.send("/ship SC-01")
    assert last_text(chen) == "🔒 SC-01 is not in your county."
    answer = await chen.tap_data("adm:ship:SC-01", choices)  # a forged button for another county's center
    assert answer.show_alert and answer.text == "🔒 SC-01 is not in your county."
    await chen.send("/county sc-01")
    assert last_text(chen) == "🔒 SC-01 is not in your county."
    assert await status_of(bot.store, there) == "confirmed"
    assert "on its way" not in texts(zhao.chat)[-1]

    await chen.send("/ship XX-99")
    assert last_text(chen) == "😔 There is no service center with the code XX-99."

    await chen.tap("CG-01", message=choices)  # the question becomes the answer
    assert chen.chat.message(choices.message_id).text == f"🚚 CG-01: 1 order shipped: {here}"
    assert await status_of(bot.store, here) == "in_transit"
    assert f"Your order {here} is on its way" in texts(wang.chat)[-1]
    await chen.tap_data("adm:ship:CG-01", choices)  # tapped again: nothing more moves
    assert chen.chat.message(choices.message_id).text == "ℹ️ CG-01: no orders to move."

    await chen.send("/county")
    assert labels(chen.chat.last_bot_message()) == ["CG-01 Shangyuan Village Service Center · 1"]
    await chen.send("/county CG-01")
    assert last_text(chen) == f"🏢 CG-01: 1 order at the county center: {here}"
    assert await status_of(bot.store, here) == "at_county"
    assert await status_of(bot.store, there) == "confirmed"

    # The rule is the service's, whoever calls it.
    staff = Actor(CHEN, "Xiao Chen")
    with pytest.raises(NotYourCounty) as refused:
        await parcels.move_center_batch(bot.store, bot.clock, staff, "SC-01", S.CONFIRMED, S.IN_TRANSIT)
    assert refused.value.code == "SC-01"
    assert await parcels.centers_with(bot.store, staff, S.CONFIRMED) == []
    assert await status_of(bot.store, there) == "confirmed"
    with pytest.raises(NotAdmin):
        await counties.figures_scope(bot.store, Actor(1002, "Zhao"))


async def test_staff_read_only_their_countys_figures(bot):
    wang, zhao, here, there, chen, admin = await two_counties(bot)
    await make_staff(bot, CHEN, "城固县")
    await wang.send("zzqxv")  # searches that found nothing, one in each county
    await zhao.send("wwkjp")

    await chen.send("/stats")
    text, chart = chen.chat.bot_messages()[-2:]
    lines = text.text.splitlines()
    assert lines[1] == "🏛 Only Chenggu County"
    assert "📅 Today: 1 order · ¥52.00" in lines
    assert lines[lines.index("🏘 By county") + 1].startswith("• Chenggu County: today 1 · ¥52.00")
    assert "Suichang" not in text.text and "Dazhe" not in text.text and "SC-01" not in text.text
    assert "• Shangyuan Village Service Center (CG-01): today 1 · ¥52.00 | 7 days 1 · ¥52.00 | 30 days 1 · ¥52.00" \
        in lines
    assert "“zzqxv”" in text.text and "wwkjp" not in text.text
    assert "👤 All: 1" in lines and "🟢 Active: 1 in 7 days · 1 in 30 days" in lines  # Wang: Chenggu's villager
    assert chart.photo and labels(chart) == ["🔄 Refresh"]

    await admin.send("/stats")
    everything = admin.chat.bot_messages()[-2].text
    assert "📅 Today: 2 orders · ¥104.00" in everything and "Only" not in everything.splitlines()[1]
    assert "Suichang County" in everything and "“wwkjp”" in everything and "👤 All: 1" not in everything
    await admin.send("/stats 遂昌县")  # an admin may name a county
    suichang, suichang_chart = admin.chat.bot_messages()[-2:]
    assert suichang.text.splitlines()[1] == "🏛 Only Suichang County"
    assert "📅 Today: 1 order · ¥52.00" in suichang.text and "Shangyuan" not in suichang.text

    await chen.send("/stats 遂昌县")
    assert last_text(chen) == "🔒 Suichang County is not your county."
    await chen.send("/stats Atlantis")
    assert last_text(chen) == "😔 There is no county named Atlantis."
    shown = len(chen.chat.bot_messages())
    answer = await chen.tap_data(suichang_chart.buttons[0][0].callback_data, chart)  # a forged refresh
    assert answer.show_alert and answer.text == "🔒 Suichang County is not your county."
    assert len(chen.chat.bot_messages()) == shown and labels(chart) == ["🔄 Refresh"]

    await chen.send("/stats 城固县")
    assert chen.chat.bot_messages()[-2].text.splitlines()[1] == "🏛 Only Chenggu County"
    await chen.tap("🔄 Refresh", message=chart)
    fresh = chen.chat.bot_messages()[-2].text
    assert fresh.splitlines()[1] == "🏛 Only Chenggu County" and "Suichang" not in fresh

    await wang.send("/stats")
    assert last_text(wang) == "🔒 Only admins can do this."
    scope = await counties.figures_scope(bot.store, Actor(CHEN, "Xiao Chen"))
    assert scope.county_ids == {await county_id(bot.store, "城固县")}


async def test_staff_cannot_use_the_admins_global_commands(bot):
    wang, zhao, here, there, chen, admin = await two_counties(bot)
    await make_staff(bot, CHEN, "城固县")
    for command in ("/partner add CG-01 @xiaochen", "/partner list", "/product RC-001",
                    "/synonym 洋芋 土豆", "/staff add 城固县 1002", "/staff remove 城固县 @xiaochen"):
        await chen.send(command)
        assert last_text(chen) == "🔒 Only admins can do this.", command
    await chen.send_document("products.csv", b"sku,category,price,unit,stock,name:zh,name:en,keywords\n",
                             mime_type="text/csv")
    assert last_text(chen) == "🔒 Only admins can do this."
    answer = await chen.tap_data("ap:open:1", chen.chat.last_bot_message())  # a product's admin card
    assert answer.show_alert and "Only admins" in answer.text
    assert await staff_rows(bot.store) == [(await county_id(bot.store, "城固县"), CHEN)]


async def sent_to_all(bot) -> None:
    """Wait until no promotion is running any more (the pump works in the background)."""
    runtime = bot.app.bot_data["runtime"]
    for _ in range(400):
        runtime.kick_promotions()
        await runtime.promotions.idle()
        async with bot.store.read() as session:
            if not await session.scalar(select(func.count(Broadcast.id)).where(
                    Broadcast.status.in_([Status.SENDING, Status.SCHEDULED]))):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the promotion did not finish")


async def test_staff_send_promotions_to_their_own_county_only(bot):
    wang, zhao, here, there, chen, admin = await two_counties(bot)
    await make_staff(bot, CHEN, "城固县")
    suichang, dazhe = await county_id(bot.store, "遂昌县"), await center_id(bot.store, "SC-01")

    await compose(chen)
    audiences = chen.chat.last_bot_message()
    assert labels(audiences) == ["🗺 One county", "📍 One center", "✖️ Cancel"]  # not everyone
    async with bot.store.read() as session:
        promotion = await session.scalar(select(Broadcast.id).where(Broadcast.admin_telegram_id == CHEN))
    refused = "🔒 County staff send promotions only to their own county or one of its centers."
    for forged in (f"bc:a:{promotion}:all", f"bc:a:{promotion}:language", f"bc:v:{promotion}:county:{suichang}",
                   f"bc:v:{promotion}:center:{dazhe}", f"bc:v:{promotion}:language:en"):
        answer = await chen.tap_data(forged, audiences)
        assert answer.show_alert and answer.text == refused, forged
    async with bot.store.read() as session:
        assert (await session.get(Broadcast, promotion)).audience == {}

    await chen.tap("🗺 One county", message=audiences)
    assert labels(chen.chat.message(audiences.message_id)) == ["Chenggu County", "⬅️ Back"]
    await chen.tap("⬅️ Back")
    await chen.tap("📍 One center")
    centers = labels(chen.chat.last_bot_message())
    assert "Shangyuan Village Service Center" in centers and not [c for c in centers if "Dazhe" in c]
    await chen.tap("⬅️ Back")
    await chen.tap("🗺 One county")
    await chen.tap("Chenggu County")
    assert any(t.startswith("👥 This reaches 1 people") for t in texts(chen.chat))  # Wang, of Shangyuan
    await chen.tap("🚀 Send now")
    await sent_to_all(bot)
    assert [m.text for m in promotions_in(wang)] == ["New Year sale 🎉 fertilizer 10% off"]
    assert promotions_in(zhao) == []

    # The service checks the audience again when it is sent, whoever calls it.
    draft = await broadcast.start_draft(bot.store, bot.clock.now(), CHEN)
    await broadcast.set_text(bot.store, CHEN, draft.id, "zh_Hans", "新年")
    await broadcast.set_step(bot.store, CHEN, draft.id, broadcast.Step.PREVIEW, audience={"kind": "all"})
    with pytest.raises(NotYourCounty):
        await broadcast.confirm(bot.store, bot.clock.now(), CHEN, draft.id, None, author=Actor(CHEN, "Xiao Chen"))
    assert (await broadcast.view(bot.store, draft.id)).status == Status.DRAFT


async def test_removed_staff_lose_their_rights(bot):
    wang, zhao, here, there, chen, admin = await two_counties(bot)
    await make_staff(bot, CHEN, "城固县")
    await chen.send("/ship")
    choices = chen.chat.last_bot_message()

    await admin.send("/staff remove 城固县 @xiaochen")
    assert last_text(admin) == ("🚪 Remove this person from the county staff of Chenggu County?\n"
                                "👤 Xiao Chen @xiaochen (id 700)")
    asked = admin.chat.last_bot_message()
    chen.username = "chenli"  # renamed between the question and the answer
    await chen.send("/start")
    await admin.tap("✅ Confirm", message=asked)
    assert last_text(admin).startswith("⚠️ This person changed since I asked: now Xiao Chen @chenli (id 700).")
    assert await staff_rows(bot.store) == [(await county_id(bot.store, "城固县"), CHEN)]

    await admin.send("/staff remove 城固县 700")
    await admin.tap("✅ Confirm")
    assert last_text(admin) == "✅ Xiao Chen @chenli (id 700) is no longer county staff of Chenggu County."
    await admin.send("/staff remove 城固县 @chenli")
    assert last_text(admin) == "ℹ️ Xiao Chen @chenli (id 700) was not county staff of Chenggu County."
    assert await staff_rows(bot.store) == []

    await chen.send("/ship CG-01")
    assert last_text(chen) == "🔒 Only admins can do this."
    answer = await chen.tap("CG-01", message=choices)  # her old button
    assert answer.show_alert and "Only admins" in answer.text
    await chen.send("/stats")
    assert last_text(chen) == "🔒 Only admins can do this."
    assert await status_of(bot.store, here) == "confirmed"
    await chen.send("/help")
    assert "county staff" not in last_text(chen)
    assert await center_id(bot.store, "CG-01")  # the center itself is untouched
