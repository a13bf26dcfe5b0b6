"""What the outbox sends: order and review cards for the desk (posted by handlers.card_posts),
status notices, pickup reminders, the list of uncollected parcels, the list of parcels to send
back (handlers.returns), the daily digest, the seller's news and low-stock alerts. Each is rendered when it is sent, in the language of
whoever reads it (a group reads the default language), from what the store holds then; the desk's
cards and lists read as handlers.cards renders them.

``deliver`` raises Telegram's errors; the pump (bot/pump.py) decides what they mean.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Bot
from telegram.constants import ParseMode

from handlers import delivery_notices, problem_desk, provider_refunds
from handlers.buyer_reviews import ask_rating
from handlers.callbacks import AdminProductOpen, Categories, OrderDetail
from handlers.card_posts import edit_cards, edit_review_cards, post_card, post_center_card, post_review_card, to_desk
from handlers.cards import digest_text, reason_text, uncollected_text
from handlers.cash_notices import send_cash
from handlers.context import Runtime
from handlers.delivery_notices import seller_delivered
from handlers.listings import reject_reason, unit_name
from handlers.returns import list_keyboard, list_text
from handlers.review_desk import REVIEW
from handlers.service_cards import send_service_notice
from handlers.service_desk import SERVICE
from handlers.ui import button, esc, keyboard, money, name_in
from locales import N_, Translator, translator
from services import catalog, centers, desks, orders, parcels, partners, produce, reminders, returns, reviews
from services.orders import OrderView
from services.outbox import Claimed, Kind
from services.states import OrderStatus

log = logging.getLogger(__name__)
S = OrderStatus

NOTICES = {
    S.CONFIRMED: N_("✅ Your order <b>{number}</b> is confirmed. We will tell you when it is on its way."),
    S.IN_TRANSIT: N_("🚚 Your order <b>{number}</b> is on its way."),
    S.AT_COUNTY: N_("🏢 Your order <b>{number}</b> has reached the county service center."),
    S.PICKED_UP: N_("🎉 You picked up order <b>{number}</b> and paid {total}. Thank you!"),
    S.CANCELLED: N_("🚫 Your order <b>{number}</b> was cancelled."),
    S.RETURNED: N_("↩️ Your order <b>{number}</b> was not picked up in time and has been sent back. You pay "
                   "nothing; you can order again at any time."),
}


class Later(Exception):
    """Not now (quiet hours): send at ``until``."""

    def __init__(self, until: datetime):
        super().__init__(f"later, at {until.isoformat()}")
        self.until = until


# ---- to the villager --------------------------------------------------------------------------

async def send_status(bot: Bot, rt: Runtime, row: Claimed, order: OrderView) -> bool:
    person = await desks.recipient(rt.store, row.villager_id)
    if person is None or not person.reachable:
        return False
    t = translator(person.locale or rt.default_locale)
    if order.is_delivery or order.payment_method == "online":  # a town buyer's: handlers.delivery_notices
        return await delivery_notices.send_status(bot, person.telegram_id, t, order, row.payload or {})
    status = S(row.payload["status"])
    if status == S.REJECTED:
        text = t("❌ Sorry, your order <b>{number}</b> was rejected.", number=order.number)
        if row.payload.get("reason"):
            text += "\n" + t("Reason: {reason}", reason=reason_text(t, row.payload["reason"]))
        text += "\n" + t("Its stock has been returned; you can order again at any time.")
        await bot.send_message(person.telegram_id, text, parse_mode=ParseMode.HTML,
                               reply_markup=keyboard([button(t("📂 Categories"), Categories())]))
    elif status == S.READY_FOR_PICKUP:
        await send_pickup_notice(bot, rt, person.telegram_id, t, order, reminder=0)
    else:
        text = t(NOTICES[status], number=order.number, total=money(order.total_fen))
        await bot.send_message(person.telegram_id, text, parse_mode=ParseMode.HTML,
                               reply_markup=keyboard([button(t("📦 Track"), OrderDetail(order.id))]))
    return True


async def send_pickup_notice(bot: Bot, rt: Runtime, chat_id: int, t: Translator, order: OrderView,
                             reminder: int) -> None:
    """The parcel is at the village: code, address, hours, and the center as a venue."""
    center = await centers.get_center(rt.store, order.center_id)
    if reminder == 0:
        head = t("📬 Your order <b>{number}</b> has arrived! Pick it up with this code:", number=order.number)
    else:
        head = t("⏰ Reminder: your order <b>{number}</b> is waiting for you. Pick it up with this code:",
                 number=order.number)
    lines = [head, f"🔑 <b>{order.pickup_code}</b>",
             t("📍 {center}, {address}", center=esc(name_in(center.names, t)), address=esc(center.address)),
             t("🕒 Open {hours}", hours=esc(center.opening_hours)),
             t("💰 Pay {total} in cash at pickup.", total=money(order.total_fen))]
    await bot.send_message(chat_id, "\n".join(lines), parse_mode=ParseMode.HTML)
    if reminder == 0 and center.latitude is not None and center.longitude is not None:
        await bot.send_venue(chat_id, center.latitude, center.longitude, name_in(center.names, t),
                             center.address or name_in(center.names, t))


async def send_reminder(bot: Bot, rt: Runtime, row: Claimed, order: OrderView) -> bool:
    person = await desks.recipient(rt.store, row.villager_id)
    if person is None or not person.reachable or order.status != S.READY_FOR_PICKUP:
        return False
    t = translator(person.locale or rt.default_locale)
    await send_pickup_notice(bot, rt, person.telegram_id, t, order, reminder=row.payload.get("number", 1))
    return True


# ---- to the desk ------------------------------------------------------------------------------

async def desk_chat(rt: Runtime, center_id: int) -> tuple[int | None, Translator]:
    """The desk's group chat, if it has one, and its language."""
    desk = await partners.desk_of_center(rt.store, center_id)
    if desk is None:
        return None, translator(rt.default_locale)
    return desk.group_chat_id, translator(desk.locale or rt.default_locale)


