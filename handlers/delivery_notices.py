"""What a town buyer is told as their delivery order moves (handlers.notices.send_status sends it):
one line of NOTICES per step, read as a table. A step's row in the outbox names it in its payload:
``{"status": ...}`` for a move of the order (services/parcels.announce), ``{"refunded_fen": ...}``
for money paid online and refunded (services/refunds.py). A notice's text may use {number}, {total}
(goods and delivery), {tracking} and {amount} (the refund). Its seller's "sold" notice says where
it goes (``seller_sold_line``), and the seller hears what a delivery earned them
(``seller_delivered``). A refund after delivery is a problem's (``refunded_away``).
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.constants import ParseMode

from handlers.callbacks import TrackOrder
from handlers.cards import reason_text
from handlers.ui import button, esc, keyboard, money
from locales import N_, Translator
from services.orders import OrderView
from services.problems import ProblemView
from services.states import OrderStatus
from services.town_orders import ONLINE

log = logging.getLogger(__name__)
S = OrderStatus
REFUNDED = "refunded"  # not a status: money paid online given back
LAPSED = "lapsed"  # a cancellation's "reason": the order was held 15 minutes and not paid (or confirmed)

NOTICES: dict[str, str] = {
    S.CONFIRMED: N_("✅ The seller's center confirmed your order <b>{number}</b>. It will ship soon; we will "
                    "send you the tracking number."),
    S.IN_TRANSIT: N_("🚚 Your order <b>{number}</b> has shipped. Tracking number: <b>{tracking}</b>\n"
                     "Follow it with /track."),
    S.REJECTED: N_("❌ Sorry, the seller's center could not take your order <b>{number}</b>."),
    S.CANCELLED: N_("🚫 Your order <b>{number}</b> was cancelled."),
    S.DELIVERED: N_("📦 Your order <b>{number}</b> was delivered. Enjoy it! Tomorrow we will ask how you "
                    "liked it."),
    REFUNDED: N_("💳 {amount} you paid for order <b>{number}</b> will be refunded to your card within a few days."),
    # services/town_orders.lapse_reservations: an invoice not paid, a cash-on-delivery order not confirmed
    LAPSED: N_("⌛ The invoice for order <b>{number}</b> was not paid within 15 minutes: the order is cancelled "
               "and the produce is back on sale. You can order it again at any time."),
    f"{LAPSED}:cash": N_("⌛ Order <b>{number}</b> was not confirmed within 15 minutes: it is cancelled and the "
                         "produce is back on sale. You can order it again at any time."),
}


def seller_sold_line(t: Translator) -> str:
    """Where a delivery order's produce goes, in the seller's "sold" notice (handlers.notices)."""
    return t("🚚 It goes by carrier to a buyer beyond the village.")


def event_of(payload: dict, order: OrderView | None = None) -> str | None:
    """Which line of NOTICES an outbox row's payload asks for."""
    if payload.get("reason") == LAPSED:
        return LAPSED if order is None or order.payment_method == "online" else f"{LAPSED}:cash"
    if "status" in payload:
        return payload["status"]
    if "refunded_fen" in payload:
        return REFUNDED
    return None


def notice_text(t: Translator, order: OrderView, payload: dict) -> str | None:
    """The buyer's notice for the step ``payload`` names; None for a step they are not told of."""
    event = event_of(payload, order)
    if event not in NOTICES:
        return None
    text = t(NOTICES[event], number=order.number, total=money(order.total_fen + order.delivery_fen),
             tracking=esc(order.tracking_number or ""), amount=money(payload.get("refunded_fen", 0)))
    if event == S.REJECTED and payload.get("reason"):
        text += "\n" + t("Reason: {reason}", reason=reason_text(t, payload["reason"]))
    return text


async def send_status(bot: Bot, chat_id: int, t: Translator, order: OrderView, payload: dict) -> bool:
    """Tell the buyer (``chat_id``) of their delivery order's step; False if it is no step they hear of."""
    text = notice_text(t, order, payload)
    if text is None:
        log.info("no delivery notice for order %s: %r", order.id, payload)
        return False
    await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                           reply_markup=keyboard([button(t("📦 Track"), TrackOrder(order.id))]))
    return True


def seller_delivered(t: Translator, order: OrderView, title: str) -> str:
    """The seller's words when their produce reached a town buyer: what they earned."""
    return t("💰 Order <b>{number}</b> was delivered to its buyer: you earned <b>{total}</b> for your {title}. "
             "Collect it from your partner.", number=order.number, total=money(order.total_fen), title=title)


def refunded_away(t: Translator, problem: ProblemView) -> str:
    """The buyer's words for a refund of a delivered order: back to their card (paid online), or
    paid back by the seller's center (paid to the carrier)."""
    if problem.paid_away == ONLINE:
        return t("💰 Your problem with order <b>{number}</b>: {amount} is refunded to the card you paid with. "
                 "The payment provider returns it, usually within a few days.", number=problem.order_number,
                 amount=money(problem.refunded_fen))
    return t("💰 Your problem with order <b>{number}</b>: {amount} is refunded. The service center will contact "
             "you to pay it back.", number=problem.order_number, amount=money(problem.refunded_fen))
