"""🌾 Sell produce: a listing made step by step (/sell), and the seller's listings (/mylistings)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from handlers.context import RuralContext

# What a typed text answers while the seller is at a step: "sell:12" -> the step of draft 12.
PRODUCE_FORMS: dict = {}


async def sell_command(update: Update, context: RuralContext) -> None:
    raise NotImplementedError


def register(app: Application) -> None:
    pass
