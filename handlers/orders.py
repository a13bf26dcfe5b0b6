"""My orders: a list, newest first, each order's detail and timeline, and cancelling while pending."""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update
from telegram.ext import Application, CommandHandler, filters

from handlers import forms, order_delivery, problem_cards
from handlers.callbacks import (
    CancelOrder,
    CancelOrderConfirmed,
    Categories,
    MarketHome,
    OrderDetail,
    OrdersPage,
    ProblemStart,
    on,
)
from handlers.context import RuralContext
from handlers.ui import (
    alert,
    button,
    esc,
    home_row,
    keyboard,
    local_time,
    money,
    name_in,
    on_tap,
    order_lines,
    pager,
    show,
    status_text,
)
from services import orders, problems
from services.errors import NotAllowed, NotFound, TooManyPendingOrders
from services.orders import OrderView
from services.states import OrderStatus


def status_label(context: RuralContext, status: str) -> str:
    return status_text(context.t, status)


async def list_screen(update: Update, context: RuralContext, page: int = 0) -> None:
    t = context.t
    found = await orders.list_orders(context.rt.store, context.villager.id, page)
    if not found.orders:  # a buyer in a town, with no center, shops in the market (for delivery)
        shop = button(t("📂 Categories"), Categories()) if context.villager.center_id is not None else button(
            t("🧺 Market"), MarketHome())
        await show(update, context, t("📦 You have no orders yet."), keyboard([shop]))
        return
    rows = [[button(f"{'🚚 ' if o.is_delivery else ''}{o.number} · {status_label(context, o.status)} · "
                    f"{money(order_delivery.total_fen(o))}", OrderDetail(o.id))] for o in found.orders]
    rows.append(pager(t, found.page, found.pages, OrdersPage))
    rows.append(home_row(t))
    await show(update, context, t("📦 <b>Your orders</b> (newest first):"), keyboard(*rows))


async def orders_command(update: Update, context: RuralContext) -> None:
    await list_screen(update, context)


@on_tap
async def page_tapped(update: Update, context: RuralContext, data: OrdersPage) -> None:
    await list_screen(update, context, data.page)


def detail_text(context: RuralContext, order: OrderView) -> str:
    t = context.t
    # a delivery order: the buyer's time (the bot's; a town buyer has no center); else the center's
    tz = context.rt.timezone if order.is_delivery else order.center_timezone
    lines = [
        t("📦 Order <b>{number}</b>", number=order.number),
        t("Status: {status}", status=status_label(context, order.status)),
        t("Placed: {when}", when=local_time(order.created_at, tz, with_year=True)),
        "",
    ]
    lines += order_lines(t, order)
    if order.is_delivery:
        lines += order_delivery.detail_lines(t, order, tz)
    else:
        lines += [t("💰 Total: <b>{total}</b>", total=money(order.total_fen)),
                  t("📍 Pick up at: {center}", center=esc(name_in(order.center_names, t)))]
    lines += ["", t("🕒 <b>Timeline</b>")]
    lines += [f"{local_time(event.at, tz)} · {event_line(context, event.status, event.note)}"
              for event in order.events]
    return "\n".join(lines)


def event_line(context: RuralContext, status: str, note: str) -> str:
    """A step of the order's timeline: a status, or a step of a problem after pickup."""
    if status in problem_cards.EVENTS:
        return problem_cards.event_text(context.t, status, note)
    return status_label(context, status) + (f" — {esc(note)}" if note else "")


async def detail(update: Update, context: RuralContext, order: OrderView) -> None:
    t = context.t
    rows = order_delivery.held_rows(t, order)
    if order.status == OrderStatus.PENDING:
        rows.append([button(t("❌ Cancel order"), CancelOrder(order.id))])
    if order.status in (OrderStatus.PICKED_UP, OrderStatus.DELIVERED) and await problems.reportable(
            context.rt.store, context.rt.clock, context.villager.id, order.id):
        rows.append([button(t("⚠️ Problem"), ProblemStart(order.id))])
    rows.append([button(t("⬅️ My orders"), OrdersPage(0))])
    await show(update, context, detail_text(context, order), keyboard(*rows))


async def find_order(update: Update, context: RuralContext, order_id: int) -> OrderView | None:
    try:
        return await orders.get_order(context.rt.store, context.villager.id, order_id)
    except NotFound:
        await alert(update, context, context.t("😔 This order was not found."))
        return None


@on_tap
async def order_tapped(update: Update, context: RuralContext, data: OrderDetail) -> None:
    order = await find_order(update, context, data.order_id)
    if order is not None:
        await detail(update, context, order)


@on_tap
async def cancel_tapped(update: Update, context: RuralContext, data: CancelOrder) -> None:
    t = context.t
    order = await find_order(update, context, data.order_id)
    if order is None:
        return
    if order.status != OrderStatus.PENDING:
        await alert(update, context, t("This order can no longer be cancelled: {status}",
                                       status=status_label(context, order.status)))
        await detail(update, context, order)
        return
    text = t("❓ Cancel order <b>{number}</b> ({total})?", number=order.number,
             total=money(order_delivery.total_fen(order)))
    if order_delivery.paid_online(order):
        text += "\n" + t("💳 What you paid online is refunded in full.")
    await show(update, context, text,
               keyboard([button(t("✅ Yes, cancel it"), CancelOrderConfirmed(order.id)), button(t("⬅️ No"), OrderDetail(order.id))]))


@on_tap
async def cancel_confirmed(update: Update, context: RuralContext, data: CancelOrderConfirmed) -> None:
    t, rt = context.t, context.rt
    try:
        order = await orders.cancel_order(rt.store, rt.clock, context.villager.id, data.order_id)
    except NotFound:
        await alert(update, context, t("😔 This order was not found."))
        return
    except NotAllowed as exc:
        await alert(update, context, t("This order can no longer be cancelled: {status}",
                                       status=status_label(context, exc.status)))
        order = await find_order(update, context, data.order_id)
        if order is not None:
            await detail(update, context, order)
        return
    await alert(update, context, t("🚫 Order {number} is cancelled.", number=order.number))
    await detail(update, context, order)


async def too_many_pending(update: Update, context: RuralContext, exc: TooManyPendingOrders,
                           back: InlineKeyboardButton, photo: str | None = None) -> None:
    """A checkout refused at the cap of pending orders: what to do instead. A partner ordering for
    a villager without a phone decides those orders at the desk; a villager waits or cancels one."""
    t = context.t
    if context.assisting:
        text = t("⏳ {name} already has {n} orders waiting for confirmation. Confirm or reject them at "
                 "the desk first (/pending). No order was placed; their cart is kept.",
                 name=esc(context.shopper.first_name), n=exc.limit)
        await show(update, context, text, keyboard([back]), photo=photo)
        return
    text = t("⏳ You already have {n} orders waiting for the center to confirm them. Please wait until "
             "one is confirmed, or cancel one in 📦 My orders. No order was placed.", n=exc.limit)
    await show(update, context, text, keyboard([button(t("📦 My orders"), OrdersPage(0))], [back]), photo=photo)


def register(app: Application) -> None:
    forms.on_menu(app, "orders", orders_command)
    app.add_handler(CommandHandler("orders", orders_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(OrdersPage, page_tapped))
    app.add_handler(on(OrderDetail, order_tapped))
    app.add_handler(on(CancelOrder, cancel_tapped))
    app.add_handler(on(CancelOrderConfirmed, cancel_confirmed))
