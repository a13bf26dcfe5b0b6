"""Opting out of promotions (handlers/broadcast.py sends them): 🔕 Unsubscribe on every promotion,
/promotions off, and /promotions on to get them again. News of one's orders still comes."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers.callbacks import Unsubscribe, on
from handlers.context import RuralContext
from handlers.ui import alert, on_tap, say
from services import broadcast


async def promotions_command(update: Update, context: RuralContext) -> None:
    t = context.t
    choice = (context.args or [""])[0].lower()
    if choice not in ("on", "off"):
        await say(update, context, t("Usage: /promotions off (no more promotions) or /promotions on"))
        return
    await broadcast.set_promotions(context.rt.store, update.effective_user.id, choice == "on")
    if choice == "on":
        await say(update, context, t("🔔 You will get promotions again."))
    else:
        await say(update, context, t("🔕 You will get no more promotions. News of your orders still comes. "
                                     "/promotions on brings them back."))


@on_tap
async def unsubscribe_tapped(update: Update, context: RuralContext) -> None:
    await broadcast.set_promotions(context.rt.store, update.effective_user.id, False)
    await alert(update, context, context.t("🔕 You will get no more promotions. /promotions on brings them back."))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("promotions", promotions_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(Unsubscribe, unsubscribe_tapped))
