"""📤 Sharing the market: a listing's deep link, and inline mode.

    📤 Share (a market listing, 📋 My listings) ──> the link to forward + 📨 Share in a chat
    t.me/<bot>?start=l-12 ──> /start l-12 ──> that listing's card, a newcomer's too
    @bot 苹果 (in any chat) ──> matching listings ──> posted with 🛒 Buy (a link to the listing)

A shared link opens the listing as 🧺 Market does, with its buttons; ordering asks a newcomer for
a pickup center as it asks anyone without one. A link to a listing that is not on the market (any
more), or a broken one, is answered in a word, and the usual /start follows.

Inline queries come with every keystroke, from anyone, and are answered from what the store holds
without writing to it (no person is registered, no update claimed: bot/app.py), in the language
Telegram gives for the asker. The answer is the same for everyone (``is_personal`` false), kept by
Telegram only briefly (``INLINE_CACHE_SECONDS``), ``INLINE_PAGE`` results at a time: scrolling to the
end asks for the next ones (``next_offset``).
"""

from __future__ import annotations

import re

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InlineQueryResultPhoto,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import Application, InlineQueryHandler

from handlers import market as market_screens
from handlers.callbacks import MarketCategory, MarketListing, ShareListing, on
from handlers.context import RuralContext
from handlers.links import link, opens
from handlers.listings import price
from handlers.ui import button, esc, name_in, on_tap, say
from locales import Translator
from services import market
from services.errors import NotFound
from services.produce import ListingView

INLINE_PAGE = 50  # Telegram's most results in one answer
INLINE_MAX_OFFSET = 200  # how far down the list scrolling goes (the search ranks; past this it is noise)
INLINE_CACHE_SECONDS = 10  # the same words asked again soon are answered by Telegram's cache
LISTING_ID = re.compile(r"\d{1,9}")  # a listing's id, as the store's 32-bit ids are written
MAX_ID = 2**31 - 1


def listing_link(context: RuralContext, listing_id: int) -> str:
    return link(context.bot.username, f"l-{listing_id}")


def blurb(t: Translator, view: ListingView) -> str:
    """A listing in three lines, for a chat it is shared to: title, price per unit, village."""
    return "\n".join([f"🌾 <b>{esc(view.title)}</b>",
                      f"💰 {esc(price(t, view.price_fen, view.unit))}",
                      f"📍 {esc(name_in(view.center_names, t))}, {esc(name_in(view.county_names, t))}"])


# ---- 📤 Share ------------------------------------------------------------------------------------

@on_tap
async def share_tapped(update: Update, context: RuralContext, data: ShareListing) -> None:
    """The listing's link as a message to forward, and a button that shares it in a chat."""
    t = context.t
    view = await market_screens.on_market(update, context, data.listing_id)
    if view is None:
        return
    text = "\n".join([blurb(t, view), "",
                      t("📤 Send this link to anyone: it opens this produce in the bot, ready to order."),
                      listing_link(context, view.id)])
    rows = [[InlineKeyboardButton(t("📨 Share in a chat"), switch_inline_query=view.title[:64])],
            [button(t("⬅️ Back"), MarketListing(view.id))]]
    await say(update, context, text, InlineKeyboardMarkup(rows))


# ---- deep links ------------------------------------------------------------------------------------

@opens("l")
async def listing_opened(update: Update, context: RuralContext, rest: str) -> bool:
    """``/start l-12``: listing 12's card at once. A broken link or a listing not on the market:
    a short word, then the usual /start."""
    t = context.t
    if not LISTING_ID.fullmatch(rest) or int(rest) > MAX_ID:
        await say(update, context, t("🤔 This link is broken: it does not lead to any produce."))
        return False
    try:
        view = await market.on_market(context.rt.store, int(rest))
    except NotFound:
        await say(update, context, t("😔 This produce is no longer for sale."))
        return False
    await market_screens.card(update, context, view, MarketCategory(view.category, 0))
    return True


@opens("mk")
async def market_opened(update: Update, context: RuralContext, _rest: str) -> bool:
    """``/start mk``: 🧺 Market (inline mode's "Open the market")."""
    await market_screens.home(update, context)
    return True


# ---- inline mode ---------------------------------------------------------------------------------

def _offset(text: str) -> int:
    return int(text) if text.isdigit() and len(text) <= 4 else 0


def inline_result(context: RuralContext, view: ListingView):
    """A listing as an inline result: its photo (else an article) with title, price and village,
    and 🛒 Buy, a link that opens the bot at the listing."""
    t = context.t
    caption = blurb(t, view)
    buy = InlineKeyboardMarkup([[InlineKeyboardButton(t("🛒 Buy"), url=listing_link(context, view.id))]])
    description = f"{price(t, view.price_fen, view.unit)} · {name_in(view.center_names, t)}"
    result_id = f"l{view.id}"
    if view.photo and view.photo.startswith(("http://", "https://")):
        return InlineQueryResultPhoto(result_id, view.photo, view.photo, title=view.title, description=description,
                                      caption=caption, parse_mode=ParseMode.HTML, reply_markup=buy)
    if view.photo:
        return InlineQueryResultCachedPhoto(result_id, view.photo, title=view.title, description=description,
                                            caption=caption, parse_mode=ParseMode.HTML, reply_markup=buy)
    return InlineQueryResultArticle(result_id, view.title, InputTextMessageContent(caption, parse_mode=ParseMode.HTML),
                                    description=description, reply_markup=buy)


async def inline_query(update: Update, context: RuralContext) -> None:
    """``@bot words``: the listings on the market the words find (none: the newest), a page at a time."""
    query, t = update.inline_query, context.t
    words, offset = " ".join(query.query.split()), _offset(query.offset)
    views: list[ListingView] = []
    if offset < INLINE_MAX_OFFSET:
        if words:
            views = (await context.rt.market.search(words, limit=offset + INLINE_PAGE + 1))[offset:]
        else:
            views = await market.newest(context.rt.store, offset, INLINE_PAGE + 1)
    more = len(views) > INLINE_PAGE
    views = views[:INLINE_PAGE]
    opener = None
    if not views and offset == 0:
        opener = InlineQueryResultsButton(t("🧺 Open the market"), start_parameter="mk")
    await query.answer([inline_result(context, view) for view in views], cache_time=INLINE_CACHE_SECONDS,
                       is_personal=False, next_offset=str(offset + INLINE_PAGE) if more else "", button=opener)


def register(app: Application) -> None:
    app.add_handler(on(ShareListing, share_tapped))
    app.add_handler(InlineQueryHandler(inline_query))

