"""Assembling the bot: the PTB Application with our context type, handlers and commands."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from babel import Locale
from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationBuilder, BaseHandler, ContextTypes

import handlers
from bot import broadcast_pump, pump
from bot.config import Settings
from bot.logs import UpdateTrace, begin_trace, current_trace, end_trace
from bot.metrics import Metrics
from bot.telegram_http import AiohttpRequest
from handlers.context import (
    Runtime,
    RuralContext,
    answered_without_writing,
    ask_to_slow_down,
    runtime_of,
    say_unavailable,
)
from handlers.start import COMMANDS
from locales import available_locales, translator
from services import broadcast, outbox, partners, updates
from services.clock import Clock, SystemClock
from services.market import MarketSearch
from services.rate_limit import RateLimit
from services.reminders import QuietHours
from services.search import CatalogSearch
from services.updates import UpdateInProgress, UpdateLedger
from store.db import UPDATE_IN_HAND, Store, UpdateDoneElsewhere, UpdateInHand, is_unavailable, unless_unavailable

log = logging.getLogger(__name__)
# Updates are handled concurrently: a slow database round trip for one villager does not hold up
# the others. Each person's own changes are serialized by the store (row locks, SQLite's writer).
CONCURRENT_UPDATES = 16
FORGET_UPDATES_EVERY = 3600.0  # seconds between clearing out old processed update ids


class RuralApplication(Application):
    """PTB's Application plus what every update gets, however it arrived (polling or webhook):
    its effect happens once (``services.updates``: claimed, then marked done with the handler's
    first durable change or after it), it is traced in the logs with the handler that took it,
    counted in the metrics, and answered "try again in a minute" while the database is down.

    What a person sends past ``USER_RATE`` (``services.rate_limit``) is not handled: its claim in
    the ledger is its done mark, and otherwise it costs no database work; the person is asked to
    slow down once a minute, and a tap is answered so that its button stops spinning. Admins, and
    partners in their center's desk group, are not limited. By polling this is decided as the
    update arrives (``_ClaimedOnArrival``), so that its body is not stored with its claim.

    A delivery of an update that another delivery holds raises ``UpdateInProgress`` by webhook, so
    that it is not acknowledged and Telegram sends it again later; by polling it is dropped (PTB
    has confirmed it to Telegram already, so there is nothing to wait for). By polling an update
    is claimed as it is fetched, with its body, for the next process to hand over if this one dies
    with it (``hand_over_unfinished``): Telegram will not send it again.

    An inline query (``@bot words`` in any chat, sent at every keystroke) is neither claimed nor
    marked: its answer writes nothing, and one answered twice is harmless. Past the rate limit it
    is dropped without a word (there is no chat to say it in)."""

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        rt, metrics, ledger = runtime_of(self), metrics_of(self), self.bot_data["update_ledger"]
        user = update.effective_user
        trace = UpdateTrace(update.update_id, user.id if user else None, update_type(update))
        token = begin_trace(trace)
        in_hand = UpdateInHand(update.update_id, rt.clock.now, asyncio.current_task())
        in_hand_token = UPDATE_IN_HAND.set(in_hand)
        started = time.perf_counter()
        outcome = "handled"
        limit: RateLimit = self.bot_data["rate_limit"]
        past_rate = limit.verdicts.pop(update.update_id, _UNDECIDED)  # decided on arrival, if polled
        if past_rate is _UNDECIDED:
            past_rate = past_rate_limit(update, limit, rt.admin_ids)
        try:
            if answered_without_writing(update):  # an inline query: nothing to claim, nothing written
                if past_rate is True:
                    outcome = "limited"
                    metrics.limited.labels(type=trace.kind).inc()
                else:
                    await super().process_update(update)
            elif not await ledger.take(update.update_id, done=past_rate is True):
                outcome = "duplicate"
                metrics.duplicates.inc()
            elif past_rate is True or (past_rate is None and not await self._partner_at_desk(update, rt)):
                outcome = "limited"
                metrics.limited.labels(type=trace.kind).inc()
                await ask_to_slow_down(self.bot, update, rt, limit.warn_due(user.id))
                if past_rate is None:
                    # With the next group of done marks, without holding one of the
                    # CONCURRENT_UPDATES places meanwhile: a flood must not keep others waiting.
                    self.create_task(_mark_done(ledger, update.update_id), update=update)
            else:
                await super().process_update(update)
                if in_hand.elsewhere:
                    outcome = "done elsewhere"
                elif not in_hand.done:
                    await _mark_done(ledger, update.update_id)
        except UpdateInProgress:
            outcome = "in progress"
            if self.updater is None:  # by webhook: not acknowledged, so Telegram sends it again
                raise
            metrics.duplicates.inc()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            # Its claim, if it was taken, lapses: a redelivery is handled again.
            outcome = "database unavailable"
            metrics.errors.labels(cause="database").inc()
            await say_unavailable(self.bot, update, rt.default_locale)
        finally:
            UPDATE_IN_HAND.reset(in_hand_token)
            duration = time.perf_counter() - started
            if outcome == "handled":
                metrics.updates.labels(type=trace.kind).inc()
                metrics.latency.labels(handler=trace.handler or "none").observe(duration)
            log.info("update %s", outcome, extra={"duration_ms": round(duration * 1000, 1),
                                                  "update_type": trace.kind, "outcome": outcome})
            end_trace(token)

    async def _partner_at_desk(self, update: Update, rt: Runtime) -> bool:
        """Whether the sender of ``update``, past the rate limit in a group, is a partner at that
        group's desk (and so not limited): looked up at most once a minute."""
        limit: RateLimit = self.bot_data["rate_limit"]
        user, chat = update.effective_user, update.effective_chat
        at_desk = limit.known_desk_standing(user.id, chat.id)
        if at_desk is None:
            at_desk = await partners.partner_at_desk(rt.store, user.id, chat.id)
            limit.remember_desk_standing(user.id, chat.id, at_desk)
        return at_desk

    async def hand_over_unfinished(self) -> int:
        """Put the updates a dead polling predecessor took and never finished in the queue, to be
        handled as if just fetched; returns how many. Call it once started, before polling."""
        unfinished = await self.bot_data["update_ledger"].release_unfinished()
        for update_id, body in unfinished:
            update = Update.de_json(body, self.bot)
            log.info("update %s handed over: the process that took it stopped before it was done", update_id,
                     extra={"update_type": update_type(update)})
            await self.update_queue.put(update)
        return len(unfinished)

    async def process_error(self, update: object | None, error: Exception, job=None, coroutine=None) -> bool:
        if isinstance(error, UpdateDoneElsewhere):  # its change was rolled back; the other process answered
            log.warning("update %s was handled by another process after this one's claim lapsed", error)
            return True
        metrics_of(self).errors.labels(cause="database" if is_unavailable(error) else "bug").inc()
        return await super().process_error(update, error, job, coroutine)

    def add_handler(self, handler: BaseHandler, group: int = 0) -> None:
        if group >= 0:  # group -1 (who is this person?) runs for every update; it is not "the" handler
            handler.callback = _traced(handler.callback)
        super().add_handler(handler, group)


