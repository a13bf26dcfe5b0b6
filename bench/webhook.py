"""Webhook throughput and latency: one ``rural-bot webhook`` process, then two behind the Bot API
double's load balancer, each on a fresh PostgreSQL database, in the same run.

200 villagers (by default) each live a short shopping session: /start, pick a county and a
village, /search a product, open a result, add it to the cart, open the cart (7 updates). Each
waits for the bot's answer to the webhook POST (200 = the update was fully handled) before the
next step; the villagers act concurrently.

- saturated: no pauses between steps, so the bot processes are kept busy and updates/s is their
  capacity on this machine. Measured in ``--rounds`` rounds (1 process, then 2, each round);
  the median two/one ratio is the figure to quote.
- paced (round 1, unless ``--think 0``): a pause before each step (uniform, ``--think`` ms on
  average), a load well under one process's capacity: the latency a person sees.

The double (a fake Telegram that POSTs the updates, at most 40 at a time like Telegram's default
max_connections) and the villagers run in a process of their own, so that this process, which only
starts things and watches /proc, is no bottleneck. The double and PostgreSQL share the 2 cores with
the bots: their CPU use is printed, per update, with the bots'.

Latency is the double's POST of an update until the bot's 200 answer (inside it: waiting for one
of the bot's 16 concurrent-update slots, then handling). Before each measurement a warm-up crowd
(other villagers) fills the connection pools and caches.

    python bench/webhook.py [--villagers 200] [--warmup 100] [--rounds 3] [--think 1500]
                            [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Targets: 2 processes reach at least 1.3x the updates/s of 1 process on this 2-core machine (the
double and PostgreSQL share the cores), with p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import multiprocessing
import os
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/processes.py: real bot processes

import aiohttp  # noqa: E402
from processes import start_bot, webhook_env  # noqa: E402
from sqlalchemy import update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import CONCURRENT_UPDATES  # noqa: E402
from bot.cli import load_demo_data  # noqa: E402
from bot.config import normalize_database_url  # noqa: E402
from bot.sandbox.botapi import BotApiDouble  # noqa: E402
from store.db import Store  # noqa: E402
from store.models import Product  # noqa: E402

SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SEARCHES = ["rice", "fertilizer", "huafei", "大米", "化肥", "hoe", "seeds", "酱油"]
STEPS = ("/start", "county", "village", "/search", "product", "add", "/cart")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


# ---- the double and the villagers, in their own process ---------------------------------------

class TimedDouble(BotApiDouble):
    """The double, timing each webhook POST from sending it to the bot's answer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.recording = False
        self.post_seconds: list[float] = []
        self.post_statuses: Counter = Counter()

    async def start(self) -> None:
        await super().start()
        trace = aiohttp.TraceConfig()

        async def started(_session, context, _params) -> None:
            context.started = time.perf_counter()

        async def ended(_session, context, params) -> None:
            if self.recording and params.method == "POST":
                self.post_statuses[params.response.status] += 1
                if params.response.status == 200:
                    self.post_seconds.append(time.perf_counter() - context.started)

        async def failed(_session, _context, params) -> None:
            if self.recording:
                self.post_statuses[type(params.exception).__name__] += 1

        trace.on_request_start.append(started)
        trace.on_request_end.append(ended)
        trace.on_request_exception.append(failed)
        await self._http.close()  # the double's own client, made again with the timer
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), trace_configs=[trace])


def newest_buttons(person, pattern: re.Pattern):
    for message in reversed(person.chat.bot_messages()):
        data = [b.callback_data for row in message.buttons for b in row
                if b.callback_data and pattern.match(b.callback_data)]
        if data:
            return message, data
    return None, []


COUNTY, VILLAGE = re.compile(r"^cty:\d+$"), re.compile(r"^ctr:\d+$")
PRODUCT, ADD = re.compile(r"^p:\d+:\d+$"), re.compile(r"^add:\d+:\d+$")


async def villager_session(person, rng: random.Random, acts: dict[str, list[float]], skipped: Counter,
                           think: float) -> None:
    async def act(step: str, action) -> None:
        if think:
            await asyncio.sleep(rng.uniform(0, 2 * think))
        started = time.perf_counter()
        await action()
        acts[step].append(time.perf_counter() - started)

    async def tap(step: str, pattern: re.Pattern) -> None:
        message, data = newest_buttons(person, pattern)
        if not data:
            skipped[step] += 1
            return
        choice = rng.choice(data)
        await act(step, lambda: person.tap_data(choice, message))

    await act("/start", lambda: person.send("/start"))
    await tap("county", COUNTY)
    await tap("village", VILLAGE)
    await act("/search", lambda: person.send(f"/search {rng.choice(SEARCHES)}"))
    await tap("product", PRODUCT)
    await tap("add", ADD)
    await act("/cart", lambda: person.send("/cart"))


