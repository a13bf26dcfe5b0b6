"""The person's own data: /mydata sends it as a JSON file, /forget deletes it after a confirmation.

    /mydata ──> 📄 my-data.json
    /forget ──> what goes, what stays ──> 🗑 Yes, forget me ──> deleted (orders stay, anonymized)
                                     └──> ✖️ No, keep my data ──> nothing changed

The confirmation names the villager it was shown to (``pv:yes:<villager id>``): a tap from
anyone else, a second tap, or a tap after the person came back as a new villager changes nothing.

A villager without Telegram, for whom a partner orders (/orderfor), is erased the same way by an
admin, or by a partner of their center:

    /forget_walkin PHONE ──> who it is, what stays ──> 🗑 Erase Li Wei (CG-01) ──> erased (orders stay)
                                                  └──> ✖️ No, keep it ──> nothing changed

``fw:yes:<villager id>`` is checked again when tapped: only an admin or a partner of that
villager's center erases them; anyone else gets an alert, and nothing changes.
"""

from __future__ import annotations

import json
import logging

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, CommandHandler, filters

from handlers.callbacks import ForgetMe, ForgetWalkIn, KeepMe, KeepWalkIn, on, on_any
from handlers.context import RuralContext
from handlers.ui import alert, button, esc, keyboard, on_tap, say, show
from locales import localized
from services import data_export, privacy
from services.assist import BadPhone
from services.errors import NotFound
from services.partners import Actor, NotPartner

log = logging.getLogger(__name__)
FILE_NAME = "my-data.json"


