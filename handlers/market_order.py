"""🛒 Ordering from the market: a listing card's 🛒 Order (handlers.market).

    🛒 Order ──> how much (tap or type) ──> pickup center (own, or another) ──> ✅ confirm
                                        └──> 🚚 delivery to an address (handlers.town_order)

A buyer without a center chooses first between delivery and a pickup center; one with a center
finds 🚚 Deliver instead on the pickup confirmation.

The amount, the center and the listing ride in each button (``mk:ok:<listing>:<milli>:<center>:
<token>``), and every tap reads the listing again from the store: what another buyer took
meanwhile is seen at once. The confirmation carries a random token, so a double tap or an old
confirmation places one order. A partner ordering for a villager without a phone (/orderfor)
buys for that villager, as in the shop.
"""

from __future__ import annotations

import secrets

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import Application

from handlers import forms
from handlers.callbacks import (
    MarketConfirm,
    MarketHome,
    MarketListing,
    MarketOrder,
    MarketOtherCenter,
    MarketPickupCenter,
    MarketPickupCounty,
    MarketQuantity,
    OrderDetail,
    TownDeliver,
    on,
)
from handlers.context import RuralContext
from handlers.listings import amount_problem, price, quantity, unit_name
from handlers.market import HOW_MUCH, drop_form, gone, on_market
from handlers.orders import too_many_pending
from handlers.ui import alert, button, esc, keyboard, money, name_in, on_tap, say, show
from services import centers, market
from services.amounts import MILLI, BadAmount, check_whole, line_total_fen, parse_quantity
from services.errors import NotFound, TooManyPendingOrders
from services.market import NotEnoughLeft, OwnListing
from services.produce import ListingView

QUICK_PICKS = (1, 2, 5, 10, 20, 50, 100)  # whole units offered as buttons, below what is left
MAX_PICKS = 4
TOKEN_BYTES = 5  # 10 hex digits: Order.checkout_token holds 16


# ---- helpers ----------------------------------------------------------------------------------

def _tapped_photo(update: Update) -> bool:
    query = update.callback_query
    return bool(query and isinstance(query.message, Message) and query.message.photo)


async def listing_screen(update: Update, context: RuralContext, text: str, markup: InlineKeyboardMarkup,
                  listing: ListingView | None = None) -> None:
    """A step about a listing: on its photo card, the caption changes in place; elsewhere, text."""
    photo = listing.photo if listing is not None and _tapped_photo(update) else None
    await show(update, context, text, markup, photo=photo)


def _amount(context: RuralContext, view: ListingView, milli: int) -> str:
    return quantity(context.t, milli, view.unit)


# ---- how much ----------------------------------------------------------------------------------

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
    picks = [button(_amount(context, view, milli), MarketQuantity(view.id, milli)) for milli in quick_picks(view)]
    rows = [picks,
            [button(t("All {quantity}", quantity=_amount(context, view, view.left_milli)),
                    MarketQuantity(view.id, view.left_milli))],
            [button(t("⬅️ Back"), MarketListing(view.id))]]
    return "\n".join(lines), keyboard(*rows)


async def buyer_may_order(update: Update, context: RuralContext, view: ListingView) -> bool:
    if view.seller_id == context.shopper.id:
        await alert(update, context, context.t("🙂 This is your own produce: you cannot order it."))
        return False
    return True


@on_tap
async def order_tapped(update: Update, context: RuralContext, data: MarketOrder) -> None:
    view = await on_market(update, context, data.listing_id)
    if view is None or not await buyer_may_order(update, context, view):
        return
    await forms.wait_for(context, HOW_MUCH(view.id))
    text, markup = how_much(context, view)
    await listing_screen(update, context, text, markup, view)


