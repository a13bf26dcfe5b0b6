"""Refunds of money paid online, paid back by a person at the payment provider (the Bot API cannot
refund physical goods; services/refunds.py):

    the card, to each admin and each staff of the seller's county (``Kind.REFUND_DUE``):
        💳 Refund ¥36.00 to 周丽 for order RT-… at the payment provider: Telegram charge …, provider charge …
        ✅ Refunded at the provider ──> "✅ Refunded at the provider by Zhou Min at 12-07 10:15", once
    /refunds   the refunds not confirmed yet, oldest first, each card with its button

Only admins and the staff of the seller's county see or confirm them; anyone else's tap is refused.
"""

from __future__ import annotations

from telegram import Bot, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, CommandHandler, filters

from handlers.admin import only_admins
from handlers.callbacks import RefundDone, on
from handlers.cards import reason_text
from handlers.cash import actor_of
from handlers.cash_notices import reader_t
from handlers.context import Runtime, RuralContext
from handlers.ui import alert, button, esc, keyboard, local_time, money, not_yours, on_tap, say, show
from locales import N_, Translator
from services import refunds
from services.errors import AlreadyDone, NotAdmin, NotYours
from services.outbox import Claimed
from services.refunds import RefundDue

REASONS = {
    "rejected": N_("the seller's center rejected the order"),
    "cancelled": N_("the buyer cancelled the order"),
    "lapsed": N_("paid after its reservation lapsed, and the produce was gone"),
    "problem": N_("a problem after delivery"),
}


def reason_words(t: Translator, r: RefundDue) -> str:
    if r.reason in REASONS:
        words = t(REASONS[r.reason])
        return f"{words} ({reason_text(t, r.detail)})" if r.detail else words
    return esc(r.reason)


def refund_card(t: Translator, r: RefundDue):
    """The card's text, and its button while the refund is not confirmed."""
    lines = [t("💳 Refund <b>{amount}</b> to {buyer} for order <b>{number}</b> at the payment provider: "
               "Telegram charge <code>{telegram}</code>, provider charge <code>{provider}</code>.",
               amount=money(r.amount_fen), buyer=esc(r.buyer_name), number=r.order_number,
               telegram=esc(", ".join(r.telegram_charges) or "—"),
               provider=esc(", ".join(r.provider_charges) or "—")),
             t("Reason: {reason}", reason=reason_words(t, r)),
             t("🕒 Recorded: {when}", when=local_time(r.at, r.timezone))]
    if r.confirmed_at is None:
        lines.append(t("The Bot API cannot refund goods: refund it in the provider's dashboard by the provider "
                       "charge, then tap ✅."))
        return "\n".join(lines), keyboard([button(t("✅ Refunded at the provider"), RefundDone(r.payment_id))])
    lines.append(t("✅ Refunded at the provider by {name} at {when}", name=esc(r.confirmed_by or ""),
                   when=local_time(r.confirmed_at, r.timezone)))
    return "\n".join(lines), None


async def send_refund_due(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    """The outbox's ``Kind.REFUND_DUE``: the row a refund queued becomes one row per admin and
    county staff (services.refunds.fan_out); each of those is one card, unless it was confirmed."""
    payment_id = row.payload["payment_id"]
    if "to" not in row.payload:
        return await refunds.fan_out(rt.store, row.id, payment_id, rt.admin_ids, rt.clock.now()) > 0
    r = await refunds.refund_view(rt.store, payment_id)
    if r is None or r.confirmed_at is not None:
        return False
    to = row.payload["to"]
    text, markup = refund_card(await reader_t(rt, to), r)
    await bot.send_message(to, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    return True


@on_tap
async def done_tapped(update: Update, context: RuralContext, data: RefundDone) -> None:
    t, rt = context.t, context.rt
    actor = actor_of(update, context)
    if update.effective_chat.type != ChatType.PRIVATE:  # the cards go to people, never to a group
        await not_yours(update, context)
        return
    try:
        r = await refunds.confirm(rt.store, rt.clock, actor, data.payment_id)
    except NotYours:
        await not_yours(update, context)
        return
    except AlreadyDone:
        r = await refunds.may_see(rt.store, actor, data.payment_id)
        await alert(update, context, t("ℹ️ This refund was already confirmed by {name}.",
                                       name=r.confirmed_by or ""))
    await show(update, context, *refund_card(t, r))


async def refunds_command(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    try:
        owed = await refunds.owed(rt.store, actor_of(update, context))
    except NotAdmin:
        await only_admins(update, context)
        return
    if not owed.total:
        await say(update, context, t("✅ No refunds waiting."))
        return
    head = t("💳 <b>Refunds to make at the payment provider</b>: {n}, oldest first.", n=owed.total)
    if owed.total > len(owed.shown):
        head += "\n" + t("The oldest {shown} are below; confirm them to see the rest.", shown=len(owed.shown))
    await say(update, context, head)
    for r in owed.shown:
        await say(update, context, *refund_card(t, r))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("refunds", refunds_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(RefundDone, done_tapped))
