"""The promotions pump: starts promotions whose time has come, sends their copies at the global
pace (services/deliveries.py reserves the slots), keeps the admin's progress message current,
and sends the report at the end.

Copies whose readers are in their quiet hours wait for them to end (a wake-up finds them then),
unless the admin chose "send anyway". A 429 holds every process back for ``retry_after``; a 403 marks the person unreachable (later
promotions skip them); a network failure is retried with backoff; any copy not sent when the
process stops is claimed again by the next run, here or in another process. Each send is bounded
by a timeout, and a claim is renewed while its copies wait for their slots and go (bot/lease.py),
so no other process sends them meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from datetime import datetime, timedelta
from functools import partial

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.lease import Hold, wall
from bot.pump import Pump, send_timeout, wait_asked
from handlers.cards import progress_text, promotion_keyboard, report_text
from handlers.context import Runtime
from locales import available_locales, translator
from services import broadcast, deliveries, leases, villagers
from services.broadcast import BroadcastView, Delivery
from services.deliveries import Copy

log = logging.getLogger(__name__)
WAKE_EVERY = 5.0
PROGRESS_EVERY = 3.0  # seconds between edits of the admin's progress message
REPORT_WAIT_AT_MOST = 10.0  # seconds the report waits for a "retry after" before it is given up
BACKOFF = timedelta(seconds=10)


class BroadcastPump(Pump):
    name = "promotions pump"

    def __init__(self, bot: Bot, rt: Runtime, rate: float, app: Application | None = None,
                 lease: timedelta = leases.LEASE):
        super().__init__(bot, rt, app)
        self.rate = rate
        self.lease = lease
        self.send_timeout = send_timeout(lease)
        self.batch = max(1, int(rate // 2))  # about half a second of sending per claim
        self._progress_at = 0.0
        self._sent_times: deque[float] = deque(maxlen=int(rate * 10) + 1)
        self._held_until: datetime | None = None  # Telegram said 429: nothing before then
        self._per_second = max(1, int(rate))
        for locale in available_locales():  # compile the catalogs now, not while the first copies wait
            translator(locale)
        self._window: deque[float] = deque()  # when this process's sends of the last second started

    async def run_once(self) -> int:
        store, clock = self.rt.store, self.rt.clock
        for broadcast_id in await deliveries.start_due(store, clock.now()):
            await self._post_progress(broadcast_id)
        handled = 0
        while True:
            quiet = deliveries.Quiet(self.rt.quiet_hours, clock.now(), self.rt.timezone)
            batch = await deliveries.claim(store, self.batch, self.rate, wall, self.lease, quiet)
            if batch is None:
                break
            if not batch.copies:
                await self._finish_all()
                break
            promotion = await deliveries.content(store, batch.copies[0].broadcast_id)  # afresh: it may be cancelled
            stopping = self.app is not None and not self.app.running  # the next run, here or elsewhere, goes on
            if stopping or promotion is None or promotion.status != broadcast.Status.SENDING:
                await deliveries.release(store, [c.delivery_id for c in batch.copies])
                if stopping:
                    return handled
                continue
            # Each copy goes at its own slot; the sends overlap, so a slow reply does not slow the pace.
            async with Hold(partial(deliveries.renew, store), [c.delivery_id for c in batch.copies],
                            batch.held_until, self.lease, "promotion copy") as hold:
                sent = await asyncio.gather(*(
                    self._send_at(batch.first_slot + timedelta(seconds=index / self.rate), copy, promotion, hold)
                    for index, copy in enumerate(batch.copies)))
            handled += sum(sent)
            await self._progress(promotion.id)
        return handled

    async def _send_at(self, slot: datetime, copy: Copy, promotion: BroadcastView, hold: Hold) -> bool:
        try:
            wait = (slot - wall()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._within_a_second()
            if self._held_until is not None and wall() < self._held_until:  # a 429 came meanwhile
                await deliveries.release(self.rt.store, [copy.delivery_id])
                return False
            if not await hold.keep(copy.delivery_id, self.send_timeout):
                return False
            return await self._send(copy, promotion)
        finally:
            hold.done(copy.delivery_id)

    async def _send(self, copy: Copy, promotion: BroadcastView) -> bool:
        """Send one copy and mark it how it ended. False if it was not sent for now."""
        store, now = self.rt.store, self.rt.clock.now()
        if copy.opted_out:
            await deliveries.mark(store, copy.delivery_id, Delivery.OPTED_OUT, now)
            return True
        locale = copy.locale or self.rt.default_locale
        text = promotion.texts.get(locale) or promotion.texts.get(self.rt.default_locale) \
            or next(iter(promotion.texts.values()))
        markup = promotion_keyboard(translator(locale), promotion, self.bot.username)
        try:
            async with asyncio.timeout(self.send_timeout.total_seconds()):
                if promotion.photo:
                    await self.bot.send_photo(copy.telegram_id, promotion.photo, caption=text,
                                              parse_mode=ParseMode.HTML, reply_markup=markup)
                else:
                    await self.bot.send_message(copy.telegram_id, text, parse_mode=ParseMode.HTML,
                                                reply_markup=markup)
        except RetryAfter as exc:
            retry = wait_asked(exc)
            log.info("promotion %s: Telegram asks to wait %s", copy.broadcast_id, retry)
            self._held_until = wall() + retry
            await deliveries.hold_back(store, copy.broadcast_id, self._held_until)
            await deliveries.release(store, [copy.delivery_id])
            return False
        except Forbidden as exc:
            await villagers.set_reachable(store, copy.telegram_id, False)
            await deliveries.mark(store, copy.delivery_id, Delivery.BLOCKED, now, f"403 {exc}")
        except BadRequest as exc:
            log.warning("promotion %s to %s refused: %s", copy.broadcast_id, copy.telegram_id, exc)
            await deliveries.mark(store, copy.delivery_id, Delivery.FAILED, now, f"400 {exc}")
        except (NetworkError, TimeoutError) as exc:  # 5xx, PTB's timeouts and ours (it may have reached Telegram)
            error = str(exc) or f"no answer within {self.send_timeout.total_seconds():g} s"
            await deliveries.retry_later(store, copy.delivery_id, wall() + BACKOFF, counts=True, error=error)
            return False
        else:
            await deliveries.mark(store, copy.delivery_id, Delivery.SENT, now)
            self._sent_times.append(time.monotonic())
        return True

    async def _within_a_second(self) -> None:
        """Never more than ``rate`` sends in any one second from this process, as Telegram counts
        them: slots missed while the process was busy are not made up in a burst."""
        while True:
            now = time.monotonic()
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) < self._per_second:
                self._window.append(now)
                return
            await asyncio.sleep(1.0 - (now - self._window[0]) + 0.001)

    def _rate_now(self) -> float:
        """Messages a second this process sent over the last few seconds."""
        times = self._sent_times
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-6)

    async def _post_progress(self, broadcast_id: int) -> None:
        promotion = await broadcast.view(self.rt.store, broadcast_id)
        t = await self._admin_t(promotion)
        try:
            sent = await self.bot.send_message(promotion.admin_telegram_id, progress_text(t, promotion, 0.0),
                                               parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.warning("progress of promotion %s not posted: %s", broadcast_id, exc)
            return
        await broadcast.set_progress_message(self.rt.store, broadcast_id, sent.message_id)

    async def _progress(self, broadcast_id: int, force: bool = False) -> None:
        if not force and time.monotonic() - self._progress_at < PROGRESS_EVERY:
            return
        self._progress_at = time.monotonic()
        promotion = await broadcast.view(self.rt.store, broadcast_id)
        if promotion is None or promotion.progress_message_id is None:
            return
        t = await self._admin_t(promotion)
        try:
            await self.bot.edit_message_text(progress_text(t, promotion, self._rate_now()),
                                             promotion.admin_telegram_id, promotion.progress_message_id,
                                             parse_mode=ParseMode.HTML)
        except TelegramError as exc:  # "not modified", or the admin deleted it: progress is best effort
            log.debug("progress of promotion %s not edited: %s", broadcast_id, exc)

    async def _finish_all(self) -> None:
        """Promotions with nothing left to send are done: the last word and the report."""
        for broadcast_id in await deliveries.running(self.rt.store):
            if await deliveries.finish_if_done(self.rt.store, broadcast_id, self.rt.clock.now()):
                await self._progress(broadcast_id, force=True)
                promotion = await broadcast.view(self.rt.store, broadcast_id)
                t = await self._admin_t(promotion)
                try:
                    await self._report(promotion.admin_telegram_id, report_text(t, promotion))
                except TelegramError as exc:
                    log.warning("report of promotion %s not sent: %s", broadcast_id, exc)

    async def _report(self, chat_id: int, text: str) -> None:
        """The report comes right after the admin's own copy and the progress message: a burst to one
        chat that Telegram may answer with a short "retry after"; it is waited out once, as the
        report is sent only here."""
        try:
            await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
        except RetryAfter as exc:
            wait = wait_asked(exc).total_seconds()
            if wait > REPORT_WAIT_AT_MOST:
                raise
            await asyncio.sleep(wait)
            await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)

    async def _admin_t(self, promotion: BroadcastView):
        person = await villagers.by_telegram_id(self.rt.store, promotion.admin_telegram_id)
        return translator((person.locale if person else None) or self.rt.default_locale)


def install(app: Application, rt: Runtime, rate: float, lease: timedelta = leases.LEASE) -> BroadcastPump:
    pump = BroadcastPump(app.bot, rt, rate, app, lease)
    rt.promotions = pump

    async def wake(_context) -> None:
        pump.kick()

    app.job_queue.run_repeating(wake, interval=WAKE_EVERY, first=0.2, name="promotions pump")
    return pump
