"""Backups: ``rural-bot db backup`` copies a SQLite database while villagers place orders, and
``db restore`` puts it back whole, but never under a running bot; on PostgreSQL the CLI gives the
pg_dump and pg_restore commands, which work as given. Before an upgrade with migrations to apply,
``db upgrade`` and the bot save a backup of the SQLite database beside it, and say where."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from services import cart as carts
from services import orders, villagers
from services.caps import Caps
from store.backup import check_backup, sqlite_path
from store.db import Store
from store.models import Order, Product, ServiceCenter
from support.migration_rows import REVISIONS, seed
from support.processes import TOKEN, start_bot, webhook_env
from support.store import count

VILLAGERS = 6
ORDERS_EACH = 40  # at most: the villagers stop once the backup is made
MANY_PENDING = Caps(pending_orders=ORDERS_EACH)  # the orders stay pending: above MAX_PENDING_ORDERS's 5


async def rural_bot(*args: str, database_url: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """The real CLI, run aside so that this test's event loop goes on placing orders meanwhile."""
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"} | {"DATABASE_URL": database_url} | env
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return subprocess.CompletedProcess(args, process.returncode, out.decode(), err.decode())


def messages(stderr: str) -> list[str]:
    """What the CLI said to a person on standard error (log events are JSON lines)."""
    return [line for line in stderr.splitlines() if line and not line.startswith("{")]


async def shop(store, clock, telegram_id: int, products: list[int], until: asyncio.Event) -> None:
    """A villager who orders again and again, a different basket each time, until ``until`` is set
    (on a busy machine the backup's process takes a while to start: they go on meanwhile)."""
    person = await villagers.enter(store, clock, telegram_id=telegram_id, first_name=f"V{telegram_id}",
                                   username=None, locale="zh_Hans")
    async with store.read() as session:
        center_id = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == "CG-01"))
    await villagers.set_center(store, person.id, center_id)
    for turn in range(ORDERS_EACH):
        if until.is_set():
            return
        for product_id in products[turn % 3: turn % 3 + 2]:
            cart = await carts.add_to_cart(store, person.id, product_id, 1 + turn % 2)
        await orders.place_order(store, clock, person.id, cart.checkout_token, caps=MANY_PENDING)


def read_orders(path: Path) -> dict[str, dict]:
    """Every order in a SQLite file, read with plain sqlite3: its total, lines and events."""
    connection = sqlite3.connect(path)
    try:
        found = {}
        for order_id, number, total in connection.execute("SELECT id, number, total_fen FROM orders"):
            lines = connection.execute("SELECT product_id, quantity, price_fen FROM order_lines WHERE order_id = ? "
                                       "ORDER BY id", (order_id,)).fetchall()
            events = connection.execute("SELECT status FROM order_events WHERE order_id = ?", (order_id,)).fetchall()
            found[number] = {"total": total, "lines": lines, "events": events}
        return found
    finally:
        connection.close()


