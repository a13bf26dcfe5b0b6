"""Webhook capacity: one ``rural-bot webhook`` process beside two behind the Bot API double's load
balancer, in the same run, each setup on a fresh PostgreSQL database of its own, the two measured
in turns so that a change in the machine's speed during the run falls on both. The balancer posts
each update to the process with the fewest updates in flight, as nginx's least_conn does
(``--balance turns``: to each in turn).

Every villager lives a short shopping session: /start, pick a county and a village, /search a
product, open a result, add it to the cart, open the cart (7 updates), each step waiting for the
bot's answer to the last. Latency is from the update's injection into the double until the bot
answered its webhook POST (200 = handled).

- at p99 < 100 ms (the target's figure): sessions arrive at random (a Poisson process) at a rate
  of updates a second, each step after a pause of 0.1-0.5 s, as a person taps. At each rate the
  setups take 5 turns of 5 s each, and p99 is of all a setup's updates at that rate. The rate goes
  up by 8% a step, from 45% of what one process does saturated; a setup's figure is where its p99
  crosses 100 ms, on the line between the last rate at which it stayed under and the first at
  which it did not.
- saturated: 40 villagers without pauses keep the double's 40 connections (Telegram's default
  max_connections) busy; updates/s is what the setup does at the most, whatever the wait, and the
  CPU each process spent per update is printed. In turns, ``--pairs`` times; the median ratio.

Each setup's double, with its villagers, runs in a process of its own, so that this process, which
only starts things and watches /proc, is no bottleneck. The doubles and PostgreSQL share the 2
cores with the bots.

    python bench/webhook.py [--pairs 3] [--windows 5] [--step 5] [--start-rate UPDATES/S] [--factor 1.08]
                            [--balance least|turns] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Target: 2 processes reach at least 1.3x the updates/s of 1 process on this 2-core machine (the
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
sys.path.insert(0, str(ROOT / "tests"))  # tests/support/processes.py: real bot processes

from sqlalchemy import update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.cli import load_demo_data  # noqa: E402
from bot.config import normalize_database_url  # noqa: E402
from bot.sandbox.botapi import BotApiDouble  # noqa: E402
from store.db import Store  # noqa: E402
from store.models import Product  # noqa: E402
from support.processes import start_bot, webhook_env  # noqa: E402

SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SEARCHES = ["rice", "fertilizer", "huafei", "大米", "化肥", "hoe", "seeds", "酱油"]
STEPS = ("/start", "county", "village", "/search", "product", "add", "/cart")
CLK_TCK = os.sysconf("SC_CLK_TCK")
BALANCES = {"least": "the process with the fewest updates in flight", "turns": "each process in turn"}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


# ---- the double and the villagers, in their own process ---------------------------------------

def newest_buttons(person, pattern: re.Pattern):
    for message in reversed(person.chat.bot_messages()):
        data = [b.callback_data for row in message.buttons for b in row
                if b.callback_data and pattern.match(b.callback_data)]
        if data:
            return message, data
    return None, []


COUNTY, VILLAGE = re.compile(r"^cty:\d+$"), re.compile(r"^ctr:\d+$")
PRODUCT, ADD = re.compile(r"^p:\d+:\d+$"), re.compile(r"^add:\d+:\d+$")


async def villager_session(person, rng: random.Random, crowd: Crowd, pause: tuple[float, float] | None) -> None:
    """One shopping session; ``pause``: seconds (from, to) before each step after the first."""
    first = True

    async def act(step: str, action) -> None:
        nonlocal first
        if pause and not first:
            await asyncio.sleep(rng.uniform(*pause))
        first = False
        started = time.perf_counter()
        await action()
        crowd.answered(step, started)

    async def tap(step: str, pattern: re.Pattern) -> None:
        message, data = newest_buttons(person, pattern)
        if not data:
            crowd.skipped[step] += 1
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


class Crowd:
    """Villagers of one measurement: what each step took, what could not be done."""

    def __init__(self, double: BotApiDouble, first_id: int):
        self.double, self.next_id = double, first_id
        self.acts: dict[str, list[float]] = defaultdict(list)  # seconds each update took, by step
        self.answered_at: list[float] = []  # time.perf_counter() of each answer
        self.skipped: Counter = Counter()
        self.failures: Counter = Counter()
        self.sessions: list[asyncio.Task] = []
        self.loop = asyncio.get_running_loop()

    def session(self, pause: tuple[float, float] | None) -> asyncio.Task:
        villager_id = self.next_id
        self.next_id += 1
        rng = random.Random(villager_id)  # the same choices whichever setup is measured
        person = self.double.person(villager_id, f"Villager {villager_id}",
                                    language_code=rng.choice(["zh-hans", "en"]))

        async def live() -> None:
            try:
                await villager_session(person, rng, self, pause)
            except Exception as exc:  # noqa: BLE001 - counted and printed; the run goes on
                self.failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1

        task = self.loop.create_task(live())
        self.sessions.append(task)
        return task

    def answered(self, step: str, started: float) -> None:
        now = time.perf_counter()
        self.acts[step].append(now - started)
        self.answered_at.append(now)

    def figures(self, **extra) -> dict:
        latencies = [s for values in self.acts.values() for s in values]
        return {"acts": dict(self.acts), "skipped": dict(self.skipped), "failures": dict(self.failures),
                "p50": percentile(latencies, 0.5) * 1000, "p99": percentile(latencies, 0.99) * 1000, **extra}


async def saturate(double: BotApiDouble, first_id: int, concurrency: int, seconds: float) -> dict:
    """``concurrency`` villagers, each starting a new session as soon as one ends, without pauses,
    for ``seconds``; the rate counts the updates answered after the first second (the ramp), or
    after the first fifth of a shorter run."""
    crowd = Crowd(double, first_id)
    started = time.perf_counter()
    deadline = started + seconds
    ramp = min(1.0, seconds / 5)

    async def villager() -> None:
        while time.perf_counter() < deadline:
            await crowd.session(None)

    await asyncio.gather(*(villager() for _ in range(concurrency)))
    counted = [at for at in crowd.answered_at if started + ramp <= at <= deadline]
    return crowd.figures(rate=len(counted) / (seconds - ramp))


async def arrive(double: BotApiDouble, first_id: int, rate: float, seconds: float,
                 pause: tuple[float, float]) -> dict:
    """Sessions arriving at random (a Poisson process) at ``rate`` updates a second, for
    ``seconds``; each step waits for the bot's answer to the one before, after a pause."""
    crowd = Crowd(double, first_id)
    arrivals = random.Random(first_id)
    started = crowd.loop.time()
    at = arrivals.expovariate(rate / len(STEPS))
    while at < seconds:
        await asyncio.sleep(max(0.0, started + at - crowd.loop.time()))
        crowd.session(pause)
        at += arrivals.expovariate(rate / len(STEPS))
    await asyncio.gather(*crowd.sessions)
    return crowd.figures(rate=rate)


