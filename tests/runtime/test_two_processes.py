"""Two real ``rural-bot webhook`` processes on one PostgreSQL, behind the double's load balancer,
which gives them each update in turn: a person's next tap lands on the other process.
Villagers shop and order at the same time, a partner confirms in the group, an admin sends a
promotion; the store and the double's record of sent messages show nothing lost or doubled."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from urllib.parse import urlsplit

from sqlalchemy import func, select

from chat import settle_in, stock_of, texts
from services.clock import SystemClock
from services.partners import Actor, add_partner
from store.models import BroadcastDelivery, Order
from support.desk import GROUP_ID, card_of
from support.orders import order_rice
from support.processes import start_bot, webhook_env
from support.promotions import compose, crowd, promotions_in

VILLAGERS = 8


async def test_two_webhook_processes_share_people_orders_and_a_promotion(postgres_only, demo_store, telegram,
                                                                          tmp_path):
    clock = SystemClock()
    await add_partner(demo_store, clock, Actor(900, "Admin", is_admin=True), "CG-01", 501)
    # No quiet hours: the promotion goes out now at whatever real hour the test runs.
    env = webhook_env(demo_store.url, telegram, QUIET_HOURS="00:00-00:00")
    bots = [await start_bot("webhook", env, tmp_path) for _ in range(2)]
    telegram.webhook_targets = [bot.base for bot in bots]
    rice_before = await stock_of(demo_store, "FD-001")

    partner = telegram.person(501, "Lao Zhang", language_code="en")
    group = telegram.group(GROUP_ID, "Shangyuan desk")
    await telegram.add_bot_to_group(group, by=partner)
    await partner.send("/bind CG-01", chat=group)
    assert "is now the order desk" in texts(group)[-1]

    villagers = [telegram.person(2000 + n, f"V{n}", language_code="en") for n in range(VILLAGERS)]

    async def shop(villager) -> str:
        await settle_in(villager)
        return await order_rice(villager, quantity_taps=1)  # 2 bags: cart, checkout, confirm on either process

    numbers = await asyncio.gather(*(shop(v) for v in villagers))
    assert len(set(numbers)) == VILLAGERS
    await telegram.wait_for(lambda: all(any(n in t for t in texts(group)) for n in numbers), timeout=15,
                            message="not every order's card reached the desk")
    for number in numbers:
        await partner.tap("✅ Confirm", message=card_of(group, number))
    await telegram.wait_for(lambda: all(any("is confirmed" in t for t in texts(v.chat)) for v in villagers),
                            timeout=15, message="not every villager was told")

    admin = telegram.person(900, "Zhou", language_code="en")
    others = await crowd(SimpleNamespace(person=telegram.person, store=demo_store, clock=clock), 30)
    await compose(admin, link=None)
    await admin.tap("👥 Everyone")
    await admin.tap("🚀 Send now")
    readers = villagers + others
    await telegram.wait_for(lambda: all(promotions_in(p) for p in readers), timeout=30,
                            message="not everyone got the promotion")
    await asyncio.sleep(1.0)  # a copy sent twice would arrive in this time

    for villager, number in zip(villagers, numbers):
        told = texts(villager.chat)
        assert sum(f"Your order {number} is confirmed" in t for t in told) == 1
        assert len(promotions_in(villager)) == 1
    assert [len(promotions_in(p)) for p in others] == [1] * len(others)
    async with demo_store.read() as session:
        orders = (await session.execute(select(Order.number, Order.status))).all()
        deliveries = dict((await session.execute(select(BroadcastDelivery.status, func.count())
                                                 .group_by(BroadcastDelivery.status))).all())
    assert sorted(orders) == sorted((n, "confirmed") for n in numbers)
    assert await stock_of(demo_store, "FD-001") == rice_before - 2 * VILLAGERS
    assert deliveries.get("sent", 0) >= len(readers) and set(deliveries) <= {"sent", "opted_out"}

    # Both processes did their share: updates, and promotion copies.
    ports = [urlsplit(post[1]).port for post in telegram.webhook_posts if post[2] == 200]
    assert {bot.port for bot in bots} == set(ports) and min(ports.count(b.port) for b in bots) > 20
    for bot in bots:
        status, took = await bot.terminate()
        assert status == 0 and took < 10
        handled = [e for e in bot.events() if e["event"] == "update handled"]
        assert len(handled) > 20
        assert not [e for e in bot.events() if e["level"] in ("error", "critical")]
