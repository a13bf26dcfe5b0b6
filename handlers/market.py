"""🧺 Market: villagers' produce, browsed by category or county, searched, and ordered."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from handlers.context import RuralContext

MARKET_FORMS: dict = {}


async def market_command(update: Update, context: RuralContext) -> None:
    raise NotImplementedError


def register(app: Application) -> None:
    pass
