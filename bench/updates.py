"""How many updates a second the bot handles, next to a bare PTB echo bot, in the same run.

50 villagers (by default) each live a shopping session through the Bot API double: /start,
choose a center, browse a category, open a product, add it, search, add a result, open the
cart, check out, confirm, and look at their orders. Each villager waits for the bot to finish an
update before the next, as a person would; the villagers act concurrently.

The echo bot is driven the same way (same double, same number of villagers and updates) and
only echoes, so its rate is the ceiling that PTB and the double allow on this machine.

The machine's speed drifts between runs, so the two bots alternate for a few rounds (3 by
default) and the median ratio is the figure to quote.

    python bench/updates.py [--villagers 50] [--rounds 3] [--database-url postgresql://...]
Target: the bot reaches at least 50% of the echo bot's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, MessageHandler, TypeHandler, filters  # noqa: E402

from bot.app import CONCURRENT_UPDATES, build_application, file_url_for  # noqa: E402
from bot.cli import load_demo_data  # noqa: E402
from bot.config import Settings, normalize_database_url  # noqa: E402
from bot.runner import keep_out_of_collections, start_polling, stop_polling  # noqa: E402
from bot.sandbox.botapi import BotApiDouble  # noqa: E402
from store.db import Store  # noqa: E402
from store.models import Product  # noqa: E402

TOKEN = "123456789:BENCH-token-aaaaaaaaaaaaaaaaaaaaaaa"
SEARCHES = ["fertiliser", "huafei", "大米", "sprayr", "phone", "hua fei", "酱油", "hoe"]


class Finished:
    """Counts, per person, the updates the application has finished with.

    A TypeHandler in the last group runs after every other handler of that update."""

    def __init__(self):
        self.count: dict[int, int] = defaultdict(int)
        self.changed = asyncio.Condition()

    async def mark(self, update: Update, _context) -> None:
        if update.effective_user:
            async with self.changed:
                self.count[update.effective_user.id] += 1
                self.changed.notify_all()

    async def wait(self, user_id: int, at_least: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.count[user_id] >= at_least)


async def act(person, finished: Finished, latencies: list[float], action) -> None:
    expected = finished.count[person.id] + 1
    started = time.perf_counter()
    await action()
    await finished.wait(person.id, expected)
    latencies.append(time.perf_counter() - started)


def newest_buttons(person, prefix: str):
    for message in reversed(person.chat.bot_messages()):
        data = [b.callback_data for row in message.buttons for b in row
                if b.callback_data and b.callback_data.startswith(prefix)]
        if data:
            return message, data
    return None, []


async def shopping_session(person, finished: Finished, latencies: list[float], rng: random.Random) -> None:
    async def tap(prefix: str, pick=None) -> None:
        message, data = newest_buttons(person, prefix)
        if data:
            choice = pick(data) if pick else rng.choice(data)
            await act(person, finished, latencies, lambda: person.tap_data(choice, message))

    async def send(text: str) -> None:
        await act(person, finished, latencies, lambda: person.send(text))

    await send("/start")
    await tap("cty:")
    await tap("ctr:")
    await send("/catalog")
    await tap("cat:")
    await tap("p:")
    await tap("p:", pick=lambda d: d[-1])  # the ➕
    await tap("add:")
    await send(rng.choice(SEARCHES))
    await tap("p:")
    await tap("add:")
    await send("/cart")
    await tap("co", pick=lambda d: "co" if "co" in d else d[0])
    await tap("co:ok:")
    await send("/orders")


async def echo_session(person, finished: Finished, latencies: list[float], updates: int) -> None:
    for i in range(updates):
        await act(person, finished, latencies, lambda i=i: person.send(f"hello {i}"))


def echo_application(double: BotApiDouble):
    async def echo(update: Update, _context) -> None:
        await update.effective_message.reply_text(update.effective_message.text)

    async def answer(update: Update, _context) -> None:
        await update.callback_query.answer()

    app = (ApplicationBuilder().token(TOKEN).base_url(double.base_url)
           .base_file_url(file_url_for(double.base_url)).concurrent_updates(CONCURRENT_UPDATES).build())
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(answer))
    return app


async def measure(name: str, app, double: BotApiDouble, sessions) -> dict:
    finished = Finished()
    app.add_handler(TypeHandler(Update, finished.mark), group=99)
    latencies: list[float] = []
    await start_polling(app, poll_timeout=5)
    keep_out_of_collections()  # as ``rural-bot run`` does once started
    try:
        started = time.perf_counter()
        await asyncio.gather(*(session(person, finished, latencies) for person, session in sessions))
        elapsed = time.perf_counter() - started
    finally:
        await stop_polling(app)
    latencies.sort()
    return {
        "name": name, "updates": len(latencies), "seconds": elapsed, "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


async def fresh_bench_database(server_url: str) -> str:
    """A new, empty ``rural_bench`` database on the server of ``server_url`` (which is left alone),
    so that every round starts as empty as a new SQLite file."""
    import asyncpg

    url = make_url(server_url)
    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await connection.execute("DROP DATABASE IF EXISTS rural_bench")
        await connection.execute("CREATE DATABASE rural_bench")
    finally:
        await connection.close()
    return url.set(database="rural_bench").render_as_string(hide_password=False)


async def demo_store(url: str) -> Store:
    """The store at ``url``, migrated, with the demo data and plenty in stock for everyone (measure
    handling, not sell-outs)."""
    store = Store(url)
    await store.upgrade()
    with contextlib.redirect_stdout(io.StringIO()):
        await load_demo_data(store)
    async with store.write() as session:
        await session.execute(update(Product).values(stock=1_000_000))
    return store


async def measure_ours(villagers: int, url: str, rng: random.Random) -> dict:
    store = await demo_store(url)
    double = BotApiDouble()
    await double.start()
    try:
        settings = Settings(bot_token=TOKEN, database_url=url, telegram_base_url=double.base_url)
        # People's time: each villager's action counts as seconds, as a person's would, so that
        # the per-person rate limit is at work here but nobody is past it.
        bot = build_application(settings, store, pace=double.pace_time)
        people = [double.person(10_000 + i, f"Villager {i}", language_code=rng.choice(["zh-hans", "en"]))
                  for i in range(villagers)]
        return await measure("rural bot", bot, double, [
            (p, lambda p, f, lat, r=random.Random(p.id): shopping_session(p, f, lat, r)) for p in people])
    finally:
        await double.stop()
        await store.close()


async def measure_echo(villagers: int, per_person: int) -> dict:
    double = BotApiDouble()
    await double.start()
    try:
        echoers = [double.person(20_000 + i, f"Echo {i}") for i in range(villagers)]
        return await measure("echo bot (baseline)", echo_application(double), double, [
            (p, lambda p, f, lat: echo_session(p, f, lat, per_person)) for p in echoers])
    finally:
        await double.stop()


async def main(villagers: int, database_url: str | None, rounds: int) -> None:
    """Rounds alternate the two bots, so that a slow spell of the machine hits both alike."""
    rng = random.Random(7)
    ratios = []
    print(f"villagers: {villagers}, concurrent updates: {CONCURRENT_UPDATES}")
    print(f"{'round':6}{'bot':22}{'updates':>8}{'seconds':>9}{'updates/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
    for round_no in range(1, rounds + 1):
        with tempfile.TemporaryDirectory() as folder:
            url = normalize_database_url(database_url or f"sqlite:///{folder}/bench.sqlite3")
            if database_url:
                url = await fresh_bench_database(url)
            ours = await measure_ours(villagers, url, rng)
        echo = await measure_echo(villagers, round(ours["updates"] / villagers))
        for row in (ours, echo):
            print(f"{round_no:<6}{row['name']:22}{row['updates']:>8}{row['seconds']:>9.2f}{row['rate']:>11.1f}"
                  f"{row['p50']:>9.1f}{row['p99']:>9.1f}")
        ratios.append(ours["rate"] / echo["rate"])
    print(f"database: {url.split('://')[0]}")
    print(f"rural bot / echo bot throughput by round: {', '.join(f'{r:.0%}' for r in ratios)}; "
          f"median {statistics.median(ratios):.0%} (target: at least 50%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villagers", type=int, default=50)
    parser.add_argument("--database-url", help="default: a fresh SQLite file; for PostgreSQL, the server on which a scratch "
                        "database rural_bench is made for each round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.villagers, args.database_url, args.rounds))
