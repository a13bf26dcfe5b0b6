"""🧺 Market: villagers' produce, browsed by category or county, searched, and ordered.

    /market ──> a category, a county or a search ──> a page of listings ──> a listing card
        ──> 🛒 Order: how much (tap or type) ──> pickup center (own, or another) ──> ✅ confirm

Everything a screen needs rides in its callback data (``mk:ok:<listing>:<milli>:<center>:<token>``),
and every tap reads the listing again from the store: what another buyer took meanwhile, or a
listing the seller paused, is seen at once. The confirmation carries a random token, so a double
tap or an old confirmation places one order. A partner ordering for a villager without a phone
(/orderfor) buys for that villager, as in the shop.
"""

from __future__ import annotations

import secrets

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from handlers import forms
from handlers.context import RuralContext
from handlers.listings import amount_problem, category_name, listing_text, price, quantity, unit_name
from handlers.orders import too_many_pending
from handlers.ui import alert, button, esc, keyboard, money, name_in, on_tap, pager, say, show
from services import centers, market, villagers
from services.amounts import MILLI, BadAmount, check_whole, line_total_fen, parse_quantity
from services.errors import NotFound, TooManyPendingOrders
from services.market import NotEnoughLeft, OwnListing
from services.produce import CATEGORIES, ListingView

QUICK_PICKS = (1, 2, 5, 10, 20, 50, 100)  # whole units offered as buttons, below what is left
MAX_PICKS = 4
TOKEN_BYTES = 5  # 10 hex digits: Order.checkout_token holds 16
# Where a listing card's ⬅️ Back leads: the page of listings it was opened from.
_ORIGIN = r"cat:[a-z_]{1,32}:\d{1,5}|cty:\d{1,9}:\d{1,5}|home"
_FORMS = ("mqty", "msearch")


# ---- helpers ----------------------------------------------------------------------------------

def _tapped_photo(update: Update) -> bool:
    query = update.callback_query
    return bool(query and isinstance(query.message, Message) and query.message.photo)


async def _screen(update: Update, context: RuralContext, text: str, markup: InlineKeyboardMarkup,
                  listing: ListingView | None = None) -> None:
    """A step about a listing: on its photo card, the caption changes in place; elsewhere, text."""
    photo = listing.photo if listing is not None and _tapped_photo(update) else None
    await show(update, context, text, markup, photo=photo)


async def _drop_form(context: RuralContext) -> None:
    """A tap elsewhere in the market ends a wait for a typed quantity or search."""
    awaiting = context.villager.awaiting or ""
    if awaiting.partition(":")[0] in _FORMS:
        await villagers.set_awaiting(context.rt.store, context.villager.id, None)


def _listing_button(context: RuralContext, view: ListingView, origin: str):
    t = context.t
    text = f"{view.title} · {price(t, view.price_fen, view.unit)} · {name_in(view.center_names, t)}"
    return button(text, f"mk:l:{view.id}:{origin}")


def _amount(context: RuralContext, view: ListingView, milli: int) -> str:
    return quantity(context.t, milli, view.unit)


async def _on_market(update: Update, context: RuralContext, listing_id: int) -> ListingView | None:
    """The listing, if buyers may still see it; else say so and show the market."""
    try:
        return await market.on_market(context.rt.store, listing_id)
    except NotFound:
        await _gone(update, context)
        return None


async def _gone(update: Update, context: RuralContext) -> None:
    t = context.t
    if update.callback_query:
        await alert(update, context, t("😔 This produce is no longer for sale."))
        await home(update, context)
    else:
        await say(update, context, t("😔 This produce is no longer for sale."),
                  keyboard([button(t("🧺 Market"), "mk:home")]))


# ---- the market's front page, categories, counties ---------------------------------------------

async def market_command(update: Update, context: RuralContext) -> None:
    """/market (or the 🧺 Market button); ``/market words`` searches at once."""
    await _drop_form(context)
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
        await show(update, context, text, keyboard([button(t("🛒 Shop"), "cats")]))
        return
    buttons = [button(f"{category_name(t, code)} ({count})", f"mk:cat:{code}:0") for code, count in found]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(t("🗺 By county"), "mk:cties"), button(t("🔍 Search the market"), "mk:find")])
    text = "\n".join([t("🧺 <b>Market</b>: produce from the villages, sold by the people who grew it."),
                      t("Choose a category, a county, or search."),
                      t("🌾 To sell your own, tap 🌾 Sell produce or send /sell.")])
    await show(update, context, text, keyboard(*rows))


