"""Upgrades keep every row: a lived-in database at each revision, upgraded by the real
``rural-bot db upgrade``, still holds every row, and its schema is the models'.

The revisions come from Alembic's script directory, so a new migration is tested by itself; its
rows come from tests/support/migration_rows.py, which says how to add them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, func, inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from services import cashbook
from store.db import Store
from store.models import Base, CashEntry
from support.bots import pg_execute, pg_url
from support.migration_rows import REVISIONS, SEED, at, seed

HEAD = REVISIONS[-1]


@pytest.fixture
async def blank_database(backend, request, tmp_path):
    """The URL of a database with nothing in it, on ``backend``; a PostgreSQL one is dropped after."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'rural-bot.sqlite3'}"
        return
    templates = request.getfixturevalue("postgres_templates")
    if isinstance(templates, str):
        pytest.skip(templates)
    name = f"rural_m{os.getpid()}_{request.node.callspec.id.replace('-', '_')}"
    await pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await pg_execute(f'CREATE DATABASE "{name}"')
    yield pg_url(name)
    await pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_every_revision_has_rows_and_every_table_is_seeded():
    missing = [revision for revision in REVISIONS if revision not in SEED]
    assert not missing, (f"tests/support/migration_rows.py has no SEED entry for revision(s) {', '.join(missing)}: "
                         "add rows for the tables and columns they add (its docstring says how)")
    unknown = sorted(set(SEED) - set(REVISIONS))
    assert not unknown, f"tests/support/migration_rows.py seeds revision(s) that do not exist: {', '.join(unknown)}"


def nothing_left_empty(sync_connection, revision: str) -> list[str]:
    """Tables with no row, and columns with no value in any row, at ``revision``."""
    tables = MetaData()
    tables.reflect(sync_connection)
    empty = []
    for name, table in sorted(tables.tables.items()):
        if name == "alembic_version":
            continue
        if not sync_connection.execute(select(func.count()).select_from(table)).scalar():
            empty.append(f"table {name} has no row")
            continue
        for column in table.c:
            if not sync_connection.execute(select(func.count()).where(column.isnot(None))).scalar():
                empty.append(f"column {name}.{column.name} has no value in any row")
    return empty


def rows_at_head(sync_connection, inserted: dict[str, list[dict]]) -> dict[str, list]:
    """Per table: the number of rows, and each seeded row as it reads now (by primary key), in the
    columns it was given that still exist; both sides read through the models, so times come back
    aware on both databases."""
    found = {}
    for name, rows in inserted.items():
        table = Base.metadata.tables[name]
        key = table.primary_key.columns.values()
        count = sync_connection.execute(select(func.count()).select_from(table)).scalar()
        now = []
        for row in rows:
            columns = [table.c[column] for column in row if column in table.c]
            got = sync_connection.execute(select(*columns).where(*(c == row[c.name] for c in key))).one_or_none()
            now.append(None if got is None else dict(got._mapping))
        found[name] = [count, now]
    return found


def expected_at_head(inserted: dict[str, list[dict]]) -> dict[str, list]:
    return {name: [len(rows), [{k: v for k, v in row.items() if k in Base.metadata.tables[name].c} for row in rows]]
            for name, rows in inserted.items()}


def schema_differences(sync_connection) -> list:
    context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def upgrade_with_the_cli(url: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"} | {"DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


# Head too: there the upgrade has nothing to do, but the newest migration's rows are checked.
@pytest.mark.parametrize("revision", REVISIONS)
async def test_an_upgrade_from_each_revision_keeps_every_row_and_ends_at_the_models(
        revision, blank_database, tmp_path):
    assert revision in SEED, f"tests/support/migration_rows.py has no SEED entry for {revision}"
    store = Store(blank_database)
    await store.upgrade(revision)
    await store.close()

    engine = create_async_engine(blank_database)
    try:
        async with engine.begin() as connection:
            inserted = await connection.run_sync(seed, revision)
        async with engine.connect() as connection:
            empty = await connection.run_sync(nothing_left_empty, revision)
        assert not empty, (f"at revision {revision}: " + "; ".join(empty)
                           + ". Add rows that fill them to SEED in tests/support/migration_rows.py")

        result = upgrade_with_the_cli(blank_database, tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip().splitlines()[-1] == "database is up to date"

        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar() == HEAD
            assert await connection.run_sync(rows_at_head, inserted) == expected_at_head(inserted)
            assert await connection.run_sync(schema_differences) == []
            if connection.dialect.name == "sqlite":
                assert (await connection.execute(text("PRAGMA foreign_key_check"))).all() == []
                assert (await connection.execute(text("PRAGMA integrity_check"))).scalar() == "ok"
                names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
                assert not [name for name in names if name.startswith("_alembic_tmp")]
                # Indexes on an expression, which SQLite's reflection (and so schema_differences)
                # cannot see: a migration that copies their table must not lose them.
                indexes = (await connection.execute(text(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'villagers'"))).scalars().all()
                assert "ix_villagers_username_lower" in indexes, indexes
    finally:
        await engine.dispose()


async def test_an_upgrade_that_would_leave_rows_pointing_at_nothing_is_rolled_back_and_said_in_one_line(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rural-bot.sqlite3'}"
    store = Store(url)
    await store.upgrade("0002")
    await store.close()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(seed, "0002")
            # A line whose order was deleted while foreign keys were off (by hand, an old tool).
            await connection.execute(text("UPDATE order_lines SET order_id = 999 WHERE id = 3"))

        result = upgrade_with_the_cli(url, tmp_path)

        assert result.returncode == 1
        assert [line for line in result.stderr.splitlines() if not line.startswith("{")] == [
            "rural-bot: the upgrade from 0002 to " + HEAD + " was rolled back, the database is as it was: it would "
            "leave rows pointing at rows that are not there: 1 in order_lines (pointing at orders)"]
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar() == "0002"
            assert (await connection.execute(text("SELECT count(*) FROM order_lines"))).scalar() == 4
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            assert "listings" not in names
    finally:
        await engine.dispose()


async def test_the_cash_book_opens_with_the_cash_already_taken_at_pickups(tmp_path):
    """0014 writes one entry for each order picked up before the cash book, at its pickup's time."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'rural-bot.sqlite3'}"
    store = Store(url)
    await store.upgrade("0013")
    await store.close()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(seed, "0013")
        assert upgrade_with_the_cli(url, tmp_path).returncode == 0
        store = Store(url)
        async with store.read() as session:
            entries = (await session.scalars(select(CashEntry))).all()
            book = await cashbook.balance(session, 1)
        await store.close()
    finally:
        await engine.dispose()
    assert [(e.center_id, e.kind, e.amount_fen, e.fee_fen, e.order_id, e.seller_id, e.at, e.ref) for e in entries] == [
        (1, "collected", 1800, 0, 3, None, at(90), "pickup:3")]
    assert (book.on_hand, book.owed_to_county, book.fees, book.owed_to_sellers) == (1800, 1800, 0, {})