def serve_double(conn) -> None:
    """The double and its villagers, in a process of their own. Commands on ``conn``:
    ("targets", [base urls]) -> "ok" once a bot set the webhook; ("saturate", (first id,
    concurrency, seconds)) and ("arrive", (first id, rate, seconds, pause)) -> their figures;
    ("stop", None)."""

    async def serve() -> None:
        double = BotApiDouble(action_timeout=60.0)
        await double.start()
        conn.send(double.base_url)
        loop = asyncio.get_running_loop()
        crowds = {"saturate": saturate, "arrive": arrive}
        while True:
            # What the double keeps of earlier crowds (chats, calls) is kept out of the garbage
            # collector's full passes: one took 110-120 ms, a stall of every update in flight
            # that Telegram itself would not cause.
            gc.collect()
            gc.freeze()
            command, argument = await loop.run_in_executor(None, conn.recv)
            if command == "targets":
                double.webhook_targets, double.webhook_balance = argument
                await double.wait_for(lambda: double.webhook["url"], timeout=30)
                conn.send("ok")
            elif command in crowds:
                conn.send(await crowds[command](double, *argument))
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
        share = {name: (sum(cpu_times(pid) or self.start[name]) - sum(self.start[name])) / wall
                 for name, pid in self.pids.items()}
        share["postgres"] = sum(self.pg_last[pid] - self.pg_first[pid] for pid in self.pg_last) / wall
        preempted = sum(involuntary_switches(pid) - self.switches[name] for name, pid in self.pids.items()
                        if name.startswith("bot"))
        return {"share": share, "wall": wall, "preempted": preempted, "cores": cores,
                "machine": (busy - self.machine[0]) / wall, "interrupts": (interrupts - self.machine[1]) / wall,
                "steal": (steal - self.machine[2]) / wall,
                "backends_max": self.backends_max, "active_max": self.active_max}


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


