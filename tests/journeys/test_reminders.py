"""Pickup reminders, the list of uncollected parcels and the desk's daily digest, end to end.

Time is the injected ManualClock: it starts at 2026-11-11 02:00 UTC, 10:00 in Asia/Shanghai,
the demo centers' timezone; CG-01 opens 08:00-20:00 and quiet hours are 21:00-08:00 there. The
tests move it and wake the outbox pump (``bot.pump()``) instead of waiting.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.sandbox.botapi import ApiError
from services.outbox import Kind
from store.db import Store
from store.models import OutboxMessage, Villager
from support.bots import second_application
from support.desk import card_of, shipped_orders
from support.orders import order_rice
from support.store import outbox_rows, status_of

LOCAL = ZoneInfo("Asia/Shanghai")
REMINDER = "⏰ Reminder"
UNCOLLECTED = "📦 Parcels still not collected"
DIGEST = "☀️ Good morning!"


# ---- helpers ------------------------------------------------------------------------------------

async def shipped(bot, count: int = 1):
    """The CG-01 desk and a villager with ``count`` rice orders, confirmed and shipped."""
    partner, _, villager, group, numbers = await shipped_orders(bot, count)
    return partner, villager, group, numbers


async def arrive(bot, partner, group, numbers) -> dict[str, str]:
    """The partner marks the parcels arrived at the village now; returns their pickup codes."""
    for number in numbers:
        await partner.tap("📬 Arrived at the village", message=card_of(group, number))
    return {number: (await status_of(bot.store, number)).pickup_code for number in numbers}


def arrival_notice(chat, number: str):
    """The message telling the villager the parcel has arrived, and the message after it."""
    messages = chat.bot_messages()
    at = next(i for i, m in enumerate(messages) if (m.text or "").startswith(f"📬 Your order {number} has arrived"))
    return messages[at], (messages[at + 1] if at + 1 < len(messages) else None)


def reminders(chat, number: str) -> list[str]:
    return [m.text for m in chat.bot_messages() if (m.text or "").startswith(REMINDER) and number in m.text]


def all_reminders(chat) -> list[str]:
    return [m.text for m in chat.bot_messages() if (m.text or "").startswith(REMINDER)]


def lists(group) -> list[str]:
    return [m.text for m in group.bot_messages() if (m.text or "").startswith(UNCOLLECTED)]


def digests(group) -> list[str]:
    return [m.text for m in group.bot_messages() if (m.text or "").startswith(DIGEST)]


def sends_to(bot, chat_id: int) -> int:
    """How many times the bot tried to send a message to the chat (refused attempts included)."""
    return sum(1 for call in bot.double.calls_to("sendMessage") if str(call.get("chat_id")) == str(chat_id))


def move_to(bot, day: int, hour: int, minute: int = 0) -> None:
    """Move the clock forward to ``hour:minute`` local time on ``day`` of November 2026."""
    target = datetime(2026, 11, day, hour, minute, tzinfo=LOCAL)
    assert target >= bot.clock.now(), "the clock only moves forward"
    bot.clock.advance(target - bot.clock.now())


# ---- reminders ----------------------------------------------------------------------------------

async def test_arrival_notice_then_two_reminders_then_one_list_for_the_desk(bot):
    partner, villager, group, numbers = await shipped(bot, 2)
    codes = await arrive(bot, partner, group, numbers)

    for number in numbers:
        notice, after = arrival_notice(villager.chat, number)
        assert codes[number] in notice.text and "Shangyuan Village Service Center" in notice.text
        assert "上元村村委会旁" in notice.text and "Open 08:00-20:00" in notice.text
        venue = after.venue
        assert venue and venue["title"] == "Shangyuan Village Service Center"
        assert venue["location"]["latitude"] == pytest.approx(33.17842)
    assert all_reminders(villager.chat) == []

    bot.clock.advance(timedelta(hours=24) - timedelta(minutes=1))
    await bot.pump()
    assert all_reminders(villager.chat) == []

    bot.clock.advance(timedelta(minutes=1))
    await bot.pump()
    for number in numbers:
        [first] = reminders(villager.chat, number)
        assert codes[number] in first and "Open 08:00-20:00" in first
    assert lists(group) == []

    bot.clock.advance(timedelta(hours=48))
    await bot.pump()
    for number in numbers:
        assert len(reminders(villager.chat, number)) == 2
        assert codes[number] in reminders(villager.chat, number)[-1]
    [listed] = lists(group)
    assert all(number in listed for number in numbers)

    bot.clock.advance(timedelta(hours=24))
    await bot.pump()
    assert len(all_reminders(villager.chat)) == 4 and len(lists(group)) == 1
    rows = await outbox_rows(bot.store, Kind.REMINDER) + await outbox_rows(bot.store, Kind.UNCOLLECTED)
    assert len(rows) == 6 and all(not row.is_open and row.sent_at is not None for row in rows)


async def test_a_reminder_due_in_quiet_hours_waits_for_eight_in_the_morning(bot):
    partner, villager, group, numbers = await shipped(bot)
    move_to(bot, 11, 22)  # the parcel arrives at 22:00: its first reminder falls due at 22:00 tomorrow
    [number] = numbers
    codes = await arrive(bot, partner, group, numbers)
    notice, _ = arrival_notice(villager.chat, number)  # order news is not held back by quiet hours
    assert codes[number] in notice.text

    move_to(bot, 12, 22)
    await bot.pump()
    assert reminders(villager.chat, number) == []
    [first, _] = await outbox_rows(bot.store, Kind.REMINDER)
    assert first.is_open and first.attempts == 0
    assert first.due_at.astimezone(LOCAL) == datetime(2026, 11, 13, 8, 0, tzinfo=LOCAL)

    move_to(bot, 13, 7, 59)
    await bot.pump()
    assert reminders(villager.chat, number) == []

    move_to(bot, 13, 8, 0)
    await bot.pump()
    [reminder] = reminders(villager.chat, number)
    assert codes[number] in reminder
    await bot.pump()
    assert len(reminders(villager.chat, number)) == 1


async def test_pickup_withdraws_the_reminders_and_the_list(bot):
    partner, villager, group, numbers = await shipped(bot)
    codes = await arrive(bot, partner, group, numbers)
    [number] = numbers
    await partner.send(f"/pickup {codes[number]}", chat=group)
    assert (await status_of(bot.store, number)).status == "picked_up"

    bot.clock.advance(timedelta(hours=73))
    await bot.pump()
    assert all_reminders(villager.chat) == [] and lists(group) == []
    rows = await outbox_rows(bot.store, Kind.REMINDER) + await outbox_rows(bot.store, Kind.UNCOLLECTED)
    assert len(rows) == 3 and all(r.cancelled_at is not None and r.sent_at is None for r in rows)


async def test_reminders_due_while_the_bot_was_down_are_sent_once_after_restart(bot, restart):
    partner, villager, group, numbers = await shipped(bot, 2)
    await arrive(bot, partner, group, numbers)

    await restart(start=False)
    bot.clock.advance(timedelta(hours=25))
    await restart()
    await bot.pump()
    assert all(len(reminders(villager.chat, n)) == 1 for n in numbers)

    await restart(start=False)
    bot.clock.advance(timedelta(hours=48))
    await restart()
    await bot.pump()
    assert all(len(reminders(villager.chat, n)) == 2 for n in numbers)
    assert len(lists(group)) == 1

    await restart()
    await bot.pump()
    assert len(all_reminders(villager.chat)) == 4 and len(lists(group)) == 1


async def test_a_bot_stopped_while_sending_reminders_finishes_them_first(bot, restart):
    partner, villager, group, numbers = await shipped(bot, 4)
    await arrive(bot, partner, group, numbers)
    bot.clock.advance(timedelta(hours=24))

    bot.app.bot_data["runtime"].kick()  # the pump starts sending the four reminders ...
    await restart(start=False)  # ... and the bot is told to stop meanwhile
    assert all(len(reminders(villager.chat, n)) == 1 for n in numbers)
    assert all(r.sent_at is not None for r in await outbox_rows(bot.store, Kind.REMINDER) if r.payload["number"] == 1)

    await restart()
    await bot.pump()
    assert len(all_reminders(villager.chat)) == 4


async def test_two_bot_processes_on_one_database_send_each_reminder_once(postgres_only, bot, monkeypatch):
    partner, villager, group, numbers = await shipped(bot, 12)
    codes = await arrive(bot, partner, group, numbers)

    own_store = Store(bot.store.url)
    other = second_application(bot, own_store)
    await other.initialize()
    try:
        pumps = [bot.app.bot_data["runtime"].pump, other.bot_data["runtime"].pump]
        for pump in pumps:  # small claims, so that the two pumps take turns on the same due rows
            monkeypatch.setattr(pump, "batch", 3)
        assert pumps[0].rt.store is not pumps[1].rt.store
        handled = [0, 0]
        for hours in (24, 48):
            bot.clock.advance(timedelta(hours=hours))
            for _ in range(8):  # 24 messages to one villager: Telegram takes a burst, then 1 a second
                bot.clock.advance(timedelta(seconds=20))
                counts = await asyncio.gather(*(pump.run_once() for pump in pumps))
                handled = [a + b for a, b in zip(handled, counts)]
            await bot.pump()
        assert all(handled), f"both pumps should have sent some: {handled}"
        move_to(bot, 15, 8, 10)  # and both plan the desk's digest when it opens
        for _ in range(3):
            await asyncio.gather(*(pump.run_once() for pump in pumps))
    finally:
        await other.shutdown()
        await own_store.close()

    for number in numbers:
        sent = reminders(villager.chat, number)
        assert len(sent) == 2 and all(codes[number] in text for text in sent)
    [listed] = lists(group)
    assert all(number in listed for number in numbers)
    [digest] = digests(group)
    assert "Parcels waiting for pickup: 12" in digest
    rows = await outbox_rows(bot.store, Kind.REMINDER)
    assert len(rows) == 24 and all(r.sent_at is not None and not r.is_open for r in rows)


# A bot process that only sends: PTB's JobQueue wakes its outbox pump; no updates are polled
# (two pollers would conflict at Telegram). It stops cleanly when its standard input closes.
SENDING_PROCESS = """
import asyncio, sys
from bot.app import build_application
from bot.config import load_settings
from store.db import Store

