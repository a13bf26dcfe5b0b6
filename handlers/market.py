"""🧺 Market: villagers' produce, browsed by category or county, and searched.

    /market ──> a category, a county or a search ──> a page of listings ──> a listing card
        ──> 🛒 Order (handlers.market_order)

Everything a screen needs rides in its button (``Market*`` in handlers.callbacks; a listing's card
knows the page it was opened from, to go back there), and every tap reads the listing again from
the store: a listing the seller paused, or that sold out meanwhile, is seen at once.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import forms
from handlers.callbacks import (
    CallbackData,
    Categories,
    MarketCategory,
    MarketCounties,
    MarketCounty,
    MarketFind,
    MarketHome,
    MarketListing,
    MarketOrder,
    MarketScreen,
    MarketWords,
    SellerPage,
    ShareListing,
    on,
)
from handlers.context import RuralContext
from handlers.forms import Form
from handlers.listings import category_name, listing_text, price, rating_lines
from handlers.ui import alert, button, esc, keyboard, name_in, on_tap, pager, say, show
from services import market, ratings
from services.errors import NotFound
from services.produce import CATEGORIES, ListingView

# What a typed text answers: "mqty:12": how much of listing 12 (handlers.market_order); "msearch:0":
# words to find.
HOW_MUCH = Form("mqty")
FIND_WORDS = Form("msearch")


# ---- helpers ----------------------------------------------------------------------------------

async def drop_form(context: RuralContext) -> None:
    """A tap elsewhere in the market ends a wait for a typed quantity or search."""
    await forms.stop_waiting(context, HOW_MUCH, FIND_WORDS)


def listing_button(context: RuralContext, view: ListingView, screen: MarketScreen, mark: str = ""):
    """A listing's button: "title · ¥6.00 / jin · village", after ``mark`` (e.g. "🧺 ")."""
    t = context.t
    text = f"{mark}{view.title} · {price(t, view.price_fen, view.unit)} · {name_in(view.center_names, t)}"
    return button(text, MarketListing.opened_from(view.id, screen))


async def on_market(update: Update, context: RuralContext, listing_id: int) -> ListingView | None:
    """The listing, if buyers may still see it; else say so and show the market."""
    try:
        return await market.on_market(context.rt.store, listing_id)
    except NotFound:
        await gone(update, context)
        return None


async def gone(update: Update, context: RuralContext) -> None:
    t = context.t
    if update.callback_query:
        await alert(update, context, t("😔 This produce is no longer for sale."))
        await home(update, context)
    else:
        await say(update, context, t("😔 This produce is no longer for sale."),
                  keyboard([button(t("🧺 Market"), MarketHome())]))


# ---- the market's front page, categories, counties ---------------------------------------------

async def market_command(update: Update, context: RuralContext) -> None:
    """/market (or the 🧺 Market button); ``/market words`` searches at once."""
    await drop_form(context)
    words = " ".join(context.args or [])
    if words.strip():
        await run_search(update, context, words)
    else:
        await home(update, context)


async def home(update: Update, context: RuralContext) -> None:
    t = context.t
    found = await market.categories(context.rt.store)
    if not found:
        text = "\n".join([t("🧺 The market is empty for now."),
                          t("🌾 Be the first: sell your produce with /sell.")])
        await show(update, context, text, keyboard([button(t("🛒 Shop"), Categories())]))
        return
    buttons = [button(f"{category_name(t, code)} ({count})", MarketCategory(code, 0)) for code, count in found]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(t("🗺 By county"), MarketCounties()), button(t("🔍 Search the market"), MarketFind())])
    text = "\n".join([t("🧺 <b>Market</b>: produce from the villages, sold by the people who grew it."),
                      t("Choose a category, a county, or search."),
                      t("🌾 To sell your own, tap 🌾 Sell produce or send /sell.")])
    await show(update, context, text, keyboard(*rows))


@on_tap
async def home_tapped(update: Update, context: RuralContext) -> None:
    await drop_form(context)
    await home(update, context)


@on_tap
async def category_tapped(update: Update, context: RuralContext, data: MarketCategory) -> None:
    await drop_form(context)
    t = context.t
    code = data.category
    found = await market.by_category(context.rt.store, code, data.page) if code in CATEGORIES else None
    await listings_page(update, context, found, lambda page: MarketCategory(code, page),
                        f"🧺 <b>{esc(category_name(t, code))}</b>", MarketHome())


# Counties on one page of the chooser: the programme has a thousand, a message 100 buttons.
COUNTIES_PAGE = 20


