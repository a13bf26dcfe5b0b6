"""The person's own data: /mydata sends it as a JSON file, /forget deletes it after a confirmation.

    /mydata ──> 📄 my-data.json
    /forget ──> what goes, what stays ──> 🗑 Yes, forget me ──> deleted (orders stay, anonymized)
                                     └──> ✖️ No, keep my data ──> nothing changed

The confirmation names the villager it was shown to (``pv:yes:<villager id>``): a tap from
anyone else, a second tap, or a tap after the person came back as a new villager changes nothing.
"""

from __future__ import annotations

import json
import logging

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from handlers.context import RuralContext
from handlers.ui import alert, button, esc, keyboard, on_tap, show
from locales import localized
from services import privacy
from services.errors import NotFound

log = logging.getLogger(__name__)
FILE_NAME = "my-data.json"


async def mydata_command(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    data = await privacy.personal_data(rt.store, context.villager.id, rt.clock.now())
    content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    await context.bot.send_document(
        update.effective_chat.id, content, filename=FILE_NAME, parse_mode=ParseMode.HTML,
        caption=t("📄 Here is everything the bot stores about you. To delete your personal data, send /forget."))


async def forget_command(update: Update, context: RuralContext) -> None:
    t = context.t
    villager = context.villager
    preview = await privacy.forget_preview(context.rt.store, villager.id)
    deleted = [t("• your name, username and phone number"),
               t("• your chat with the bot: it can no longer write to you")]
    if preview.cart_lines:
        deleted.append(t.plural("• your cart ({n} item)", "• your cart ({n} items)", preview.cart_lines))
    if preview.listings_to_withdraw:
        deleted.append(t.plural("• {n} produce listing, withdrawn from the market",
                                "• {n} produce listings, withdrawn from the market", preview.listings_to_withdraw))
    for names in preview.partner_of:
        deleted.append(t("• your place as a partner of {center}", center=esc(localized(names, t.language))))
    lines = [t("🗑 <b>Forget me</b>"), "", t("This deletes:"), *deleted, "", t("This stays:")]
    if preview.orders:
        lines.append(t.plural("• your {n} order, without your name, for the service centers' accounts",
                              "• your {n} orders, without your name, for the service centers' accounts",
                              preview.orders))
    else:
        lines.append(t("• nothing: you have no orders"))
    if preview.open_orders:
        lines.append(t("⚠️ Orders still on their way can be picked up with their pickup code, but you will get no "
                       "more messages about them."))
    lines += ["", t("Delete your personal data now? This cannot be undone.")]
    await show(update, context, "\n".join(lines), keyboard(
        [button(t("🗑 Yes, forget me"), f"pv:yes:{villager.id}")],
        [button(t("✖️ No, keep my data"), f"pv:no:{villager.id}")],
    ))


@on_tap
async def confirm_tapped(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    villager_id = int(context.match.group(1))
    message = update.callback_query.message
    if (villager_id != context.villager.id or message is None or message.chat.type != ChatType.PRIVATE
            or message.chat.id != update.effective_user.id):
        await stale(update, context)
        return
    try:
        done = await privacy.forget(rt.store, rt.clock, villager_id)
    except NotFound:  # forgotten already: a second tap
        await stale(update, context)
        return
    log.info("villager %s was forgotten: %s listings withdrawn, %s orders kept, %s partner rights removed",
             villager_id, done.listings_withdrawn, done.orders_kept, done.partner_rights_removed)
    if done.listings_withdrawn:
        rt.kick()  # the desks' listing cards show the withdrawal
    await show(update, context, t("🗑 Your personal data has been deleted. Your orders stay with the service "
                                  "centers, without your name. Send /start whenever you want to come back."))


@on_tap
async def cancel_tapped(update: Update, context: RuralContext) -> None:
    if int(context.match.group(1)) != context.villager.id:  # another's question, forged
        await stale(update, context)
        return
    await show(update, context, context.t("👍 Nothing was changed. Your data is kept."))


async def stale(update: Update, context: RuralContext) -> None:
    await alert(update, context, context.t("⌛ This button is no longer valid. Please open the menu again."))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("mydata", mydata_command, filters=private))
    app.add_handler(CommandHandler("forget", forget_command, filters=private))
    app.add_handler(CallbackQueryHandler(confirm_tapped, pattern=r"^pv:yes:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(cancel_tapped, pattern=r"^pv:no:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(on_tap(stale), pattern=r"^pv:"))
