"""Shared fixtures: real databases (SQLite and PostgreSQL) and a real bot against the Bot API double.

Every test that takes ``store`` runs once on each database. PostgreSQL is this machine's server
on 127.0.0.1:5432 (``TEST_POSTGRES_URL`` overrides it). Without it the PostgreSQL runs are skipped
with the reason, except under CI=true, where a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import itertools
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.exc import DBAPIError

from bot import runner
from bot.app import build_application
from bot.config import Settings
from bot.runner import start_polling, stop_polling
from bot.sandbox.botapi import BotApiDouble
from catalog.importer import import_products
from services.centers import import_centers
from services.clock import ManualClock
from store.db import Store
from support import processes
from support.books import books_balance
from support.bots import PG_ADMIN_URL, TOKEN, ErrorRecorder, pg_execute, pg_url, second_application, settle
from support.processes import PUBLIC_URL, SECRET, free_port, until_healthy
from support.webhook import Served

DATA = Path(__file__).resolve().parent.parent / "catalog" / "data"
_database_numbers = itertools.count()


def run_aside(coroutine):
    """Run a coroutine to completion on its own loop, even when called from inside a test's loop
    (session fixtures are first requested by async fixtures)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _load_demo(store: Store) -> None:
    clock = ManualClock()
    assert (await import_centers(store, (DATA / "centers.csv").read_bytes())).ok
    assert (await import_products(store, clock.now(), (DATA / "products.csv").read_bytes())).ok


