"""The schema as migrated equals the models, on both databases, and migrating twice is harmless;
which errors mean "the database is away"; which commits wait for the disk."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from services import cart as carts
from services import orders, villagers
from services.updates import UpdateLedger
from store.db import Store, is_unavailable
from store.models import Base, Product, ServiceCenter


async def test_migrations_build_exactly_the_models(store):
    await store.upgrade()  # already at head: a no-op

    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)

    async with store.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_only_an_unreachable_or_busy_database_counts_as_unavailable(store, backend, tmp_path,
                                                                        unreachable_store):
    async def error_of(store: Store, *statements: str) -> Exception:
        with pytest.raises(Exception) as caught:
            async with store.read() as session:
                for sql in statements:
                    await session.execute(text(sql))
        return caught.value

    assert not is_unavailable(await error_of(store, "SELEC 1"))  # a mistake in the SQL is a bug
    assert not is_unavailable(await error_of(store, "SELECT no_such_column FROM villagers"))
    with pytest.raises(FileNotFoundError) as missing:
        (tmp_path / "no such file").read_bytes()
    assert not is_unavailable(missing.value)

    assert is_unavailable(await error_of(unreachable_store, "SELECT 1"))  # connection refused

    if backend == "sqlite":  # another writer holds SQLite's lock and we do not wait for it
        holder = sqlite3.connect(make_url(store.url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert is_unavailable(await error_of(
                store, "PRAGMA busy_timeout=0", "INSERT INTO processed_updates (update_id, at) VALUES (1, '2026-11-22')"))
        finally:
            holder.close()


async def test_what_a_person_can_redo_is_committed_without_waiting_for_the_disk_and_an_order_waits(
        demo_store, backend, clock):
    sent: list[str] = []
    event.listen(demo_store.engine.sync_engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_: sent.append(statement))

    async def waits_for_the_disk(change):
        """What ``change`` returned, and whether its commit waited for the disk."""
        sent.clear()
        result = await change()
        assert any(s.lstrip().upper().startswith(("INSERT", "UPDATE")) for s in sent), sent  # it wrote
        waits = any("synchronous_commit TO ON" in s for s in sent)
        return result, waits

    person, waits = await waits_for_the_disk(lambda: villagers.enter(
        demo_store, clock, telegram_id=555, first_name="Wang", username=None, locale="zh_Hans"))
    assert not waits
    async with demo_store.read() as session:
        center_id = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == "CG-01"))
        rice = await session.scalar(select(Product.id).where(Product.sku == "FD-001"))
    _, waits = await waits_for_the_disk(lambda: villagers.set_center(demo_store, person.id, center_id))
    assert not waits
    cart, waits = await waits_for_the_disk(lambda: carts.add_to_cart(demo_store, person.id, rice, 2))
    assert not waits
    taken, waits = await waits_for_the_disk(lambda: UpdateLedger(demo_store, clock).take(77))
    assert taken and not waits

    placed, waits = await waits_for_the_disk(lambda: orders.place_order(demo_store, clock, person.id,
                                                                        cart.checkout_token))
    # an order, its stock and its card wait for the disk (SQLite's commits never do: see below)
    assert waits == (backend == "postgresql")
    # what was committed without waiting is there for everyone at once
    assert (await villagers.get(demo_store, person.id)).center_id == center_id
    assert [line.quantity for line in (await orders.order_view(demo_store, placed.order.id)).lines] == [2]


async def test_a_write_that_need_not_wait_for_the_disk_leaves_its_connection_waiting_again(store, backend):
    one_connection = Store(store.url, pool_size=1)
    setting = "PRAGMA synchronous" if backend == "sqlite" else "SHOW synchronous_commit"
    try:
        async with one_connection.write(durable=False) as session:
            inside = str(await session.scalar(text(setting)))
        async with one_connection.write() as session:
            after = str(await session.scalar(text(setting)))
    finally:
        await one_connection.close()
    # SQLite's WAL commits never wait for the disk (NORMAL, 1); PostgreSQL's wait unless told
    assert (inside, after) == (("1", "1") if backend == "sqlite" else ("off", "on"))
