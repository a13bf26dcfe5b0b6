"""Each Telegram update has its effect once, even across a crash.

Telegram delivers an update again when it thinks the bot did not get it (a webhook answer that
never came because the process died, or timed out). With several processes the second delivery
may land on another one. So an update is claimed, then marked done:

- ``UpdateLedger.take`` claims the update's id in the store, for ``claim_for`` (60 s): the first
  taker handles it. A delivery of an update that is done is a duplicate, and has no effect. A
  delivery of one that another taker holds is refused (``UpdateInProgress``): by webhook, Telegram
  sends it again later, when it is either done or its claim has lapsed. A claim lapses when its
  process died in the middle of the handler: then the next delivery takes the update again.
- The handler's first durable transaction marks the update done with its change (``store.db``):
  a crash before that commit leaves no trace of it, and the redelivery does the work; a crash
  after it leaves the change once, and the redelivery is a duplicate (the person, who saw no
  answer, taps again). What the handler wrote before without waiting for the disk (a form's
  step, a prompt closed: ``Store.write(durable=False)``) is simply done again by the redelivery.
  A process that outlived its claim, and whose update another process handled meanwhile, has its
  durable change rolled back (``UpdateDoneElsewhere``).
- ``UpdateLedger.done`` marks the other updates done once handled: those that changed nothing
  durable (a screen shown, a cart changed, bad input answered, an error apologised for). A crash
  between their change and this mark repeats the change on redelivery.
- An update whose sender went past the rate limit (``services.rate_limit``) is not handled: its
  claim is its done mark, written with the others' claims (``take`` or ``receive`` with
  ``done=True``), and a polled one's body is not kept.
- By long polling Telegram sends nothing again: PTB confirms the updates it fetched when it asks
  for the next ones. So a polling process claims each update as it is fetched (``receive``),
  keeping its body with the claim until it is done, and asks for the next ones only once those
  claims are stored (``received_stored``); the next polling process hands what its predecessor
  died with back to the application (``release_unfinished``).

The claims are written in groups: updates that arrive while a write is under way wait for the
next one, which records all of them in one transaction; so are the done marks. On a busy bot
that is one write for many updates instead of one each, which matters most on SQLite, where
writers take turns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from services.clock import Clock
from store.db import Store, insert_for
from store.models import ProcessedUpdate

log = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours; remember ours for longer than that.
KEEP = timedelta(hours=48)
# Longer than any handler takes (a slow Telegram, a database that waits for a lock), so that a
# claim lapses only when its process is gone.
CLAIM_FOR = timedelta(seconds=60)
# A polled update left unfinished by a dead process is handed over at the next start only if it is
# this recent. One older than that is out of date (the person has long since tapped again, or
# gone on), and doing it now would surprise them, or do it twice.
HAND_OVER_WITHIN = timedelta(minutes=10)


class UpdateInProgress(Exception):
    """The update is being handled, by another process or this one, under a claim that holds
    until ``until``: this delivery must not handle it, and must not be acknowledged either."""

    def __init__(self, update_id: int, until: datetime | None):
        held = f" (claimed until {until:%H:%M:%S})" if until else ""
        super().__init__(f"update {update_id} is being handled{held}")
        self.update_id, self.until = update_id, until


class UpdateLedger:
    """The store's record of the updates taken and done, written in groups (see the module's
    docstring)."""

    def __init__(self, store: Store, clock: Clock, claim_for: timedelta = CLAIM_FOR):
        self.store = store
        self.clock = clock
        self.claim_for = claim_for
        # The same update twice in one group of claims: the first delivery holds it.
        self._claims = _Grouped(self._claim, lambda update_id, first: (
            UpdateInProgress(update_id, None) if first is True else first))
        self._marks = _Grouped(self._mark_done)
        self._bodies: dict[int, dict] = {}  # of the updates waiting for their claim to be written
        self._done_when_claimed: set[int] = set()  # updates to be claimed as done at once (not handled)
        self._received: dict[int, list[asyncio.Future]] = {}  # claims begun at fetch, not yet taken

    async def take(self, update_id: int, done: bool = False) -> bool:
        """True for the first taker of ``update_id``, and for the taker after a claim that lapsed;
        False if it is done already, here or by another process. Raises ``UpdateInProgress`` while
        another delivery of it holds a claim, and what the store raised if it could not be reached.
        For an update ``receive``d, the outcome of the claim begun then. ``done``: the update will
        not be handled (its sender went past the rate limit), so its claim is its done mark, in
        the same write."""
        received = self._received.get(update_id)
        if received:
            claim = received.pop(0)
            if not received:
                del self._received[update_id]
            return await claim
        if done:
            self._done_when_claimed.add(update_id)
        return await self._claims.add(update_id)

    def receive(self, update_id: int, body: dict | None, done: bool = False) -> None:
        """Begin to claim a polled update now, keeping ``body`` (the update itself) with the claim
        until it is done; ``take`` gets the outcome when its handler's turn comes, which under
        load may be a while later. ``done``, without a body: as for ``take``."""
        if body is not None:
            self._bodies[update_id] = body
        if done:
            self._done_when_claimed.add(update_id)
        self._received.setdefault(update_id, []).append(asyncio.ensure_future(self._claims.add(update_id)))

    async def received_stored(self) -> None:
        """Until every claim begun by ``receive`` is written (or failed: the store's error is
        ``take``'s to raise)."""
        pending = [claim for claims in self._received.values() for claim in claims if not claim.done()]
        if pending:
            await asyncio.wait(pending)

    async def done(self, update_id: int) -> None:
        """Mark the update handled (it may be done already: its handler's change marked it)."""
        await self._marks.add(update_id)

    async def _claim(self, update_ids: list[int]) -> dict[int, Outcome]:
        at = self.clock.now()
        until = at + self.claim_for
        bodies = {update_id: self._bodies.pop(update_id, None) for update_id in update_ids}
        done = self._done_when_claimed.intersection(update_ids)
        self._done_when_claimed -= done
        # Not durable: a claim lost with a crashed database server is one whose update's own
        # durable changes, if it made any, were lost with it (the log is written in order). But a
        # polled update's body is the only copy left once Telegram has it confirmed.
        durable = any(body is not None for body in bodies.values())
        async with self.store.write() if durable else self.store.write_one() as session:
            claim = insert_for(session, ProcessedUpdate)
            claim = claim.on_conflict_do_update(
                index_elements=[ProcessedUpdate.update_id],
                set_={"claimed_until": claim.excluded.claimed_until, "body": claim.excluded.body,
                      "done_at": claim.excluded.done_at},
                where=ProcessedUpdate.done_at.is_(None) & (ProcessedUpdate.claimed_until <= claim.excluded.at),
            ).returning(ProcessedUpdate.update_id)
            taken = set(await session.scalars(claim, [
                {"update_id": update_id, "at": at, "claimed_until": until, "body": bodies[update_id],
                 "done_at": at if update_id in done else None}
                for update_id in update_ids]))
        outcomes: dict[int, Outcome] = dict.fromkeys(taken, True)
        if len(taken) < len(update_ids):  # delivered again: done, or held by another taker
            async with self.store.read() as session:
                rows = await session.execute(
                    select(ProcessedUpdate.update_id, ProcessedUpdate.done_at, ProcessedUpdate.claimed_until)
                    .where(ProcessedUpdate.update_id.in_([u for u in update_ids if u not in taken])))
                for update_id, done_at, claimed_until in rows:
                    outcomes[update_id] = (False if done_at is not None
                                           else UpdateInProgress(update_id, claimed_until))
        return outcomes

    async def _mark_done(self, update_ids: list[int]) -> dict[int, Outcome]:
        async with self.store.write_one() as session:
            await session.execute(
                update(ProcessedUpdate)
                .where(ProcessedUpdate.update_id.in_(update_ids), ProcessedUpdate.done_at.is_(None))
                .values(done_at=self.clock.now(), body=None))
        return dict.fromkeys(update_ids, True)

    async def release_unfinished(self) -> list[tuple[int, dict]]:
        """The updates taken with their body and never done, oldest first, their claims released so
        that they can be taken again at once. Only for a process that alone takes updates with a
        body: one polling process per bot token (Telegram refuses a second with 409 Conflict), so
        such an update's taker died before it was done, and Telegram will not send it again. One
        taken more than ``HAND_OVER_WITHIN`` ago is dropped instead (its body forgotten)."""
        now = self.clock.now()
        unfinished = (ProcessedUpdate.done_at.is_(None), ProcessedUpdate.body.is_not(None))
        async with self.store.write() as session:
            stale = await session.execute(
                update(ProcessedUpdate).where(*unfinished, ProcessedUpdate.at < now - HAND_OVER_WITHIN)
                .values(body=None).returning(ProcessedUpdate.update_id))
            for (update_id,) in stale:
                log.info("update %s not handed over: taken more than %s ago", update_id, HAND_OVER_WITHIN)
            rows = await session.execute(
                update(ProcessedUpdate).where(*unfinished)
                .values(claimed_until=now)
                .returning(ProcessedUpdate.update_id, ProcessedUpdate.body))
            return sorted((update_id, body) for update_id, body in rows)


Outcome = bool | BaseException  # a result, or an exception to raise


class _Grouped:
    """Calls ``write`` with the ids added while the previous call was under way, as one group; the
    first adder of an id gets its outcome, later adders of the same id in the group ``repeated``."""

    def __init__(self, write: Callable[[list[int]], Awaitable[dict[int, Outcome]]],
                 repeated: Callable[[int, Outcome], Outcome] = lambda _update_id, first: first):
        self._write, self._repeated = write, repeated
        self._waiting: dict[int, list[asyncio.Future]] = {}
        self._writer: asyncio.Task | None = None

    async def add(self, update_id: int) -> bool:
        outcome = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(update_id, []).append(outcome)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await outcome

    async def _write_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, {}
            try:
                outcomes = await self._write(list(group))
            except BaseException as exc:  # every adder of the group gets the store's error
                for futures in group.values():
                    _settle(futures, exc)
                if not isinstance(exc, Exception):  # cancelled, with the loop going down
                    raise
            else:
                for update_id, futures in group.items():
                    first = outcomes.get(update_id, False)
                    _settle(futures[:1], first)
                    _settle(futures[1:], self._repeated(update_id, first))


def _settle(futures: list[asyncio.Future], outcome: Outcome) -> None:
    for future in futures:
        if future.done():  # its adder was cancelled
            continue
        if isinstance(outcome, asyncio.CancelledError):
            future.cancel()
        elif isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


async def forget_old(store: Store, now: datetime) -> int:
    """Drop the ids older than ``KEEP``; returns how many."""
    async with store.write() as session:
        result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < now - KEEP))
        return result.rowcount


async def last_taken(store: Store) -> int:
    """The highest update id taken (0: none), where a Telegram that forgot picks up numbering."""
    async with store.read() as session:
        return await session.scalar(select(func.max(ProcessedUpdate.update_id))) or 0
