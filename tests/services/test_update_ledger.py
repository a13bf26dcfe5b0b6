"""Each update is claimed once, then marked done; a claim that lapsed (its process died) lets the
update be taken again; a handler's durable change and its done mark commit together. The ids of
updates arriving together are written together. A polled update's claim keeps its body until it
is done, for the next polling process to hand over."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import CONCURRENT_UPDATES
from services.updates import CLAIM_FOR, HAND_OVER_WITHIN, KEEP, UpdateInProgress, UpdateLedger, forget_old
from store.db import UPDATE_IN_HAND, Store, UpdateDoneElsewhere, UpdateInHand, alembic_config, is_unavailable
from store.models import County, ProcessedUpdate


def count_commits(store: Store) -> list[object]:
    """A list that grows by one at each COMMIT of ``store``."""
    commits: list[object] = []
    event.listen(store.engine.sync_engine, "commit", commits.append)
    return commits


async def stored_ids(store: Store) -> list[int]:
    async with store.read() as session:
        return list(await session.scalars(select(ProcessedUpdate.update_id).order_by(ProcessedUpdate.update_id)))


async def done_ids(store: Store) -> list[int]:
    async with store.read() as session:
        return list(await session.scalars(select(ProcessedUpdate.update_id).where(ProcessedUpdate.done_at.is_not(None))
                                          .order_by(ProcessedUpdate.update_id)))


async def test_each_update_is_taken_once_and_a_burst_is_one_write(store, clock):
    ledger = UpdateLedger(store, clock)
    commits = count_commits(store)
    ids = [101, 102, 103, 104, 105, 101, 102, 103, 104, 105, 101]  # some delivered twice or three times

    outcomes = await asyncio.gather(*(ledger.take(update_id) for update_id in ids), return_exceptions=True)

    assert outcomes[:5] == [True] * 5
    assert all(isinstance(o, UpdateInProgress) for o in outcomes[5:]), outcomes  # the first delivery holds them
    assert len(commits) == 1  # all eleven arrived together: one transaction
    assert await stored_ids(store) == [101, 102, 103, 104, 105]

    commits.clear()
    await asyncio.gather(*(ledger.done(update_id) for update_id in (101, 102, 103, 104, 105)))
    assert len(commits) == 1  # the done marks of a burst: one transaction too
    assert await done_ids(store) == [101, 102, 103, 104, 105]
    assert await asyncio.gather(*(ledger.take(update_id) for update_id in ids)) == [False] * len(ids)


async def test_an_update_another_process_holds_is_in_progress_until_it_is_done(store, clock):
    here, there = UpdateLedger(store, clock), UpdateLedger(store, clock)

    assert await there.take(7) is True
    outcomes = await asyncio.gather(here.take(7), here.take(8), return_exceptions=True)
    assert isinstance(outcomes[0], UpdateInProgress) and outcomes[0].until == clock.now() + CLAIM_FOR
    assert outcomes[1] is True
    await there.done(7)
    await here.done(8)
    assert await asyncio.gather(here.take(7), there.take(8)) == [False, False]  # duplicates: no effect
    assert await stored_ids(store) == [7, 8]


async def test_a_claim_that_lapsed_is_taken_again_and_a_done_update_never_is(store, clock):
    dead, alive = UpdateLedger(store, clock), UpdateLedger(store, clock, claim_for=timedelta(seconds=5))
    assert await dead.take(7) is True  # and its process dies before the update is done
    assert await alive.take(8) is True
    await alive.done(8)

    clock.advance(CLAIM_FOR - timedelta(seconds=1))
    with pytest.raises(UpdateInProgress):
        await alive.take(7)
    clock.advance(timedelta(seconds=1))
    assert await alive.take(7) is True  # lapsed: taken again, now for 5 s
    with pytest.raises(UpdateInProgress):
        await dead.take(7)
    clock.advance(timedelta(days=1))
    assert await dead.take(8) is False  # done stays done, however long ago
    await alive.done(7)
    assert await dead.take(7) is False


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
    with pytest.raises(Exception) as marking:
        await ledger.done(1)
    assert is_unavailable(marking.value)

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


async def in_handler(store: Store, clock, update_id: int, *changes, durable: bool = True) -> UpdateInHand:
    """Run each ``change(session)`` in a write of its own, as the handler of ``update_id`` would."""
    in_hand = UpdateInHand(update_id, clock.now, asyncio.current_task(), handler_running=True)
    token = UPDATE_IN_HAND.set(in_hand)
    try:
        for change in changes:
            async with store.write(durable=durable) as session:
                await change(session)
        return in_hand
    finally:
        UPDATE_IN_HAND.reset(token)


async def add_county(session, name: str) -> None:
    """The handler's change: a row anyone can see."""
    await session.execute(insert(County).values(name=name, names={}))