def stock(path: Path) -> dict[int, int]:
    connection = sqlite3.connect(path)
    try:
        return dict(connection.execute("SELECT id, stock FROM products"))
    finally:
        connection.close()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_backup_taken_while_orders_are_placed_restores_whole_and_the_bot_starts_on_it(
        demo_store, clock, telegram, tmp_path):
    async with demo_store.read() as session:
        products = list(await session.scalars(select(Product.id).where(Product.is_active).order_by(Product.id)
                                              .limit(4)))
    async with demo_store.write() as session:
        await session.execute(Product.__table__.update().where(Product.id.in_(products)).values(stock=500))
    live = sqlite_path(demo_store.url)
    stock_before = stock(live)
    backed_up = asyncio.Event()
    shoppers = [asyncio.create_task(shop(demo_store, clock, 7000 + n, products, backed_up)) for n in range(VILLAGERS)]
    while await count(demo_store, Order) < 10:
        assert not any(task.done() for task in shoppers), [task.exception() for task in shoppers if task.done()]
        await asyncio.sleep(0.01)

    placed_before = await count(demo_store, Order)
    made = await rural_bot("db", "backup", str(tmp_path / "nightly.sqlite3"), database_url=demo_store.url, cwd=tmp_path)
    placed_after = await count(demo_store, Order)
    backed_up.set()
    await asyncio.gather(*shoppers)

    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"backed up {live} into {tmp_path / 'nightly.sqlite3'}")
    assert not list(tmp_path.glob("*.partial"))
    assert placed_before < placed_after < VILLAGERS * ORDERS_EACH, "orders went on while the backup was made"

    fresh = tmp_path / "restored" / "rural-bot.sqlite3"
    restored = await rural_bot("db", "restore", str(tmp_path / "nightly.sqlite3"), database_url=f"sqlite:///{fresh}",
                               cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert not Path(f"{fresh}-wal").exists() and not Path(f"{fresh}-shm").exists()
    connection = sqlite3.connect(fresh)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    connection.close()

    # The orders of one moment: each as the live database has it, whole, and the stock to match.
    in_backup, now = read_orders(fresh), read_orders(live)
    assert placed_before <= len(in_backup) <= placed_after
    assert {number: now[number] for number in in_backup} == in_backup
    assert all(order["lines"] and order["events"] for order in in_backup.values())
    for product_id, before in stock_before.items():
        ordered = sum(quantity for order in in_backup.values() for pid, quantity, _ in order["lines"]
                      if pid == product_id)
        assert stock(fresh)[product_id] == before - ordered

    bot = await start_bot("webhook", webhook_env(f"sqlite:///{fresh}", telegram), tmp_path)
    status, _ = await bot.terminate()
    assert status == 0
    assert not [e for e in bot.events() if e["level"] in ("error", "critical")]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_restore_is_refused_while_a_bot_runs_on_the_database(store_factory, telegram, tmp_path):
    store = await store_factory("demo")
    async with store.write() as session:
        session.add(ServiceCenter(code="LATE-01", names={"en": "Added after the backup"}, county_id=1))
    backup = tmp_path / "backup.sqlite3"
    assert (await rural_bot("db", "backup", str(backup), database_url=store.url, cwd=tmp_path)).returncode == 0
    async with store.write() as session:
        await session.execute(ServiceCenter.__table__.delete().where(ServiceCenter.code == "LATE-01"))
    await store.close()
    live = sqlite_path(store.url)

    bot = await start_bot("webhook", webhook_env(store.url, telegram), tmp_path)
    refused = await rural_bot("db", "restore", str(backup), database_url=store.url, cwd=tmp_path)
    second = await rural_bot("run", database_url=store.url, cwd=tmp_path, BOT_TOKEN=TOKEN,
                             TELEGRAM_BASE_URL=telegram.base_url)
    status, _ = await bot.terminate()

    assert refused.returncode == 1
    assert messages(refused.stderr) == [f"rural-bot: cannot restore: a rural-bot (run, webhook or demo) is running on "
                                        f"{live} (it holds {live}.lock); stop it first"]
    assert second.returncode == 1, "SQLite serves one bot process"
    assert messages(second.stderr)[-1].startswith("rural-bot: cannot start: a rural-bot (run, webhook or demo)")
    assert status == 0
    connection = sqlite3.connect(live)
    assert connection.execute("SELECT count(*) FROM service_centers WHERE code = 'LATE-01'").fetchone() == (0,)
    connection.close()

    restored = await rural_bot("db", "restore", str(backup), database_url=store.url, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert not Path(f"{live}-wal").exists() and not Path(f"{live}-shm").exists()
    connection = sqlite3.connect(live)
    assert connection.execute("SELECT count(*) FROM service_centers WHERE code = 'LATE-01'").fetchone() == (1,)
    connection.close()


async def test_a_restore_takes_only_a_sound_backup_of_this_bot(tmp_path):
    url = f"sqlite:///{tmp_path / 'rural-bot.sqlite3'}"
    (tmp_path / "notes.txt").write_text("not a database")
    other = sqlite3.connect(tmp_path / "other.sqlite3")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()

    for file, said in (("notes.txt", "is not a SQLite database"), ("other.sqlite3", "not one of rural-bot"),
                       ("missing.sqlite3", "there is no file")):
        result = await rural_bot("db", "restore", str(tmp_path / file), database_url=url, cwd=tmp_path)
        assert result.returncode == 1
        assert len(messages(result.stderr)) == 1 and said in result.stderr
    assert not (tmp_path / "rural-bot.sqlite3").exists()

    result = await rural_bot("db", "backup", str(tmp_path / "rural-bot.sqlite3"), database_url=url, cwd=tmp_path)
    assert result.returncode == 1 and "there is no database" in result.stderr


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_on_postgresql_backup_gives_the_pg_dump_command_and_it_works(demo_store, tmp_path):
    file = tmp_path / "rural bot.dump"
    result = await rural_bot("db", "backup", str(file), database_url=demo_store.url, cwd=tmp_path)

    database = demo_store.url.rsplit("/", 1)[1]
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    assert result.returncode == 1, "nothing was written"
    said = messages(result.stderr)
    assert f"  pg_dump --format=custom --file='{file}' {url}" in said
    assert f"  pg_restore --clean --if-exists --no-owner --dbname={url} '{file}'" in said
    assert not file.exists()

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed here")
    dump = said[said.index("Back up (while the bots run):") + 1].strip()
    assert subprocess.run(shlex.split(dump), capture_output=True, timeout=60).returncode == 0
    assert file.stat().st_size > 0
    async with demo_store.write() as session:
        await session.execute(Product.__table__.update().values(stock=0))
    restore = said[said.index("Restore (with the bots stopped):") + 1].strip()
    await demo_store.close()  # the bots stopped
    ran = subprocess.run(shlex.split(restore), capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    async with demo_store.read() as session:
        assert await session.scalar(select(func.count()).where(Product.stock > 0)) > 0



async def database_before_head(folder: Path) -> tuple[str, dict[str, list[dict]]]:
    """A SQLite database one migration short of head, with the rows of tests/support/migration_rows.py."""
    url = f"sqlite+aiosqlite:///{folder / 'rural-bot.sqlite3'}"
    store = Store(url)
    await store.upgrade(REVISIONS[-2])
    await store.close()
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        rows = await connection.run_sync(seed, REVISIONS[-2])
    await engine.dispose()
    return url, rows


def counts(path: Path, tables) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
    finally:
        connection.close()


async def test_db_upgrade_saves_a_backup_of_the_old_database_first_and_says_where(tmp_path):
    url, rows = await database_before_head(tmp_path)
    live = sqlite_path(url)

    upgraded = await rural_bot("db", "upgrade", database_url=url, cwd=tmp_path)

    assert upgraded.returncode == 0, upgraded.stderr
    said, done = upgraded.stdout.strip().splitlines()
    backups = list(tmp_path.glob(f"rural-bot.sqlite3.before-{REVISIONS[-1]}.*.bak"))
    assert len(backups) == 1 and re.fullmatch(r"rural-bot\.sqlite3\.before-\w+\.\d{4}-\d\d-\d\dT\d{4}Z\.bak",
                                              backups[0].name)
    assert said == f"rural-bot: saved a backup of the database before upgrading it: {backups[0]}"
    assert done == "database is up to date"
    events = [json.loads(line) for line in upgraded.stderr.splitlines() if line.startswith("{")]
    assert [e["path"] for e in events if e["event"].startswith("saved a backup")] == [str(backups[0])]
    assert check_backup(backups[0]) == REVISIONS[-2]
    assert counts(backups[0], rows) == {table: len(found) for table, found in rows.items()}
    assert counts(live, rows) == counts(backups[0], rows)

    again = await rural_bot("db", "upgrade", database_url=url, cwd=tmp_path)
    assert again.stdout.strip().splitlines() == ["database is up to date"]
    assert len(list(tmp_path.glob("*.bak"))) == 1, "nothing to apply, no backup"


async def test_the_bot_saves_a_backup_before_it_upgrades_at_start(telegram, tmp_path):
    url, rows = await database_before_head(tmp_path)

    bot = await start_bot("webhook", webhook_env(url, telegram), tmp_path)
    status, _ = await bot.terminate()

    assert status == 0
    [event] = [e for e in bot.events() if e["event"].startswith("saved a backup")]
    assert event["event"] == ("saved a backup of the database before upgrading it "
                              f"from {REVISIONS[-2]} to {REVISIONS[-1]}")
    assert check_backup(Path(event["path"])) == REVISIONS[-2]
    assert counts(Path(event["path"]), rows) == {table: len(found) for table, found in rows.items()}


async def test_a_new_database_needs_no_backup(tmp_path):
    url = f"sqlite:///{tmp_path / 'rural-bot.sqlite3'}"
    result = await rural_bot("db", "upgrade", database_url=url, cwd=tmp_path)
    assert result.stdout.strip().splitlines() == ["database is up to date"]
    assert not list(tmp_path.glob("*.bak"))
