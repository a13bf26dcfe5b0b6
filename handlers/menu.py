"""Typed text and everything nobody else handled.

Text is, in this order: a main-menu button (in any language), the answer to a form that waits
for input (``villager.awaiting``), or else a search. Stickers, voice, unknown commands and stale
or forged buttons get a short answer that says what to do instead.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from handlers import assist, broadcast, browse, cart, catalog_admin, desk_prompts, market, orders, produce, search, start
from handlers.context import RuralContext
from handlers.ui import alert, cannot_read, main_menu, menu_action, say
from services import villagers

log = logging.getLogger(__name__)
MAX_TEXT = 4000

MENU_ACTIONS = {
    "shop": browse.categories,
    "search": search.ask_words,
    "cart": cart.show_cart,
    "orders": orders.orders_command,
    "market": market.market_command,
    "sell": produce.sell_command,
    "help": start.help_screen,
}

# What a waiting form does with the next text: "qty:12" -> browse.quantity_typed(..., 12, text).
FORMS = {
    "qty": browse.quantity_typed,
    "line": cart.line_quantity_typed,
    "ofor": assist.name_typed,
    **produce.PRODUCE_FORMS,  # the steps of a listing being made, and edits of one
    **market.MARKET_FORMS,  # a quantity to buy, words to find in the market
    **broadcast.FORMS,  # an admin composing a promotion
    **catalog_admin.FORMS,  # an admin typing a product's new price or stock
    **desk_prompts.DESK_FORMS,  # a card in a partner's private chat (no group): a typed reason or pickup code
}


async def text_received(update: Update, context: RuralContext) -> None:
    t, villager = context.t, context.villager
    text = update.effective_message.text or ""
    if len(text) > MAX_TEXT:
        await say(update, context, t("⚠️ That message is too long. Please send something shorter."))
        return
    action = menu_action(text.strip())
    if action is not None:
        if villager.awaiting:
            await villagers.set_awaiting(context.rt.store, villager.id, None)
        await MENU_ACTIONS[action](update, context)
        return
    if villager.awaiting:
        kind, _, ref = villager.awaiting.partition(":")
        form = FORMS.get(kind)
        if form is not None and ref.isdigit():
            await form(update, context, int(ref), text)
            return
        log.warning("dropping unknown awaiting state %r", villager.awaiting)
        await villagers.set_awaiting(context.rt.store, villager.id, None)
    await search.run_search(update, context, text)


# What a photo answers: a listing's photo step, a listing's new photo, a promotion's picture.
PHOTO_FORMS = {**produce.PHOTO_FORMS, **broadcast.PHOTO_FORMS}


async def photo_received(update: Update, context: RuralContext) -> None:
    """A photo that a form waits for; any other photo is not something the bot reads (a form
    whose thing is gone stops waiting by itself)."""
    villager = context.villager
    kind, _, ref = (villager.awaiting or "").partition(":")
    form = PHOTO_FORMS.get(kind)
    if form is not None and ref.isdigit():
        if await form(update, context, int(ref), update.effective_message.photo[-1].file_id):
            return
    await cannot_read(update, context)


async def unknown_command(update: Update, context: RuralContext) -> None:
    await say(update, context, context.t("🤔 I don't know that command. Try /help."), main_menu(context.t))


async def stale_button(update: Update, context: RuralContext) -> None:
    await alert(update, context, context.t("⌛ This button is no longer valid. Please open the menu again."))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & private, text_received))
    app.add_handler(MessageHandler(filters.COMMAND & private, unknown_command))
    app.add_handler(MessageHandler(filters.PHOTO & private, photo_received))
    app.add_handler(CallbackQueryHandler(stale_button))
    app.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, cannot_read))
