"""The partner decides on a problem after pickup, on its card (handlers.problem_cards):

    💰 Refund ¥X (the lines the villager chose) / 💰 Refund the whole order: pay it back in cash
    🔁 Replace: a new order for the same lines at no charge, confirmed, on the parcel's usual way
    ❌ Decline: a reason's button, or ✏️ a typed one (the desk's one flow: handlers.desk, desk_prompts)
    then, where goods came back: ✅ Back to stock / 🗑 Not sellable

Anyone in the desk's group sees the card; only the center's partners and admins act on it. What is
decided reaches the villager, and a produce seller, through the outbox (``deliver``).
"""

from __future__ import annotations

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.ext import Application

from handlers import desk_prompts, forms
from handlers.callbacks import (
    OrderDetail,
    ProblemCard,
    ProblemDecline,
    ProblemDeclineReason,
    ProblemRefund,
    ProblemReplace,
    ProblemRestock,
    TypeProblemReason,
    on,
)
from handlers.card_posts import post_center_card
from handlers.context import Runtime, RuralContext
from handlers.delivery_notices import refunded_away
from handlers.desk import actor_of, card_tapped, on_card, reason_tapped, refuse, reject_tapped
from handlers.problem_cards import PROBLEM, REASONS, decline_reason_text
from handlers.ui import button, esc, keyboard, money, name_in
from locales import translator
from services import centers, desks, problem_desk
from services.outbox import Claimed, Kind
from services.problems import ProblemView


async def _decided(update: Update, context: RuralContext, text: str) -> None:
    context.answered = True
    await update.callback_query.answer(text, show_alert=True)


async def refund_tapped(update: Update, context: RuralContext, kind, card: ProblemView, data: ProblemRefund) -> None:
    rt = context.rt
    try:
        problem = await problem_desk.refund(rt.store, rt.clock, actor_of(update, context), card.id,
                                            whole=data.scope == "all")
    except PROBLEM.refused as exc:
        await refuse(update, context, exc, PROBLEM)
        return
    if problem.paid_away:  # a delivered town order: not from the till
        await _decided(update, context, context.t("💰 Refunded {amount}: paid back from the county's account, not "
                                                  "from the till.", amount=money(problem.refunded_fen)))
        return
    await _decided(update, context, context.t("💰 Refunded {amount}: pay it back in cash at the counter.",
                                              amount=money(problem.refunded_fen)))


async def replace_tapped(update: Update, context: RuralContext, kind, card: ProblemView, data) -> None:
    rt = context.rt
    try:
        problem = await problem_desk.replace(rt.store, rt.clock, actor_of(update, context), card.id)
    except PROBLEM.refused as exc:
        await refuse(update, context, exc, PROBLEM)
        return
    await _decided(update, context, context.t("🔁 Replacement order {number} is confirmed, at no charge.",
                                              number=problem.replacement_number))


async def restock_tapped(update: Update, context: RuralContext, kind, card: ProblemView, data: ProblemRestock) -> None:
    rt = context.rt
    try:
        await problem_desk.restock(rt.store, rt.clock, actor_of(update, context), card.id, data.sellable == "y")
    except PROBLEM.refused as exc:
        await refuse(update, context, exc, PROBLEM)
        return
    t = context.t
    await _decided(update, context, t("✅ Back in stock.") if data.sellable == "y" else t("🗑 Noted: not sellable."))


# ---- what the outbox sends ---------------------------------------------------------------------

async def deliver(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    """A problem's card for the desk, or a decision's notice for the villager or the seller."""
    if row.kind == Kind.PROBLEM_CARD:
        return await post_center_card(bot, rt, PROBLEM, row.payload["problem_id"])
    problem = await problem_desk.card_view(rt.store, row.payload["problem_id"])
    person = await desks.recipient(rt.store, row.villager_id)
    if problem is None or person is None or not person.reachable:
        return False
    t = translator(person.locale or rt.default_locale)
    event, number = row.payload["event"], problem.order_number
    reason = t(REASONS[problem.reason]) if problem.reason else ""
    markup = None
    if event == "refunded" and problem.paid_away:
        text = refunded_away(t, problem)
    elif event == "refunded":
        center = await centers.get_center(rt.store, problem.center_id)
        text = t("💰 Your problem with order <b>{number}</b>: {amount} is refunded. Collect it in cash at {center}.",
                 number=number, amount=money(problem.refunded_fen), center=esc(name_in(center.names, t)))
    elif event == "replaced":
        text = t("🔁 Your problem with order <b>{number}</b>: a replacement order <b>{new}</b> is on its way, at no "
                 "charge. We will tell you when it arrives.", number=number, new=problem.replacement_number)
    elif event == "declined":
        text = t("❌ Your problem with order <b>{number}</b> was declined.", number=number)
        text += "\n" + t("Reason: {reason}", reason=decline_reason_text(t, problem.decline_reason))
    elif event == "seller_refunded":
        text = t("↩️ The buyer of order <b>{number}</b> reported a problem ({reason}): {amount} was refunded, and "
                 "your earnings are that much less.", number=number, reason=reason,
                 amount=money(problem.refunded_fen))
    elif event == "seller_replaced":
        text = t("🔁 The buyer of order <b>{number}</b> reported a problem ({reason}): a replacement order "
                 "<b>{new}</b> goes to them at no charge.", number=number, reason=reason,
                 new=problem.replacement_number)
    else:
        return False
    if not event.startswith("seller_"):
        markup = keyboard([button(t("📦 Track"), OrderDetail(problem.order_id))])
    await bot.send_message(person.telegram_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    return True


def register(app: Application) -> None:
    app.add_handler(on(ProblemRefund, on_card(PROBLEM, refund_tapped, acting=True)))
    app.add_handler(on(ProblemReplace, on_card(PROBLEM, replace_tapped, acting=True)))
    app.add_handler(on(ProblemRestock, on_card(PROBLEM, restock_tapped, acting=True)))
    app.add_handler(on(ProblemDecline, on_card(PROBLEM, reject_tapped, acting=True)))
    app.add_handler(on(ProblemDeclineReason, on_card(PROBLEM, reason_tapped)))
    app.add_handler(on(ProblemCard, on_card(PROBLEM, card_tapped)))
    app.add_handler(on(TypeProblemReason, on_card(PROBLEM, desk_prompts.typed_reason_tapped, acting=True)))
    forms.on_text(app, desk_prompts.PROBLEM_REASON, desk_prompts.answered_privately(desk_prompts.PROBLEM_REASON))
