"""Typed text and everything nobody else handled.

Text is, in this order: a main-menu button (in any language), the answer to a form that waits
for input (``villager.awaiting``), or else a search. Stickers, voice, unknown commands and stale
or forged buttons get a short answer that says what to do instead.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from handlers import forms
from handlers.callbacks import on_other
from handlers.context import RuralContext
from handlers.ui import alert, cannot_read, menu_action, person_menu, say, use_the_buttons

log = logging.getLogger(__name__)
MAX_TEXT = 4000
# Messages said or shown rather than written: answered with the big buttons.
SPOKEN_OR_SHOWN = (filters.VOICE | filters.Sticker.ALL | filters.VIDEO | filters.VIDEO_NOTE | filters.AUDIO
                   | filters.ANIMATION)


async def text_received(update: Update, context: RuralContext) -> None:
    t, villager = context.t, context.villager
    text = update.effective_message.text or ""
    if len(text) > MAX_TEXT:
        await say(update, context, t("⚠️ That message is too long. Please send something shorter."))
        return
    known = forms.registry(context.application)
    action = menu_action(text.strip())
    if action is not None:
        if villager.awaiting:
            await forms.stop_waiting(context)
        await known.menu[action](update, context)
        return
    if villager.awaiting:
        owed = forms.awaiting(context)
        answer = known.text.get(owed.form) if owed is not None else None
        if answer is not None:
            await answer(update, context, owed.ref, text)
            return
        log.warning("dropping unknown awaiting state %r", villager.awaiting)
        await forms.stop_waiting(context)
    await known.other_text(update, context, text)


async def photo_received(update: Update, context: RuralContext) -> None:
    """A photo that a form waits for; any other photo is not something the bot reads (a form
    whose thing is gone stops waiting by itself)."""
    owed = forms.awaiting(context)
    answer = forms.registry(context.application).photo.get(owed.form) if owed is not None else None
    if answer is not None and await answer(update, context, owed.ref, update.effective_message.photo[-1].file_id):
        return
    await cannot_read(update, context)


async def unknown_command(update: Update, context: RuralContext) -> None:
    await say(update, context, context.t("🤔 I don't know that command. Try /help."), await person_menu(context))


async def stale_button(update: Update, context: RuralContext) -> None:
    await alert(update, context, context.t("⌛ This button is no longer valid. Please open the menu again."))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & private, text_received))
    app.add_handler(MessageHandler(filters.COMMAND & private, unknown_command))
    app.add_handler(MessageHandler(filters.PHOTO & private, photo_received))
    app.add_handler(on_other(stale_button))
    app.add_handler(MessageHandler(private & SPOKEN_OR_SHOWN, use_the_buttons))
    app.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, cannot_read))
