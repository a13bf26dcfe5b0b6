"""Words admins (ADMIN_IDS) teach the search, in a private chat:

    /synonym 洋芋 土豆        "洋芋" also finds what "土豆" finds
    /synonym                 the words taught so far
    /synonym remove 洋芋      forget one
    a CSV file               with the header row ``word,means``: many at once (imported by
                             catalog_admin's document handler; a file with any bad row changes nothing)

/stats suggests ready-to-copy ``/synonym`` lines from the searches that found nothing.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers.admin import for_admins
from handlers.context import RuralContext
from handlers.ui import esc, say
from locales import Translator
from services import synonyms
from services.partners import Actor
from services.synonyms import BadSynonym

log = logging.getLogger(__name__)
PRIVATE = filters.ChatType.PRIVATE
MAX_LIST_CHARS = 3500  # a message holds 4096
REMOVE = ("remove", "删除")


def usage(t: Translator) -> str:
    return t("Usage: /synonym 洋芋 土豆 (the villagers' word, then what the catalog calls it); "
             "/synonym remove 洋芋; /synonym alone lists them. A CSV file with the header "
             "<b>word,means</b> adds many at once.")


def list_text(t: Translator, found: list[synonyms.SynonymView]) -> str:
    if not found:
        return "\n\n".join([t("📖 No words taught yet."), usage(t)])
    head = t.plural("📖 {n} word taught to the search:", "📖 {n} words taught to the search:", len(found))
    lines, size = [head], len(head)
    for item in found:
        line = f"• {esc(item.word)} → {esc(item.means)}"
        size += len(line) + 1
        if size > MAX_LIST_CHARS:
            lines.append(t("… and {n} more.", n=len(found) - len(lines) + 1))
            break
        lines.append(line)
    return "\n".join(lines)


@for_admins
async def synonym_command(update: Update, context: RuralContext, actor: Actor) -> None:
    t, rt = context.t, context.rt
    args = context.args or []
    if not args:
        await say(update, context, list_text(t, await synonyms.list_all(rt.store)))
    elif len(args) == 2 and args[0].lower() in REMOVE:
        if await synonyms.remove(rt.store, args[1]):
            await say(update, context, t("🗑 “{word}” is forgotten.", word=esc(args[1])))
        else:
            await say(update, context, t("🤔 “{word}” is not a word taught to the search.", word=esc(args[1])))
    elif len(args) == 2:
        try:
            added = await synonyms.add(rt.store, rt.clock.now(), actor.telegram_id, args[0], args[1],
                                       rt.search.finds)
        except BadSynonym as exc:
            await say(update, context, "\n".join([esc(t(exc.message, **exc.params)), usage(t)]))
            return
        log.info("admin %s taught %r -> %r", actor.telegram_id, added.word, added.means)
        text = t("✅ A search for “{word}” now also finds “{means}”.", word=esc(added.word), means=esc(added.means))
        if added.replaced:
            text += "\n" + t("(It meant “{before}” until now.)", before=esc(added.replaced))
        await say(update, context, text)
    else:
        await say(update, context, usage(t))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("synonym", synonym_command, filters=PRIVATE))
