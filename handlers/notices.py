"""What the outbox sends: order cards for the desk, status notices, pickup reminders, the list of
uncollected parcels and the daily digest. Each is rendered when it is sent, in the language of
whoever reads it (a group reads the default language), from what the store holds then; the desk's
cards and lists read as handlers.cards renders them.

``deliver`` raises Telegram's errors; the pump (bot/pump.py) decides what they mean.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden

from handlers.callbacks import AdminProductOpen, Categories, OrderDetail
from handlers.cards import (
    card_keyboard,
    card_text,
    digest_text,
    reason_text,
    review_card_text,
    review_keyboard,
    uncollected_text,
)
from handlers.context import Runtime
from handlers.listings import reject_reason, unit_name
from handlers.ui import button, esc, keyboard, money, name_in
from locales import N_, Translator, translator
from services import catalog, centers, desks, orders, parcels, partners, produce, reminders, reviews
from services.desks import CardView
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
}


class Later(Exception):
    """Not now (quiet hours): send at ``until``."""

    def __init__(self, until: datetime):
        super().__init__(f"later, at {until.isoformat()}")
        self.until = until


class DeskMigrated(ChatMigrated):
    """A desk's group became a supergroup. Telegram's answer names only the new chat; this also
    names the old one, which the bot sent to."""

    def __init__(self, old_chat_id: int, new_chat_id: int):
        super().__init__(new_chat_id)
        self.old_chat_id = old_chat_id


@contextmanager
def to_desk(chat_id: int) -> Iterator[None]:
    """Sending to a desk's group: a group that became a supergroup is told as DeskMigrated."""
    try:
        yield
    except ChatMigrated as exc:
        if isinstance(exc, DeskMigrated):
            raise
        raise DeskMigrated(chat_id, exc.new_chat_id) from exc


# ---- the order card ---------------------------------------------------------------------------

async def post_card(bot: Bot, rt: Runtime, order_id: int) -> None:
    """Post the card where it is not yet, and edit it in place where it is."""
    destinations = await desks.card_destinations(rt.store, order_id)
    card = await desks.card_view(rt.store, order_id) if destinations else None
    if card is None:
        return
    for desk in destinations:
        with to_desk(desk.chat_id):
            await _post_card_to(bot, rt, card, desk)


async def _post_card_to(bot: Bot, rt: Runtime, card: CardView, desk: desks.Destination) -> None:
    chat_id, order_id = desk.chat_id, card.order.id
    t = translator(desk.locale or rt.default_locale)
    text, markup = card_text(t, card), card_keyboard(t, card.order, desk.center_id)
    message_id = card.cards.get(chat_id)
    if message_id is not None:
        try:
            await _edit_card(bot, chat_id, message_id, text, markup)
            return
        except BadRequest as exc:
            if "not found" not in str(exc).lower():
                raise
            log.info("card %s of order %s is gone; posting it again", message_id, order_id)
    sent = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    await desks.record_card(rt.store, order_id, chat_id, sent.message_id)