class _ClaimedOnArrival(asyncio.Queue):
    """The queue from the Updater to the application, when polling: an update put in it (fetched,
    or handed over) is claimed at once with its body, not when its handler's turn comes, so that
    a crash while it waits does not lose it. One whose sender is past the rate limit is claimed as
    done, without its body: it will not be handled."""

    def __init__(self, ledger: UpdateLedger, limit: RateLimit, admin_ids: frozenset[int]):
        super().__init__()
        self._ledger, self._limit, self._admin_ids = ledger, limit, admin_ids

    def put_nowait(self, item: object) -> None:
        if isinstance(item, Update):
            past_rate = self._limit.verdicts[item.update_id] = past_rate_limit(item, self._limit, self._admin_ids)
            if answered_without_writing(item):  # an inline query is not claimed (RuralApplication)
                pass
            elif past_rate is True:
                self._ledger.receive(item.update_id, None, done=True)
            else:
                self._ledger.receive(item.update_id, item.to_dict())
        super().put_nowait(item)


class _ConfirmedWhenStored(AiohttpRequest):
    """The getUpdates request, when polling: asking for the next updates confirms the ones fetched
    before to Telegram, which then forgets them, so it waits until their claims are stored."""

    def __init__(self, ledger: UpdateLedger, **options):
        super().__init__(**options)
        self._ledger = ledger

    async def do_request(self, *args, **kwargs):
        await self._ledger.received_stored()
        return await super().do_request(*args, **kwargs)


async def _mark_done(ledger: UpdateLedger, update_id: int) -> None:
    try:
        await ledger.done(update_id)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        # Answered already; its claim lapses. Telegram sends it again only if it was not acknowledged.
        log.warning("could not mark update %s done: the database is unavailable", update_id)


def _traced(callback):
    name = f"{callback.__module__.removeprefix('handlers.')}.{callback.__qualname__}"

    @functools.wraps(callback)
    async def traced(update, context):
        trace = current_trace()
        if trace is not None:
            trace.handler = name
        in_hand = UPDATE_IN_HAND.get()
        if in_hand is not None:
            in_hand.handler_running = True  # from now on, its first change marks the update done
        return await callback(update, context)

    return traced


_UNDECIDED = object()


def past_rate_limit(update: Update, limit: RateLimit, admin_ids: frozenset[int]) -> bool | None:
    """Whether the sender of ``update`` went past ``USER_RATE`` (taking a token if not), in
    memory: True, past it; False, not, or never limited (an admin, what Telegram says about a
    chat); None, past it in a group, where a partner at their desk is not limited."""
    user = update.effective_user
    if limit.rate is None or user is None or user.id in admin_ids or not _sent_by_person(update):
        return False
    if limit.take(user.id):
        return False
    chat = update.effective_chat
    return True if chat is None or chat.type == ChatType.PRIVATE else None


