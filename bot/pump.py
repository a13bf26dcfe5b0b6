"""The outbox pump: claims due messages from the store, sends them, marks them.

PTB's JobQueue (APScheduler) wakes it every few seconds, and handlers wake it at once after a
change that queued something (``kick``). It paces itself within Telegram's limits: about 30
messages a second overall. A 429 (which is also how Telegram enforces 20 a minute to one group)
is retried after ``retry_after``, a network failure with backoff, and a 403 marks the person
unreachable.

A claim takes only the rows that can be sent within half the lease even if each send takes its
whole time limit; every send is bounded by that limit (a send that runs out is retried later as
a network failure, although it may have reached Telegram); and the claim is renewed while the
rows are sent (bot/lease.py), so no other process takes them meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from datetime import timedelta
from functools import partial

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

from bot.lease import Hold, wall
from handlers.context import Runtime
from handlers.notices import Later, deliver
from services import desks, leases, outbox, returns, villagers
from services.outbox import Claimed
from store.db import is_unavailable

log = logging.getLogger(__name__)
WAKE_EVERY = 5.0  # seconds between scheduled wake-ups
PER_SECOND = 30  # overall pace
DIGEST_PLANNING = timedelta(minutes=1)  # how often to look for desks that just opened
RETURN_PLANNING = timedelta(hours=1)  # how often to look for overdue parcels without a return date
SEND_TIMEOUT = timedelta(seconds=15)  # one row, all its calls; at most a quarter of the lease
MOST_AT_ONCE = 50  # rows a claim takes at most


def send_timeout(lease: timedelta) -> timedelta:
    return min(SEND_TIMEOUT, lease / 4)


def batch_size(lease: timedelta, per_send: timedelta, pace: float) -> int:
    """The rows one claim takes: what is sent within half the lease, each send taking ``per_send``."""
    return max(1, min(MOST_AT_ONCE, int((lease / 2) / (per_send + timedelta(seconds=1 / pace)))))


class Pump:
    """Runs ``run_once`` when kicked, one run at a time; a kick during a run runs it once more."""

    name = "pump"

    def __init__(self, bot: Bot, rt: Runtime, app: Application | None = None):
        self.bot = bot
        self.rt = rt
        self.app = app
        self._task: asyncio.Task | None = None
        self._again = False

    def kick(self) -> None:
        """Run soon; if a run is going on, run once more after it (it may have missed new rows)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._again = False
        if self.app is not None and self.app.running:
            # The Application's stop() waits for its tasks: a bot told to stop finishes the run it is
            # in, rather than shutting the connection under it (the sends then fail, or one reaches
            # Telegram but is not marked sent and goes out again after the restart).
            self._task = self.app.create_task(self._runs(), name=self.name)
        else:
            self._task = asyncio.get_running_loop().create_task(self._runs())

    async def idle(self) -> None:
        """Wait until no run is going on (for tests and shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _runs(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # the store is down, or a bug: log it; the next wake-up tries again
                if is_unavailable(exc):
                    log.warning("the %s waits for the database: %s", self.name, type(exc).__name__)
                else:
                    log.exception("the %s failed", self.name)
            if not self._again:
                return
            self._again = False

    async def run_once(self) -> int:
        raise NotImplementedError


class OutboxPump(Pump):
    name = "outbox pump"

    def __init__(self, bot: Bot, rt: Runtime, app: Application | None = None, lease: timedelta = leases.LEASE):
        super().__init__(bot, rt, app)
        self.lease = lease
        self.send_timeout = send_timeout(lease)
        self.batch = batch_size(lease, self.send_timeout, PER_SECOND)
        self._last_send = 0.0
        self._digests_planned = None  # when this pump last looked for digests to queue
        self._returns_planned = None  # when it last looked for parcels without a return date

    async def run_once(self) -> int:
        """Send everything due now. Returns how many rows were handled."""
        handled = 0
        now = self.rt.clock.now()
        if self._digests_planned is None or not timedelta(0) <= now - self._digests_planned < DIGEST_PLANNING:
            await desks.plan_digests(self.rt.store, now)
            self._digests_planned = now
        if self._returns_planned is None or not timedelta(0) <= now - self._returns_planned < RETURN_PLANNING:
            await returns.plan_missing(self.rt.store, now, self.rt.return_after)
            self._returns_planned = now
        while True:
            rows = await outbox.claim_due(self.rt.store, self.rt.clock.now(), held_at=wall(), lease=self.lease,
                                          limit=self.batch)
            if not rows:
                return handled
            async with Hold(partial(outbox.renew, self.rt.store), [row.id for row in rows], rows[0].held_until,
                            self.lease, "outbox") as hold:
                for row in rows:
                    if await hold.keep(row.id, self.send_timeout):
                        await self._send(row)
                        handled += 1
                    hold.done(row.id)

    async def _send(self, row: Claimed) -> None:
        store, now = self.rt.store, self.rt.clock.now()
        await self._pace()
        try:
            async with asyncio.timeout(self.send_timeout.total_seconds()):
                sent = await deliver(self.bot, self.rt, row)
        except Later as later:
            await outbox.postpone(store, row.id, later.until, now=now)
        except ChatMigrated as exc:
            await self._desk_migrated(row, exc)
        except RetryAfter as exc:
            retry = wait_asked(exc)
            log.info("outbox %s: Telegram asks to wait %s", row.id, retry)
            await outbox.postpone(store, row.id, now + retry, now=now, error=f"429 retry after {retry}", counts=False)
        except Forbidden as exc:
            log.info("outbox %s: %s", row.id, exc)
            if row.villager_id is not None:
                target = await desks.recipient(store, row.villager_id)
                if target is not None:
                    await villagers.set_reachable(store, target.telegram_id, False)
            await outbox.mark_failed(store, row.id, now, f"403 {exc}")
        except BadRequest as exc:
            log.warning("outbox %s (%s) refused by Telegram: %s", row.id, row.kind, exc)
            await outbox.mark_failed(store, row.id, now, f"400 {exc}")
        except (NetworkError, TimeoutError) as exc:  # 5xx, PTB's timeouts and ours: it may have reached Telegram
            error = str(exc) or f"no answer within {self.send_timeout.total_seconds():g} s"
            log.info("outbox %s: network trouble, retrying: %s", row.id, error)
            await outbox.postpone(store, row.id, now + outbox.backoff(row.attempts), now=now, error=error)
        except Exception as exc:
            log.exception("outbox %s (%s) could not be sent", row.id, row.kind)
            await outbox.postpone(store, row.id, now + outbox.backoff(row.attempts), now=now, error=repr(exc))
        else:
            if sent:
                await outbox.mark_sent(store, row.id, self.rt.clock.now())
            else:
                await outbox.mark_dropped(store, row.id, self.rt.clock.now())

    async def _desk_migrated(self, row: Claimed, exc: ChatMigrated) -> None:
        """A desk's group became a supergroup, and Telegram's 400 says so before (or instead of)
        the group's service message: the desk and its waiting cards move to the new chat, and the
        row goes again at once, there. Moving is not failing: the row's attempts do not grow."""
        store, now = self.rt.store, self.rt.clock.now()
        old = getattr(exc, "old_chat_id", None)  # known for a desk's group (handlers.card_posts.to_desk)
        if old is None:
            log.warning("outbox %s (%s): %s", row.id, row.kind, exc)
            await outbox.postpone(store, row.id, now + outbox.backoff(row.attempts), now=now, error=str(exc))
            return
        # No desk is at the old id any more, so the row cannot meet this again.
        moved = await desks.group_migrated(store, self.rt.clock, old, exc.new_chat_id)
        log.info("outbox %s: group %s became supergroup %s; %s desk there, %s waiting cards go again",
                 row.id, old, exc.new_chat_id, moved.desks, moved.cards)
        await outbox.postpone(store, row.id, now, now=now, error=str(exc), counts=False)

    async def _pace(self) -> None:
        """At most PER_SECOND messages a second from this process."""
        gap = 1 / PER_SECOND - (time.monotonic() - self._last_send)
        if gap > 0:
            await asyncio.sleep(gap)
        self._last_send = time.monotonic()


def wait_asked(exc: RetryAfter) -> timedelta:
    """``retry_after`` as a timedelta, whichever type this PTB version gives (v22 warns that
    it will change from seconds to a timedelta; both are handled)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def install(app: Application, rt: Runtime, lease: timedelta = leases.LEASE) -> OutboxPump:
    """Create the pump, let handlers reach it through the runtime, and schedule its wake-ups."""
    pump = OutboxPump(app.bot, rt, app, lease)
    rt.pump = pump

    async def wake(_context) -> None:
        pump.kick()

    app.job_queue.run_repeating(wake, interval=WAKE_EVERY, first=0.1, name="outbox pump")
    return pump
