"""Each Telegram update is handled once.

Telegram delivers an update again when it thinks the bot did not get it (a webhook answer that
timed out, a polling offset that was never confirmed because the process stopped). With several
processes the second delivery may land on another one. ``UpdateLedger.take`` records the update's
id in the store before the update is handled; only the process whose insert went in handles it.

The ids are written in groups: updates that arrive while a write is under way wait for the next
one, which records all of them in one transaction. On a busy bot that is one write for many
updates instead of one each, which matters most on SQLite, where writers take turns.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from services.clock import Clock
from store.db import Store, insert_unless_there
from store.models import ProcessedUpdate

# Telegram keeps an unconfirmed update for 24 hours; remember ours for longer than that.
KEEP = timedelta(hours=48)


class UpdateLedger:
    """The store's record of the updates taken, written in groups (see the module's docstring)."""

    def __init__(self, store: Store, clock: Clock):
        self.store = store
        self.clock = clock
        self._waiting: dict[int, list[asyncio.Future]] = {}
        self._writer: asyncio.Task | None = None

    async def take(self, update_id: int) -> bool:
        """True for the first taker of ``update_id``; False if it was taken already, here or by
        another process. Raises what the store raised if the id could not be recorded."""
        taken = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(update_id, []).append(taken)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await taken

    async def _write_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, {}
            try:
                recorded = await self._record(list(group))
            except BaseException as exc:  # every taker of the group gets the store's error
                for futures in group.values():
                    _settle(futures, exc)
                if not isinstance(exc, Exception):  # cancelled, with the loop going down
                    raise
            else:
                for update_id, futures in group.items():
                    _settle(futures, update_id in recorded)

    async def _record(self, update_ids: list[int]) -> set[int]:
        """Insert the ids that are not there yet; returns those that went in."""
        at = self.clock.now()
        # Not durable: a record lost with a crashed database server is one whose update's own
        # durable changes, if it made any, were lost with it (the log is written in order).
        async with self.store.write_one() as session:
            inserted = insert_unless_there(session, ProcessedUpdate).returning(ProcessedUpdate.update_id)
            return set(await session.scalars(inserted, [{"update_id": update_id, "at": at} for update_id in update_ids]))


def _settle(futures: list[asyncio.Future], outcome: bool | BaseException) -> None:
    """The first taker of an id gets the outcome; a second delivery in the same group is a duplicate."""
    for position, future in enumerate(futures):
        if future.done():  # its taker was cancelled
            continue
        if isinstance(outcome, asyncio.CancelledError):
            future.cancel()
        elif isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome and position == 0)


async def forget_old(store: Store, now: datetime) -> int:
    """Drop the ids older than ``KEEP``; returns how many."""
    async with store.write() as session:
        result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < now - KEEP))
        return result.rowcount


async def last_taken(store: Store) -> int:
    """The highest update id taken (0: none), where a Telegram that forgot picks up numbering."""
    async with store.read() as session:
        return await session.scalar(select(func.max(ProcessedUpdate.update_id))) or 0