async def counties(store: Store) -> list[str]:
    async with store.read() as session:
        return list(await session.scalars(select(County.name).order_by(County.name)))


async def test_a_handlers_change_and_its_done_mark_commit_together_or_not_at_all(store, clock):
    ledger = UpdateLedger(store, clock)
    assert await ledger.take(1) is True and await ledger.take(2) is True

    async def fails(session):
        await add_county(session, "Two")
        raise ValueError("the handler fails half-way")

    with pytest.raises(ValueError):
        await in_handler(store, clock, 2, fails)
    assert await done_ids(store) == [] and await counties(store) == []  # neither the change nor the mark

    assert (await in_handler(store, clock, 1, lambda session: add_county(session, "One"))).done
    assert await done_ids(store) == [1] and await counties(store) == ["One"]
    assert await ledger.take(1) is False


async def test_a_change_that_is_not_durable_leaves_the_update_to_the_durable_one(store, clock):
    """The desk's typed reason: the partner's form step is cleared (not durable), then the
    decision is taken (durable). A crash in between must leave the update to be handled again."""
    ledger = UpdateLedger(store, clock)
    assert await ledger.take(4) is True

    step = await in_handler(store, clock, 4, lambda session: add_county(session, "Step"), durable=False)
    assert not step.done and await done_ids(store) == [] and await counties(store) == ["Step"]
    clock.advance(CLAIM_FOR)  # and the process dies here: the redelivery takes it again
    assert await ledger.take(4) is True

    decided = await in_handler(store, clock, 4, lambda session: add_county(session, "Step again"), durable=False)
    assert not decided.done
    assert (await in_handler(store, clock, 4, lambda session: add_county(session, "Decision"))).done
    assert await done_ids(store) == [4] and await counties(store) == ["Decision", "Step", "Step again"]
    assert await ledger.take(4) is False


async def test_a_polled_update_keeps_its_body_until_done_and_the_next_poller_gets_it_back(store, clock):
    dead = UpdateLedger(store, clock)
    commits = count_commits(store)
    bodies = {update_id: {"update_id": update_id, "message": {"text": f"hello {update_id}"}}
              for update_id in (11, 12, 13)}
    for update_id in (11, 12, 13):  # fetched together
        dead.receive(update_id, bodies[update_id])
    await dead.received_stored()  # before the next getUpdates confirms them to Telegram
    assert len(commits) == 1 and await stored_ids(store) == [11, 12, 13]
    assert await asyncio.gather(*(dead.take(update_id) for update_id in (11, 12, 13)),
                                dead.take(14)) == [True] * 4  # 14 came by webhook: Telegram sends it again itself
    await dead.done(11)
    await in_handler(store, clock, 12, lambda session: add_county(session, "Twelve"))
    async with store.read() as session:
        kept = dict((await session.execute(select(ProcessedUpdate.update_id, ProcessedUpdate.body))).all())
    assert kept == {11: None, 12: None, 13: bodies[13], 14: None}  # a done update's body is gone
    # ... and the process dies with 13 in hand. The next polling process, at once:
    successor = UpdateLedger(store, clock)
    assert await successor.release_unfinished() == [(13, bodies[13])]
    successor.receive(13, bodies[13])
    assert await successor.take(13) is True  # released: no need to wait for the claim to lapse
    with pytest.raises(UpdateInProgress):
        await successor.take(14)  # not handed over: its claim still holds until it lapses
    await successor.done(13)
    assert await successor.release_unfinished() == []