async def send_uncollected(bot: Bot, rt: Runtime, row: Claimed, order: OrderView) -> bool:
    chat_id, t = await desk_chat(rt, row.center_id)
    if chat_id is None or order.status != S.READY_FOR_PICKUP:
        return False
    now = rt.clock.now()
    waiting = await parcels.waiting_for_pickup(rt.store, row.center_id,
                                               ready_before=now - reminders.REMINDER_DELAYS[-1])
    if not waiting or not await reminders.take_uncollected(rt.store, row.center_id, now, row.id):
        return False
    with to_desk(chat_id):
        await bot.send_message(chat_id, uncollected_text(t, waiting, order.center_timezone),
                               parse_mode=ParseMode.HTML)
    return True


async def send_return_list(bot: Bot, rt: Runtime, row: Claimed, order: OrderView) -> bool:
    """The parcels to send back (handlers.returns): one list for the rows of a center that fell
    due together, to its desk (its group, or else its partners), after quiet hours."""
    if (until := reminders.held_until(rt.quiet_hours, Kind.RETURN_DUE, rt.clock.now(), order.center_timezone)):
        raise Later(until)
    destinations = await desks.center_destinations(rt.store, row.center_id)
    listed = await returns.take_due(rt.store, row.center_id, rt.clock.now(), row.id) if destinations else None
    if listed is None or not any(parcel.waiting for parcel in listed.parcels):
        return False
    for desk in destinations:
        t = translator(desk.locale or rt.default_locale)
        with to_desk(desk.chat_id):
            await bot.send_message(desk.chat_id, list_text(t, listed), parse_mode=ParseMode.HTML,
                                   reply_markup=list_keyboard(t, listed))
    return True


