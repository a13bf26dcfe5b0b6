"""The schema as migrated equals the models, on both databases, and migrating twice is harmless;
which errors mean "the database is away"."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from store.db import Store, is_unavailable
from store.models import Base


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
