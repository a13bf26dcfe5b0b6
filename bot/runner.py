"""Running the bot by long polling until told to stop (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)


async def start_polling(app: Application, poll_timeout: int = 10) -> None:
    await app.initialize()
    if app.post_init:  # run_polling() would call it; we start the parts ourselves
        await app.post_init(app)
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)


async def stop_polling(app: Application) -> None:
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