@on_tap
async def home_tapped(update: Update, context: RuralContext) -> None:
    await _drop_form(context)
    await home(update, context)


@on_tap
async def category_tapped(update: Update, context: RuralContext) -> None:
    await _drop_form(context)
    t = context.t
    code, page = context.match.group(1), int(context.match.group(2))
    found = await market.by_category(context.rt.store, code, page) if code in CATEGORIES else None
    await listings_page(update, context, found, f"cat:{code}", f"🧺 <b>{esc(category_name(t, code))}</b>", "home")


# Counties on one page of the chooser: the programme has a thousand, a message 100 buttons.
COUNTIES_PAGE = 20


@on_tap
async def counties_tapped(update: Update, context: RuralContext) -> None:
    await _drop_form(context)
    t = context.t
    found = await market.counties(context.rt.store)
    if not found:
        await home(update, context)
        return
    pages = -(-len(found) // COUNTIES_PAGE)
    page = min(int(context.match.group(1) or 0), pages - 1)
    rows = [[button(f"{name_in(names, t)} ({count})", f"mk:cty:{county_id}:0")]
            for county_id, names, count in found[page * COUNTIES_PAGE:(page + 1) * COUNTIES_PAGE]]
    rows.append(pager(t, page, pages, "mk:cties:{page}"))
    rows.append([button(t("⬅️ Back"), "mk:home")])
    text = t("🗺 Choose a county:")
    if pages > 1:
        text += "\n" + t("Page {page} of {pages}", page=page + 1, pages=pages)
    await show(update, context, text, keyboard(*rows))


@on_tap
async def county_tapped(update: Update, context: RuralContext) -> None:
    await _drop_form(context)
    t = context.t
    county_id, page = int(context.match.group(1)), int(context.match.group(2))
    found = await market.by_county(context.rt.store, county_id, page)
    title = f"🗺 <b>{esc(name_in(found.listings[0].county_names, t))}</b>" if found.listings else ""
    await listings_page(update, context, found, f"cty:{county_id}", title, "cties")


async def listings_page(update: Update, context: RuralContext, found: market.ListingsPage | None, where: str,
                        title: str, back: str) -> None:
    """A page of listings (``where``: "cat:fruit", "cty:3"), each opening its card, with ⬅️ to ``back``."""
    t = context.t
    if not found or not found.listings:
        await alert(update, context, t("😔 Nothing for sale here any more."))
        await home(update, context)
        return
    rows = [[_listing_button(context, view, f"{where}:{found.page}")] for view in found.listings]
    rows.append(pager(t, found.page, found.pages, f"mk:{where}:{{page}}"))
    rows.append([button(t("⬅️ Back"), f"mk:{back}")])
    text = t("{title} — page {page} of {pages}", title=title, page=found.page + 1, pages=found.pages)
    await show(update, context, text, keyboard(*rows))


# ---- search ------------------------------------------------------------------------------------

@on_tap
async def find_tapped(update: Update, context: RuralContext) -> None:
    t = context.t
    await villagers.set_awaiting(context.rt.store, context.villager.id, "msearch:0")
    await say(update, context, t("🔍 What produce are you looking for? Type a word, for example: honey, 苹果 or pingguo."),
              keyboard([button(t("⬅️ Back"), "mk:home")]))


async def search_typed(update: Update, context: RuralContext, _ref: int, text: str) -> None:
    await villagers.set_awaiting(context.rt.store, context.villager.id, None)
    await run_search(update, context, text)


async def run_search(update: Update, context: RuralContext, words: str) -> None:
    t = context.t
    found = await context.rt.market.search(words)
    query = esc(" ".join(words.split())[:100])
    rows = [[_listing_button(context, view, "home")] for view in found]
    rows.append([button(t("🔍 Search again"), "mk:find"), button(t("⬅️ Back"), "mk:home")])
    if found:
        text = t("🔍 In the market for “{query}”:", query=query)
    else:
        text = "\n".join([t("😕 Nothing in the market for “{query}”.", query=query),
                          t("Try another word, or browse by category.")])
    await show(update, context, text, keyboard(*rows))


# ---- a listing's card ------------------------------------------------------------------------

@on_tap
async def listing_tapped(update: Update, context: RuralContext) -> None:
    await _drop_form(context)
    view = await _on_market(update, context, int(context.match.group(1)))
    if view is not None:
        await card(update, context, view, context.match.group(2) or f"cat:{view.category}:0")


async def card(update: Update, context: RuralContext, view: ListingView, origin: str) -> None:
    t = context.t
    text = listing_text(t, view)
    rows = []
    if view.seller_id == context.shopper.id:
        text += "\n\n" + t("🙂 This is your own produce. Manage it with /mylistings.")
    else:
        rows.append([button(t("🛒 Order"), f"mk:n:{view.id}")])
    rows.append([button(t("⬅️ Back"), f"mk:{origin}")])
    await show(update, context, text, keyboard(*rows), photo=view.photo)


# ---- ordering: how much ------------------------------------------------------------------------

def quick_picks(view: ListingView) -> list[int]:
    """Sensible amounts (in thousandths) below what is left; "All" is offered besides."""
    return [n * MILLI for n in QUICK_PICKS if n * MILLI < view.left_milli][:MAX_PICKS]


def how_much(context: RuralContext, view: ListingView, note: str = "") -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    lines = ([note, ""] if note else []) + [
        t("🛒 <b>How much {title}?</b>", title=esc(view.title)),
        t("📦 {quantity} left · 💰 {price}", quantity=_amount(context, view, view.left_milli),
          price=price(t, view.price_fen, view.unit)),
        t("Tap an amount, or type one, for example 3 or 2.5 ({unit}).", unit=esc(unit_name(t, view.unit))),
    ]
    picks = [button(_amount(context, view, milli), f"mk:q:{view.id}:{milli}") for milli in quick_picks(view)]
    rows = [picks,
            [button(t("All {quantity}", quantity=_amount(context, view, view.left_milli)),
                    f"mk:q:{view.id}:{view.left_milli}")],
            [button(t("⬅️ Back"), f"mk:l:{view.id}")]]
    return "\n".join(lines), keyboard(*rows)


async def _check_buyer(update: Update, context: RuralContext, view: ListingView) -> bool:
    if view.seller_id == context.shopper.id:
        await alert(update, context, context.t("🙂 This is your own produce: you cannot order it."))
        return False
    return True


@on_tap
async def order_tapped(update: Update, context: RuralContext) -> None:
    view = await _on_market(update, context, int(context.match.group(1)))
    if view is None or not await _check_buyer(update, context, view):
        return
    await villagers.set_awaiting(context.rt.store, context.villager.id, f"mqty:{view.id}")
    text, markup = how_much(context, view)
    await _screen(update, context, text, markup, view)


async def quantity_typed(update: Update, context: RuralContext, listing_id: int, text: str) -> None:
    """The answer to "How much?": "3", "2,5", "3斤"; in the listing's unit, at most what is left."""
    t, store = context.t, context.rt.store
    try:
        view = await market.on_market(store, listing_id)
    except NotFound:
        await villagers.set_awaiting(store, context.villager.id, None)
        await _gone(update, context)
        return
    if view.seller_id == context.shopper.id:
        await villagers.set_awaiting(store, context.villager.id, None)
        await say(update, context, t("🙂 This is your own produce: you cannot order it."))
        return
    problem = None
    try:
        milli, named = parse_quantity(text, view.unit)
    except BadAmount as exc:
        problem = amount_problem(t, exc, view.unit)
    else:
        if named is not None and named != view.unit:
            problem = t("⚠️ This is sold by the {unit}. Please type how many {unit}.",
                        unit=esc(unit_name(t, view.unit)))
        elif milli > view.left_milli:
            problem = t("⚠️ Only {quantity} left. Please type that much or less.",
                        quantity=_amount(context, view, view.left_milli))
    if problem is not None:
        reply, markup = how_much(context, view, problem)
        await say(update, context, reply, markup)
        return
    await villagers.set_awaiting(store, context.villager.id, None)
    await to_pickup(update, context, view, milli)


@on_tap
async def quantity_tapped(update: Update, context: RuralContext) -> None:
    await _drop_form(context)
    view = await _on_market(update, context, int(context.match.group(1)))
    if view is None or not await _check_buyer(update, context, view):
        return
    await to_pickup(update, context, view, int(context.match.group(2)))


async def _enough(update: Update, context: RuralContext, view: ListingView, milli: int) -> bool:
    """Whether ``milli`` can still be ordered; else ask again how much."""
    try:
        check_whole(view.unit, milli)
    except BadAmount as exc:
        note = amount_problem(context.t, exc, view.unit)
    else:
        if 0 < milli <= view.left_milli:
            return True
        note = context.t("⚠️ Only {quantity} left.", quantity=_amount(context, view, view.left_milli))
    if update.callback_query:
        await alert(update, context, note)
        note = ""
    await villagers.set_awaiting(context.rt.store, context.villager.id, f"mqty:{view.id}")
    text, markup = how_much(context, view, note)
    await _screen(update, context, text, markup, view)
    return False


# ---- ordering: where to pick it up, and the confirmation ---------------------------------------

async def to_pickup(update: Update, context: RuralContext, view: ListingView, milli: int) -> None:
    """The confirmation for the buyer's own center, or first the choice of one."""
    if not await _enough(update, context, view, milli):
        return
    if context.shopper.center_id is None:
        await pick_county(update, context, view, milli)
        return
    await confirmation(update, context, view, milli, context.shopper.center_id)


async def pick_county(update: Update, context: RuralContext, view: ListingView, milli: int) -> None:
    t = context.t
    found = await centers.list_counties(context.rt.store)
    rows = [[button(name_in(c.names, t), f"mk:oy:{view.id}:{milli}:{c.id}")] for c in found]
    rows.append([button(t("⬅️ Back"), f"mk:n:{view.id}")])
    text = t("📍 Where will you pick it up? First choose the county of your service center.")
    await _screen(update, context, text, keyboard(*rows), view)


@on_tap
async def other_center_tapped(update: Update, context: RuralContext) -> None:
    view = await _on_market(update, context, int(context.match.group(1)))
    if view is not None and await _check_buyer(update, context, view):
        await pick_county(update, context, view, int(context.match.group(2)))


@on_tap
async def pickup_county_tapped(update: Update, context: RuralContext) -> None:
    t = context.t
    view = await _on_market(update, context, int(context.match.group(1)))
    if view is None or not await _check_buyer(update, context, view):
        return
    milli, county_id = int(context.match.group(2)), int(context.match.group(3))
    found = await centers.list_centers(context.rt.store, county_id)
    if not found:
        await pick_county(update, context, view, milli)
        return
    rows = [[button(name_in(c.names, t), f"mk:c:{view.id}:{milli}:{c.id}")] for c in found]
    rows.append([button(t("⬅️ Back"), f"mk:oc:{view.id}:{milli}")])
    await _screen(update, context, t("🏘 Choose the service center where you will pick it up:"), keyboard(*rows), view)


@on_tap
async def center_tapped(update: Update, context: RuralContext) -> None:
    view = await _on_market(update, context, int(context.match.group(1)))
    if view is None or not await _check_buyer(update, context, view):
        return
    milli, center_id = int(context.match.group(2)), int(context.match.group(3))
    if await _enough(update, context, view, milli):
        await confirmation(update, context, view, milli, center_id)


async def confirmation(update: Update, context: RuralContext, view: ListingView, milli: int, center_id: int) -> None:
    t = context.t
    center = await centers.get_center(context.rt.store, center_id)
    if center is None:
        await pick_county(update, context, view, milli)
        return
    lines = [
        t("🧾 <b>Please check your order</b>"),
        f"🌾 <b>{esc(view.title)}</b> · {esc(name_in(view.center_names, t))}",
        f"📦 {esc(_amount(context, view, milli))} × {esc(price(t, view.price_fen, view.unit))}",
        t("💰 Total: <b>{total}</b>", total=money(line_total_fen(view.price_fen, milli))),
        t("📍 Pick up at: {center}", center=f"<b>{esc(name_in(center.names, t))}</b>"),
        *([f"   {esc(center.address)}"] if center.address else []),
        t("💵 Payment: cash at pickup"),
        t("🤝 The seller's partner confirms the order and sends it to your center."),
    ]
    token = secrets.token_hex(TOKEN_BYTES)
    rows = [[button(t("✅ Confirm order"), f"mk:ok:{view.id}:{milli}:{center_id}:{token}")],
            [button(t("📍 Another center"), f"mk:oc:{view.id}:{milli}")],
            [button(t("✏️ Change the amount"), f"mk:n:{view.id}"), button(t("⬅️ Back"), f"mk:l:{view.id}")]]
    await _screen(update, context, "\n".join(lines), keyboard(*rows), view)


@on_tap
async def confirm_tapped(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    listing_id, milli, center_id = (int(context.match.group(i)) for i in (1, 2, 3))
    try:
        placed = await market.order_listing(rt.store, rt.clock, context.shopper.id, listing_id, milli, center_id,
                                            context.match.group(4),
                                            assisted_by_id=context.villager.id if context.assisting else None,
                                            caps=rt.caps)
    except TooManyPendingOrders as exc:
        await too_many_pending(update, context, exc, button(t("⬅️ Back"), f"mk:l:{listing_id}"),
                               photo=_placed_photo(update))
        return
    except OwnListing:
        await alert(update, context, t("🙂 This is your own produce: you cannot order it."))
        return
    except BadAmount as exc:  # a forged amount: half an egg
        view = await _on_market(update, context, listing_id)
        if view is not None:
            await alert(update, context, amount_problem(t, exc, view.unit))
        return
    except NotEnoughLeft as exc:
        view = await _on_market(update, context, listing_id)
        if view is not None:
            await alert(update, context, t("😔 Someone was quicker: only {quantity} left. No order was placed.",
                                           quantity=_amount(context, view, exc.left_milli)))
            text, markup = how_much(context, view)
            await villagers.set_awaiting(rt.store, context.villager.id, f"mqty:{view.id}")
            await _screen(update, context, text, markup, view)
        return
    except NotFound as exc:
        if str(exc) == "center":
            await alert(update, context, t("😔 This service center is closed. Please choose another one."))
            view = await _on_market(update, context, listing_id)
            if view is not None:
                await pick_county(update, context, view, milli)
            return
        await _gone(update, context)
        return
    order = placed.order
    if placed.already_placed:
        await alert(update, context, t("This order was already placed: {number}", number=order.number))
    line = order.lines[0]
    text = "\n".join([
        t("✅ Order <b>{number}</b> placed!", number=order.number),
        f"🌾 {esc(line.name(t.language))} · {esc(quantity(t, milli, line.unit))}",
        t("💰 Total: <b>{total}</b>, paid in cash at pickup.", total=money(order.total_fen)),
        t("📍 Pick up at: {center}", center=esc(name_in(order.center_names, t))),
        t("🤝 The seller's partner will confirm it and send it to your center. We will tell you when it arrives."),
    ])
    markup = keyboard([button(t("📦 Track"), f"ord:{order.id}"), button(t("🧺 Market"), "mk:home")])
    await show(update, context, text, markup, photo=_placed_photo(update))


def _placed_photo(update: Update) -> str | None:
    """Keep editing the photo card in place (its file id is the one it shows)."""
    if not _tapped_photo(update):
        return None
    return update.callback_query.message.photo[-1].file_id


def register(app: Application) -> None:
    forms.on_menu(app, "market", market_command)
    for kind, answer in MARKET_FORMS.items():
        forms.on_text(app, forms.Form(kind), answer)
    app.add_handler(CommandHandler("market", market_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(home_tapped, pattern=r"^mk:home$"))
    app.add_handler(CallbackQueryHandler(category_tapped, pattern=r"^mk:cat:([a-z_]{1,32}):(\d{1,5})$"))
    app.add_handler(CallbackQueryHandler(counties_tapped, pattern=r"^mk:cties(?::(\d{1,4}))?$"))
    app.add_handler(CallbackQueryHandler(county_tapped, pattern=r"^mk:cty:(\d{1,9}):(\d{1,5})$"))
    app.add_handler(CallbackQueryHandler(find_tapped, pattern=r"^mk:find$"))
    app.add_handler(CallbackQueryHandler(listing_tapped, pattern=rf"^mk:l:(\d{{1,9}})(?::({_ORIGIN}))?$"))
    app.add_handler(CallbackQueryHandler(order_tapped, pattern=r"^mk:n:(\d{1,9})$"))
    app.add_handler(CallbackQueryHandler(quantity_tapped, pattern=r"^mk:q:(\d{1,9}):(\d{1,10})$"))
    app.add_handler(CallbackQueryHandler(other_center_tapped, pattern=r"^mk:oc:(\d{1,9}):(\d{1,10})$"))
    app.add_handler(CallbackQueryHandler(pickup_county_tapped, pattern=r"^mk:oy:(\d{1,9}):(\d{1,10}):(\d{1,9})$"))
    app.add_handler(CallbackQueryHandler(center_tapped, pattern=r"^mk:c:(\d{1,9}):(\d{1,10}):(\d{1,9})$"))
    app.add_handler(CallbackQueryHandler(confirm_tapped,
                                         pattern=r"^mk:ok:(\d{1,9}):(\d{1,10}):(\d{1,9}):([0-9a-f]{10})$"))


# What a typed text answers: "mqty:12" -> how much of listing 12; "msearch:0" -> words to find.
MARKET_FORMS = {"mqty": quantity_typed, "msearch": search_typed}
