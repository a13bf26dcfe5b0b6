"""What a town buyer's delivery order shows on the seller's center's desk, in place of a pickup
order's total and pickup center (handlers.cards renders the rest of the card): where it goes, to
whom, its zone, goods + delivery = total and how it is paid; then 🚚 Shipped, with the carrier's
tracking number (handlers.shipping_desk asks for it), and who shipped it.
"""

from __future__ import annotations

from datetime import datetime

from handlers.ui import esc, local_time, money
from locales import N_, Translator
from services.orders import OrderView

ZONES = {  # services.delivery_prices.Zone
    "county": N_("🗺 Zone: within the county"),
    "province": N_("🗺 Zone: within the province"),
    "elsewhere": N_("🗺 Zone: beyond the province"),
}
ONLINE = "online"  # services.town_orders.ONLINE


def delivery_lines(t: Translator, order: OrderView) -> list[str]:
    """The buyer's name, phone and address, the zone, the money and how it is paid."""
    to = order.ship_to or {}
    total = money(order.total_fen + order.delivery_fen)
    # a buyer who used /forget: a finished order keeps its zone, not whom and where it went
    lines = [t("🚚 <b>Delivery</b> to {name} · {phone}\n🏠 {address}",
               name=esc(to.get("name") or "") or t("(name deleted)"), phone=esc(to.get("phone") or "") or "—",
               address=esc(to.get("address") or "") or t("(address deleted)"))]
    if to.get("zone") in ZONES:
        lines.append(t(ZONES[to["zone"]]))
    lines.append(t("💰 Goods {goods} + delivery {delivery} = <b>{total}</b>", goods=money(order.total_fen),
                   delivery=money(order.delivery_fen), total=total))
    if order.payment_method == ONLINE:
        lines.append(t("💳 Paid online {total}", total=total))
    else:
        lines.append(t("💵 Cash on delivery: the carrier collects {total}", total=total))
    return lines


def shipped_line(t: Translator, order: OrderView, who: str | None, at: datetime) -> str:
    """🚚 Shipped · tracking number · by whom, at when."""
    return t("🚚 Shipped · {tracking} · by {who} at {when}", tracking=esc(order.tracking_number or ""),
             who=esc(who) or t("(name deleted)"), when=local_time(at, order.center_timezone))
