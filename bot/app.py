"""Assembling the bot: the PTB Application with our context type, handlers and commands."""

from __future__ import annotations

import asyncio
import logging

from babel import Locale
from telegram import BotCommand
from telegram.ext import Application, ApplicationBuilder, ContextTypes

import handlers
from bot import broadcast_pump, pump
from bot.config import Settings
from bot.telegram_http import AiohttpRequest
from handlers.context import Runtime, RuralContext
from handlers.start import COMMANDS
from locales import available_locales, translator
from services.clock import Clock, SystemClock
from services.market import MarketSearch
from services.parcels import QuietHours
from services.search import CatalogSearch
from store.db import Store

log = logging.getLogger(__name__)
# Updates are handled concurrently: a slow database round trip for one villager does not hold up
# the others. Each person's own changes are serialized by the store (row locks, SQLite's writer).
CONCURRENT_UPDATES = 16


def file_url_for(base_url: str) -> str:
    """PTB wants the file URL too: ``http://host/bot`` -> ``http://host/file/bot``."""
    head, _, tail = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}"


def build_application(settings: Settings, store: Store, clock: Clock | None = None) -> Application:
    clock = clock or SystemClock()
    builder = (
        ApplicationBuilder()
        .token(settings.require_token())
        .context_types(ContextTypes(context=RuralContext))
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_limit=1, read_timeout=10.0))
        .post_init(_post_init)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url).base_file_url(file_url_for(settings.telegram_base_url))
    app = builder.build()
    app.bot_data["runtime"] = Runtime(
        store=store, clock=clock, search=CatalogSearch(store, clock), market=MarketSearch(store),
        default_locale=settings.default_locale, timezone=settings.timezone, admin_ids=settings.admin_ids,
        quiet_hours=QuietHours.parse(settings.quiet_hours),
    )
    handlers.register_all(app)
    pump.install(app, app.bot_data["runtime"])
    broadcast_pump.install(app, app.bot_data["runtime"], settings.broadcast_rate)
    return app


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
