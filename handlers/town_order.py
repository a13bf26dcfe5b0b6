"""🚚 A town buyer's delivery order (services/town_orders.py), after the amount (handlers.market_order).

With a payment provider (``PAYMENT_PROVIDER_TOKEN``)::

    🚚 Deliver to my address ──> order held 15 min ──> invoice ──> payment sheet (handlers.town_payments)

Without one, cash on delivery::

    🚚 Deliver to my address ──> the address, typed ──> held 15 min, delivery priced
        ──> name and phone, typed ──> goods + delivery + total ──> ✅ confirm (pending)

Each step has ⬅️ Back and ✖️ Cancel; a held order dropped, or not confirmed in time, gives its
stock back (``town_orders.drop_reservation``, the reservation job).
"""

from __future__ import annotations

import re
import secrets

from telegram import LabeledPrice, Update
from telegram.error import TelegramError
from telegram.ext import Application

from handlers import forms
from handlers.callbacks import (
    MarketHome,
    MarketListing,
    MarketOrder,
    MarketOtherCenter,
    OrderDetail,
    TownBack,
    TownConfirm,
    TownDeliver,
    TownDrop,
    on,
)
from handlers.context import RuralContext
from handlers.forms import Form
from handlers.listings import quantity, unit_name
from handlers.market import drop_form, gone, on_market
from handlers.market_order import TOKEN_BYTES, buyer_may_order, listing_screen, not_placed, still_enough
from handlers.ui import alert, button, esc, keyboard, money, name_in, not_yours, on_tap, say, show
from locales import N_, Translator
from services import market, orders, town_orders
from services.amounts import BadAmount
from services.errors import NotFound, TooManyPendingOrders
from services.market import NotEnoughLeft, OwnListing
from services.orders import OrderView
from services.produce import ListingView

ADDRESS = Form("taddr")  # ref: where(listing id, amount)
RECEIVER = Form("trcv")  # ref: the held order's id
SPAN = 10**10  # an amount in thousandths has at most 10 digits (callbacks.Milli)
CURRENCY = "CNY"
PHONE = re.compile(r"\+?\d[\d\s-]{5,18}\d")
MIN_ADDRESS, MAX_ADDRESS, MAX_NAME = 6, 200, 50
NOT_PLACED = (TooManyPendingOrders, OwnListing, BadAmount, NotEnoughLeft, NotFound)
ZONES = {"county": N_("same county"), "province": N_("same province"), "elsewhere": N_("elsewhere in China")}


def where(listing_id: int, milli: int) -> int:
    return listing_id * SPAN + milli


def zone_name(t: Translator, zone: str) -> str:
    return t(ZONES[zone]) if zone in ZONES else zone


def goods_line(t: Translator, order: OrderView) -> str:
    line = order.lines[0]
    return f"🌾 {esc(line.name(t.language))} · {esc(f'{line.quantity} {unit_name(t, line.unit)}')}"


def receiver(phone_and_name: str) -> tuple[str, str] | None:
    """("周丽", "13900001111") from "周丽 13900001111" (either order, spaces or dashes in the number);
    None without a name or a number of 7 to 15 digits."""
    found = PHONE.search(phone_and_name)
    if found is None:
        return None
    digits = re.sub(r"\D", "", found.group())
    name = " ".join((phone_and_name[:found.start()] + " " + phone_and_name[found.end():]).split()).strip(",，;；")
    if not 7 <= len(digits) <= 15 or not name or len(name) > MAX_NAME:
        return None
    return name.strip(), ("+" if found.group().startswith("+") else "") + digits


# ---- 🚚 Deliver to my address -------------------------------------------------------------------

@on_tap
async def deliver_tapped(update: Update, context: RuralContext, data: TownDeliver) -> None:
    await drop_form(context)
    view = await on_market(update, context, data.listing_id)
    if view is None or not await buyer_may_order(update, context, view) or not await still_enough(
            update, context, view, data.milli):
        return
    if context.rt.payment_token:
        await send_invoice(update, context, view, data.milli, data.token)
    else:
        await ask_address(update, context, view, data.milli)


