"""What a town buyer's delivery order tells people at its steps, in their language: the buyer
(a STATUS row of the outbox, sent by handlers.notices.send_status; a refund after delivery, a
PROBLEM row, handlers.problem_desk.deliver) and the seller (a SELLER row,
handlers.notices.send_to_seller). A status without words here is told as for any order.
"""

from __future__ import annotations

from handlers.ui import esc, money
from locales import N_, Translator
from services.orders import OrderView
from services.problems import ProblemView
from services.states import OrderStatus
from services.town_orders import ONLINE

S = OrderStatus

# A delivery order's status -> what its buyer reads.
BUYER = {
    S.DELIVERED: N_("📦 Your order <b>{number}</b> was delivered. Enjoy it! Tomorrow we will ask how you "
                    "liked it."),
}


def delivery_notice(t: Translator, order: OrderView, status: str) -> str | None:
    """The buyer's words for a delivery order's new ``status``; None where it has none of its own."""
    msgid = BUYER.get(S(status))
    if msgid is None or not order.is_delivery:
        return None
    return t(msgid, number=order.number, total=money(order.total_fen), tracking=esc(order.tracking_number or ""))


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