async def test_a_polled_update_left_unfinished_long_ago_is_not_handed_over(store, clock):
    """A process died with an update in hand, and the bot was started again only much later: by
    then the person has tapped again or moved on, so the old tap is not done now."""
    dead = UpdateLedger(store, clock)
    dead.receive(21, {"update_id": 21, "message": {"text": "✅ Confirm"}})
    await dead.received_stored()
    assert await dead.take(21) is True
    clock.advance(HAND_OVER_WITHIN + timedelta(seconds=1))
    successor = UpdateLedger(store, clock)
    assert await successor.release_unfinished() == []
    async with store.read() as session:
        assert (await session.execute(select(ProcessedUpdate.body, ProcessedUpdate.done_at))).all() == [(None, None)]
    assert await successor.release_unfinished() == []


async def test_a_process_that_outlived_its_claim_has_its_change_rolled_back(store, clock):
    slow, other = UpdateLedger(store, clock), UpdateLedger(store, clock)
    assert await slow.take(5) is True
    clock.advance(CLAIM_FOR)  # slow is stuck past its claim
    assert await other.take(5) is True
    await in_handler(store, clock, 5, lambda session: add_county(session, "Other"))

    with pytest.raises(UpdateDoneElsewhere):
        await in_handler(store, clock, 5, lambda session: add_county(session, "Slow"))
    assert await counties(store) == ["Other"]


async def test_forget_old_drops_old_ids_done_or_not(store, clock):
    ledger = UpdateLedger(store, clock)
    assert await ledger.take(1) is True and await ledger.take(2) is True
    await ledger.done(1)
    clock.advance(KEEP)
    assert await ledger.take(3) is True
    clock.advance(timedelta(seconds=1))

    assert await forget_old(store, clock.now()) == 2
    assert await stored_ids(store) == [3]


async def test_updates_taken_before_claims_existed_count_as_done(store, clock):
    def downgrade(connection):
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")

    # A plain engine: SQLite's connections have foreign keys off unless told, as migrations need.
    engine = create_async_engine(store.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(downgrade)
            await connection.execute(text("INSERT INTO processed_updates (update_id, at) VALUES (41, :at)"),
                                     {"at": clock.now()})
    finally:
        await engine.dispose()
    await store.upgrade()
    assert await done_ids(store) == [41]
    assert await UpdateLedger(store, clock).take(41) is False


async def test_a_polled_update_waiting_for_its_turn_is_claimed_with_its_body_already(bot):
    """Sixteen updates are handled at once; a seventeenth waits for a turn. It was confirmed to
    Telegram when the next ones were asked for, so its claim and body are in the store already."""
    people = [bot.person(5000 + n, f"P{n}", language_code="en") for n in range(CONCURRENT_UPDATES + 1)]
    bot.double.latency = 2.0  # each reply takes 2 s to send: the handlers hold their turns meanwhile
    sending = [asyncio.create_task(person.send("/help")) for person in people]

    async def waiting_and_claimed() -> bool:
        async with bot.store.read() as session:
            kept = await session.scalars(select(ProcessedUpdate.body).where(ProcessedUpdate.done_at.is_(None)))
            bodies = [body for body in kept if body is not None]
        return (bot.app.update_processor.current_concurrent_updates == CONCURRENT_UPDATES
                and len(bodies) == len(people))

    await bot.double.wait_for(waiting_and_claimed, timeout=1.5, message="the waiting update was not claimed")
    await asyncio.gather(*sending)
    bot.double.latency = 0
    async with bot.store.read() as session:
        rows = (await session.execute(select(ProcessedUpdate.done_at, ProcessedUpdate.body))).all()
    assert len(rows) == len(people) and all(done_at is not None and body is None for done_at, body in rows)