async def send_invoice(update: Update, context: RuralContext, view: ListingView, milli: int, token: str) -> None:
    """The order held for its invoice, then the invoice: goods only; the payment sheet asks the address."""
    t, rt = context.t, context.rt
    try:
        placed = await town_orders.place_delivery(rt.store, rt.clock, context.shopper.id, view.id, milli, token,
                                                  caps=rt.caps)
    except NOT_PLACED as exc:
        await not_placed(update, context, exc, view.id, milli)
        return
    order = placed.order
    if placed.already_placed:
        await alert(update, context, t("🧾 The invoice for order {number} was sent already: pay it below.",
                                       number=order.number))
        return
    amount = quantity(t, milli, view.unit)
    text = "\n".join([
        t("🧾 Order <b>{number}</b>: {quantity} of {title}, {total}.", number=order.number, quantity=esc(amount),
          title=esc(view.title), total=money(order.total_fen)),
        t("⏳ It is held for you for 15 minutes: pay the invoice below."),
        t("🚚 The delivery is priced from your address on the payment sheet."),
    ])
    await listing_screen(update, context, text, keyboard([button(t("✖️ Cancel"), TownDrop(order.id))]), view)
    description = t("{quantity} of {title} from {village}. Delivery priced from your address.", quantity=amount,
                    title=view.title, village=name_in(view.center_names, t))
    try:
        await context.bot.send_invoice(
            update.effective_chat.id, title=view.title[:32], description=description[:255],
            payload=town_orders.payload_of(order, token), provider_token=rt.payment_token, currency=CURRENCY,
            prices=[LabeledPrice(f"{view.title} × {amount}"[:64], order.total_fen)], need_name=True,
            need_phone_number=True, need_shipping_address=True, is_flexible=True)
    except TelegramError:
        await town_orders.drop_reservation(rt.store, rt.clock, context.shopper.id, order.id)  # nothing to pay
        raise


# ---- cash on delivery: the address, the receiver, ✅ ---------------------------------------------

async def ask_address(update: Update, context: RuralContext, view: ListingView, milli: int, note: str = "") -> None:
    t = context.t
    await forms.wait_for(context, ADDRESS(where(view.id, milli)))
    text = "\n".join([*([note, ""] if note else []),
                      t("📍 <b>Where should it be delivered?</b>"),
                      t("Type the whole address in one message: province, city, district, street and number. "
                        "For example: 陕西省西安市雁塔区科技路 10 号"),
                      t("💵 You pay the courier on delivery.")])
    rows = [[button(t("⬅️ Back"), MarketOrder(view.id)), button(t("✖️ Cancel"), MarketListing(view.id))]]
    if update.callback_query:
        await listing_screen(update, context, text, keyboard(*rows), view)
    else:
        await say(update, context, text, keyboard(*rows))


async def address_typed(update: Update, context: RuralContext, ref: int, text: str) -> None:
    t, rt = context.t, context.rt
    listing_id, milli = divmod(ref, SPAN)
    try:
        view = await market.on_market(rt.store, listing_id)
    except NotFound:
        await forms.stop_waiting(context)
        await gone(update, context)
        return
    address = " ".join(text.split())
    if not MIN_ADDRESS <= len(address) <= MAX_ADDRESS:
        await ask_address(update, context, view, milli, t("⚠️ Please type the whole address, with the province and "
                                                          "the city, in one message."))
        return
    try:
        placed = await town_orders.hold_delivery(rt.store, rt.clock, context.shopper.id, listing_id, milli,
                                                 secrets.token_hex(TOKEN_BYTES), address, caps=rt.caps)
    except town_orders.NoDelivery:
        rows = [[button(t("📍 Pick up at a service center"), MarketOtherCenter(listing_id, milli))],
                [button(t("⬅️ Back"), MarketOrder(listing_id)), button(t("✖️ Cancel"), MarketListing(listing_id))]]
        await say(update, context, "\n".join([
            t("😔 The seller's center does not deliver to {address}.", address=f"<b>{esc(address)}</b>"),
            t("Type another address, or pick it up at a service center.")]), keyboard(*rows))
        return
    except NOT_PLACED as exc:
        await forms.stop_waiting(context)
        await not_placed(update, context, exc, listing_id, milli)
        return
    await forms.wait_for(context, RECEIVER(placed.order.id))
    await ask_receiver(update, context, placed.order, listing_id, milli)


def _back_rows(t: Translator, order: OrderView, listing_id: int, milli: int) -> list:
    return [[button(t("⬅️ Back"), TownBack(order.id, listing_id, milli)), button(t("✖️ Cancel"), TownDrop(order.id))]]


async def ask_receiver(update: Update, context: RuralContext, order: OrderView, listing_id: int, milli: int,
                       note: str = "") -> None:
    t = context.t
    ship_to = order.ship_to or {}
    text = "\n".join([*([note, ""] if note else []),
                      t("📍 To: {address}", address=esc(ship_to.get("address", ""))),
                      t("🚚 Delivery ({zone}): {price}", zone=esc(zone_name(t, ship_to.get("zone", ""))),
                        price=money(order.delivery_fen)),
                      t("⏳ It is held for you for 15 minutes."), "",
                      t("👤 Now the receiver's name and phone number, in one message. For example: 周丽 13900001111")])
    await say(update, context, text, keyboard(*_back_rows(t, order, listing_id, milli)))