async def quantity_typed(update: Update, context: RuralContext, listing_id: int, text: str) -> None:
    """The answer to "How much?": "3", "2,5", "3斤"; in the listing's unit, at most what is left."""
    t, store = context.t, context.rt.store
    try:
        view = await market.on_market(store, listing_id)
    except NotFound:
        await forms.stop_waiting(context)
        await gone(update, context)
        return
    if view.seller_id == context.shopper.id:
        await forms.stop_waiting(context)
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
    await forms.stop_waiting(context)
    await to_pickup(update, context, view, milli)


@on_tap
async def quantity_tapped(update: Update, context: RuralContext, data: MarketQuantity) -> None:
    await drop_form(context)
    view = await on_market(update, context, data.listing_id)
    if view is None or not await buyer_may_order(update, context, view):
        return
    await to_pickup(update, context, view, data.milli)


async def still_enough(update: Update, context: RuralContext, view: ListingView, milli: int) -> bool:
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
    await forms.wait_for(context, HOW_MUCH(view.id))
    text, markup = how_much(context, view, note)
    await listing_screen(update, context, text, markup, view)
    return False


# ---- where to pick it up, and the confirmation -------------------------------------------------

async def to_pickup(update: Update, context: RuralContext, view: ListingView, milli: int) -> None:
    """The confirmation for the buyer's own center, or first the choice of one."""
    if not await still_enough(update, context, view, milli):
        return
    if context.shopper.center_id is None:
        if context.assisting:
            await pick_county(update, context, view, milli)
        else:
            await how_to_receive(update, context, view, milli)
        return
    await confirmation(update, context, view, milli, context.shopper.center_id)


async def how_to_receive(update: Update, context: RuralContext, view: ListingView, milli: int) -> None:
    """A buyer without a center: delivered to an address, or picked up at a service center."""
    t = context.t
    text = "\n".join([
        f"🌾 <b>{esc(view.title)}</b> · {esc(name_in(view.center_names, t))}",
        f"📦 {esc(_amount(context, view, milli))} × {esc(price(t, view.price_fen, view.unit))}",
        t("💰 Total: <b>{total}</b>", total=money(line_total_fen(view.price_fen, milli))),
        "", t("🚚 How would you like to get it?")])
    rows = [[button(t("🚚 Deliver to my address"), TownDeliver(view.id, milli, secrets.token_hex(TOKEN_BYTES)))],
            [button(t("📍 Pick up at a service center"), MarketOtherCenter(view.id, milli))],
            [button(t("⬅️ Back"), MarketOrder(view.id))]]
    await listing_screen(update, context, text, keyboard(*rows), view)


async def pick_county(update: Update, context: RuralContext, view: ListingView, milli: int) -> None:
    t = context.t
    found = await centers.list_counties(context.rt.store)
    rows = [[button(name_in(c.names, t), MarketPickupCounty(view.id, milli, c.id))] for c in found]
    rows.append([button(t("⬅️ Back"), MarketOrder(view.id))])
    text = t("📍 Where will you pick it up? First choose the county of your service center.")
    await listing_screen(update, context, text, keyboard(*rows), view)


@on_tap
async def other_center_tapped(update: Update, context: RuralContext, data: MarketOtherCenter) -> None:
    view = await on_market(update, context, data.listing_id)
    if view is not None and await buyer_may_order(update, context, view):
        await pick_county(update, context, view, data.milli)


@on_tap
async def pickup_county_tapped(update: Update, context: RuralContext, data: MarketPickupCounty) -> None:
    t = context.t
    view = await on_market(update, context, data.listing_id)
    if view is None or not await buyer_may_order(update, context, view):
        return
    milli = data.milli
    found = await centers.list_centers(context.rt.store, data.county_id)
    if not found:
        await pick_county(update, context, view, milli)
        return
    rows = [[button(name_in(c.names, t), MarketPickupCenter(view.id, milli, c.id))] for c in found]
    rows.append([button(t("⬅️ Back"), MarketOtherCenter(view.id, milli))])
    await listing_screen(update, context, t("🏘 Choose the service center where you will pick it up:"), keyboard(*rows), view)