async def main():
    settings = load_settings()
    store = Store(settings.database_url)
    app = build_application(settings, store)
    await app.initialize()
    await app.start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await app.stop()
    await app.shutdown()
    await store.close()

asyncio.run(main())
"""


async def test_two_real_bot_processes_on_postgresql_send_each_reminder_once(postgres_only, bot, restart):
    partner, villager, group, numbers = await shipped(bot, 6)
    codes = await arrive(bot, partner, group, numbers)
    await restart(start=False)  # from here on only the two processes send
    # They run on the real clock, which is long past the test clock's 2026-11-11: every reminder
    # and the desk's list are due. No quiet hours, whatever the time of day of the test run.
    env = {**os.environ, "BOT_TOKEN": bot.app.bot.token, "DATABASE_URL": bot.store.url,
           "TELEGRAM_BASE_URL": bot.double.base_url, "QUIET_HOURS": "00:00-00:00", "ADMIN_IDS": "900"}
    processes = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", SENDING_PROCESS, env=env, cwd=Path(__file__).resolve().parents[2],
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE) for _ in range(2)]
    try:
        for process in processes:
            assert await asyncio.wait_for(process.stdout.readline(), 60) == b"ready\n"

        async def all_sent() -> bool:
            async with bot.store.read() as session:
                left = await session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.is_open))
            return left == 0

        await bot.double.wait_for(all_sent, timeout=60, message="the processes did not empty the outbox")
    finally:
        for process in processes:
            process.stdin.close()
        codes_back = [await asyncio.wait_for(process.wait(), 60) for process in processes]
    assert codes_back == [0, 0]

    for number in numbers:
        sent = reminders(villager.chat, number)
        assert len(sent) == 2 and all(codes[number] in text for text in sent)
    assert len(lists(group)) == 1
    rows = await outbox_rows(bot.store, Kind.REMINDER)
    assert len(rows) == 12 and all(r.sent_at is not None for r in rows)


# ---- the daily digest ---------------------------------------------------------------------------

async def test_the_desk_gets_one_digest_a_morning(bot):
    partner, villager, group, numbers = await shipped(bot)
    await arrive(bot, partner, group, numbers)
    waiting = await order_rice(villager)  # left pending
    await bot.pump()
    assert digests(group) == []  # 10:00: the desk opened two hours ago

    move_to(bot, 12, 7, 50)
    await bot.pump()
    assert digests(group) == []

    move_to(bot, 12, 8, 10)
    await bot.pump()
    [digest] = digests(group)
    assert "Orders waiting for a decision: 1" in digest and waiting in digest
    assert "Parcels waiting for pickup: 1" in digest and numbers[0] in digest

    move_to(bot, 12, 8, 50)
    await bot.pump()
    move_to(bot, 12, 9, 30)
    await bot.pump()
    assert len(digests(group)) == 1

    move_to(bot, 13, 8, 5)
    await bot.pump()
    assert len(digests(group)) == 2


# ---- Telegram says no ---------------------------------------------------------------------------

async def test_a_403_marks_the_villager_unreachable_and_the_reminder_is_not_retried(bot):
    partner, villager, group, numbers = await shipped(bot)
    await arrive(bot, partner, group, numbers)
    # They blocked the bot, and the bot missed Telegram's update saying so (it was down more than a
    # day): it learns from the 403 answering its reminder.
    villager.blocked = True
    before = sends_to(bot, villager.id)

    bot.clock.advance(timedelta(hours=24))
    await bot.pump()
    assert sends_to(bot, villager.id) == before + 1  # refused with 403
    async with bot.store.read() as session:
        assert await session.scalar(select(Villager.unreachable).where(Villager.telegram_id == villager.id))
    first, second = await outbox_rows(bot.store, Kind.REMINDER)
    assert not first.is_open and first.failed_at is not None and first.last_error.startswith("403")

    for _ in range(3):
        bot.clock.advance(timedelta(hours=24))
        await bot.pump()
    assert sends_to(bot, villager.id) == before + 1
    assert all_reminders(villager.chat) == []
    first, second = await outbox_rows(bot.store, Kind.REMINDER)
    assert not second.is_open and second.sent_at is None and second.cancelled_at is not None
    assert len(lists(group)) == 1  # the desk still hears the parcel is waiting


async def unreachable(bot, telegram_id: int) -> bool:
    async with bot.store.read() as session:
        return await session.scalar(select(Villager.unreachable).where(Villager.telegram_id == telegram_id))


async def reachable(bot, telegram_id: int) -> bool:
    return not await unreachable(bot, telegram_id)


async def test_a_villager_who_blocks_the_bot_gets_no_reminder_until_they_unblock_it(bot):
    partner, villager, group, numbers = await shipped(bot)
    codes = await arrive(bot, partner, group, numbers)
    villager.blocks_bot()
    await bot.double.wait_for(lambda: unreachable(bot, villager.id))  # the bot has heard it, not only fetched it
    await bot.pump()
    before = sends_to(bot, villager.id)

    bot.clock.advance(timedelta(hours=24))
    await bot.pump()
    assert sends_to(bot, villager.id) == before  # not even attempted
    first, _ = await outbox_rows(bot.store, Kind.REMINDER)
    assert not first.is_open and first.sent_at is None

    villager.unblocks_bot()
    await bot.double.wait_for(lambda: reachable(bot, villager.id))
    bot.clock.advance(timedelta(hours=48))
    await bot.pump()
    [reminder] = all_reminders(villager.chat)
    assert codes[numbers[0]] in reminder


@pytest.mark.parametrize("code, retry_after", [(429, 30), (500, None), (502, None)])
async def test_a_refusal_for_now_postpones_the_reminder_and_it_goes_out_once(bot, code, retry_after):
    partner, villager, group, numbers = await shipped(bot)
    codes = await arrive(bot, partner, group, numbers)
    refusals = []

    def refuse_once(method: str, params) -> None:
        if method.lower() == "sendmessage" and str(params.get("chat_id")) == str(villager.id) and not refusals:
            refusals.append(method)
            raise ApiError(code, "Too Many Requests: retry after 30" if code == 429 else "Internal Server Error",
                           retry_after=retry_after)

    bot.double._check_faults = refuse_once
    bot.clock.advance(timedelta(hours=24))
    await bot.pump()
    assert refusals and all_reminders(villager.chat) == []
    first, _ = await outbox_rows(bot.store, Kind.REMINDER)
    # A 429 is Telegram pacing us, not a failure: it does not use up an attempt.
    assert first.is_open and first.attempts == (0 if code == 429 else 1) and first.due_at > bot.clock.now()
    assert first.last_error
    await bot.pump()  # not due again yet
    assert all_reminders(villager.chat) == []

    bot.clock.advance(first.due_at - bot.clock.now())
    await bot.pump()
    await bot.pump()
    [reminder] = all_reminders(villager.chat)
    assert codes[numbers[0]] in reminder
    first, _ = await outbox_rows(bot.store, Kind.REMINDER)
    assert not first.is_open and first.sent_at is not None
