"""One person floods the bot while others use it: the others' reply times without the flood and
during it, measured in the same run, and how many replies the flooder got.

Villagers (8 by default) use the bot through the Bot API double as people do: a menu tap, a
category, a product, a search, the cart, and so on, each after a pause of 0.3-0.8 s once the bot
has answered the last. Their reply time is from an action until the bot has finished with it.
Each round has three phases of ``--window`` seconds, in an order drawn at random for the round
(so that a slow spell of the machine, shared with others, falls on any of them), each with a freshly
started bot on the same database and double, and a first action of each villager, not measured:

- quiet: only the villagers;
- flood: the same, and at its start one person (a new one each round) sends 200 messages at once
  (searches, the most work a message can ask for);
- flood, USER_RATE off: the same without the per-person rate limit, to show what it prevents.

The figures to quote are of all rounds' reply times together (the window is what "during the
flood" means in the targets); those of the villagers' actions begun while the bot was still busy
with the flood (its 200 updates not all handled yet) are printed too. The bot's rate limit follows
real time here, as in production (5 a second, a burst of 10). The flooder's replies are what the
bot sent them: those Telegram delivered (the double's per-chat limit, 1 a second after a burst of
5, on people's time) and those it refused with a 429.

    python bench/flood.py [--villagers 8] [--rounds 5] [--window 5] [--flood 200] [--database-url postgresql://...]

Targets: the villagers' median reply time during the flood is within 1.5x of their median without
it, and the flooder gets at most 20 replies.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update  # noqa: E402
from updates import demo_store, fresh_bench_database, newest_buttons  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.config import Settings, normalize_database_url  # noqa: E402
from bot.runner import keep_out_of_collections, start_polling, stop_polling  # noqa: E402
from bot.sandbox.botapi import BotApiDouble  # noqa: E402
from services.rate_limit import UserRate  # noqa: E402
from store.db import Store  # noqa: E402

TOKEN = "123456789:BENCH-token-aaaaaaaaaaaaaaaaaaaaaaa"
SEARCHES = ["fertiliser", "huafei", "大米", "sprayr", "rice", "hua fei", "酱油", "hoe", "seeds", "化肥"]
PAUSE = (0.3, 0.8)  # seconds a person takes between reading an answer and the next tap
PHASES = (("quiet", False, UserRate(5, 10)), ("flood", True, UserRate(5, 10)), ("flood, USER_RATE off", True, None))


class Finished:
    """Counts, per person, the updates the application has finished with (handled or not)."""

    def __init__(self, app) -> None:
        self.count: dict[int, int] = defaultdict(int)
        self.changed = asyncio.Condition()
        self.last_at: dict[int, float] = {}
        handle = app.process_update

        async def process_update(update: object) -> None:
            try:
                await handle(update)
            finally:
                user = update.effective_user if isinstance(update, Update) else None
                if user is not None:
                    async with self.changed:
                        self.count[user.id] += 1
                        self.last_at[user.id] = time.perf_counter()
                        self.changed.notify_all()

        app.process_update = process_update

    async def wait(self, user_id: int, at_least: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.count[user_id] >= at_least)


@dataclass
class Villager:
    person: object
    rng: random.Random
    step: int = 0
    latencies: list[float] = field(default_factory=list)
    began: list[float] = field(default_factory=list)  # when each action began

    async def act(self, finished: Finished, action) -> None:
        expected = finished.count[self.person.id] + 1
        started = time.perf_counter()
        await action()
        await asyncio.wait_for(finished.wait(self.person.id, expected), 30)
        self.latencies.append(time.perf_counter() - started)
        self.began.append(started)

    def next_action(self):
        """The next of a few menu taps and searches, in turn."""
        person, rng = self.person, self.rng
        self.step += 1
        kind = ("/catalog", "cat:", "p:", "search", "p:", "/cart")[self.step % 6]
        if kind.startswith("/"):
            return lambda: person.send(kind)
        if kind == "search":
            return lambda: person.send(rng.choice(SEARCHES))
        message, data = newest_buttons(person, kind)
        if not data:
            return lambda: person.send("/catalog")
        choice = rng.choice(data)
        return lambda: person.tap_data(choice, message)

    async def use_the_bot(self, finished: Finished, until: float) -> None:
        while time.perf_counter() < until:
            await self.act(finished, self.next_action())
            await asyncio.sleep(self.rng.uniform(*PAUSE))


async def settle_in(villager: Villager, finished: Finished) -> None:
    person = villager.person
    await villager.act(finished, lambda: person.send("/start"))
    for prefix in ("cty:", "ctr:"):
        message, data = newest_buttons(person, prefix)
        await villager.act(finished, lambda m=message, d=data: person.tap_data(d[0], m))
    villager.latencies.clear()


async def phase(name: str, flood: bool, rate: UserRate | None, store: Store, double: BotApiDouble,
                villagers: list[Villager], flooder_id: int, size: int, window: float) -> dict:
    settings = Settings(bot_token=TOKEN, database_url=store.url, telegram_base_url=double.base_url, user_rate=rate)
    app = build_application(settings, store)
    finished = Finished(app)
    await start_polling(app, poll_timeout=5)
    keep_out_of_collections()
    try:
        for villager in villagers:  # and a first action each, on a bot that has just started, not measured
            if villager.step == 0:
                await settle_in(villager, finished)
            await villager.act(finished, villager.next_action())
            villager.latencies.clear()
            villager.began.clear()
        started = time.perf_counter()
        flood_in_hand = None
        if flood:
            flooder = double.person(flooder_id, f"Flooder {flooder_id}", language_code="en")
            rng = random.Random(flooder_id)
            sending = asyncio.create_task(flooder.send_all([rng.choice(SEARCHES) for _ in range(size)]))
        await asyncio.gather(*(v.use_the_bot(finished, started + window) for v in villagers))
        if flood:
            await sending
            await asyncio.wait_for(finished.wait(flooder_id, size), 60)
            flood_in_hand = finished.last_at[flooder_id] - started
        await app.update_queue.join()
    finally:
        await stop_polling(app)
    latencies = [x * 1000 for v in villagers for x in v.latencies]
    row = {"name": name, "latencies": latencies, **figures(latencies)}
    if flood:  # the actions begun before the bot was done with the flood
        row["in_flood"] = [x * 1000 for v in villagers for x, at in zip(v.latencies, v.began)
                           if at < started + flood_in_hand]
    if flood:
        chat = double.chats[flooder_id]
        row["delivered"] = len(chat.bot_messages())
        row["refused"] = sum(1 for chat_id, _ in double.chat_limit_refusals if chat_id == flooder_id)
        row["replies"] = row["delivered"] + row["refused"]
        row["in_hand"] = flood_in_hand
    return row


def figures(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"n": len(ordered), "p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]}


async def main(villager_count: int, rounds: int, window: float, size: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = normalize_database_url(database_url or f"sqlite:///{folder}/flood.sqlite3")
        if database_url:
            url = await fresh_bench_database(url)
        store = await demo_store(url)
        double = BotApiDouble()
        await double.start()
        try:
            villagers = [Villager(double.person(10_000 + i, f"Villager {i}", language_code=("zh-hans", "en")[i % 2]),
                                  random.Random(i)) for i in range(villager_count)]
            print(f"villagers: {villager_count}, a flood of {size} messages at once, windows of {window:g} s, "
                  f"database: {url.split('+')[0]}")
            print(f"{'round':6}{'phase':24}{'replies':>8}{'p50 ms':>9}{'p99 ms':>9}"
                  f"{'flooder got':>13}{'429s':>6}{'flood in hand s':>17}")
            rows = defaultdict(list)
            flooders = itertools.count(90_000)
            order = random.Random(7)
            for round_no in range(1, rounds + 1):
                for name, flood, rate in order.sample(PHASES, len(PHASES)):
                    row = await phase(name, flood, rate, store, double, villagers, next(flooders), size, window)
                    rows[name].append(row)
                    extra = (f"{row['delivered']:>13}{row['refused']:>6}{row['in_hand']:>17.2f}" if flood else "")
                    print(f"{round_no:<6}{name:24}{row['n']:>8}{row['p50']:>9.1f}{row['p99']:>9.1f}{extra}")
        finally:
            await double.stop()
            await store.close()
    pooled = {name: figures([x for r in rows[name] for x in r["latencies"]]) for name, _flood, _rate in PHASES}
    quiet = pooled["quiet"]["p50"]
    print("the villagers' reply times, all rounds together:")
    for name, _flood, _rate in PHASES:
        p50, p99, n = pooled[name]["p50"], pooled[name]["p99"], pooled[name]["n"]
        most = max((r["replies"] for r in rows[name] if "replies" in r), default=None)
        got = (f"; the bot answered the flooder at most {most} times, "
               f"{max(r['delivered'] for r in rows[name])} delivered" if most is not None else "")
        print(f"  {name:22} {n:4} replies, p50 {p50:6.1f} ms ({p50 / quiet:.2f}x quiet), p99 {p99:7.1f} ms{got}")
        if rows[name][0].get("in_flood") is not None:
            begun = figures([x for r in rows[name] for x in r["in_flood"]])
            in_hand = statistics.median(r["in_hand"] for r in rows[name])
            print(f"  {'':22} of them {begun['n']:3} begun while the bot was busy with the flood (for {in_hand:.2f} s, "
                  f"median): p50 {begun['p50']:6.1f} ms, p99 {begun['p99']:7.1f} ms")
    flood = pooled["flood"]["p50"]
    most = max(r["replies"] for r in rows["flood"])
    print(f"targets: median during the flood {flood / quiet:.2f}x quiet (at most 1.5x): "
          f"{'met' if flood <= 1.5 * quiet else 'MISSED'}; answers to the flooder {most} (at most 20): "
          f"{'met' if most <= 20 else 'MISSED'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villagers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window", type=float, default=5.0, help="seconds each phase lasts")
    parser.add_argument("--flood", type=int, default=200, help="messages the flooder sends at once")
    parser.add_argument("--database-url", help="default: a fresh SQLite file; for PostgreSQL, the server on which a "
                        "scratch database rural_bench is made")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # not the warning for each reply Telegram refused the flooder
    asyncio.run(main(args.villagers, args.rounds, args.window, args.flood, args.database_url))