async def crowd(double: TimedDouble, first_id: int, count: int, think: float) -> dict:
    """``count`` villagers, each a session; what it took."""
    acts: dict[str, list[float]] = defaultdict(list)
    skipped: Counter = Counter()
    failures: Counter = Counter()
    people = []
    for i in range(count):
        rng = random.Random(first_id + i)  # the same choices whichever process count is measured
        people.append((double.person(first_id + i, f"Villager {i}", language_code=rng.choice(["zh-hans", "en"])), rng))

    async def one(person, rng) -> None:
        try:
            await villager_session(person, rng, acts, skipped, think)
        except Exception as exc:  # noqa: BLE001 - counted and printed; the run goes on
            failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1

    double.post_seconds, double.post_statuses = [], Counter()
    double.recording = True
    started = time.perf_counter()
    await asyncio.gather(*(one(person, rng) for person, rng in people))
    seconds = time.perf_counter() - started
    double.recording = False
    return {"seconds": seconds, "acts": dict(acts), "skipped": dict(skipped), "failures": dict(failures),
            "post_seconds": double.post_seconds, "post_statuses": dict(double.post_statuses)}


def serve_double(conn) -> None:
    """Commands on ``conn``: ("targets", [base urls]) -> "ok" once a bot set the webhook;
    ("crowd", (first id, count, think)) -> the crowd's figures; ("stop", None)."""

    async def serve() -> None:
        double = TimedDouble(action_timeout=60.0)
        await double.start()
        conn.send(double.base_url)
        loop = asyncio.get_running_loop()
        while True:
            # What the double keeps of earlier crowds (chats, calls) is kept out of the garbage
            # collector's full passes: one took 110-120 ms, a stall of every update in flight
            # that Telegram itself would not cause.
            gc.collect()
            gc.freeze()
            command, argument = await loop.run_in_executor(None, conn.recv)
            if command == "targets":
                double.webhook_targets = argument
                await double.wait_for(lambda: double.webhook["url"], timeout=30)
                conn.send("ok")
            elif command == "crowd":
                conn.send(await crowd(double, *argument))
            else:
                break
        await double.stop()

    asyncio.run(serve())


# ---- this process: databases, bot processes, /proc ----------------------------------------------

def cpu_times(pid: int) -> tuple[float, float] | None:
    """(user, system) CPU seconds of a process so far (None: gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float | None:
    times = cpu_times(pid)
    return None if times is None else sum(times)


def involuntary_switches(pid: int) -> int:
    """How often the process was preempted (it wanted the CPU and was switched out) so far."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("nonvoluntary_ctxt_switches"))
    except (FileNotFoundError, ProcessLookupError):
        return 0


def machine_times() -> tuple[float, float, float, float]:
    """(busy, interrupts, steal, total) CPU seconds of the whole machine so far, over all cores;
    interrupts (mostly the loopback network's softirq work) are in no process's times."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return ((sum(values) - idle) / CLK_TCK, (values[5] + values[6]) / CLK_TCK, values[7] / CLK_TCK,
            sum(values) / CLK_TCK)


def postgres_processes(database: str) -> dict[int, tuple[str, float]]:
    """PostgreSQL's processes that serve ``database`` or the whole server (postmaster, WAL writer,
    checkpointer, ...), by pid: ("backend " + their title's last word: idle, INSERT, ..., or
    "server"; CPU seconds). Backends of other databases are left out."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                title = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        # "postgres: 15/main: user database 127.0.0.1(port) state"; the postmaster, which forks a
        # backend for each new connection, and the WAL writer, checkpointer ... count too
        is_backend = title.startswith("postgres:") and "(" in title
        if is_backend and f" {database} " not in title:
            continue
        cpu = cpu_seconds(int(entry.name))
        if cpu is not None:
            found[int(entry.name)] = ("backend " + title.rsplit(" ", 1)[-1] if is_backend else "server", cpu)
    return found