async def send_digest(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    chat_id, t = await desk_chat(rt, row.center_id)
    if chat_id is None:
        return False
    waiting_orders = await desks.pending(rt.store, row.center_id)
    waiting_parcels = await parcels.waiting_for_pickup(rt.store, row.center_id)
    waiting_listings = await reviews.in_review(rt.store, row.center_id)
    to_ship = await desks.to_ship(rt.store, row.center_id)
    if not waiting_orders and not waiting_parcels and not waiting_listings and not to_ship:
        return False
    with to_desk(chat_id):
        await bot.send_message(chat_id, digest_text(t, waiting_orders, waiting_parcels, waiting_listings, to_ship),
                               parse_mode=ParseMode.HTML)
    return True


# ---- to the seller ---------------------------------------------------------------------------

async def send_to_seller(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    """What happened to a seller's listing: reviewed, sold, sold out, or paid for."""
    person = await desks.recipient(rt.store, row.villager_id)
    listing = await produce.listing_view(rt.store, row.payload["listing_id"])
    if person is None or not person.reachable or listing is None:
        return False
    t = translator(person.locale or rt.default_locale)
    title = esc(listing.title)
    event = row.payload["event"]
    order = await orders.order_view(rt.store, row.payload["order_id"]) if "order_id" in row.payload else None
    if event == "approved":
        text = t("✅ Your <b>{title}</b> is approved and on the 🧺 market now.", title=title)
    elif event == "rejected":
        text = t("❌ Your <b>{title}</b> was not approved.", title=title)
        if row.payload.get("reason"):
            text += "\n" + t("Reason: {reason}", reason=reject_reason(t, row.payload["reason"]))
        text += "\n" + t("Change it in /mylistings and it goes to review again.")
    elif event == "sold_out":
        text = t("🎉 Your <b>{title}</b> is sold out and has left the market. Send /sell to offer more.", title=title)
    elif order is None:
        return False
    elif event == "sold":
        line = order.lines[0]
        center = await centers.get_center(rt.store, order.center_id)
        text = "\n".join([
            t("🛒 Sold: {quantity} of <b>{title}</b> for {total}, order <b>{number}</b>.",
              quantity=esc(f"{line.quantity} {unit_name(t, line.unit)}"), title=title,
              total=money(order.total_fen), number=order.number),
            delivery_notices.seller_sold_line(t) if order.is_delivery else
            t("📍 The buyer picks it up at {center}.", center=esc(name_in(center.names, t))),
            t("🤝 Your partner will confirm it, send it on, and collect the payment for you."),
        ])
    elif event == "returned":
        text = t("↩️ Order <b>{number}</b> was not picked up and has been sent back: its {title} is in your listing "
                 "again, and there is nothing to earn from it.", number=order.number, title=title)
    elif event == "earned":
        text = t("💰 Order <b>{number}</b> was picked up and paid: you earned <b>{total}</b> for your {title}. "
                 "Collect it from your partner.", number=order.number, total=money(order.total_fen), title=title)
    elif event == "delivered":
        text = seller_delivered(t, order, title)
    else:
        log.warning("unknown seller event %r", event)
        return False
    await bot.send_message(person.telegram_id, text, parse_mode=ParseMode.HTML)
    return True


# ---- to the admins ----------------------------------------------------------------------------

async def send_low_stock(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    """A product fell below its threshold. The row the fall queued becomes one row per admin
    (each sent and retried alone); an admin's row is the message, unless the stock is back."""
    product_id = row.payload["product_id"]
    if "admin" not in row.payload:
        return await catalog.fan_out_low_stock(rt.store, row.id, product_id, rt.admin_ids, rt.clock.now()) > 0
    person = await desks.recipient(rt.store, row.villager_id)
    product = await catalog.admin_product(rt.store, product_id)
    if (person is None or not person.reachable or person.telegram_id not in rt.admin_ids or product is None
            or not product.is_low):
        return False
    t = translator(person.locale or rt.default_locale)
    text = t("⚠️ Low stock: <b>{name}</b> ({sku}) has {n} left.", name=esc(product.name(t.language)),
             sku=esc(product.sku), n=product.stock)
    await bot.send_message(person.telegram_id, text, parse_mode=ParseMode.HTML,
                           reply_markup=keyboard([button(t("📦 Open the product"), AdminProductOpen(product.id))]))
    return True


async def deliver(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    """Send one outbox row. Returns False when there was nothing left to send (the order moved
    on, the person is unreachable): the row is then closed without a message."""
    kind = Kind(row.kind)
    if kind == Kind.CARD:
        await post_card(bot, rt, row.order_id)
        return True
    if kind == Kind.LISTING_CARD:
        await post_review_card(bot, rt, row.payload["listing_id"])
        return True
    if kind == Kind.CARD_EDIT:
        return await edit_cards(bot, rt, row.order_id)
    if kind == Kind.LISTING_CARD_EDIT:
        return await edit_review_cards(bot, rt, row.payload["listing_id"])
    if kind == Kind.SELLER:
        return await send_to_seller(bot, rt, row)
    if kind == Kind.DIGEST:
        return await send_digest(bot, rt, row)
    if kind == Kind.LOW_STOCK:
        return await send_low_stock(bot, rt, row)
    if kind in (Kind.PROBLEM_CARD, Kind.PROBLEM):
        return await problem_desk.deliver(bot, rt, row)
    if kind == Kind.CASH:
        return await send_cash(bot, rt, row)
    if kind == Kind.SERVICE_CARD:
        return await post_center_card(bot, rt, SERVICE, row.payload["request_id"])
    if kind == Kind.SERVICE:
        return await send_service_notice(bot, rt, row.villager_id, row.payload["request_id"])
    if kind == Kind.RATE:  # a buyer's stars are asked outside quiet hours
        now = rt.clock.now()
        if (until := rt.quiet_hours.next_allowed(now, row.payload.get("timezone") or rt.timezone)) > now:
            raise Later(until)
        return await ask_rating(bot, rt, row)
    if kind == Kind.REVIEW_CARD:
        return await post_center_card(bot, rt, REVIEW, row.payload["review_id"])
    if kind == Kind.REFUND_DUE:
        return await provider_refunds.send_refund_due(bot, rt, row)
    order = await orders.order_view(rt.store, row.order_id)
    if order is None:
        return False
    if kind == Kind.STATUS:
        return await send_status(bot, rt, row, order)
    if kind == Kind.RETURN_DUE:
        return await send_return_list(bot, rt, row, order)
    if (until := reminders.held_until(rt.quiet_hours, kind, rt.clock.now(), order.center_timezone)) is not None:
        raise Later(until)
    if kind == Kind.REMINDER:
        return await send_reminder(bot, rt, row, order)
    return await send_uncollected(bot, rt, row, order)
