"""Each update is taken once, and the ids of updates arriving together are written together."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select

from services.updates import UpdateLedger
from store.db import Store, is_unavailable
from store.models import ProcessedUpdate


def count_commits(store: Store) -> list[object]:
    """A list that grows by one at each COMMIT of ``store``."""
    commits: list[object] = []
    event.listen(store.engine.sync_engine, "commit", commits.append)
    return commits


async def stored_ids(store: Store) -> list[int]:
    async with store.read() as session:
        return list(await session.scalars(select(ProcessedUpdate.update_id).order_by(ProcessedUpdate.update_id)))


async def test_each_update_is_taken_once_and_a_burst_is_one_write(store, clock):
    ledger = UpdateLedger(store, clock)
    commits = count_commits(store)
    ids = [101, 102, 103, 104, 105, 101, 102, 103, 104, 105, 101]  # some delivered twice or three times

    outcomes = await asyncio.gather(*(ledger.take(update_id) for update_id in ids))

    assert outcomes == [True] * 5 + [False] * 6
    assert len(commits) == 1  # all eleven arrived together: one transaction
    assert await stored_ids(store) == [101, 102, 103, 104, 105]


async def test_an_update_taken_by_another_process_is_not_taken_again(store, clock):
    here, there = UpdateLedger(store, clock), UpdateLedger(store, clock)

    assert await there.take(7) is True
    assert await asyncio.gather(here.take(7), here.take(8)) == [False, True]
    assert await there.take(8) is False
    assert await stored_ids(store) == [7, 8]


async def test_takers_that_arrive_during_a_write_go_in_the_next_one(store, clock):
    ledger = UpdateLedger(store, clock)
    commits = count_commits(store)
    first = asyncio.ensure_future(ledger.take(1))
    await asyncio.sleep(0)  # the first taker is in, and its write is due before the later ones arrive
    later = [asyncio.ensure_future(ledger.take(update_id)) for update_id in (2, 3, 4)]

    assert await asyncio.gather(first, *later) == [True] * 4
    assert len(commits) == 2
    assert await stored_ids(store) == [1, 2, 3, 4]


async def test_a_store_that_cannot_be_reached_fails_every_taker_and_the_ledger_recovers(store, clock,
                                                                                          unreachable_store):
    ledger = UpdateLedger(unreachable_store, clock)
    outcomes = await asyncio.gather(ledger.take(1), ledger.take(2), return_exceptions=True)

    assert all(isinstance(outcome, Exception) and is_unavailable(outcome) for outcome in outcomes), outcomes
    ledger.store = store  # the database is back
    assert await asyncio.gather(ledger.take(1), ledger.take(2)) == [True, True]
    assert await stored_ids(store) == [1, 2]


async def test_a_cancelled_taker_does_not_hold_up_the_others(store, clock):
    ledger = UpdateLedger(store, clock)
    gone = asyncio.ensure_future(ledger.take(1))
    stays = asyncio.ensure_future(ledger.take(2))
    await asyncio.sleep(0)
    gone.cancel()

    assert await stays is True
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert 2 in await stored_ids(store)
