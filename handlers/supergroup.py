"""A desk's group that becomes a supergroup keeps its desk.

Telegram gives the supergroup a new chat id and says so in both chats: the old group gets a
message with ``migrate_to_chat_id``, the new supergroup one with ``migrate_from_chat_id``. A send
to the old id says so too (the outbox pump and ``on_error`` handle that). Whichever comes first
moves the desk and posts its waiting cards again in the supergroup; the others change nothing.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import ChatMigrated
from telegram.ext import Application, MessageHandler, filters

from handlers.context import RuralContext
from services import desks

log = logging.getLogger(__name__)


async def group_upgraded(update: Update, context: RuralContext) -> None:
    message = update.effective_message
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        old, new = message.migrate_from_chat_id, message.chat.id
    await moved(context, old, new)


async def moved(context: RuralContext, old_chat_id: int, new_chat_id: int) -> None:
    rt = context.rt
    result = await desks.group_migrated(rt.store, rt.clock, old_chat_id, new_chat_id)
    log.info("group %s became supergroup %s: %s desk there, %s waiting cards go again",
             old_chat_id, new_chat_id, result.desks, result.cards)


async def reply_refused(update: object, context: RuralContext) -> None:
    """A reply to the old group was refused: that reply is lost (the partner taps again, in the
    supergroup), but the desk moves now. (``on_error`` logs it.)"""
    if isinstance(context.error, ChatMigrated) and isinstance(update, Update) and update.effective_chat:
        await moved(context, update.effective_chat.id, context.error.new_chat_id)


def register(app: Application) -> None:
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, group_upgraded))
    app.add_error_handler(reply_refused)
