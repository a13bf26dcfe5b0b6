"""A seller's page (services/sellers.py): 👤 Seller on a listing in the market, or the link
t.me/<bot>?start=s-<seller id> (handlers.start hands it here):

    👤 name · 📍 village · ⭐ stars and the latest texts · 🧺 how much was sold
    [a button per listing on the market] [📤 Share] (Telegram's share sheet with the link)

Only the first name and the village are shown, never a phone or a username.
"""

from __future__ import annotations

from urllib.parse import quote

from telegram import InlineKeyboardButton, Update
from telegram.ext import Application

from handlers.callbacks import MarketHome, SellerPage, on
from handlers.context import RuralContext
from handlers.links import opens
from handlers.listings import quantity, rating_lines
from handlers.market import listing_button
from handlers.ui import alert, button, esc, keyboard, name_in, on_tap, say, show
from services import sellers


def link(bot_username: str | None, seller_id: int) -> str | None:
    return f"https://t.me/{bot_username}?start=s-{seller_id}" if bot_username else None


async def show_page(update: Update, context: RuralContext, seller_id: int) -> bool:
    """The seller's page; False (nothing shown) if there is no such seller."""
    t = context.t
    page = await sellers.seller_page(context.rt.store, seller_id)
    if page is None:
        return False
    lines = [t("👤 <b>{name}</b>", name=esc(page.name) or t("(name deleted)")),
             t("📍 {village}", village=esc(name_in(page.village_names, t)))]
    lines += rating_lines(t, page.rating, none=True)
    if page.orders_sold:
        amounts = ", ".join(quantity(t, milli, unit) for unit, milli in sorted(page.sold_milli.items()))
        lines.append(t("🧺 Sold: orders received by buyers: {n} ({amounts})", n=page.orders_sold, amounts=amounts))
    else:
        lines.append(t("🧺 Nothing sold yet"))
    lines.append("")
    lines.append(t("🌾 On the market now: {n}", n=len(page.listings)) if page.listings
                 else t("🌾 Nothing on the market now."))
    rows = [[listing_button(context, view, None)] for view in page.listings]
    share = link(context.bot.username, seller_id)
    if share:
        rows.append([InlineKeyboardButton(t("📤 Share"), url=f"https://t.me/share/url?url={quote(share, safe='')}")])
    rows.append([button(t("🧺 Market"), MarketHome())])
    markup = keyboard(*rows)
    if update.callback_query:
        await show(update, context, "\n".join(lines), markup)
    else:
        await say(update, context, "\n".join(lines), markup)
    return True


@on_tap
async def seller_tapped(update: Update, context: RuralContext, data: SellerPage) -> None:
    if not await show_page(update, context, data.seller_id):
        await alert(update, context, context.t("😔 This seller was not found."))


@opens("s")
async def open_link(update: Update, context: RuralContext, rest: str) -> bool:
    """/start s-<id>: the seller's page, or a polite word if there is none. False: not such a link."""
    seller_id = sellers.seller_id_of(f"s-{rest}")
    if seller_id is None:
        return False
    if not await show_page(update, context, seller_id):
        t = context.t
        await say(update, context, t("😔 This seller was not found. Have a look at the market instead."),
                  keyboard([button(t("🧺 Market"), MarketHome())]))
    return True


def register(app: Application) -> None:
    app.add_handler(on(SellerPage, seller_tapped))