class Watch:
    """CPU of the processes taking part, and PostgreSQL connections, sampled while a crowd runs."""

    def __init__(self, database: str, pids: dict[str, int]):
        self.database, self.pids = database, pids
        self.start = {name: cpu_times(pid) or (0.0, 0.0) for name, pid in pids.items()}
        self.pg_first: dict[int, float] = {pid: cpu for pid, (_, cpu) in postgres_processes(database).items()}
        self.pg_last = dict(self.pg_first)
        self.backends_max = self.active_max = 0
        self.backends_seen: set[int] = set()
        self.machine = machine_times()
        self.switches = {name: involuntary_switches(pid) for name, pid in pids.items()}
        self.wall = time.perf_counter()
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.to_thread(self._sample_once)
            await asyncio.sleep(0.2)

    def _sample_once(self) -> None:
        now = postgres_processes(self.database)
        backends = [pid for pid, (state, _) in now.items() if state.startswith("backend")]
        self.backends_seen.update(backends)
        self.backends_max = max(self.backends_max, len(backends))
        self.active_max = max(self.active_max, sum(1 for pid in backends
                                                   if now[pid][0] not in ("backend idle", "backend transaction")))
        for pid, (_, cpu) in now.items():
            self.pg_first.setdefault(pid, 0.0)  # born during the run
            self.pg_last[pid] = cpu

    async def stop(self) -> dict:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._sample_once()
        wall = time.perf_counter() - self.wall
        busy, interrupts, steal, total = machine_times()
        cores = (total - self.machine[3]) / wall
        share, system = {}, {}
        for name, pid in self.pids.items():
            user_s, system_s = cpu_times(pid) or self.start[name]
            share[name] = (user_s + system_s - sum(self.start[name])) / wall
            system[name] = (system_s - self.start[name][1]) / wall
        share["postgres"] = sum(self.pg_last[pid] - self.pg_first[pid] for pid in self.pg_last) / wall
        preempted = sum(involuntary_switches(pid) - self.switches[name] for name, pid in self.pids.items()
                        if name.startswith("bot"))
        return {"share": share, "system": system, "wall": wall, "preempted": preempted, "cores": cores,
                "machine": (busy - self.machine[0]) / wall, "interrupts": (interrupts - self.machine[1]) / wall,
                "steal": (steal - self.machine[2]) / wall,
                "backends_max": self.backends_max, "active_max": self.active_max,
                "backends_seen": len(self.backends_seen)}