class Setup:
    """A fresh database, a double (with its villagers) in a process of its own, and ``processes``
    bot processes behind the double's load balancer."""

    def __init__(self, processes: int, server_url: str, database: str, balance: str):
        self.processes, self.server_url, self.database, self.balance = processes, server_url, database, balance
        self.name = f"{processes} process{'es' if processes > 1 else ''}"
        self.bots: list = []
        self.telegram = None
        self._pipe = None
        self.next_id = 1_000_000 * processes

    async def start(self) -> None:
        url = await fresh_database(self.server_url, self.database)
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self.telegram = context.Process(target=serve_double, args=(theirs,), daemon=True)
        self.telegram.start()
        loop = asyncio.get_running_loop()
        base_url = await loop.run_in_executor(None, self._pipe.recv)
        env = webhook_env(url, SimpleNamespace(base_url=base_url))
        started = await asyncio.gather(*(start_bot("webhook", env, ROOT, timeout=60)
                                         for _ in range(self.processes)), return_exceptions=True)
        self.bots = [bot for bot in started if not isinstance(bot, BaseException)]
        for failure in started:
            if isinstance(failure, BaseException):
                raise failure
        await self.ask("targets", ([bot.base for bot in self.bots], self.balance))

    async def ask(self, command: str, argument=None):
        self._pipe.send((command, argument))
        return await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)

    def ids(self, count: int) -> int:
        """The first of ``count`` new villager ids (every session is a new villager)."""
        first, self.next_id = self.next_id, self.next_id + count
        return first

    async def saturate(self, concurrency: int, seconds: float, watch: bool = True) -> dict:
        logged = [len(bot.lines) for bot in self.bots]
        watching = Watch(self.database, {"bench (this process)": os.getpid(), "double + villagers": self.telegram.pid,
                                         **{f"bot {i + 1}": bot.process.pid for i, bot in enumerate(self.bots)}}
                         ) if watch else None
        row = await self.ask("saturate", (self.ids(100_000), concurrency, seconds))
        if watching:
            row["watch"] = await watching.stop()
        row["per_bot"] = [sum(1 for event in bot.events()[start:] if event.get("event") == "update handled")
                          for bot, start in zip(self.bots, logged)]
        return row

    async def arrive(self, rate: float, seconds: float, pause: tuple[float, float]) -> dict:
        return await self.ask("arrive", (self.ids(100_000), rate, seconds, pause))

    def errors(self) -> int:
        return sum(1 for bot in self.bots for event in bot.events() if event.get("level") in ("error", "critical"))

    async def stop(self) -> None:
        for bot in self.bots:
            if bot.process.returncode is None:
                with contextlib.suppress(Exception):
                    await bot.terminate()
        if self.telegram is not None:
            with contextlib.suppress(Exception):
                self._pipe.send(("stop", None))
            await asyncio.get_running_loop().run_in_executor(None, self.telegram.join, 10)
            if self.telegram.is_alive():
                self.telegram.kill()
        await pg_execute(self.server_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def problems(row: dict) -> list[str]:
    found = []
    if row["skipped"]:
        found.append(f"steps without a button to tap: {row['skipped']}")
    if row["failures"]:
        found.append(f"failed sessions: {row['failures']}")
    return found


def print_cpu(setup: Setup, row: dict) -> None:
    watch = row["watch"]
    shares = ", ".join(f"{name} {share:.0%}" for name, share in watch["share"].items())
    others = watch["machine"] - sum(watch["share"].values())
    updates = sum(row["per_bot"])
    per_update = defaultdict(float)
    for name, share in watch["share"].items():
        per_update["bots" if name.startswith("bot") else name.split(" ")[0]] += share * watch["wall"] / updates * 1000
    print(f"  {setup.name}: CPU (100% = one core) {shares}; everything else {others:.0%} "
          f"(interrupts {watch['interrupts']:.0%}); the machine busy {watch['machine']:.0%} of "
          f"{watch['cores']:.0%} (steal {watch['steal']:.0%})")
    print(f"    CPU ms per update: {', '.join(f'{name} {ms:.2f}' for name, ms in per_update.items())}; "
          f"bots preempted {watch['preempted'] / updates:.1f} times per update; PostgreSQL connections "
          f"at most {watch['backends_max']} open, {watch['active_max']} busy at once; updates per bot "
          f"process: {', '.join(map(str, row['per_bot']))}")
    if others - watch["interrupts"] > 0.15:
        print(f"    ! other programs used {others - watch['interrupts']:.0%} of a core meanwhile: disturbed")


async def quiet_check() -> float:
    """How busy the machine is before we start (other programs), in cores."""
    busy = machine_times()[0]
    await asyncio.sleep(1.0)
    return machine_times()[0] - busy


async def saturated_pairs(setups: list[Setup], args) -> list[tuple[float, float]]:
    print(f"\nsaturated: {args.concurrency} villagers without pauses for {args.seconds:g} s (the double's "
          f"40 connections kept busy), the setups in turns; updates/s after the first second, "
          f"p50/p99 ms from the update to the bot's answer")
    print(f"  {'turn':>4}  " + "".join(f"{setup.name:>26}" for setup in setups) + f"{'two/one':>10}")
    rates, last = [], {}
    for turn in range(1, args.pairs + 1):
        rows = [await setup.saturate(args.concurrency, args.seconds) for setup in setups]
        rates.append((rows[0]["rate"], rows[1]["rate"]))
        cells = "".join(f"{row['rate']:>12.1f} {row['p50']:>6.0f}/{row['p99']:<6.0f}" for row in rows)
        print(f"  {turn:>4}  {cells}{rows[1]['rate'] / rows[0]['rate']:>9.2f}x", flush=True)
        for setup, row in zip(setups, rows):
            last[setup.name] = row
            for problem in problems(row):
                print(f"    ! {setup.name}: {problem}")
    for setup in setups:
        print_cpu(setup, last[setup.name])
    return rates


async def ladder(setups: list[Setup], args, start_rate: float) -> dict[str, float | None]:
    """Each setup's capacity at p99 under the target: rates go up by ``--factor`` a step from
    ``start_rate``, and a setup is measured until it has missed twice (the second miss is shown,
    not counted). Its capacity is where p99 crosses the target between the last rate it met and
    the first it missed, all rates below met too (the line between their two p99s); None if it
    missed at the first rate. At each rate the setups take ``--windows`` turns of ``--step``
    seconds, and p99 is of all their updates together: one window holds a few hundred, so that a
    single stall of the machine (they come and go here) would decide it."""
    pause = (args.pause[0] / 1000, args.pause[1] / 1000)
    print(f"\nsessions arriving at random, {args.windows} turns of {args.step:g} s at each rate, a pause of "
          f"{args.pause[0]:g}-{args.pause[1]:g} ms before each step; p50/p99 ms from the update to the bot's "
          f"answer (x: p99 >= {args.target_ms:g} ms)")
    print(f"  {'rate/s':>6}  " + "".join(f"{setup.name:>22}" for setup in setups))
    met: dict[str, tuple[float, float] | None] = {setup.name: None for setup in setups}  # (rate, p99)
    capacity: dict[str, float | None] = {}
    misses = {setup.name: 0 for setup in setups}
    rate = start_rate
    while any(miss < 2 for miss in misses.values()) and rate <= args.max_rate:
        measured = [setup for setup in setups if misses[setup.name] < 2]
        latencies: dict[str, list[float]] = defaultdict(list)
        failed: Counter = Counter()
        for _ in range(args.windows):
            for setup in measured:
                row = await setup.arrive(rate, args.step, pause)
                latencies[setup.name] += [s for values in row["acts"].values() for s in values]
                failed[setup.name] += sum(row["failures"].values())
                for problem in problems(row):
                    print(f"    ! {setup.name} at {rate:.0f}/s: {problem}")
        cells = []
        for setup in setups:
            if setup not in measured:
                cells.append(f"{'':>22}")
                continue
            p50, p99 = (percentile(latencies[setup.name], share) * 1000 for share in (0.5, 0.99))
            under = p99 < args.target_ms and not failed[setup.name]
            if under and not misses[setup.name]:
                met[setup.name] = (rate, p99)
            elif not under:
                misses[setup.name] += 1
                if misses[setup.name] == 1:
                    capacity[setup.name] = crossing(met[setup.name], (rate, p99), args.target_ms)
            cells.append(f"{p50:>14.1f}/{p99:<6.1f}{'' if under else 'x'}")
        print(f"  {rate:>6.0f}  {''.join(cells)}", flush=True)
        rate *= args.factor
    for setup in setups:  # never missed, up to --max-rate
        capacity.setdefault(setup.name, met[setup.name][0] if met[setup.name] else None)
    return capacity


def crossing(met: tuple[float, float] | None, missed: tuple[float, float], target: float) -> float | None:
    """The rate at which p99 reaches ``target`` on the line from the last (rate, p99) under it to
    the first over it; None if there was none under. A miss by failed sessions, not by p99, puts
    it at the last rate met."""
    if met is None:
        return None
    (low, low_p99), (high, high_p99) = met, missed
    if high_p99 < target:
        return low
    return low + (high - low) * (target - low_p99) / (high_p99 - low_p99)


async def main(args) -> None:
    server_url = normalize_database_url(args.database_url)
    started = time.perf_counter()
    print(f"PostgreSQL at {make_url(server_url).host}; each setup has its own database and its own double "
          f"(with its villagers) in a process of their own; the load balancer: {BALANCES[args.balance]}; "
          f"{os.cpu_count()} cores, busy "
          f"{await quiet_check():.0%} before the start", flush=True)
    setups = [Setup(n, server_url, f"rural_bench_{os.getpid()}_{n}", args.balance) for n in (1, 2)]
    try:
        for setup in setups:
            await setup.start()
            await setup.saturate(args.concurrency, args.warmup, watch=False)  # pools, caches, prepared statements
        rates = await saturated_pairs(setups, args)
        # The first rate is well under what one process does saturated on this machine now (its
        # speed changes from day to day): 45% of it, where p99 is still short.
        capacity = await ladder(setups, args, args.start_rate or
                                round(0.45 * statistics.median(one for one, _ in rates)))
        errors = {setup.name: setup.errors() for setup in setups}
    finally:
        for setup in setups:
            await setup.stop()
    one, two = (capacity[setup.name] for setup in setups)
    ratios = [two / one for one, two in rates]
    print(f"\nsaturated two/one: {statistics.median(ratios):.2f}x (median of {', '.join(f'{r:.2f}x' for r in ratios)})")
    if not one or not two:
        print(f"at p99 < {args.target_ms:g} ms: a setup missed at the first rate already; no ratio "
              "(run again, or with a lower --start-rate)")
    else:
        ratio = two / one
        print(f"at p99 < {args.target_ms:g} ms: 1 process {one:.0f} updates/s, 2 processes {two:.0f} updates/s "
              f"(where p99 crosses {args.target_ms:g} ms): two/one {ratio:.2f}x   target >= 1.30x: "
              f"{'met' if ratio >= 1.3 else 'NOT met'}")
    for name, count in errors.items():
        if count:
            print(f"! error lines in the logs of {name}: {count}")
    print(f"whole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=40, help="villagers of the saturated turns")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a saturated turn")
    parser.add_argument("--pairs", type=int, default=3, help="saturated turns of each setup")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of a saturated warm-up, not measured")
    parser.add_argument("--start-rate", type=float, default=None,
                        help="updates/s of the first rate (default: 45%% of 1 process's saturated rate)")
    parser.add_argument("--factor", type=float, default=1.08, help="the next rate is this times the last")
    parser.add_argument("--max-rate", type=float, default=800.0)
    parser.add_argument("--step", type=float, default=5.0, help="seconds of arrivals in one turn")
    parser.add_argument("--windows", type=int, default=5, help="turns of each setup at each rate")
    parser.add_argument("--pause", type=float, nargs=2, default=(100.0, 500.0), metavar=("FROM", "TO"),
                        help="ms a villager pauses before each step after the first")
    parser.add_argument("--balance", choices=sorted(BALANCES), default="least",
                        help="which process the double's load balancer posts an update to")
    parser.add_argument("--target-ms", type=float, default=100.0, help="the p99 to stay under")
    parser.add_argument("--database-url", default=SERVER_URL,
                        help="the PostgreSQL server (its own database is left alone; "
                             "a scratch one is made per setup)")
    asyncio.run(main(parser.parse_args()))
