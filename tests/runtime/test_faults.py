"""Telegram failing (5xx, a 429 burst, refused connections): the reply to a person's own tap may
be dropped, and is logged; order news waits in the outbox and is sent once Telegram is back,
exactly once. ``rural-bot run`` and ``rural-bot webhook`` share the outbox pump tested here."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from chat import texts
from services import parcels
from store.models import Order, OutboxMessage
from support.desk import card_of, confirmed_order, desk
from support.orders import order_rice
from support.store import status_of


async def open_notices(store, number: str) -> list[OutboxMessage]:
    async with store.read() as session:
        return list(await session.scalars(select(OutboxMessage).join(Order, OutboxMessage.order_id == Order.id)
                                          .where(Order.number == number, OutboxMessage.is_open,
                                                 OutboxMessage.villager_id.is_not(None))))


def told(villager, words: str) -> int:
    return sum(words in text for text in texts(villager.chat))


async def test_a_confirmation_waits_out_telegram_failing_and_is_sent_once(bot, caplog):
    partner, _, villager, group = await desk(bot)
    number = await order_rice(villager)

    bot.double.failure_rate = 1.0  # every call fails with 502 Bad Gateway
    caplog.set_level(logging.WARNING)
    await partner.tap("✅ Confirm", message=card_of(group, number))
    assert (await status_of(bot.store, number)).status == "confirmed"
    assert "Waiting for confirmation" in card_of(group, number).text  # the card's edit was dropped ...
    assert any("reply dropped: Telegram failed: Bad Gateway" in r.getMessage() for r in caplog.records)  # ... and logged
    assert told(villager, f"Your order {number} is confirmed") == 0
    [waiting] = await open_notices(bot.store, number)
    assert waiting.attempts >= 1 and "Bad Gateway" in waiting.last_error

    for _ in range(3):  # Telegram still down for a while: retried with backoff, never given up
        bot.clock.advance(timedelta(seconds=20))
        await bot.pump()
    assert told(villager, f"Your order {number} is confirmed") == 0
    bot.double.failure_rate = 0.0
    bot.clock.advance(timedelta(minutes=2))
    await bot.pump()
    assert told(villager, f"Your order {number} is confirmed") == 1
    assert await open_notices(bot.store, number) == []
    bot.clock.advance(timedelta(hours=1))
    await bot.pump()
    assert told(villager, f"Your order {number} is confirmed") == 1


async def test_a_429_burst_delays_news_without_doubling_it(bot):
    partner, _, villager, group = await desk(bot)
    number, admin = await confirmed_order(bot, partner, villager, group)

    bot.double.throttle_next = 4  # the next 4 messages get "429 Too Many Requests: retry after 1"
    await admin.send("/ship CG-01")  # the admin's own reply is one of them, dropped
    for _ in range(5):
        bot.clock.advance(timedelta(seconds=2))
        await bot.pump()
    assert bot.double.throttle_next == 0 and bot.double.faults_answered == 4
    assert told(villager, f"Your order {number} is on its way") == 1
    bot.clock.advance(timedelta(hours=1))
    await bot.pump()
    assert told(villager, f"Your order {number} is on its way") == 1
    assert (await status_of(bot.store, number)).status == "in_transit"


async def test_news_made_while_telegram_refuses_connections_is_sent_when_it_is_back(bot):
    partner, _, villager, group = await desk(bot)
    number, _ = await confirmed_order(bot, partner, villager, group)

    await bot.double.refuse_connections()
    result = await parcels.carrier_event(bot.store, bot.clock, number, "in_transit", bot.clock.now())
    assert result.moved
    await bot.pump()
    [waiting] = await open_notices(bot.store, number)
    assert waiting.attempts == 1 and waiting.last_error

    await bot.double.accept_connections()
    bot.clock.advance(timedelta(seconds=30))
    await bot.pump()
    assert told(villager, f"Your order {number} is on its way") == 1
    assert await open_notices(bot.store, number) == []
    await villager.send("/orders")  # and the updates flow again
    assert any(number in b.text for row in villager.chat.last_bot_message().buttons for b in row)