def _sent_by_person(update: Update) -> bool:
    """A message, an edit, a button tap or an inline query: what a person sends at the bot. Not what
    Telegram says about a chat (the bot added or removed, members, a group become a supergroup),
    which a desk must not miss, nor a payment (its money is taken: it must be booked), nor the
    payment sheet's questions (Telegram waits for their answers)."""
    if update.callback_query is not None or update.inline_query is not None:
        return True
    message = update.message or update.edited_message
    return message is not None and not (message.new_chat_members or message.left_chat_member
                                        or message.migrate_to_chat_id or message.migrate_from_chat_id
                                        or message.successful_payment)


def update_type(update: Update) -> str:
    """"message", "callback_query", "my_chat_member", ...: which kind of update this is."""
    return next((name for name in Update.ALL_TYPES if getattr(update, name, None) is not None), "other")


def metrics_of(app: Application) -> Metrics:
    return app.bot_data["metrics"]


def file_url_for(base_url: str) -> str:
    """PTB wants the file URL too: ``http://host/bot`` -> ``http://host/file/bot``."""
    head, _, tail = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}"


def build_application(settings: Settings, store: Store, clock: Clock | None = None,
                      polling: bool = True, pace: Callable[[], float] = time.monotonic) -> Application:
    """The bot. ``polling=False``: no Updater; updates come in by webhook (bot/webhook.py).
    ``pace``: the seconds the per-person rate limit follows (a test's people's time)."""
    clock = clock or SystemClock()
    metrics = Metrics()
    ledger = UpdateLedger(store, clock, timedelta(seconds=settings.update_claim_seconds))
    limit = RateLimit(settings.user_rate, pace)
    builder = (
        ApplicationBuilder()
        .application_class(RuralApplication)
        .token(settings.require_token())
        .context_types(ContextTypes(context=RuralContext))
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(AiohttpRequest(observer=metrics.bot_api_call))
        .post_init(_post_init)
    )
    if polling:
        builder = builder.update_queue(_ClaimedOnArrival(ledger, limit, settings.admin_ids)).get_updates_request(
            _ConfirmedWhenStored(ledger, connection_limit=1, read_timeout=10.0, observer=metrics.bot_api_call))
    else:
        builder = builder.updater(None)
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url).base_file_url(file_url_for(settings.telegram_base_url))
    app = builder.build()
    app.bot_data["metrics"] = metrics
    app.bot_data["update_ledger"] = ledger
    app.bot_data["rate_limit"] = limit
    app.bot_data["runtime"] = Runtime(
        store=store, clock=clock, search=CatalogSearch(store, clock, timezone=settings.timezone, caps=settings.caps),
        market=MarketSearch(store),
        default_locale=settings.default_locale, timezone=settings.timezone, admin_ids=settings.admin_ids,
        quiet_hours=QuietHours.parse(settings.quiet_hours), cart_max_lines=settings.cart_max_lines,
        caps=settings.caps, return_after=timedelta(days=settings.return_after_days),
        payment_token=settings.payment_provider_token,
    )
    handlers.register_all(app)
    lease = timedelta(seconds=settings.outbox_lease)
    pump.install(app, app.bot_data["runtime"], lease)
    broadcast_pump.install(app, app.bot_data["runtime"], settings.broadcast_rate, lease)
    if store is not None:  # None: an application built only to list its handlers
        store.after_commit.append(functools.partial(_after_commit, app))
    app.job_queue.run_repeating(_forget_old_updates, interval=FORGET_UPDATES_EVERY, first=60,
                                name="forget old updates")
    return app


def _after_commit(app: Application, effects: frozenset[str]) -> None:
    """A change committed. If it changed what a search index holds (the catalog, the market's
    approved listings), that index reads the store again at its next search. If it was a handler's:
    send at once what it queued, and start or stop a promotion it confirmed or cancelled. Other
    changes (the pumps' and the jobs' own, or a test's made outside any update) are sent at the
    pumps' next wake-up, as an application not running sends nothing; the carrier endpoint wakes
    the pump itself (bot/server.py)."""
    rt = runtime_of(app)
    for index in (rt.search, rt.market):
        if index.effect in effects:
            index.forget()
    if not app.running or UPDATE_IN_HAND.get() is None:
        return
    if outbox.OUTBOX in effects:
        rt.kick()
    if broadcast.PROMOTIONS in effects:
        rt.kick_promotions()


async def _forget_old_updates(context) -> None:
    rt = runtime_of(context.application)
    await unless_unavailable(updates.forget_old(rt.store, rt.clock.now()), "clear old update ids", log)


async def set_commands(app: Application, default_locale: str) -> None:
    """The command menu in every language; Telegram picks it by the user's language_code."""
    def commands(locale: str) -> list[BotCommand]:
        t = translator(locale)
        return [BotCommand(name, t(description)) for name, description in COMMANDS]

    await app.bot.set_my_commands(commands(default_locale))
    await asyncio.gather(*(
        app.bot.set_my_commands(commands(locale), language_code=Locale.parse(locale).language)
        for locale in sorted(available_locales())
    ))


async def _post_init(app: Application) -> None:
    rt: Runtime = app.bot_data["runtime"]
    await set_commands(app, rt.default_locale)
    await rt.search.refresh()