@on_tap
async def center_tapped(update: Update, context: RuralContext, data: MarketPickupCenter) -> None:
    view = await on_market(update, context, data.listing_id)
    if view is None or not await buyer_may_order(update, context, view):
        return
    if await still_enough(update, context, view, data.milli):
        await confirmation(update, context, view, data.milli, data.center_id)


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
    rows = [[button(t("✅ Confirm order"), MarketConfirm(view.id, milli, center_id, token))],
            [button(t("📍 Another center"), MarketOtherCenter(view.id, milli))],
            *([] if context.assisting else [[button(t("🚚 Deliver instead"),
                                                    TownDeliver(view.id, milli, secrets.token_hex(TOKEN_BYTES)))]]),
            [button(t("✏️ Change the amount"), MarketOrder(view.id)), button(t("⬅️ Back"), MarketListing(view.id))]]
    await listing_screen(update, context, "\n".join(lines), keyboard(*rows), view)


@on_tap
async def confirm_tapped(update: Update, context: RuralContext, data: MarketConfirm) -> None:
    t, rt = context.t, context.rt
    listing_id, milli, center_id = data.listing_id, data.milli, data.center_id
    try:
        placed = await market.order_listing(rt.store, rt.clock, context.shopper.id, listing_id, milli, center_id,
                                            data.token,
                                            assisted_by_id=context.villager.id if context.assisting else None,
                                            caps=rt.caps)
    except (TooManyPendingOrders, OwnListing, BadAmount, NotEnoughLeft, NotFound) as exc:
        await not_placed(update, context, exc, listing_id, milli)
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
    markup = keyboard([button(t("📦 Track"), OrderDetail(order.id)), button(t("🧺 Market"), MarketHome())])
    await show(update, context, text, markup, photo=_placed_photo(update))


async def not_placed(update: Update, context: RuralContext, exc: Exception, listing_id: int, milli: int) -> None:
    """Why an order of a listing was not placed, and the way on (also for delivery orders)."""
    t = context.t
    if isinstance(exc, TooManyPendingOrders):
        await too_many_pending(update, context, exc, button(t("⬅️ Back"), MarketListing(listing_id)),
                               photo=_placed_photo(update))
    elif isinstance(exc, OwnListing):
        await alert(update, context, t("🙂 This is your own produce: you cannot order it."))
    elif isinstance(exc, BadAmount):  # a forged amount: half an egg
        view = await on_market(update, context, listing_id)
        if view is not None:
            await alert(update, context, amount_problem(t, exc, view.unit))
    elif isinstance(exc, NotEnoughLeft):
        view = await on_market(update, context, listing_id)
        if view is not None:
            await alert(update, context, t("😔 Someone was quicker: only {quantity} left. No order was placed.",
                                           quantity=_amount(context, view, exc.left_milli)))
            text, markup = how_much(context, view)
            await forms.wait_for(context, HOW_MUCH(view.id))
            await listing_screen(update, context, text, markup, view)
    elif str(exc) == "center":
        await alert(update, context, t("😔 This service center is closed. Please choose another one."))
        view = await on_market(update, context, listing_id)
        if view is not None:
            await pick_county(update, context, view, milli)
    else:
        await gone(update, context)


def _placed_photo(update: Update) -> str | None:
    """Keep editing the photo card in place (its file id is the one it shows)."""
    if not _tapped_photo(update):
        return None
    return update.callback_query.message.photo[-1].file_id


def register(app: Application) -> None:
    forms.on_text(app, HOW_MUCH, quantity_typed)
    app.add_handler(on(MarketOrder, order_tapped))
    app.add_handler(on(MarketQuantity, quantity_tapped))
    app.add_handler(on(MarketOtherCenter, other_center_tapped))
    app.add_handler(on(MarketPickupCounty, pickup_county_tapped))
    app.add_handler(on(MarketPickupCenter, center_tapped))
    app.add_handler(on(MarketConfirm, confirm_tapped))