@on_tap
async def counties_tapped(update: Update, context: RuralContext, data: MarketCounties) -> None:
    await drop_form(context)
    t = context.t
    found = await market.counties(context.rt.store)
    if not found:
        await home(update, context)
        return
    pages = -(-len(found) // COUNTIES_PAGE)
    page = min(data.page or 0, pages - 1)
    rows = [[button(f"{name_in(names, t)} ({count})", MarketCounty(county_id, 0))]
            for county_id, names, count in found[page * COUNTIES_PAGE:(page + 1) * COUNTIES_PAGE]]
    rows.append(pager(t, page, pages, MarketCounties))
    rows.append([button(t("⬅️ Back"), MarketHome())])
    text = t("🗺 Choose a county:")
    if pages > 1:
        text += "\n" + t("Page {page} of {pages}", page=page + 1, pages=pages)
    await show(update, context, text, keyboard(*rows))


@on_tap
async def county_tapped(update: Update, context: RuralContext, data: MarketCounty) -> None:
    await drop_form(context)
    t = context.t
    county_id = data.county_id
    found = await market.by_county(context.rt.store, county_id, data.page)
    title = f"🗺 <b>{esc(name_in(found.listings[0].county_names, t))}</b>" if found.listings else ""
    await listings_page(update, context, found, lambda page: MarketCounty(county_id, page), title,
                        MarketCounties())


async def listings_page(update: Update, context: RuralContext, found: market.ListingsPage | None,
                        screen: Callable[[int], MarketScreen], title: str, back: CallbackData) -> None:
    """A page of listings (``screen``: its page's button, e.g. a category's), each opening its card,
    with ⬅️ to ``back``."""
    t = context.t
    if not found or not found.listings:
        await alert(update, context, t("😔 Nothing for sale here any more."))
        await home(update, context)
        return
    rows = [[listing_button(context, view, screen(found.page))] for view in found.listings]
    rows.append(pager(t, found.page, found.pages, screen))
    rows.append([button(t("⬅️ Back"), back)])
    text = t("{title} — page {page} of {pages}", title=title, page=found.page + 1, pages=found.pages)
    await show(update, context, text, keyboard(*rows))


# ---- search ------------------------------------------------------------------------------------

@on_tap
async def find_tapped(update: Update, context: RuralContext) -> None:
    t = context.t
    await forms.wait_for(context, FIND_WORDS())
    await say(update, context, t("🔍 What produce are you looking for? Type a word, for example: honey, 苹果 or pingguo."),
              keyboard([button(t("⬅️ Back"), MarketHome())]))


async def search_typed(update: Update, context: RuralContext, _ref: int, text: str) -> None:
    await forms.stop_waiting(context)
    await run_search(update, context, text)


@on_tap
async def words_tapped(update: Update, context: RuralContext, data: MarketWords) -> None:
    """"More in the market" under a search: the market's own search for the same words."""
    await drop_form(context)
    await run_search(update, context, data.words)


async def run_search(update: Update, context: RuralContext, words: str) -> None:
    t = context.t
    found = await context.rt.market.search(words)
    query = esc(" ".join(words.split())[:100])
    rows = [[listing_button(context, view, MarketHome())] for view in found]
    rows.append([button(t("🔍 Search again"), MarketFind()), button(t("⬅️ Back"), MarketHome())])
    if found:
        text = t("🔍 In the market for “{query}”:", query=query)
    else:
        text = "\n".join([t("😕 Nothing in the market for “{query}”.", query=query),
                          t("Try another word, or browse by category.")])
    await show(update, context, text, keyboard(*rows))


# ---- a listing's card ------------------------------------------------------------------------

@on_tap
async def listing_tapped(update: Update, context: RuralContext, data: MarketListing) -> None:
    await drop_form(context)
    view = await on_market(update, context, data.listing_id)
    if view is not None:
        await card(update, context, view, data.back() or MarketCategory(view.category, 0))


async def card(update: Update, context: RuralContext, view: ListingView, origin: MarketScreen) -> None:
    t = context.t
    text = listing_text(t, view)
    rows = []
    share = button(t("📤 Share"), ShareListing(view.id))
    if view.seller_id == context.shopper.id:
        text += "\n\n" + t("🙂 This is your own produce. Manage it with /mylistings.")
        rows.append([share])
    else:
        rows.append([button(t("🛒 Order"), MarketOrder(view.id)), share])
    said = rating_lines(t, await ratings.listing_rating(context.rt.store, view.id), clip=100)
    if said:
        text += "\n\n" + "\n".join(said)
    rows.append([button(t("👤 Seller"), SellerPage(view.seller_id))])
    rows.append([button(t("⬅️ Back"), origin)])
    await show(update, context, text, keyboard(*rows), photo=view.photo)


def register(app: Application) -> None:
    forms.on_menu(app, "market", market_command)
    forms.on_text(app, FIND_WORDS, search_typed)
    app.add_handler(CommandHandler("market", market_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(MarketHome, home_tapped))
    app.add_handler(on(MarketCategory, category_tapped))
    app.add_handler(on(MarketCounties, counties_tapped))
    app.add_handler(on(MarketCounty, county_tapped))
    app.add_handler(on(MarketFind, find_tapped))
    app.add_handler(on(MarketWords, words_tapped))
    app.add_handler(on(MarketListing, listing_tapped))
