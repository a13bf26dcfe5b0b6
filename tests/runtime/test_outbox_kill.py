"""A real ``rural-bot webhook`` process on PostgreSQL, killed with SIGKILL at random moments while
it sends many due notices, and started again: no notice is lost, and at most the one message
each kill interrupted is sent twice (bench/outbox_kill.py measures it at a larger scale)."""

from __future__ import annotations

from services.clock import SystemClock
from support.outbox_kills import kill_while_sending, queue_confirmations

MESSAGES = 40
KILLS = 3


async def test_a_bot_killed_while_sending_loses_nothing_and_repeats_at_most_one_message_a_kill(
        postgres_only, demo_store, telegram, tmp_path):
    numbers = await queue_confirmations(demo_store, SystemClock(), telegram, MESSAGES)
    telegram.latency = 0.02
    figures = await kill_while_sending(demo_store, telegram, tmp_path, numbers, KILLS)
    print(figures.line())
    assert figures.kills >= 2, "the bot finished before it could be killed enough times"
    assert figures.lost == 0
    assert figures.duplicates <= figures.kills
