"""The cart and checkout: change quantities, remove lines, confirm the order.

    cart ──> checkout (pickup center, cash at pickup) ──> ✅ confirm ──> order placed
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import assist, forms
from handlers.callbacks import Cart, CartLine, Categories, Checkout, Find, OrderDetail, PlaceOrder, TypeLineQuantity, on
from handlers.context import RuralContext
from handlers.forms import Form
from handlers.orders import too_many_pending
from handlers.start import ask_county
from handlers.ui import alert, button, esc, keyboard, label, money, name_in, on_tap, pager, say, show
from services import cart as carts
from services import centers, orders
from services.cart import CartView
from services.errors import (
    CartEmpty,
    InvalidQuantity,
    NoCenterChosen,
    NotEnoughStock,
    NotFound,
    OtherUnit,
    StaleCheckout,
    TooManyPendingOrders,
)

# Lines on one page of the cart: each has four buttons, and a message holds at most 100 buttons
# and 4096 characters.
CART_PAGE = 8
CHECKOUT_LINES = 25  # lines listed on the checkout screen; the rest are counted
LINE_QUANTITY = Form("line")  # "How many?" for a line of the cart: the line's id


def cart_lines(context: RuralContext, cart: CartView, first: int = 0, count: int | None = None,
               count_the_rest: bool = False) -> list[str]:
    """The cart's lines from ``first`` (``count`` of them, else all; numbered in the whole cart),
    then how many more there are (``count_the_rest``), then its total."""
    t = context.t
    shown = cart.lines[first:None if count is None else first + count]
    lines = [
        f"{i}. {esc(line.name(t.language))} — {line.quantity} {esc(label(t, 'unit', line.unit))} × "
        f"{money(line.price_fen)} = <b>{money(line.subtotal_fen)}</b>"
        for i, line in enumerate(shown, first + 1)
    ]
    if count_the_rest and first + len(shown) < len(cart.lines):
        lines.append(t("… and {n} more lines: see 🛍 the cart.", n=len(cart.lines) - first - len(shown)))
    lines.append(t("💰 Total: <b>{total}</b>", total=money(cart.total_fen)))
    return lines


def cart_title(context: RuralContext) -> str:
    if context.assisting:
        return context.t("🛍 <b>Cart of {name}</b> (you are ordering for them)", name=esc(context.shopper.first_name))
    return context.t("🛍 <b>Your cart</b>")


async def show_cart(update: Update, context: RuralContext, note: str = "", page: int = 0) -> None:
    t = context.t
    cart = await carts.get_cart(context.rt.store, context.shopper.id)
    if cart.is_empty:
        text = t("🛍 Your cart is empty.")
        if note:
            text = f"{note}\n\n{text}"
        await show(update, context, text, keyboard([button(t("📂 Categories"), Categories()), button(t("🔍 Search"), Find())]))
        return
    pages = -(-len(cart.lines) // CART_PAGE)
    page = min(page, pages - 1)
    first = page * CART_PAGE
    rows = []
    for i, line in enumerate(cart.lines[first:first + CART_PAGE], first + 1):
        rows.append([
            button("➖", CartLine(line.id, line.quantity - 1, page)),
            button(f"{i}. {line.name(t.language)[:18]} ×{line.quantity} ✏️", TypeLineQuantity(line.id)),
            button("➕", CartLine(line.id, line.quantity + 1, page)),
            button("🗑", CartLine(line.id, 0, page)),
        ])
    rows.append(pager(t, page, pages, Cart))
    rows.append([button(t("✅ Checkout"), Checkout())])
    rows.append([button(t("📂 Continue shopping"), Categories())])
    heading = [cart_title(context)]
    if pages > 1:
        heading.append(t("Page {page} of {pages} · {n} lines", page=page + 1, pages=pages, n=len(cart.lines)))
    text = "\n".join(([note, ""] if note else []) + heading + cart_lines(context, cart, first, CART_PAGE))
    await show(update, context, text, keyboard(*rows))


@on_tap
async def cart_tapped(update: Update, context: RuralContext, data: Cart) -> None:
    await show_cart(update, context, page=data.page or 0)


@on_tap
async def line_changed(update: Update, context: RuralContext, data: CartLine) -> None:
    if await set_line(update, context, data.line_id, data.quantity) is not None:
        await show_cart(update, context, page=data.page or 0)


async def set_line(update: Update, context: RuralContext, line_id: int, quantity: int) -> bool | None:
    """Whether the line changed; None if it is not in the cart (an old button, or another's
    line: then nothing is shown)."""
    t = context.t
    try:
        await carts.set_line_quantity(context.rt.store, context.shopper.id, line_id, quantity)
        return True
    except NotFound:
        await alert(update, context, t("This line is no longer in your cart."))
        return None
    except InvalidQuantity as exc:
        await alert(update, context, t("⚠️ Please choose a quantity from 1 to {max}.", max=exc.maximum))
    except NotEnoughStock as exc:
        await alert(update, context, t("⚠️ Only {n} left of {name}.", n=exc.available,
                                       name=name_in(exc.product_names, t)))
    return False


@on_tap
async def line_quantity_tapped(update: Update, context: RuralContext, data: TypeLineQuantity) -> None:
    line_id = data.line_id
    cart = await carts.get_cart(context.rt.store, context.shopper.id)
    line = next((line for line in cart.lines if line.id == line_id), None)
    if line is None:  # an old button, or a line of another's cart: nothing is shown
        await alert(update, context, context.t("This line is no longer in your cart."))
        return
    await forms.wait_for(context, LINE_QUANTITY(line_id))
    await say(update, context, context.t("✏️ How many {unit} of {name}? Send a number (0 removes it).",
                                         unit=esc(label(context.t, "unit", line.unit)),
                                         name=esc(line.name(context.t.language))))


async def line_quantity_typed(update: Update, context: RuralContext, line_id: int, text: str) -> None:
    t = context.t
    cart = await carts.get_cart(context.rt.store, context.shopper.id)
    line = next((line for line in cart.lines if line.id == line_id), None)
    try:
        quantity = carts.parse_quantity(text, minimum=0, unit=line.unit if line else None)
    except OtherUnit as exc:
        await say(update, context, t("⚠️ This is sold by the {unit}. Please type how many {unit}.",
                                     unit=esc(label(t, "unit", exc.unit))))
        return
    except InvalidQuantity as exc:
        await say(update, context, t("⚠️ Please send a whole number from 0 to {max}, for example 3.", max=exc.maximum))
        return
    if await set_line(update, context, line_id, quantity):
        await forms.stop_waiting(context)
        await show_cart(update, context)


async def checkout_screen(update: Update, context: RuralContext, note: str = "") -> None:
    t, rt = context.t, context.rt
    cart = await carts.get_cart(rt.store, context.shopper.id)
    if cart.is_empty:
        await show_cart(update, context)
        return
    if context.shopper.center_id is None:
        await alert(update, context, t("📍 First choose the service center where you will pick up."))
        await ask_county(update, context, fresh=True)
        return
    center = await centers.get_center(rt.store, context.shopper.center_id)
    text = "\n".join(
        ([note, ""] if note else [])
        + [t("🧾 <b>Please check your order</b>")]
        + ([t("🤝 Ordering for {name}", name=esc(context.shopper.first_name))] if context.assisting else [])
        + cart_lines(context, cart, 0, CHECKOUT_LINES, count_the_rest=True)
        + [t("📍 Pick up at: {center}", center=f"<b>{esc(name_in(center.names, t))}</b>"),
           *([f"   {esc(center.address)}"] if center.address else []),
           t("💵 Payment: cash at pickup")]
    )
    rows = [[button(t("✅ Confirm order"), PlaceOrder(cart.checkout_token))],
            [button(t("✏️ Change cart"), Cart())]]
    await show(update, context, text, keyboard(*rows))


@on_tap
async def confirm_tapped(update: Update, context: RuralContext, data: PlaceOrder) -> None:
    t, rt = context.t, context.rt
    try:
        placed = await orders.place_order(rt.store, rt.clock, context.shopper.id, data.token,
                                          assisted_by_id=context.villager.id if context.assisting else None,
                                          caps=rt.caps)
    except StaleCheckout:
        await alert(update, context, t("🔄 Your cart changed. Please check it again."))
        await checkout_screen(update, context)
        return
    except CartEmpty:
        await alert(update, context, t("🛍 Your cart is empty."))
        await show_cart(update, context)
        return
    except NoCenterChosen:
        await alert(update, context, t("📍 First choose the service center where you will pick up."))
        await ask_county(update, context, fresh=True)
        return
    except NotEnoughStock as exc:
        note = t("⚠️ Only {n} left of {name}. Please change your cart; no order was placed.",
                 n=exc.available, name=esc(name_in(exc.product_names, t)))
        await show_cart(update, context, note)
        return
    except TooManyPendingOrders as exc:
        await too_many_pending(update, context, exc, button(t("🛍 Cart"), Cart()))
        return
    order = placed.order
    if context.assisting:
        await assist.finished(update, context, order)
        return
    if placed.already_placed:
        await alert(update, context, t("This order was already placed: {number}", number=order.number))
    text = "\n".join([
        t("✅ Order <b>{number}</b> placed!", number=order.number),
        t("💰 Total: <b>{total}</b>, paid in cash at pickup.", total=money(order.total_fen)),
        t("📍 Pick up at: {center}", center=esc(name_in(order.center_names, t))),
        t("We will tell you when the partner confirms it and when it arrives."),
    ])
    await show(update, context, text, keyboard([button(t("📦 View order"), OrderDetail(order.id))],
                                               [button(t("📂 Continue shopping"), Categories())]))


def register(app: Application) -> None:
    forms.on_menu(app, "cart", show_cart)
    forms.on_text(app, LINE_QUANTITY, line_quantity_typed)
    app.add_handler(CommandHandler("cart", show_cart, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(Cart, cart_tapped))
    app.add_handler(on(CartLine, line_changed))
    app.add_handler(on(TypeLineQuantity, line_quantity_tapped))
    app.add_handler(on(Checkout, on_tap(checkout_screen)))
    app.add_handler(on(PlaceOrder, confirm_tapped))