async def _edit_card(bot: Bot, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit a card in place; a card that already reads so is fine. Raises Telegram's other 400s."""
    try:
        await bot.edit_message_text(text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def edit_cards(bot: Bot, rt: Runtime, order_id: int) -> bool:
    """Edit the order's cards where they were posted, as the store has it now (e.g. without the
    name of someone who used /forget). Never posts a card: one that can no longer be edited
    (deleted, too old, or the bot left the chat) is left as it is, and logged."""
    card = await desks.card_view(rt.store, order_id)
    if card is None or not card.cards:
        return False
    by_chat = {desk.chat_id: desk for desk in await desks.card_destinations(rt.store, order_id)}
    for chat_id, message_id in card.cards.items():
        desk = by_chat.get(chat_id)
        t = translator((desk.locale if desk else None) or rt.default_locale)
        text, markup = card_text(t, card), card_keyboard(t, card.order, desk.center_id if desk else None)
        try:
            with to_desk(chat_id):
                await _edit_card(bot, chat_id, message_id, text, markup)
        except (BadRequest, Forbidden) as exc:
            log.info("card %s of order %s in chat %s cannot be edited, left as it is: %s",
                     message_id, order_id, chat_id, exc)
    return True


# ---- to the villager --------------------------------------------------------------------------

async def send_status(bot: Bot, rt: Runtime, row: Claimed, order: OrderView) -> bool:
    person = await desks.recipient(rt.store, row.villager_id)
    if person is None or not person.reachable:
        return False
    t = translator(person.locale or rt.default_locale)
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


async def send_digest(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    chat_id, t = await desk_chat(rt, row.center_id)
    if chat_id is None:
        return False
    waiting_orders = await desks.pending(rt.store, row.center_id)
    waiting_parcels = await parcels.waiting_for_pickup(rt.store, row.center_id)
    waiting_listings = await reviews.in_review(rt.store, row.center_id)
    if not waiting_orders and not waiting_parcels and not waiting_listings:
        return False
    with to_desk(chat_id):
        await bot.send_message(chat_id, digest_text(t, waiting_orders, waiting_parcels, waiting_listings),
                               parse_mode=ParseMode.HTML)
    return True


# ---- produce listings ----------------------------------------------------------------------

async def post_review_card(bot: Bot, rt: Runtime, listing_id: int) -> None:
    """Post the listing's review card on its center's desk, or edit it in place where it is."""
    card = await reviews.review_card(rt.store, listing_id)
    if card is None:
        return
    for desk in await desks.center_destinations(rt.store, card.listing.center_id):
        with to_desk(desk.chat_id):
            await _post_review_card_to(bot, rt, card, desk)


async def _post_review_card_to(bot: Bot, rt: Runtime, card: reviews.ReviewCard, desk: desks.Destination) -> None:
    listing_id, photo = card.listing.id, card.listing.photo
    t = translator(desk.locale or rt.default_locale)
    text, markup = review_card_text(t, card), review_keyboard(t, card.listing)
    message_id = card.cards.get(desk.chat_id)
    if message_id is not None:
        try:
            await _edit_review_card(bot, desk.chat_id, message_id, text, markup, as_caption=bool(photo))
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            log.info("review card %s of listing %s cannot be edited (%s); posting it again",
                     message_id, listing_id, exc)
    sent = await send_card(bot, desk.chat_id, text, markup, photo)
    await reviews.record_card(rt.store, listing_id, desk.chat_id, sent.message_id)


async def edit_review_cards(bot: Bot, rt: Runtime, listing_id: int) -> bool:
    """Edit the listing's review cards where they were posted, as the store has it now (e.g.
    after its seller or reviewer used /forget). Like ``edit_cards``, never posts one."""
    card = await reviews.review_card(rt.store, listing_id)
    if card is None or not card.cards:
        return False
    by_chat = {desk.chat_id: desk for desk in await desks.center_destinations(rt.store, card.listing.center_id)}
    for chat_id, message_id in card.cards.items():
        desk = by_chat.get(chat_id)
        t = translator((desk.locale if desk else None) or rt.default_locale)
        try:
            with to_desk(chat_id):
                await _edit_review_card(bot, chat_id, message_id, review_card_text(t, card),
                                        review_keyboard(t, card.listing), as_caption=bool(card.listing.photo))
        except (BadRequest, Forbidden) as exc:
            if "not modified" not in str(exc).lower():
                log.info("review card %s of listing %s in chat %s cannot be edited, left as it is: %s",
                         message_id, listing_id, chat_id, exc)
    return True


async def _edit_review_card(bot: Bot, chat_id: int, message_id: int, text: str,
                            markup: InlineKeyboardMarkup | None, *, as_caption: bool) -> None:
    """A card posted with a photo has a caption, one without has a text; a card whose photo the
    store no longer has (its seller used /forget) is still a photo message: its caption is edited."""
    try:
        if as_caption:
            await bot.edit_message_caption(chat_id, message_id, caption=text, parse_mode=ParseMode.HTML,
                                           reply_markup=markup)
        else:
            await bot.edit_message_text(text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "there is no text in the message" not in str(exc).lower():
            raise
        await bot.edit_message_caption(chat_id, message_id, caption=text, parse_mode=ParseMode.HTML,
                                       reply_markup=markup)


async def send_card(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None,
                    photo: str | None) -> Message:
    """A card with its photo as a caption, or as text if the photo cannot be sent (a file
    Telegram no longer has)."""
    if photo:
        try:
            return await bot.send_photo(chat_id, photo, caption=text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            log.warning("photo %r could not be sent, posting the card as text: %s", photo, exc)
    return await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


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
            t("📍 The buyer picks it up at {center}.", center=esc(name_in(center.names, t))),
            t("🤝 Your partner will confirm it, send it on, and collect the payment for you."),
        ])
    elif event == "earned":
        text = t("💰 Order <b>{number}</b> was picked up and paid: you earned <b>{total}</b> for your {title}. "
                 "Collect it from your partner.", number=order.number, total=money(order.total_fen), title=title)
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
    order = await orders.order_view(rt.store, row.order_id)
    if order is None:
        return False
    if kind == Kind.STATUS:
        return await send_status(bot, rt, row, order)
    if (until := reminders.held_until(rt.quiet_hours, kind, rt.clock.now(), order.center_timezone)) is not None:
        raise Later(until)
    if kind == Kind.REMINDER:
        return await send_reminder(bot, rt, row, order)
    return await send_uncollected(bot, rt, row, order)
