"""The /metrics backlog count at 1,000,000 promotion copies, with the partial index on pending
copies (migration 0008) and without it, in the same run, on SQLite and on PostgreSQL.

    python bench/metrics_backlog.py [--copies 1000000] [--pending 10000] [--runs 30]
                                    [--postgres postgresql://postgres@127.0.0.1:5432/postgres | --postgres none]

The store holds ``--copies`` promotion copies (100 promotions to 10,000 villagers), ``--pending``
of them still to be sent (one promotion going out) and the rest sent. Each database is migrated
to head, then ``services.outbox.backlog`` (what every scrape runs) is timed ``--runs`` times with
the index, and again after dropping it (and refreshing the planner's statistics both times). It
prints the median and the slowest run of each, and the plan each database chose.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402

from services import outbox  # noqa: E402
from store.db import Store  # noqa: E402
from store.models import PENDING_COPY, Broadcast, BroadcastDelivery, Villager  # noqa: E402

INDEX = "ix_broadcast_deliveries_pending"
CREATE_INDEX = f"CREATE INDEX {INDEX} ON broadcast_deliveries (status) WHERE status = 'pending'"
PROMOTIONS = 100


async def fill(store: Store, copies: int, pending: int) -> None:
    """``copies`` copies over PROMOTIONS promotions, the last ``pending`` of them pending."""
    now = datetime.now(timezone.utc)
    people = -(-copies // PROMOTIONS)
    async with store.write() as session:
        for start in range(0, people, 5000):
            await session.execute(insert(Villager), [
                dict(telegram_id=10_000_000 + i, first_name=f"V{i}", locale="zh_Hans", created_at=now,
                     last_seen_at=now) for i in range(start, min(people, start + 5000))])
        await session.execute(insert(Broadcast), [
            dict(admin_telegram_id=1, status="done", texts={"en": "sale"}, created_at=now, total=people)
            for _ in range(PROMOTIONS)])
    # One INSERT ... SELECT on the server side: every (promotion, villager) pair, numbered so that
    # the newest ``pending`` pairs are the pending ones.
    async with store.write() as session:
        await session.execute(text(
            "INSERT INTO broadcast_deliveries (broadcast_id, villager_id, status, attempts, error) "
            "SELECT b.id, v.id, CASE WHEN (b.id - 1) * :people + v.n >= :sent THEN 'pending' ELSE 'sent' END, "
            "0, '' FROM broadcasts b CROSS JOIN "
            "(SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS n FROM villagers) v "
            "WHERE (b.id - 1) * :people + v.n < :copies"),
            {"people": people, "sent": copies - pending, "copies": copies})


async def analyze(store: Store) -> None:
    """Fresh planner statistics (and on PostgreSQL the visibility map, as autovacuum keeps it)."""
    async with store.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE" if store.engine.dialect.name == "sqlite" else "VACUUM ANALYZE"))


async def plan(store: Store, label: str) -> str:
    """The plan the database chose; ``label`` makes the text new (a cached EXPLAIN keeps its old plan)."""
    query = select(func.count()).select_from(BroadcastDelivery).where(PENDING_COPY)
    async with store.read() as session:
        compiled = str(query.compile(store.engine, compile_kwargs={"literal_binds": True}))
        if store.engine.dialect.name == "sqlite":
            rows = await session.execute(text(f"EXPLAIN QUERY PLAN {compiled} /* {label} */"))
            return "; ".join(row[-1] for row in rows)
        rows = await session.execute(text(f"EXPLAIN {compiled} /* {label} */"))
        return "; ".join(row[0].strip() for row in rows if "Scan" in row[0])


async def timed(store: Store, runs: int) -> tuple[float, float, int]:
    """(median ms, slowest ms, the pending count) of ``runs`` backlog reads, after one warm-up."""
    now = datetime.now(timezone.utc)
    counted = (await outbox.backlog(store, now))["promotions"]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await outbox.backlog(store, now)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples), counted


async def measure(url: str, copies: int, pending: int, runs: int) -> None:
    store = Store(url)
    try:
        await store.upgrade()
        started = time.perf_counter()
        await fill(store, copies, pending)
        async with store.read() as session:
            total = await session.scalar(select(func.count()).select_from(BroadcastDelivery))
        print(f"{store.engine.dialect.name}: {total:,} promotion copies, {pending:,} pending "
              f"(filled in {time.perf_counter() - started:.0f} s)", flush=True)
        for label in ("with the partial index", "without it (dropped)"):
            if label.startswith("without"):
                async with store.write() as session:
                    await session.execute(text(f"DROP INDEX {INDEX}"))
            if not store.engine.dialect.name == "sqlite":
                await analyze(store)  # as autovacuum does; the bot runs no ANALYZE on SQLite
            median, slowest, counted = await timed(store, runs)
            assert counted == pending, (counted, pending)
            print(f"  {label:24} median {median:8.2f} ms, slowest {slowest:8.2f} ms   plan: {await plan(store, label)}",
                  flush=True)
        async with store.write() as session:
            await session.execute(text(CREATE_INDEX))
    finally:
        await store.close()


async def pg_execute(server_url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=1_000_000)
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server (a database is made on it and dropped), or 'none'")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as folder:
        await measure(f"sqlite+aiosqlite:///{folder}/bench.sqlite3", args.copies, args.pending, args.runs)
    if args.postgres != "none":
        name = "rural_bench_metrics_backlog"
        await pg_execute(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await pg_execute(args.postgres, f'CREATE DATABASE "{name}"')
        try:
            url = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
            await measure(f"{url}/{name}", args.copies, args.pending, args.runs)
        finally:
            await pg_execute(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
