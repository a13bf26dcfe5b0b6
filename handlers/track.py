"""/track: a buyer follows their orders (services/tracking.py reads them).

    /track              their delivery orders on their way, and the last few delivered: each with
                        its state, the carrier's tracking number and its timeline (in the buyer's
                        time zone: the bot's, as in My orders), and a button to open it; someone with no delivery order gets
                        📦 My orders, as before
    /track RT-XXXXX     one of their own orders, by its number or its parcel's tracking number: a
                        delivery order here, a pickup order in My orders (with its buttons);
                        anyone else's is "not found"
    📦 RT-XXXXX         (under the list, or under a "delivered" notice) one delivery order; once
                        delivered, ⚠️ Problem reports one (handlers/problems.py)
    ⬅️ Deliveries, ⬅️ My orders, 🏠 Menu   the ways back
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import orders as my_orders
from handlers.callbacks import OrdersPage, ProblemStart, TrackList, TrackOrder, on
from handlers.context import RuralContext
from handlers.ui import (
    alert,
    button,
    esc,
    home_row,
    keyboard,
    local_time,
    money,
    on_tap,
    order_lines,
    show,
    status_text,
)
from locales import Translator
from services import problems, tracking
from services.errors import NotFound
from services.orders import OrderView
from services.states import OrderStatus
from services.tracking import Deliveries

EVENTS_LISTED = 5  # the latest steps of each order in the list; its own screen shows them all


def tracking_line(t: Translator, order: OrderView) -> str:
    if order.tracking_number:
        return t("🔖 Tracking number: <code>{tracking}</code>", tracking=esc(order.tracking_number))
    return t("🔖 No tracking number yet: it comes when the parcel is sent.")


def timeline(context: RuralContext, order: OrderView, last: int | None = None) -> list[str]:
    events = order.events[-last:] if last else order.events
    return [f"{local_time(e.at, context.rt.timezone)} · {my_orders.event_line(context, e.status, e.note)}"
            for e in events]


def summary(context: RuralContext, order: OrderView) -> list[str]:
    t = context.t
    return [t("📦 <b>{number}</b> · {status}", number=order.number, status=status_text(t, order.status)),
            tracking_line(t, order), *timeline(context, order, EVENTS_LISTED)]


def list_text(context: RuralContext, found: Deliveries) -> str:
    t = context.t
    lines = [t("🚚 <b>Your deliveries</b>")]
    for order in found.going:
        lines += ["", *summary(context, order)]
    if not found.going:
        lines += ["", t("Nothing on its way now.")]
    if found.delivered:
        lines += ["", t("✅ <b>Delivered lately</b>")]
        for order in found.delivered:
            lines += ["", *summary(context, order)]
    return "\n".join(lines)


def detail_text(context: RuralContext, order: OrderView) -> str:
    t = context.t
    lines = [t("📦 Order <b>{number}</b>", number=order.number),
             t("Status: {status}", status=status_text(t, order.status)), tracking_line(t, order)]
    if order.ship_to:
        lines.append(t("🏠 To: {name}, {address}", name=esc(order.ship_to.get("name", "")),
                       address=esc(order.ship_to.get("address", ""))))
    lines += ["", *order_lines(t, order),
              t("💰 Goods {goods} + delivery {delivery}", goods=money(order.total_fen),
                delivery=money(order.delivery_fen)) if order.ship_to else
              t("💰 Total: <b>{total}</b>", total=money(order.total_fen)),  # the delivery is not priced yet
              "", t("🕒 <b>Timeline</b>"), *timeline(context, order)]
    return "\n".join(lines)


def back_rows(t: Translator, to_list: bool) -> list:
    return [[button(t("⬅️ Deliveries"), TrackList())] if to_list else None,
            [button(t("⬅️ My orders"), OrdersPage(0)), *home_row(t)]]


async def list_screen(update: Update, context: RuralContext) -> None:
    found = await tracking.deliveries(context.rt.store, context.villager.id)
    if found.empty:
        await my_orders.list_screen(update, context)
        return
    t = context.t
    rows = [[button(f"📦 {o.number} · {status_text(t, o.status)}", TrackOrder(o.id))]
            for o in (*found.going, *found.delivered)]
    await show(update, context, list_text(context, found), keyboard(*rows, *back_rows(t, False)))


async def order_screen(update: Update, context: RuralContext, order: OrderView) -> None:
    if not order.is_delivery:  # a pickup order: My orders shows it, with what can be done
        await my_orders.detail(update, context, order)
        return
    t, rt = context.t, context.rt
    problem = order.status == OrderStatus.DELIVERED and await problems.reportable(
        rt.store, rt.clock, context.villager.id, order.id)
    await show(update, context, detail_text(context, order),
               keyboard([button(t("⚠️ Problem"), ProblemStart(order.id))] if problem else None,
                        *back_rows(t, True)))


async def track_command(update: Update, context: RuralContext) -> None:
    if not context.args:
        await list_screen(update, context)
        return
    try:
        order = await tracking.tracked(context.rt.store, context.villager.id, number=" ".join(context.args))
    except NotFound:
        await alert(update, context, context.t("😔 This order was not found."))
        return
    await order_screen(update, context, order)


@on_tap
async def list_tapped(update: Update, context: RuralContext) -> None:
    await list_screen(update, context)


@on_tap
async def order_tapped(update: Update, context: RuralContext, data: TrackOrder) -> None:
    try:
        order = await tracking.tracked(context.rt.store, context.villager.id, order_id=data.order_id)
    except NotFound:
        await alert(update, context, context.t("😔 This order was not found."))
        return
    await order_screen(update, context, order)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("track", track_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(TrackList, list_tapped))
    app.add_handler(on(TrackOrder, order_tapped))
