"""Many due outbox messages, and a real ``rural-bot webhook`` process killed with SIGKILL while it
sends them: how many are sent twice, and that none is lost. Used by tests/runtime/test_outbox_kill.py
and bench/outbox_kill.py.

Telegram has no idempotency key: a process killed after Telegram took a message and before the
store marked it sent repeats that message when the next process claims it again. Each kill can
repeat at most the one message its process was sending.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update

from services import cart, desks, orders, villagers
from services.clock import Clock
from services.outbox import Kind
from services.partners import Actor
from store.db import Store
from store.models import OutboxMessage, Product, ServiceCenter
from support.processes import start_bot, webhook_env

CONFIRMED = "is confirmed"


async def queue_confirmations(store: Store, clock: Clock, double, count: int, first: int = 5000) -> dict[int, str]:
    """``count`` villagers of CG-01 each order a bag of rice and an admin confirms it: one
    "your order is confirmed" notice due for each (the desk cards, which go nowhere without a
    desk, are closed). Returns each villager's Telegram id and order number."""
    async with store.write() as session:
        center_id = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == "CG-01"))
        rice = await session.scalar(select(Product.id).where(Product.sku == "FD-001"))
        await session.execute(update(Product).where(Product.id == rice).values(stock=Product.stock + count))
    admin = Actor(900, "Admin", is_admin=True)
    numbers = {}
    for telegram_id in range(first, first + count):
        double.person(telegram_id, f"V{telegram_id}", language_code="en")
        person = await villagers.enter(store, clock, telegram_id=telegram_id, first_name=f"V{telegram_id}",
                                       username=None, locale="en")
        await villagers.set_center(store, person.id, center_id)
        basket = await cart.add_to_cart(store, person.id, rice, 1)
        placed = await orders.place_order(store, clock, person.id, basket.checkout_token)
        await desks.decide(store, clock, admin, placed.order.id, confirm=True)
        numbers[telegram_id] = placed.order.number
    async with store.write() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.kind == str(Kind.CARD))
                              .values(is_open=False, cancelled_at=clock.now()))
    return numbers


def confirmations(double, numbers: dict[int, str]) -> dict[int, int]:
    """How many confirmations each villager got, as the double saw them arrive."""
    return {telegram_id: sum(number in (m.text or "") and CONFIRMED in (m.text or "")
                             for m in double.chats[telegram_id].bot_messages()) if telegram_id in double.chats else 0
            for telegram_id, number in numbers.items()}


async def open_notices(store: Store) -> int:
    async with store.read() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.is_open, OutboxMessage.kind == str(Kind.STATUS)))


@dataclass
class KillFigures:
    messages: int
    kills: int
    duplicates: int  # messages a villager got more than once (the extra copies)
    lost: int  # villagers who got none
    seconds: float

    def line(self) -> str:
        return (f"messages {self.messages}, kills {self.kills}, duplicates {self.duplicates}, lost {self.lost} "
                f"({self.seconds:.0f} s)")


async def kill_while_sending(store: Store, double, cwd: Path, numbers: dict[int, str], kills: int, *,
                             lease: float = 2.0, seed: int = 19, finish_within: float = 120.0) -> KillFigures:
    """Start ``rural-bot webhook`` on ``store``, SIGKILL it at a random moment while it sends,
    start it again, ``kills`` times; then let the last one finish and count."""
    chance = random.Random(seed)
    env = webhook_env(store.url, double, OUTBOX_LEASE=f"{lease:g}")
    started = time.monotonic()
    done_kills = 0
    for _ in range(kills):
        bot = await start_bot("webhook", env, cwd)
        sent_before = sum(confirmations(double, numbers).values())
        # Wait until it is sending, then kill it a random moment later.
        deadline = time.monotonic() + 30
        while sum(confirmations(double, numbers).values()) == sent_before:
            assert time.monotonic() < deadline, "the bot sent nothing"
            if not await open_notices(store):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(chance.uniform(0.0, 0.5))
        if bot.process.returncode is None and await open_notices(store):
            bot.process.kill()
            done_kills += 1
        await bot.process.wait()
        await bot._reader
        if not await open_notices(store):
            break
    bot = await start_bot("webhook", env, cwd)
    deadline = time.monotonic() + finish_within
    while await open_notices(store):
        assert time.monotonic() < deadline, f"{await open_notices(store)} notices still unsent"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # a message sent twice would arrive in this time
    status, _ = await bot.terminate()
    assert status == 0
    got = confirmations(double, numbers)
    return KillFigures(messages=len(numbers), kills=done_kills, duplicates=sum(max(0, n - 1) for n in got.values()),
                       lost=sum(n == 0 for n in got.values()), seconds=time.monotonic() - started)