async def mydata_command(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    data = await data_export.personal_data(rt.store, context.villager.id, rt.clock.now())
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
    if preview.searches:
        deleted.append(t.plural("• {n} search of yours that found nothing",
                                "• {n} searches of yours that found nothing", preview.searches))
    if preview.listings_to_withdraw:
        deleted.append(t.plural("• {n} produce listing, withdrawn from the market",
                                "• {n} produce listings, withdrawn from the market", preview.listings_to_withdraw))
    for names in preview.partner_of:
        deleted.append(t("• your place as a partner of {center}", center=esc(localized(names, t.language))))
    if preview.addresses:
        deleted.append(t("• the receivers’ names, phone numbers and addresses of your finished delivery orders"))
    lines = [t("🗑 <b>Forget me</b>"), "", t("This deletes:"), *deleted, "", t("This stays:")]
    if preview.orders:
        lines.append(t.plural("• your {n} order, without your name, for the service centers' accounts",
                              "• your {n} orders, without your name, for the service centers' accounts",
                              preview.orders))
    else:
        lines.append(t("• nothing: you have no orders"))
    if preview.payments:
        lines.append(t("• the record of what you paid online and what was refunded (amounts, times, charge ids)"))
    if preview.open_orders > preview.open_deliveries:
        lines.append(t("⚠️ Orders still on their way can be picked up with their pickup code, but you will get no "
                       "more messages about them."))
    if preview.open_deliveries:
        lines.append(t("⚠️ Deliveries still on their way keep their address and go on to it, but you will get no "
                       "more messages about them."))
    lines += ["", t("Delete your personal data now? This cannot be undone.")]
    await show(update, context, "\n".join(lines), keyboard(
        [button(t("🗑 Yes, forget me"), ForgetMe(villager.id))],
        [button(t("✖️ No, keep my data"), KeepMe(villager.id))],
    ))


@on_tap
async def confirm_tapped(update: Update, context: RuralContext, data: ForgetMe) -> None:
    t, rt = context.t, context.rt
    villager_id = data.villager_id
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
    log.info("villager %s was forgotten: %s listings withdrawn, %s orders kept, %s partner rights removed, "
             "%s order cards to edit", villager_id, done.listings_withdrawn, done.orders_kept,
             done.partner_rights_removed, done.cards_to_edit)
    await show(update, context, t("🗑 Your personal data has been deleted. Your orders stay with the service "
                                  "centers, without your name. Send /start whenever you want to come back."))


@on_tap
async def cancel_tapped(update: Update, context: RuralContext, data: KeepMe) -> None:
    if data.villager_id != context.villager.id:  # someone else's button, copied
        await stale(update, context)
        return
    await show(update, context, context.t("👍 Nothing was changed. Your data is kept."))


@on_tap
async def cancel_walkin(update: Update, context: RuralContext) -> None:
    if not await privacy.may_erase_walkins(context.rt.store, actor_of(update, context)):
        await alert(update, context, context.t("🔒 Only admins and partners can erase a villager without Telegram."))
        return
    await show(update, context, context.t("👍 Nothing was changed."))


async def stale(update: Update, context: RuralContext) -> None:
    await alert(update, context, context.t("⌛ This button is no longer valid. Please open the menu again."))


# ---- /forget_walkin ---------------------------------------------------------------------------

def actor_of(update: Update, context: RuralContext) -> Actor:
    user = update.effective_user
    return Actor(user.id, user.first_name or "", user.id in context.rt.admin_ids)


async def forget_walkin_command(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    if not context.args:
        await say(update, context, t("Usage: /forget_walkin PHONE: erase a villager without Telegram, whom a partner "
                                     "ordered for, found by their phone number."))
        return
    try:
        found = await privacy.find_walkins(rt.store, actor_of(update, context), " ".join(context.args))
    except BadPhone:
        await say(update, context, t("⚠️ That phone number does not look right. Please type 5 to 15 digits."))
        return
    except NotPartner:
        await say(update, context, t("🔒 Only admins and partners can erase a villager without Telegram."))
        return
    if not found:
        await say(update, context, t("😔 No villager without Telegram has this phone number at a center of yours."))
        return
    lines = [t("🗑 <b>Erase a villager without Telegram</b>"), ""]
    for walkin in found:
        center = esc(localized(walkin.center_names, t.language))
        lines.append(t.plural("• {name}, {center} ({code}): {n} order", "• {name}, {center} ({code}): {n} orders",
                              walkin.orders, name=esc(walkin.name), center=center, code=esc(walkin.center_code)))
    lines += ["", t("This deletes their name, phone number and cart. Their orders stay, without their name, for the "
                    "service centers' accounts, and the cards already posted lose the name."), "",
              t("Erase now? This cannot be undone.")]
    rows = [[button(t("🗑 Erase {name} ({code})", name=walkin.name[:20], code=walkin.center_code),
                    ForgetWalkIn(walkin.villager_id))] for walkin in found[:10]]
    await show(update, context, "\n".join(lines), keyboard(*rows, [button(t("✖️ No, keep it"), KeepWalkIn())]))


@on_tap
async def walkin_confirmed(update: Update, context: RuralContext, data: ForgetWalkIn) -> None:
    t, rt = context.t, context.rt
    message = update.callback_query.message
    if message is None or message.chat.type != ChatType.PRIVATE or message.chat.id != update.effective_user.id:
        await stale(update, context)
        return
    villager_id = data.villager_id
    try:
        done = await privacy.forget_walkin(rt.store, rt.clock, actor_of(update, context), villager_id)
    except NotFound:  # no such villager, or erased already: a second tap
        await stale(update, context)
        return
    except NotPartner:
        await alert(update, context, t("🔒 Only admins and the partners of this villager's service center can "
                                       "erase them."))
        return
    log.info("walk-in villager %s was erased by %s: %s orders kept, %s order cards to edit",
             villager_id, update.effective_user.id, done.orders_kept, done.cards_to_edit)
    await show(update, context, t.plural(
        "🗑 Erased. Their {n} order stays, without their name.",
        "🗑 Erased. Their {n} orders stay, without their name.", done.orders_kept))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("mydata", mydata_command, filters=private))
    app.add_handler(CommandHandler("forget", forget_command, filters=private))
    app.add_handler(on(ForgetMe, confirm_tapped))
    app.add_handler(on(KeepMe, cancel_tapped))
    app.add_handler(on_any("pv", on_tap(stale)))
    app.add_handler(CommandHandler("forget_walkin", forget_walkin_command, filters=private))
    app.add_handler(on(ForgetWalkIn, walkin_confirmed))
    app.add_handler(on(KeepWalkIn, cancel_walkin))
    app.add_handler(on_any("fw", on_tap(stale)))
