"""Search: ``/search words``, the 🔍 button, or any text typed while no form waits for input. One
search box: it finds the shop's products and the neighbours' produce in the market together."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import forms
from handlers.callbacks import Cart, Categories, Find, MarketHome, MarketWords, Product, on
from handlers.context import RuralContext
from handlers.market import listing_button
from handlers.ui import button, esc, keyboard, money, on_tap, person_menu, say, show
from locales import N_, Translator
from services import one_box
from services.catalog import ProductView
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
    found = await one_box.search(rt.search, rt.market, words,
                                 asker=Asker(context.villager.id if context.villager else None, t.locale))
    result = found.catalog
    query = esc(result.query)
    back = [button(t("📂 Categories"), Categories()), button(t("🛍 Cart"), Cart())]
    if found.found:
        await show(update, context, found_text(t, query, found), keyboard(*found_rows(context, found), back))
        return
    rows = product_rows(t, result.suggestions)
    text = t("😕 Nothing found for “{query}”.", query=query)
    if rows:
        text += "\n" + t("Maybe one of these?")
    else:
        text += "\n" + t("Try another word, or browse the categories.")
    await show(update, context, text, keyboard(*rows, back))


def product_rows(t: Translator, products: list[ProductView]) -> list[list]:
    return [[button(f"{p.name(t.language)} · {money(p.price_fen)}", Product(p.id, 1))] for p in products]


def found_text(t: Translator, query: str, found: one_box.Found) -> str:
    """The title, and when the market found something too, a label for each section: the shop's
    products come first, as a search always showed them, then the neighbours' produce (🧺)."""
    lines = [t("🔍 Found for “{query}”:", query=query)]
    if found.market:
        if found.catalog.found:
            lines.append(t("🛒 In the shop: {n}", n=len(found.catalog.products)))
        lines.append(t("🧺 From your neighbours, in the market: {n}", n=len(found.market)))
    return "\n".join(lines)


def found_rows(context: RuralContext, found: one_box.Found) -> list[list]:
    t = context.t
    rows = product_rows(t, found.catalog.products)
    rows += [[listing_button(context, view, MarketHome(), mark="🧺 ")] for view in found.market]
    if found.more_in_market:
        rows.append([button(t("🧺 More in the market"), MarketWords.or_ask(found.catalog.query))])
    return rows


def register(app: Application) -> None:
    forms.on_menu(app, "search", ask_words)
    forms.on_other_text(app, run_search)
    app.add_handler(CommandHandler("search", search_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(Find, on_tap(ask_words)))
