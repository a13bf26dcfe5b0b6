"""How often a crash repeats an outbox message: a real ``rural-bot webhook`` process on
PostgreSQL sends many due notices ("your order is confirmed", one a villager) to the Bot API
double, is killed with SIGKILL at random moments while it sends, and is started again.

    python bench/outbox_kill.py [--messages 200] [--kills 10] [--lease 2] [--latency 0.02]
                                [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

It prints messages, kills, duplicates (extra copies a villager got) and lost (villagers told
nothing), beside a baseline run of the same messages by a process never killed. Telegram has no
idempotency key, so a kill between a send and its mark repeats that message: the target is no
message lost and at most one duplicate a kill.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/support/processes.py, tests/support/outbox_kills.py
sys.path.insert(0, str(ROOT / "bench"))

from webhook import SERVER_URL, fresh_database, pg_execute  # noqa: E402

from bot.sandbox.botapi import BotApiDouble  # noqa: E402
from services.clock import SystemClock  # noqa: E402
from store.db import Store  # noqa: E402
from support.outbox_kills import kill_while_sending, queue_confirmations  # noqa: E402


async def measure(server_url: str, name: str, messages: int, kills: int, lease: float, latency: float):
    url = await fresh_database(server_url, name)
    double = BotApiDouble()
    await double.start()
    store = Store(url)
    try:
        numbers = await queue_confirmations(store, SystemClock(), double, messages)
        double.latency = latency
        with tempfile.TemporaryDirectory() as folder:
            return await kill_while_sending(store, double, Path(folder), numbers, kills, lease=lease,
                                            finish_within=60 + messages / 10)
    finally:
        await store.close()
        await double.stop()
        await pg_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--lease", type=float, default=2.0, help="OUTBOX_LEASE, seconds")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds each send takes at the double")
    parser.add_argument("--database-url", default=SERVER_URL, help="a PostgreSQL server (a database is made on it)")
    args = parser.parse_args()
    for label, kills in (("baseline, never killed", 0), ("killed at random moments", args.kills)):
        figures = await measure(args.database_url, "rural_outbox_kill", args.messages, kills, args.lease,
                                args.latency)
        print(f"{label:26} {figures.line()}", flush=True)
        if kills:
            verdict = "ok" if figures.lost == 0 and figures.duplicates <= figures.kills else "FAILED"
            print(f"{'target':26} lost 0, duplicates <= kills: {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
