"""/orderfor: a partner orders for a villager without a phone, with the usual shop screens.

    /orderfor Li Wei 13800138000 ──> 🤝 ordering for Li Wei ──> shop, search, cart ──> confirm
                                                         └── /done stops without ordering
"""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from handlers import browse, forms
from handlers.context import RuralContext
from handlers.forms import Form
from handlers.ui import esc, money, person_menu, say
from locales import N_
from services import assist
from services.assist import BadName, BadPhone
from services.orders import OrderView
from services.partners import NotPartner

PRIVATE = filters.ChatType.PRIVATE
WHO = Form("ofor")  # "Who are you ordering for?": about nothing stored (0)
PHONE = Form("phone")  # /phone waits for the shared contact, or ✖️ Cancel
CANCEL = N_("✖️ Cancel")


async def order_for(update: Update, context: RuralContext) -> None:
    t = context.t
    if not context.args:
        await forms.wait_for(context, WHO())
        await say(update, context, t("🤝 Who are you ordering for? Type their name and, if they have one, "
                                     "their phone number, e.g. <code>Li Wei 13800138000</code>."))
        return
    await begin(update, context, " ".join(context.args))


async def name_typed(update: Update, context: RuralContext, _ref: int, text: str) -> None:
    await begin(update, context, text)


async def begin(update: Update, context: RuralContext, text: str) -> None:
    t, rt = context.t, context.rt
    try:
        name, phone = assist.split_name_and_phone(text)
        shopper = await assist.begin(rt.store, rt.clock, context.villager, name, phone)
    except BadName:
        await say(update, context, t("⚠️ Please type a name of 1 to {n} characters, then the phone number if any.",
                                     n=assist.MAX_NAME))
        return
    except BadPhone:
        await say(update, context, t("⚠️ That phone number does not look right. Please type 5 to 15 digits."))
        return
    except NotPartner:
        await forms.stop_waiting(context)
        await say(update, context, t("🔒 Only partners can order for other villagers."))
        return
    await forms.stop_waiting(context)
    context.shopper = shopper
    await say(update, context, t("🤝 You are now ordering for <b>{name}</b>. Shop and search as usual; the "
                                 "order will be theirs, for pickup at your center. Send /done to stop.",
                                 name=esc(shopper.first_name)), await person_menu(context))
    await browse.categories(update, context)


async def done(update: Update, context: RuralContext) -> None:
    t = context.t
    if not context.assisting:
        await say(update, context, t("ℹ️ You are not ordering for anyone."), await person_menu(context))
        return
    await assist.end(context.rt.store, context.villager.id)
    await say(update, context, t("✅ You stopped ordering for {name}. Their cart is kept for next time.",
                                 name=esc(context.shopper.first_name)), await person_menu(context))


async def finished(update: Update, context: RuralContext, order: OrderView) -> None:
    """The assisted order is placed: back to ordering for oneself."""
    t = context.t
    await assist.end(context.rt.store, context.villager.id)
    await say(update, context, "\n".join([
        t("✅ Order <b>{number}</b> placed for {name}.", number=order.number, name=esc(context.shopper.first_name)),
        t("💰 Total: <b>{total}</b>, paid in cash at pickup.", total=money(order.total_fen)),
        t("You are ordering for yourself again."),
    ]), await person_menu(context))


async def phone_command(update: Update, context: RuralContext) -> None:
    t = context.t
    await forms.wait_for(context, PHONE())
    await say(update, context, t("📱 Share your phone number, so that orders a partner places for you by phone "
                                 "reach you here too."), phone_keyboard(t))


def phone_keyboard(t) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(t("📱 Share my phone number"), request_contact=True)],
                                [KeyboardButton(t(CANCEL))]], resize_keyboard=True, one_time_keyboard=True)


async def phone_typed(update: Update, context: RuralContext, _ref: int, text: str) -> None:
    """Text instead of the shared contact: ✖️ Cancel ends the question, with the menu back; anything
    else asks again (a typed number is not taken: only a shared contact is surely the person's)."""
    t = context.t
    if text.strip() in (t(CANCEL), CANCEL):
        await forms.stop_waiting(context)
        await say(update, context, t("✖️ Cancelled. Nothing changed."), await person_menu(context))
        return
    await say(update, context, t("📱 Please tap “📱 Share my phone number” below, or ✖️ Cancel."), phone_keyboard(t))


async def contact_shared(update: Update, context: RuralContext) -> None:
    t = context.t
    contact = update.effective_message.contact
    await forms.stop_waiting(context, PHONE)
    if contact.user_id != update.effective_user.id:
        await say(update, context, t("⚠️ Please share your own phone number with the button."), await person_menu(context))
        return
    try:
        await assist.save_phone(context.rt.store, context.villager.id, contact.phone_number)
    except BadPhone:
        await say(update, context, t("⚠️ That phone number does not look right. Please type 5 to 15 digits."),
                  await person_menu(context))
        return
    await say(update, context, t("✅ Thank you, your phone number is saved."), await person_menu(context))


def register(app: Application) -> None:
    forms.on_text(app, WHO, name_typed)
    forms.on_text(app, PHONE, phone_typed)
    app.add_handler(CommandHandler("orderfor", order_for, filters=PRIVATE))
    app.add_handler(CommandHandler("done", done, filters=PRIVATE))
    app.add_handler(CommandHandler("phone", phone_command, filters=PRIVATE))
    app.add_handler(MessageHandler(filters.CONTACT & PRIVATE, contact_shared))