async def pg_execute(server_url: str, sql: str) -> None:
    import asyncpg

    url = make_url(server_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def fresh_database(server_url: str, name: str) -> str:
    """A new database ``name``, migrated, with the demo data (and stock enough for everyone)."""
    await pg_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await pg_execute(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    store = Store(url)
    try:
        await store.upgrade()
        with contextlib.redirect_stdout(io.StringIO()):
            assert await load_demo_data(store) == 0
        async with store.write() as session:  # measure handling, not sell-outs
            await session.execute(update(Product).values(stock=1_000_000))
    finally:
        await store.close()
    return url


async def measure(processes: int, args, server_url: str, database: str, round_no: int, paced: bool) -> list[dict]:
    """One or two bot processes on a fresh database: a warm-up crowd, then the saturating crowd and
    (``paced``) a crowd with pauses; a row of figures for each measured crowd."""
    url = await fresh_database(server_url, database)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    telegram = context.Process(target=serve_double, args=(theirs,), daemon=True)
    telegram.start()
    loop = asyncio.get_running_loop()

    async def ask(command: str, argument=None):
        ours.send((command, argument))
        return await loop.run_in_executor(None, ours.recv)

    bots, rows = [], []
    first_id = 1_000_000 * round_no
    crowds = [("saturated", first_id, 0.0)] + ([("paced", first_id + 100_000, args.think / 1000)] if paced else [])
    try:
        base_url = await loop.run_in_executor(None, ours.recv)
        env = webhook_env(url, SimpleNamespace(base_url=base_url))
        started = await asyncio.gather(*(start_bot("webhook", env, ROOT, timeout=60) for _ in range(processes)),
                                       return_exceptions=True)
        bots = [bot for bot in started if not isinstance(bot, BaseException)]
        for failure in started:
            if isinstance(failure, BaseException):
                raise failure
        await ask("targets", [bot.base for bot in bots])
        await ask("crowd", (first_id + 500_000, args.warmup, 0.0))  # warm-up: pools, caches, prepared statements
        for load, first, think in crowds:
            logged = [len(bot.lines) for bot in bots]
            watch = Watch(database, {"bench (this process)": os.getpid(), "double + villagers": telegram.pid,
                                     **{f"bot {i + 1}": bot.process.pid for i, bot in enumerate(bots)}})
            row = await ask("crowd", (first, args.villagers, think))
            row["watch"] = await watch.stop()
            handled = [[event for event in bot.events()[start:] if event.get("event") == "update handled"]
                       for bot, start in zip(bots, logged)]
            row["handled_ms"] = [event["duration_ms"] for events in handled for event in events]
            row["per_bot"] = [len(events) for events in handled]
            acts = [s for values in row["acts"].values() for s in values]
            posts = row["post_seconds"]
            row.update(processes=processes, load=load, updates=len(acts), rate=len(acts) / row["seconds"],
                       p50=percentile(posts, 0.5) * 1000, p99=percentile(posts, 0.99) * 1000,
                       act_p50=percentile(acts, 0.5) * 1000, act_p99=percentile(acts, 0.99) * 1000)
            rows.append(row)
        for row in rows:
            row["bot_errors"] = sum(1 for bot in bots for event in bot.events()
                                    if event.get("level") in ("error", "critical"))
        ours.send(("stop", None))
    finally:
        for bot in bots:
            if bot.process.returncode is None:
                with contextlib.suppress(Exception):
                    await bot.terminate()
        await loop.run_in_executor(None, telegram.join, 10)
        if telegram.is_alive():
            telegram.kill()
        await pg_execute(server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return rows


def load_name(row: dict, think: float) -> str:
    return "saturated" if row["load"] == "saturated" else f"paced ({think:g} ms pauses)"


def print_table(rows: list[dict], think: float) -> None:
    print(f"{'processes':>9}  {'load':24}{'updates':>8}{'seconds':>9}{'updates/s':>11}{'p50 ms':>8}{'p99 ms':>8}")
    for row in rows:
        print(f"{row['processes']:>9}  {load_name(row, think):24}{row['updates']:>8}{row['seconds']:>9.2f}"
              f"{row['rate']:>11.1f}{row['p50']:>8.1f}{row['p99']:>8.1f}")


def print_details(row: dict, think: float) -> None:
    watch = row["watch"]
    n = row["processes"]
    handled = row["handled_ms"]
    print(f"  {n} process{'es' if n > 1 else ''}, {load_name(row, think)}: inside the bot (after its "
          f"{CONCURRENT_UPDATES}-slot queue) p50 {percentile(handled, 0.5):.1f} ms, "
          f"p99 {percentile(handled, 0.99):.1f} ms; "
          f"inject to answer (incl. the double's 40-connection queue) p50 {row['act_p50']:.1f} ms, "
          f"p99 {row['act_p99']:.1f} ms")
    steps = ", ".join(f"{step} {percentile(row['acts'].get(step, []), 0.5) * 1000:.0f}/"
                      f"{percentile(row['acts'].get(step, []), 0.99) * 1000:.0f}" for step in STEPS)
    print(f"    per step, inject to answer p50/p99 ms: {steps}")
    shares = ", ".join(f"{name} {share:.0%}"
                       + (f" (system {watch['system'][name]:.0%})" if name.startswith("bot") else "")
                       for name, share in watch["share"].items())
    others = watch["machine"] - sum(watch["share"].values())
    print(f"    CPU (100% = one core): {shares}; everything else {others:.0%} (interrupts {watch['interrupts']:.0%}); "
          f"the machine busy {watch['machine']:.0%} of {watch['cores']:.0%} (steal {watch['steal']:.0%})")
    per_update = defaultdict(float)
    for name, share in watch["share"].items():
        component = "bots" if name.startswith("bot") else name.split(" ")[0]
        per_update[component] += share * watch["wall"] / row["updates"] * 1000
    print(f"    CPU ms per update: {', '.join(f'{name} {ms:.2f}' for name, ms in per_update.items())}; "
          f"bots preempted {watch['preempted'] / row['updates']:.1f} times per update")
    print(f"    PostgreSQL connections to the database: at most {watch['backends_max']} open, "
          f"{watch['active_max']} busy at once, {watch['backends_seen']} seen; updates per bot process: "
          f"{', '.join(map(str, row['per_bot']))}")
    problems = []
    if others - watch["interrupts"] > 0.15:
        problems.append(f"other programs used {others - watch['interrupts']:.0%} of a core meanwhile: "
                        "these figures are disturbed")
    if row["skipped"]:
        problems.append(f"steps without a button to tap: {row['skipped']}")
    if row["failures"]:
        problems.append(f"failed sessions: {row['failures']}")
    if set(row["post_statuses"]) - {200}:
        problems.append(f"webhook answers: {row['post_statuses']}")
    if row["bot_errors"]:
        problems.append(f"error lines in the bots' logs: {row['bot_errors']}")
    for problem in problems:
        print(f"    ! {problem}")


async def quiet_check() -> float:
    """How busy the machine is before we start (other programs), in cores."""
    busy = machine_times()[0]
    await asyncio.sleep(1.0)
    return machine_times()[0] - busy


async def main(args) -> None:
    server_url = normalize_database_url(args.database_url)
    started = time.perf_counter()
    print(f"villagers: {args.villagers} ({len(STEPS)} updates each, no pauses: saturated), warm-up: {args.warmup} "
          f"others, rounds: {args.rounds}" + (f", then a paced crowd in round 1 ({args.think:g} ms mean pause "
                                            "before each step)" if args.think else ""))
    print(f"PostgreSQL at {make_url(server_url).host}; the double and the villagers run in a process of their own; "
          f"{os.cpu_count()} cores, busy {await quiet_check():.0%} before the start", flush=True)
    rows: list[dict] = []
    for round_no in range(1, args.rounds + 1):
        for processes in (1, 2):
            name = f"rural_bench_{os.getpid()}_{round_no}_{processes}"
            paced = round_no == 1 and args.think > 0
            measured = await measure(processes, args, server_url, name, round_no, paced)
            for row in measured:
                print(f"  ... round {round_no}, {processes} process{'es' if processes > 1 else ''}, {row['load']}: "
                      f"{row['rate']:.1f} updates/s", flush=True)
            rows.extend(measured)
    rows.sort(key=lambda row: (row["load"] != "saturated", row["processes"]))
    print_table(rows, args.think)
    for row in rows:
        print_details(row, args.think)
    saturated = {n: [row for row in rows if row["load"] == "saturated" and row["processes"] == n] for n in (1, 2)}
    ratios = [two["rate"] / one["rate"] for one, two in zip(saturated[1], saturated[2])]
    ratio = statistics.median(ratios)
    by_round = f" (by round: {', '.join(f'{r:.2f}x' for r in ratios)})" if len(ratios) > 1 else ""
    print(f"two/one, saturated: {ratio:.2f}x{by_round}   target >= 1.30x: {'met' if ratio >= 1.3 else 'NOT met'}")
    def cost(row: dict) -> float:  # CPU ms per update of the whole machine: bots, double, PostgreSQL, kernel
        return row["watch"]["machine"] * row["watch"]["wall"] / row["updates"] * 1000

    one_cost = statistics.median(cost(row) for row in saturated[1])
    two_cost = statistics.median(cost(row) for row in saturated[2])
    cores = statistics.median(row["watch"]["cores"] for row in rows)
    ceiling = cores / one_cost * 1000 / statistics.median(row["rate"] for row in saturated[1])
    print(f"  (the machine's CPU per update: {one_cost:.2f} ms with 1 process, {two_cost:.2f} ms with 2; at "
          f"{one_cost:.2f} ms its {cores:.0f} cores would allow at most {ceiling:.2f}x the 1-process rate, at "
          f"{two_cost:.2f} ms {ceiling * one_cost / two_cost:.2f}x)")
    for load in ("saturated", "paced"):
        p99s = [row["p99"] for row in rows if row["load"] == load and row["processes"] == 2]
        if p99s:
            p99 = statistics.median(p99s)
            print(f"p99 with 2 processes, {load}: {p99:.1f} ms   target < 100 ms: {'met' if p99 < 100 else 'NOT met'}")
    rate = statistics.median(row["rate"] for row in saturated[2])
    in_flight = min(args.villagers, 40)
    print(f"  (saturated: {args.villagers} villagers keep {in_flight} of the double's 40 connections busy, "
          f"so an update takes about {in_flight} / {rate:.0f} per s = {in_flight / rate * 1000:.0f} ms on average "
          f"(Little's law); "
          f"p99 < 100 ms there would need well over {in_flight * 10} updates/s)")
    print(f"whole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villagers", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=100, help="villagers of the warm-up crowd (not measured)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="1-process/2-process pairs, saturated; the median ratio is quoted")
    parser.add_argument("--think", type=float, default=1500.0,
                        help="mean pause in ms before each step of the paced crowd (round 1); 0: no paced crowd")
    parser.add_argument("--database-url", default=SERVER_URL,
                        help="the PostgreSQL server (its own database is left alone; "
                             "a scratch one is made per measurement)")
    asyncio.run(main(parser.parse_args()))
