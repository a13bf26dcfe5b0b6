"""A pump's hold on the rows it claimed: renewed every third of the lease while it works, so a
claim cannot lapse under a holder that is still sending (a slow Telegram, a long wait for a
send slot). A row is sent only if its claim is surely this pump's for the whole send, which the
pump bounds by a timeout; a row whose claim another process took is never sent here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

log = logging.getLogger(__name__)

Renew = Callable[[list[int], datetime, datetime], Awaitable[set[int]]]  # (ids, held, until) -> ids kept


def wall() -> datetime:
    """The real time, which leases and Telegram's limits follow (the bot's clock may be a test's)."""
    return datetime.now(timezone.utc)


class Hold:
    """``async with Hold(...) as hold``: for each row, ``await hold.keep(id, need)`` before sending
    it, and ``hold.done(id)`` once it is marked (sent, failed, postponed or released)."""

    def __init__(self, renew: Renew, ids: list[int], held_until: datetime, lease: timedelta, what: str):
        self._renew = renew
        self._open = set(ids)
        self.until = held_until  # the lease of the rows still held, and their token
        self._renewed_at = held_until - lease
        self.lease = lease
        self.what = what
        self.lost: set[int] = set()  # taken by another holder after this one's lease lapsed
        self.renewals = 0
        self._task: asyncio.Task | None = None
        self._renewing = asyncio.Lock()

    async def __aenter__(self) -> Hold:
        self._task = asyncio.create_task(self._keep_renewing())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def keep(self, row_id: int, need: timedelta) -> bool:
        """Whether ``row_id`` is still this holder's for at least ``need`` more, renewing first if
        the last renewal is a third of the lease old. False: do not send it."""
        if row_id in self._open and (wall() - self._renewed_at >= self.lease / 3 or wall() + need >= self.until):
            await self.renew()
        if row_id in self._open and wall() + need < self.until:
            return True
        if row_id in self.lost:
            log.warning("%s %s: another process took it over; not sent here", self.what, row_id)
        else:
            log.warning("%s %s: its claim could not be renewed in time; not sent here", self.what, row_id)
        return False

    def done(self, row_id: int) -> None:
        self._open.discard(row_id)

    async def renew(self) -> None:
        async with self._renewing:
            ids = sorted(self._open)
            if not ids:
                return
            renewed_at = wall()
            until = renewed_at + self.lease
            try:
                kept = await self._renew(ids, self.until, until)
            except Exception as exc:  # the store is down: the lease runs out, and keep() says so
                log.warning("%s claim not renewed: %s", self.what, type(exc).__name__)
                return
            lost = (set(ids) - kept) & self._open  # not those marked meanwhile
            self._open -= lost
            self.lost |= lost
            self.until, self._renewed_at = until, renewed_at
            self.renewals += 1

    async def _keep_renewing(self) -> None:
        while self._open:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            await self.renew()
