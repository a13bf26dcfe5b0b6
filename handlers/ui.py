"""Shared pieces of what people see: money, names, labels, an order's status, keyboards, and showing
a screen. Every journey may import it; it imports no journey module."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, Message, ReplyKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from handlers.callbacks import CallbackData, Home
from handlers.context import RuralContext
from locales import N_, Translator, available_locales, localized, translator
from services import produce
from services.orders import OrderView
from services.states import OrderStatus

log = logging.getLogger(__name__)

# The main menu, in the order a villager lives it. Values are callback-free: pressing one sends
# its label as text, which ``handlers.menu`` recognises in every language.
MENU = {
    "shop": N_("🛒 Shop"),
    "search": N_("🔍 Search"),
    "cart": N_("🛍 Cart"),
    "orders": N_("📦 My orders"),
    "market": N_("🧺 Market"),
    "sell": N_("🌾 Sell produce"),
    "mylistings": N_("📋 My listings"),
    "help": N_("❓ Help"),
    "services": N_("🧾 Services"),
}
MENU_ROWS = (("shop", "search"), ("cart", "orders"), ("market", "sell"), ("services", "help"))
# A seller's menu: their listings beside services and help.
SELLER_MENU_ROWS = MENU_ROWS[:-1] + (("services", "mylistings", "help"),)
# An order's status in words, wherever it is shown: the villager's orders, the desk's card, the admin.
ORDER_STATUS = {
    OrderStatus.PENDING: N_("⏳ Waiting for confirmation"),
    OrderStatus.CONFIRMED: N_("✅ Confirmed"),
    OrderStatus.IN_TRANSIT: N_("🚚 On the way"),
    OrderStatus.AT_COUNTY: N_("🏢 At the county center"),
    OrderStatus.READY_FOR_PICKUP: N_("📬 Ready for pickup"),
    OrderStatus.PICKED_UP: N_("🎉 Picked up"),
    OrderStatus.REJECTED: N_("❌ Rejected"),
    OrderStatus.CANCELLED: N_("🚫 Cancelled"),
    OrderStatus.RETURNED: N_("↩️ Returned"),
    OrderStatus.AWAITING_PAYMENT: N_("💳 Waiting for payment"),
    OrderStatus.DELIVERED: N_("📦 Delivered"),
}


def esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def money(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"


def name_in(names: dict, t) -> str:
    """A name kept in several languages (a center's, a product's), in the reader's language."""
    return localized(names, t.language)


def status_text(t: Translator, status: str) -> str:
    """An order's status as its reader sees it."""
    return t(ORDER_STATUS[OrderStatus(status)])


# An order's lines listed in one message (its card, its detail); the rest are counted, so that the
# message stays within Telegram's 4096 characters whatever the order holds.
ORDER_LINES_SHOWN = 30


def order_lines(t: Translator, order: OrderView) -> list[str]:
    lines = [f"• {esc(line.name(t.language))} — {line.quantity} {esc(label(t, 'unit', line.unit))} × "
             f"{money(line.price_fen)}" for line in order.lines[:ORDER_LINES_SHOWN]]
    if len(order.lines) > ORDER_LINES_SHOWN:
        lines.append(t("… and {n} more lines", n=len(order.lines) - ORDER_LINES_SHOWN))
    return lines


def label(t: Translator, kind: str, code: str) -> str:
    """A data code's label from the catalogs ("unit:bag" -> "bag"/"袋"), or the code itself."""
    key = f"{kind}:{code}"
    text = t(key)
    return code.replace("_", " ") if text == key else text


def local_time(when: datetime, timezone: str, with_year: bool = False) -> str:
    return when.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M" if with_year else "%m-%d %H:%M")


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data.pack())


def keyboard(*rows: list[InlineKeyboardButton] | None) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([row for row in rows if row])


def home_row(t: Translator) -> list[InlineKeyboardButton]:
    """🏠 Menu (back to the main menu's big buttons), for a screen that has no other way back."""
    return [button(t("🏠 Menu"), Home())]


def pager(t: Translator, page: int, pages: int, at: Callable[[int], CallbackData]) -> list[InlineKeyboardButton]:
    """◀️ / ▶️ buttons for a list; ``at`` gives a page's button (pages count from 0), e.g.
    ``lambda page: Category(category_id, page)``."""
    row = []
    if page > 0:
        row.append(button(t("◀️ Previous"), at(page - 1)))
    if page < pages - 1:
        row.append(button(t("Next ▶️"), at(page + 1)))
    return row