@pytest.fixture(scope="session")
def postgres_templates(tmp_path_factory) -> dict[str, str] | str:
    """Two migrated template databases (empty, demo); or why there is no PostgreSQL."""
    prefix = f"rural_t{os.getpid()}"
    try:
        run_aside(pg_execute("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no PostgreSQL here"
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}"

    async def make(name: str, demo: bool) -> None:
        await pg_execute(f'DROP DATABASE IF EXISTS "{name}"')
        await pg_execute(f'CREATE DATABASE "{name}"')
        store = Store(pg_url(name))
        await store.upgrade()
        if demo:
            await _load_demo(store)
        await store.close()

    templates = {"empty": f"{prefix}_empty", "demo": f"{prefix}_demo"}
    for kind, name in templates.items():
        run_aside(make(name, kind == "demo"))
    yield templates
    for name in templates.values():
        run_aside(pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sqlite-templates")

    async def make(path: Path, demo: bool) -> None:
        store = Store(f"sqlite+aiosqlite:///{path}")
        await store.upgrade()
        if demo:
            await _load_demo(store)
        await store.close()

    templates = {"empty": folder / "empty.sqlite3", "demo": folder / "demo.sqlite3"}
    for kind, path in templates.items():
        run_aside(make(path, kind == "demo"))
    return templates


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember whether the test itself passed: only then are its books checked (store_factory)."""
    report = yield
    if report.when == "call":
        item.call_passed = report.passed
    return report


async def books_in(store: Store) -> list[str]:
    """What is wrong with the store's books; [] also when the test left it unreadable (stopped,
    downgraded, its database dropped): there is nothing to check then."""
    try:
        return await books_balance(store)
    except (DBAPIError, OSError):
        return []


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


async def _database_url(request, backend: str, kind: str, tmp_path: Path):
    if backend == "sqlite":
        path = tmp_path / f"{kind}.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_templates")[kind], path)
        return f"sqlite+aiosqlite:///{path}", None
    templates = request.getfixturevalue("postgres_templates")
    if isinstance(templates, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs PostgreSQL: {templates}")
        pytest.skip(templates)
    name = f"rural_t{os.getpid()}_{next(_database_numbers)}"
    await pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{templates[kind]}"')
    return pg_url(name), name


@pytest.fixture
async def store_factory(request, backend, tmp_path):
    """Make a fresh, migrated store: ``await store_factory("demo")`` has the demo data loaded."""
    made: list[tuple[Store, str | None]] = []

    async def make(kind: str = "empty") -> Store:
        url, pg_name = await _database_url(request, backend, kind, tmp_path)
        store = Store(url)
        made.append((store, pg_name))
        return store

    yield make
    for store, pg_name in made:
        if getattr(request.node, "call_passed", False):
            assert await books_in(store) == [], "the books do not balance"
        await store.close()
        if pg_name:
            await pg_execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@pytest.fixture
async def store(store_factory) -> Store:
    return await store_factory("empty")


@pytest.fixture
async def demo_store(store_factory) -> Store:
    return await store_factory("demo")


@pytest.fixture
async def unreachable_store(unused_tcp_port):
    """A PostgreSQL store on a port where nothing listens: every use of it is refused."""
    store = Store(f"postgresql+asyncpg://postgres@127.0.0.1:{unused_tcp_port}/test")
    yield store
    await store.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(autouse=True)
async def no_bot_process_left():
    """A test that failed before stopping the ``rural-bot`` processes it started kills them here."""
    yield
    while processes.RUNNING:
        process = processes.RUNNING.pop()
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.fixture
async def telegram():
    """A Bot API double with no bot attached: for tests that start their own bot (or process)."""
    double = BotApiDouble()
    await double.start()
    try:
        yield double
    finally:
        await double.stop()


@dataclass
class BotUnderTest:
    double: BotApiDouble
    app: object
    store: Store
    clock: ManualClock

    def person(self, user_id: int, first_name: str, language_code: str = "zh-hans", username: str | None = None):
        return self.double.person(user_id, first_name, language_code=language_code, username=username)

    async def pump(self) -> None:
        """Wake the outbox pump, as its scheduled wake-up would, and wait until it is done."""
        self.app.bot_data["runtime"].kick()
        await settle(self.app)


PROVIDER_TOKEN = "284685063:TEST:the-double"  # a payment provider's test token, as @BotFather gives one


@contextlib.asynccontextmanager
async def running_bot(demo_store, clock, **more_settings):
    """The real Application, polling the Bot API double over HTTP, on the demo data.

    After the test, the log must hold no error: bad input is answered, never raised.
    """
    double = BotApiDouble()
    double.limits_clock = clock  # moving the clock gives Telegram's per-chat limits that time too
    await double.start()
    settings = Settings(bot_token=TOKEN, database_url=demo_store.url, telegram_base_url=double.base_url,
                        admin_ids=frozenset({900}), **more_settings)
    # Its per-person rate limit runs on people's time too, as the double's limits do.
    app = build_application(settings, demo_store, clock, pace=double.pace_time)
    errors = ErrorRecorder()
    logging.getLogger().addHandler(errors)
    double.settle = lambda: settle(app)
    await start_polling(app, poll_timeout=2)
    try:
        yield BotUnderTest(double, app, demo_store, clock)
    finally:
        await stop_polling(app)
        await double.stop()
        logging.getLogger().removeHandler(errors)
    assert not errors.records, "errors were logged: " + "; ".join(
        f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in errors.records)


@pytest.fixture
async def bot(demo_store, clock):
    """The bot without a payment provider: town buyers pay the carrier on delivery."""
    async with running_bot(demo_store, clock) as running:
        yield running


@pytest.fixture
async def paying_bot(demo_store, clock):
    """The bot with a payment provider (PAYMENT_PROVIDER_TOKEN): town buyers pay online."""
    async with running_bot(demo_store, clock, payment_provider_token=PROVIDER_TOKEN) as running:
        yield running


@pytest.fixture
async def restart(bot):
    """``await restart()`` stops the bot's Application and starts a new one on the same store,
    clock and double, as after a redeploy; ``restart(start=False)`` only stops it."""
    started = []

    async def again(start: bool = True) -> None:
        await stop_polling(bot.app)
        if not start:
            return
        app = second_application(bot, bot.store)
        bot.double.settle = lambda: settle(app)
        await start_polling(app, poll_timeout=2)
        started.append(app)
        bot.app = app

    yield again
    for app in started:
        await stop_polling(app)


@pytest.fixture
def postgres_only(backend):
    if backend != "postgresql":
        pytest.skip("two bot processes share one database only on PostgreSQL (SQLite has a single process)")


@pytest.fixture
async def webhook_bot(monkeypatch):
    """``await webhook_bot(database_url, double)``: a webhook bot on a free port, healthy and with
    its webhook set; the double's load balancer sends updates to every started one in turn."""
    stops: list[asyncio.Event] = []
    monkeypatch.setattr(runner, "wait_for_stop_signal", lambda: stops.pop(0).wait())  # instead of SIGTERM
    started: list[Served] = []
    async with aiohttp.ClientSession() as http:

        async def start(database_url: str, double: BotApiDouble, **more_settings) -> Served:
            port = free_port()
            stop = asyncio.Event()
            stops.append(stop)
            settings = Settings(bot_token=TOKEN, database_url=database_url, telegram_base_url=double.base_url,
                                listen_host="127.0.0.1", listen_port=port, webhook_url=PUBLIC_URL,
                                webhook_secret=SECRET, admin_ids=frozenset({900}), **more_settings)
            served = Served(port, asyncio.create_task(runner.serve(settings, webhook=True)), stop, http)
            started.append(served)
            double.webhook_targets = [s.base for s in started]

            def stopped() -> str | None:
                return f"the webhook bot stopped: {served.task.result()!r}" if served.task.done() else None

            await until_healthy(served.base, stopped, 10)
            await double.wait_for(lambda: double.webhook["url"], message="the webhook was not set")
            return served

        try:
            yield start
        finally:
            for served in started:
                served.stop.set()
            for served in started:
                assert await asyncio.wait_for(served.task, 10) == 0
            gc.unfreeze()  # serve froze this test process's objects; let its garbage be collected again
