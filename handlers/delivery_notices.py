"""What a town buyer is told about a delivery order, by the outbox (handlers.notices.send_status):
status -> text, rendered in the buyer's language. A reservation that lapsed and a refund have
texts of their own."""

from __future__ import annotations

from handlers.ui import money
from locales import N_, Translator
from services.orders import OrderView
from services.states import OrderStatus

S = OrderStatus
LAPSED = "lapsed"  # a STATUS row's "reason": the invoice was not paid (or the order not confirmed) in time
REFUNDED = "refunded_fen"  # a STATUS row's refund, in fen

NOTICES = {
    LAPSED: N_("⌛ The invoice for order <b>{number}</b> was not paid within 15 minutes: the order is cancelled "
               "and the produce is back on sale. You can order it again at any time."),
    f"{LAPSED}:cash": N_("⌛ Order <b>{number}</b> was not confirmed within 15 minutes: it is cancelled and the "
                         "produce is back on sale. You can order it again at any time."),
    REFUNDED: N_("💸 Order <b>{number}</b>: {amount} will be refunded to you through the payment provider."),
}


def notice_text(t: Translator, order: OrderView, payload: dict) -> str | None:
    """The buyer's notice for a delivery order's STATUS row; None: the usual notices say it."""
    if REFUNDED in payload:
        return t(NOTICES[REFUNDED], number=order.number, amount=money(payload[REFUNDED]))
    if payload.get("reason") == LAPSED:
        key = LAPSED if order.payment_method == "online" else f"{LAPSED}:cash"
        return t(NOTICES[key], number=order.number)
    return None
