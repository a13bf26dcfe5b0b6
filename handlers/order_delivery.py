"""How 📦 My orders reads a town buyer's delivery order (``OrderView.is_delivery``), where a pickup
order says where to pick it up and that it is paid in cash there (handlers.orders):

    🚚 the receiver · 🏠 the address · 🔖 the tracking number, once shipped
    💰 goods + delivery = total · 💳 how it is paid: online, cash on delivery, or waiting for the
    payment until the hold ends (in the buyer's time zone), with ✖️ Cancel (and ✅ Confirm, paying
    on delivery) while it is held
"""

from __future__ import annotations

from handlers.callbacks import TownConfirm, TownDrop
from handlers.ui import button, esc, local_time, money
from locales import Translator
from services.orders import OrderView
from services.states import OrderStatus
from services.town_orders import ONLINE

S = OrderStatus
UNDONE = (S.REJECTED, S.CANCELLED)


def total_fen(order: OrderView) -> int:
    """What the buyer pays: the goods, and the delivery of a delivery order."""
    return order.total_fen + order.delivery_fen


def paid_online(order: OrderView) -> bool:
    """An online order was paid once it has its address (the payment sheet gives it)."""
    return order.payment_method == ONLINE and order.ship_to is not None and order.status != S.AWAITING_PAYMENT


def payment_line(t: Translator, order: OrderView, timezone: str) -> str | None:
    total = money(total_fen(order))
    if order.status == S.AWAITING_PAYMENT:
        until = local_time(order.reserved_until, timezone) if order.reserved_until else "—"
        if order.payment_method == ONLINE:
            return t("⏳ Waiting for your payment until {until}: pay the invoice sent in this chat, or cancel.",
                     until=until)
        return t("⏳ Held for you until {until}: confirm the order, or cancel.", until=until)
    if order.payment_method == ONLINE:
        if not paid_online(order):
            return t("💳 Not paid.")
        if order.status in UNDONE:
            return t("💳 Paid online {total}: refunded in full.", total=total)
        return t("💳 Paid online: {total}.", total=total)
    if order.status == S.DELIVERED:
        return t("💵 Paid in cash on delivery: {total}.", total=total)
    if order.status in UNDONE:
        return None
    return t("💵 Cash on delivery: {total} to the courier.", total=total)


def detail_lines(t: Translator, order: OrderView, timezone: str) -> list[str]:
    """The delivery order's lines after its goods, in place of "📍 Pick up at"."""
    ship_to = order.ship_to or {}
    lines = []
    if ship_to:
        lines.append(t("💰 Goods {goods} + delivery {delivery} = <b>{total}</b>", goods=money(order.total_fen),
                       delivery=money(order.delivery_fen), total=money(total_fen(order))))
    elif order.status == S.AWAITING_PAYMENT:  # an invoice still open: the payment sheet prices the delivery
        lines.append(t("💰 Goods: <b>{total}</b>, delivery priced from your address.", total=money(order.total_fen)))
    else:  # an invoice never paid
        lines.append(t("💰 Total: <b>{total}</b>", total=money(order.total_fen)))
    receiver = ", ".join(part for part in (ship_to.get("name"), ship_to.get("phone")) if part)
    if receiver:
        lines.append(t("🚚 To: {receiver}", receiver=esc(receiver)))
    if ship_to.get("address"):
        lines.append(t("🏠 Address: {address}", address=esc(ship_to["address"])))
    if order.tracking_number:
        lines.append(t("🔖 Tracking number: <code>{tracking}</code>", tracking=esc(order.tracking_number)))
    if (paying := payment_line(t, order, timezone)) is not None:
        lines.append(paying)
    return lines


def held_rows(t: Translator, order: OrderView) -> list:
    """A held order's buttons: ✅ Confirm (paying on delivery, the receiver typed) and ✖️ Cancel."""
    if order.status != S.AWAITING_PAYMENT:
        return []
    rows = []
    if order.payment_method != ONLINE and (order.ship_to or {}).get("phone"):
        rows.append([button(t("✅ Confirm order"), TownConfirm(order.id))])
    rows.append([button(t("✖️ Cancel"), TownDrop(order.id))])
    return rows
