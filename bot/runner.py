"""Running the bot until told to stop (Ctrl-C or SIGTERM), by long polling or by webhook.

``serve`` is ``rural-bot run`` and ``rural-bot webhook``: the two share everything (the store,
the application, its pumps and scheduler, the HTTP server with the carrier endpoint, /healthz and
/metrics) except how updates arrive. While Telegram or the database cannot be reached at start,
it keeps trying, and a stop signal still stops it. Before it polls, it handles the updates its
predecessor fetched and died with.

Stopping: the server stops taking requests and finishes the ones in flight, polling stops, the
scheduler is paused and the application stopped (each pump finishes the send it is in, the
promotions pump hands its claimed copies back), then the database is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web
from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from bot.app import RuralApplication, build_application, metrics_of
from bot.config import Settings, SettingsError
from bot.server import build_web_app, start_server, stop_server
from bot.webhook import add_telegram_route, webhook_path
from handlers.context import runtime_of
from store.backup import running_lock, sqlite_path, upgrade_keeping_a_backup
from store.db import Store, is_unavailable

log = logging.getLogger(__name__)
# What the bot asks Telegram for, by polling and by webhook: every kind of update, inline queries
# (handlers/sharing.py) among them, but the feedback on chosen inline results, which it does not use.
ALLOWED_UPDATES = [kind for kind in Update.ALL_TYPES if kind != Update.CHOSEN_INLINE_RESULT]
RETRY_CAP = 30.0  # seconds between attempts to reach Telegram or the database at start, at most


async def start_app(app: Application) -> None:
    await app.initialize()
    if app.post_init:  # run_polling() would call it; we start the parts ourselves
        await app.post_init(app)
    await app.start()


def keep_out_of_collections() -> None:
    """Started: what is there now (modules, translations, the search indexes) lives as long as
    the process. Taken out of the garbage collector's sight, a full collection no longer walks it:
    that walk (80 ms on the demo catalog) stalled every update in flight."""
    gc.freeze()


async def start_polling(app: Application, poll_timeout: int = 10) -> None:
    await start_app(app)
    if isinstance(app, RuralApplication):  # not a bare PTB one (bench/updates.py's echo bot)
        await app.hand_over_unfinished()
    await _poll(app, poll_timeout)


async def _poll(app: Application, poll_timeout: int) -> None:
    def polling_failed(error: Exception) -> None:
        # PTB retries with a growing pause; Telegram being away is a warning, not a crash report.
        log.warning("polling for updates failed: %s: %s", type(error).__name__, error)

    await app.updater.start_polling(poll_interval=0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES,
                                    error_callback=polling_failed)


async def stop_polling(app: Application) -> None:
    """Stop whatever of the application runs (polling, scheduler, pumps) and shut it down."""
    if app.updater and app.updater.running:
        await app.updater.stop()
    scheduler = app.job_queue.scheduler if app.job_queue is not None else None
    if scheduler is not None and scheduler.running:
        # No new wake-ups; one already handed to the event loop runs now (it only kicks a pump)
        # instead of being cancelled by the scheduler's shutdown, which APScheduler logs as an error.
        scheduler.pause()
        await asyncio.sleep(0.05)
    if app.running:
        await app.stop()
    await app.shutdown()


async def wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings, *, webhook: bool) -> int:
    """Run the bot until a stop signal; 0 when stopped cleanly. On SQLite it holds the database's
    lock file while it runs: one process at a time, and no restore under it (store/backup.py)."""
    settings.require_token()
    hook = settings.require_webhook() if webhook else None
    database = sqlite_path(settings.database_url)
    with running_lock(database, doing="start") if database else contextlib.nullcontext():
        return await _serve(settings, hook)


async def _serve(settings: Settings, hook: tuple[str, str] | None) -> int:
    webhook = hook is not None
    store = Store(settings.database_url)
    stop = asyncio.ensure_future(wait_for_stop_signal())
    try:
        if not await _until_done(stop, lambda: upgrade_keeping_a_backup(store), "preparing the database"):
            return 0
        app = build_application(settings, store, polling=not webhook)
        rt = runtime_of(app)
        web_app = build_web_app(store=store, clock=rt.clock, logistics_token=settings.logistics_token,
                                wake=rt.kick, metrics=metrics_of(app), metrics_token=settings.metrics_token,
                                return_after=rt.return_after)
        if hook is not None:
            add_telegram_route(web_app, app, webhook_path(hook[0]), hook[1])
        try:
            if not await _until_done(stop, lambda: start_app(app), "starting the bot"):
                return 0
            keep_out_of_collections()
            server = await _listen(web_app, settings)
            try:
                if hook is not None:
                    url, secret = hook
                    if not await _until_done(stop, lambda: app.bot.set_webhook(
                            url, secret_token=secret, allowed_updates=ALLOWED_UPDATES), "setting the webhook"):
                        return 0
                    log.info("the bot is running by webhook; SIGTERM or Ctrl-C stops it")
                else:
                    # Before polling: what a dead predecessor fetched and never finished, Telegram
                    # will not send again (``RuralApplication.hand_over_unfinished``).
                    if not await _until_done(stop, app.hand_over_unfinished, "handing over unfinished updates"):
                        return 0
                    await _poll(app, 10)
                    log.info("the bot is running by long polling; SIGTERM or Ctrl-C stops it")
                await stop
            finally:
                await stop_server(server)  # no new requests; the ones in flight finish
        finally:
            await stop_polling(app)
    except InvalidToken:
        raise SettingsError("BOT_TOKEN was refused by Telegram: check it with @BotFather") from None
    finally:
        stop.cancel()
        await store.close()
        log.info("stopped")
    return 0


async def _listen(web_app: web.Application, settings: Settings) -> web.AppRunner:
    try:
        return await start_server(web_app, settings.listen_host, settings.listen_port)
    except OSError as exc:
        raise SettingsError(f"LISTEN_HOST/LISTEN_PORT: cannot listen on "
                            f"{settings.listen_host}:{settings.listen_port}: {exc.strerror or exc}") from None


async def _until_done(stop: asyncio.Future, action: Callable[[], Awaitable], what: str) -> bool:
    """Run ``action`` until it succeeds (True), retrying while Telegram or the database cannot be
    reached, with a growing pause; False if a stop signal came first."""
    delay = 1.0
    while True:
        attempt = asyncio.ensure_future(action())
        await asyncio.wait({attempt, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not attempt.done():
            attempt.cancel()
            with contextlib.suppress(BaseException):
                await attempt
            return False
        error = attempt.exception()
        if error is None:
            return True
        if isinstance(error, InvalidToken) or not isinstance(error, (NetworkError, RetryAfter)) and not is_unavailable(error):
            raise error
        log.warning("%s: %s: %s; trying again in %.0f s", what, type(error).__name__, error, delay)
        try:
            await asyncio.wait_for(asyncio.shield(stop), delay)
            return False
        except TimeoutError:
            delay = min(delay * 2, RETRY_CAP)