async def receiver_typed(update: Update, context: RuralContext, order_id: int, text: str) -> None:
    t, rt = context.t, context.rt
    order = await orders.order_view(rt.store, order_id)
    if order is None:
        await forms.stop_waiting(context)
        return
    try:
        listing_id, milli = await town_orders.held_listing(rt.store, order.id)
    except NotFound:
        await forms.stop_waiting(context)
        return
    found = receiver(text)
    if found is None:
        await ask_receiver(update, context, order, listing_id, milli,
                           t("⚠️ Please type the name and a phone number of 11 digits, for example: 周丽 13900001111"))
        return
    try:
        order = await town_orders.set_receiver(rt.store, rt.clock, context.shopper.id, order_id, *found)
    except (NotFound, town_orders.NotPayable):
        await forms.stop_waiting(context)
        await say(update, context, t("⌛ This order is no longer held: more than 15 minutes passed. Please order again."),
                  keyboard([button(t("🧺 Market"), MarketHome())]))
        return
    await forms.stop_waiting(context)
    lines = [t("🧾 <b>Please check your order</b>"), goods_line(t, order),
             t("💰 Goods: {total}", total=money(order.total_fen)),
             t("🚚 Delivery ({zone}): {price}", zone=esc(zone_name(t, order.ship_to["zone"])),
               price=money(order.delivery_fen)),
             t("💰 Total: <b>{total}</b>", total=money(order.total_fen + order.delivery_fen)),
             t("📍 To: {address}", address=esc(", ".join([order.ship_to["name"], order.ship_to["phone"],
                                                          order.ship_to["address"]]))),
             t("💵 Pay the courier on delivery.")]
    rows = [[button(t("✅ Confirm order"), TownConfirm(order.id))], *_back_rows(t, order, listing_id, milli)]
    await say(update, context, "\n".join(lines), keyboard(*rows))


@on_tap
async def confirm_tapped(update: Update, context: RuralContext, data: TownConfirm) -> None:
    t, rt = context.t, context.rt
    try:
        placed = await town_orders.confirm_delivery(rt.store, rt.clock, context.shopper.id, data.order_id)
    except NotFound:
        await not_yours(update, context)
        return
    except town_orders.NotPayable:
        await alert(update, context, t("⌛ This order is no longer held: more than 15 minutes passed. Please order "
                                       "again."))
        await show(update, context, t("🧺 The produce is back on sale."), keyboard([button(t("🧺 Market"),
                                                                                        MarketHome())]))
        return
    order = placed.order
    if placed.already_placed:
        await alert(update, context, t("This order was already placed: {number}", number=order.number))
    text = "\n".join([
        t("✅ Order <b>{number}</b> placed!", number=order.number), goods_line(t, order),
        t("💰 Total: <b>{total}</b>, paid to the courier on delivery.", total=money(order.total_fen + order.delivery_fen)),
        t("📍 To: {address}", address=esc(order.ship_to["address"])),
        t("🤝 The seller's center will confirm and ship it; follow it with /track."),
    ])
    await show(update, context, text, keyboard([button(t("📦 Track"), OrderDetail(order.id)),
                                                button(t("🧺 Market"), MarketHome())]))


async def _dropped(update: Update, context: RuralContext, order_id: int) -> bool:
    """Drop the buyer's held order; False (and said why) if it is not theirs or went on."""
    rt = context.rt
    try:
        await town_orders.drop_reservation(rt.store, rt.clock, context.shopper.id, order_id)
    except NotFound:
        await not_yours(update, context)
        return False
    except town_orders.NotPayable:
        await alert(update, context, context.t("This order went on already: see it in /orders."))
        return False
    await forms.stop_waiting(context, ADDRESS, RECEIVER)
    return True


@on_tap
async def back_tapped(update: Update, context: RuralContext, data: TownBack) -> None:
    if not await _dropped(update, context, data.order_id):
        return
    view = await on_market(update, context, data.listing_id)
    if view is not None:
        await ask_address(update, context, view, data.milli)


@on_tap
async def drop_tapped(update: Update, context: RuralContext, data: TownDrop) -> None:
    t = context.t
    if await _dropped(update, context, data.order_id):
        await show(update, context, t("✖️ Cancelled: the produce is back on sale."),
                   keyboard([button(t("🧺 Market"), MarketHome())]))


def register(app: Application) -> None:
    forms.on_text(app, ADDRESS, address_typed)
    forms.on_text(app, RECEIVER, receiver_typed)
    app.add_handler(on(TownDeliver, deliver_tapped))
    app.add_handler(on(TownConfirm, confirm_tapped))
    app.add_handler(on(TownBack, back_tapped))
    app.add_handler(on(TownDrop, drop_tapped))
