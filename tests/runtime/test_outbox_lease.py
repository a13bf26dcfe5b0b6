"""Two bot processes' outbox pumps on one PostgreSQL, against a Telegram that answers slowly: a
claim is renewed while its holder sends, so the other pump never takes rows still being sent,
and every villager is told once, even when a claim's sends take longer than its lease; a pump
whose claim was taken anyway does not send those rows.

The bots run on the system clock here: leases follow the real time, and the test must show a
lease lapsing (or not) while the sends go on."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import build_application
from bot.config import Settings
from bot.lease import wall
from services import outbox
from services.clock import SystemClock
from services.outbox import Kind
from store.db import Store
from store.models import OutboxMessage
from support.outbox_kills import confirmations, open_notices, queue_confirmations
from support.processes import TOKEN

LEASE = 2.0  # seconds
LATENCY = 0.25  # seconds each sendMessage takes at the double
SLOW_LEASE = 4.0  # seconds: a send may take LEASE / 4 = 1 s, four times LATENCY, so a busy machine's
# late timers do not turn a slow answer into a timeout (and a timed-out send is retried: twice told)


async def applications(store: Store, double, count: int, lease: float = LEASE):
    """``count`` Applications on ``store``'s database, each with its own connection pool."""
    apps = []
    for n in range(count):
        own = store if n == 0 else Store(store.url)
        settings = Settings(bot_token=TOKEN, database_url=own.url, telegram_base_url=double.base_url,
                            admin_ids=frozenset({900}), outbox_lease=lease)
        app = build_application(settings, own, SystemClock(), polling=False)
        await app.initialize()
        apps.append(app)
    return apps


async def close(apps, store: Store) -> None:
    for app in apps:
        await app.shutdown()
        own = app.bot_data["runtime"].store
        if own is not store:
            await own.close()


@pytest.mark.parametrize("claims", ["sized to the lease", "longer than the lease"])
async def test_two_pumps_on_a_slow_telegram_tell_each_villager_once(postgres_only, demo_store, telegram, claims):
    numbers = await queue_confirmations(demo_store, SystemClock(), telegram, 40)
    telegram.latency = LATENCY
    apps = await applications(demo_store, telegram, 2, SLOW_LEASE)
    pumps = [app.bot_data["runtime"].pump for app in apps]
    if claims == "longer than the lease":
        for pump in pumps:  # 20 sends of 0.25 s: a claim outlasts its 4 s lease unless it is renewed
            pump.batch = 20
    assert pumps[0].send_timeout == timedelta(seconds=SLOW_LEASE / 4)

    async def keep_pumping(pump) -> None:  # as the pumps' wake-ups would, every few seconds
        while await open_notices(demo_store):
            await pump.run_once()
            await asyncio.sleep(0.05)

    started = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*(keep_pumping(pump) for pump in pumps)), 60)
    finally:
        await close(apps, demo_store)
    took = time.monotonic() - started

    got = confirmations(telegram, numbers)
    assert sorted(got.values()) == [1] * len(numbers), {n: c for n, c in got.items() if c != 1}
    async with demo_store.read() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == str(Kind.STATUS)))).all()
    assert len(rows) == 40 and all(not r.is_open and r.sent_at is not None and r.attempts == 0 for r in rows)
    assert took > SLOW_LEASE, "the sends should have outlasted one lease"


async def test_a_pump_does_not_send_what_another_process_took_over(postgres_only, demo_store, telegram, caplog):
    numbers = await queue_confirmations(demo_store, SystemClock(), telegram, 8)
    telegram.latency = LATENCY
    [app] = await applications(demo_store, telegram, 1)
    pump = app.bot_data["runtime"].pump
    pump.batch = 8
    caplog.set_level(logging.WARNING)
    try:
        sending = asyncio.create_task(pump.run_once())
        await telegram.wait_for(lambda: telegram.calls_to("sendMessage"), timeout=5)
        # Another process, whose clock runs 10 s ahead, finds the lease lapsed and takes the rows.
        taken = await outbox.claim_due(demo_store, SystemClock().now(), held_at=wall() + timedelta(seconds=10),
                                       lease=timedelta(seconds=LEASE))
        assert len(taken) == 8
        await asyncio.wait_for(sending, 10)
    finally:
        await close([app], demo_store)

    # The pump learns it at its next renewal (a third of the lease later) and sends no more.
    got = confirmations(telegram, numbers)
    sent = sum(got.values())
    assert set(got.values()) <= {0, 1} and 1 <= sent <= 4, got
    skipped = sum("another process took it over; not sent here" in r.getMessage() for r in caplog.records)
    assert sent + skipped == 8
    assert await open_notices(demo_store) == 8 - sent  # the other process's now