def main_menu(t: Translator, seller: bool = False) -> ReplyKeyboardMarkup:
    """The big buttons; ``seller``: with 📋 My listings, for someone who has listings."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t(MENU[key])) for key in row] for row in (SELLER_MENU_ROWS if seller else MENU_ROWS)],
        resize_keyboard=True,
        is_persistent=True,
    )


async def person_menu(context: RuralContext) -> ReplyKeyboardMarkup:
    """The main menu as this person sees it (📋 My listings if they have listings)."""
    villager = context.villager
    seller = villager is not None and await produce.has_listings(context.rt.store, villager.id)
    return main_menu(context.t, seller)


@functools.lru_cache(maxsize=1)
def _menu_labels() -> dict[str, str]:
    labels = {msgid: key for key, msgid in MENU.items()}
    labels.update((translator(locale)(msgid), key) for locale in available_locales() for key, msgid in MENU.items())
    return labels


def menu_action(text: str) -> str | None:
    """Which menu button a text is, in any language."""
    return _menu_labels().get(text)


async def show(
    update: Update,
    context: RuralContext,
    text: str,
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None,
    photo: str | None = None,
) -> Message | None:
    """Show a screen: edit the tapped message in place where that works, else send a new one."""
    query = update.callback_query
    message = query.message if query and isinstance(query.message, Message) else None
    inline = markup if isinstance(markup, InlineKeyboardMarkup) or markup is None else None
    if message is not None and (markup is None or inline is not None):
        try:
            if photo is None and message.text is not None:
                return await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=inline)
            if photo is not None and message.photo and message.caption is not None:
                return await message.edit_caption(text, parse_mode=ParseMode.HTML, reply_markup=inline)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return message
            log.info("could not edit message %s: %s", message.message_id, exc)
    chat_id = update.effective_chat.id
    if photo is not None:
        try:
            return await context.bot.send_photo(chat_id, photo, caption=text, parse_mode=ParseMode.HTML,
                                                reply_markup=markup)
        except BadRequest as exc:
            log.warning("photo %r could not be sent, showing text: %s", photo, exc)
    return await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def alert(update: Update, context: RuralContext, text: str) -> None:
    """A short popup for a tap; for typed input, a reply."""
    if update.callback_query:
        context.answered = True
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(text)


def on_tap(callback):
    """Wrap a button handler so every tap is answered (Telegram shows a spinner until it is). The
    handler may take the tapped button's data after ``(update, context)`` (see ``callbacks.on``)."""

    @functools.wraps(callback)
    async def handle(update: Update, context: RuralContext, *data):
        context.answered = False
        try:
            return await callback(update, context, *data)
        finally:
            if not context.answered:
                try:
                    await update.callback_query.answer()
                except BadRequest as exc:  # answered too late: the person only saw a spinner
                    log.info("tap answer failed: %s", exc)

    return handle


def on_tap_answering(*answers: tuple[type[Exception] | tuple[type[Exception], ...], Callable[[Translator], str]]):
    """``on_tap``, and the domain errors a tap may meet answered with a short alert: ``answers``
    pairs errors with their words, e.g. ``(NotFound, stale_listing)``. Other errors go on up."""

    def wrap(callback):
        @on_tap
        @functools.wraps(callback)
        async def handle(update: Update, context: RuralContext, *data):
            try:
                await callback(update, context, *data)
            except Exception as exc:
                words = next((words for errors, words in answers if isinstance(exc, errors)), None)
                if words is None:
                    raise
                await alert(update, context, words(context.t))

        return handle

    return wrap


async def cannot_read(update: Update, context: RuralContext) -> None:
    """A photo nobody asked for, a file that is not an admin's CSV: say what works instead."""
    await say(update, context, context.t("🙂 I can only read text and button taps here. Please use the buttons "
                                         "below, or type what you are looking for."), await person_menu(context))


async def use_the_buttons(update: Update, context: RuralContext) -> None:
    """A voice message, a sticker, a video: a short, friendly pointer to the big buttons (someone who
    may not read is not helped by being told what the bot reads)."""
    await say(update, context, context.t("🙂 Please use the buttons below 👇"), await person_menu(context))


async def say(update: Update, context: RuralContext, text: str, markup=None) -> Message:
    return await context.bot.send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML,
                                          reply_markup=markup)


async def not_yours(update: Update, context: RuralContext) -> None:
    """The one answer to a button for something the person may not see here (a forged button,
    or another's): nothing is shown or changed, and it does not say whether the thing exists."""
    await alert(update, context, context.t("🔒 Sorry, this button is not for you."))
