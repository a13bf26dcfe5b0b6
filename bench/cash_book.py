"""A busy province's cash book: how long a center's balance (/cash) and the month's figures
(/stats) take when the ledger holds many entries.

    python bench/cash_book.py [--entries 200000] [--centers 16] [--database-url postgresql://...]

Every balance is a sum over the center's entries (the ledger is append-only: nothing is kept
up to date beside it), so this is what the design costs. It prints, each beside a baseline
measured in the same run on the same rows:
- ``cashbook.balance`` of one center (the /cash screen's cash on hand, owed to the county and
  to each seller, fees), p50 and p99 over 50 calls, beside reading the center's entries into
  the process and adding them up there;
- ``cash.figures`` for every center (the /stats lines), beside a bare COUNT(*) of the ledger.

No target is set by the issue; a /cash answer well under 100 ms at 200,000 entries is the aim.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402

from bot.config import normalize_database_url  # noqa: E402
from services import cash, cashbook  # noqa: E402
from services.cashbook import Entry  # noqa: E402
from store.db import Store  # noqa: E402
from store.models import CashEntry, County, ServiceCenter, Villager  # noqa: E402

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)


async def fill(store: Store, entries: int, centers: int) -> list[int]:
    """``entries`` entries over ``centers`` centers and a year: pickups (a third of them a
    seller's produce), refunds, services, payouts and handovers."""
    rng = random.Random(23)
    async with store.write() as session:
        county = County(name="苍溪县", names={})
        session.add(county)
        await session.flush()
        rows = [ServiceCenter(code=f"CG-{n:02d}", names={}, county_id=county.id) for n in range(centers)]
        sellers = [Villager(telegram_id=5000 + n, first_name=f"S{n}", created_at=NOW, last_seen_at=NOW)
                   for n in range(50)]
        session.add_all(rows + sellers)
        await session.flush()
        center_ids, seller_ids = [c.id for c in rows], [s.id for s in sellers]
    kinds = [(Entry.COLLECTED, 1, 6), (Entry.REFUND, -1, 1), (Entry.SERVICE, 1, 2), (Entry.PAYOUT, -1, 1),
             (Entry.HANDOVER, -1, 1)]
    weights = [k[2] for k in kinds]
    batch = []
    for n in range(entries):
        kind, sign, _ = rng.choices(kinds, weights)[0]
        seller = rng.choice(seller_ids) if kind in (Entry.PAYOUT,) or (kind == Entry.COLLECTED and n % 3 == 0) else None
        amount = rng.randint(100, 20000)
        batch.append({"center_id": rng.choice(center_ids), "kind": str(kind), "amount_fen": sign * amount,
                      "fee_fen": amount // 100 if sign > 0 else 0,
                      "at": NOW - timedelta(minutes=rng.randint(0, 365 * 24 * 60)), "seller_id": seller,
                      "ref": f"bench:{n}", "note": ""})
        if len(batch) == 5000:
            async with store.write() as session:
                await session.execute(insert(CashEntry), batch)
            batch = []
    if batch:
        async with store.write() as session:
            await session.execute(insert(CashEntry), batch)
    return center_ids


async def timed(call, times: int) -> tuple[float, float]:
    took = []
    for _ in range(times):
        start = time.perf_counter()
        await call()
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.99) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--centers", type=int, default=16)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = normalize_database_url(args.database_url) if args.database_url else \
            f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        store = Store(url)
        await store.upgrade()
        start = time.perf_counter()
        centers = await fill(store, args.entries, args.centers)
        print(f"{args.entries:,} entries at {args.centers} centers written in {time.perf_counter() - start:.1f} s "
              f"({url.split(':')[0]})")
        center = centers[0]

        async def balance():
            async with store.read() as session:
                return await cashbook.balance(session, center)

        async def by_hand():  # the baseline: every entry of the center read, and added up here
            async with store.read() as session:
                rows = (await session.execute(select(CashEntry.seller_id, CashEntry.amount_fen, CashEntry.fee_fen)
                                              .where(CashEntry.center_id == center))).all()
            return sum(amount for _, amount, _ in rows)

        async def figures():
            return await cash.figures(store, NOW, "Asia/Shanghai")

        async def count():
            async with store.read() as session:
                return await session.scalar(select(func.count()).select_from(CashEntry))

        book = await balance()
        assert book.on_hand == await by_hand(), "the balance and the entries disagree"
        for name, call, baseline, base_name in (
                ("one center's balance (/cash)", balance, by_hand, "its entries read and added up in Python"),
                ("every center's figures (/stats)", figures, count, "COUNT(*) of the ledger")):
            p50, p99 = await timed(call, 50)
            b50, b99 = await timed(baseline, 50)
            print(f"{name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms · baseline, {base_name}: "
                  f"p50 {b50:.1f} ms, p99 {b99:.1f} ms")
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
