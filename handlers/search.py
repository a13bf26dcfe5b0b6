"""Search: ``/search words``, the 🔍 button, or any text typed while no form waits for input."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import forms
from handlers.callbacks import Cart, Categories, Find, Product, on
from handlers.context import RuralContext
from handlers.ui import button, esc, keyboard, money, on_tap, person_menu, say, show
from locales import N_
from services.chitchat import Chat, chitchat
from services.search import Asker


async def search_command(update: Update, context: RuralContext) -> None:
    words = " ".join(context.args or [])
    if words.strip():
        await run_search(update, context, words)
    else:
        await ask_words(update, context)


async def ask_words(update: Update, context: RuralContext) -> None:
    await say(update, context, context.t("🔍 What are you looking for? Type a word, for example: fertilizer, 化肥 or huafei."))


# What chit-chat is answered with, by its kind; always with the menu.
SMALL_TALK = {
    Chat.GREETING: N_("👋 Hello! What would you like today? Use the buttons below, or type what you are "
                      "looking for."),
    Chat.THANKS: N_("😊 You are welcome! Anything else? Use the buttons below."),
    Chat.OK: N_("👍 OK! The buttons below are here whenever you need them."),
}


async def run_search(update: Update, context: RuralContext, words: str) -> None:
    t, rt = context.t, context.rt
    kind = chitchat(words)
    if kind is not None:  # not a search: nothing is looked up, and no miss is recorded
        await say(update, context, t(SMALL_TALK[kind]), await person_menu(context))
        return
    result = await rt.search.search(words, asker=Asker(context.villager.id if context.villager else None, t.locale))
    query = esc(result.query)
    back = [button(t("📂 Categories"), Categories()), button(t("🛍 Cart"), Cart())]
    if result.found:
        rows = [[button(f"{p.name(t.language)} · {money(p.price_fen)}", Product(p.id, 1))] for p in result.products]
        await show(update, context, t("🔍 Found for “{query}”:", query=query), keyboard(*rows, back))
        return
    rows = [[button(f"{p.name(t.language)} · {money(p.price_fen)}", Product(p.id, 1))] for p in result.suggestions]
    text = t("😕 Nothing found for “{query}”.", query=query)
    if rows:
        text += "\n" + t("Maybe one of these?")
    else:
        text += "\n" + t("Try another word, or browse the categories.")
    await show(update, context, text, keyboard(*rows, back))


def register(app: Application) -> None:
    forms.on_menu(app, "search", ask_words)
    forms.on_other_text(app, run_search)
    app.add_handler(CommandHandler("search", search_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(Find, on_tap(ask_words)))
