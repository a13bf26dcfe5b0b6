"""Browsing: categories ──> a page of products ──> a product card ──> add to the cart.

Quantities are chosen with − and + (the quantity rides in the callback data, so the card keeps
no state) or typed after tapping the quantity itself.
"""

from __future__ import annotations

from dataclasses import replace

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import forms
from handlers.callbacks import AddToCart, BackToCategory, Cart, Categories, Category, Find, Product, TypeQuantity, on
from handlers.context import RuralContext
from handlers.forms import Form
from handlers.ui import alert, button, esc, keyboard, label, money, on_tap, pager, say, show
from services import catalog
from services.cart import MAX_LINE_QUANTITY, add_to_cart, parse_quantity
from services.catalog import ProductView
from services.errors import CartFull, InvalidQuantity, NotEnoughStock, NotFound, OtherUnit

QUANTITY = Form("qty")  # "How many?" for a product card: the product's id


async def categories(update: Update, context: RuralContext) -> None:
    t = context.t
    found = await catalog.list_categories(context.rt.store)
    buttons = [button(f"{label(t, 'category', c.code)} ({c.products})", Category(c.id, 0)) for c in found]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(t("🔍 Search"), Find()), button(t("🛍 Cart"), Cart())])
    text = t("📂 Choose a category:") if found else t("😔 The catalog is empty for now.")
    await show(update, context, text, keyboard(*rows))


@on_tap
async def category_tapped(update: Update, context: RuralContext, data: Category) -> None:
    await category_screen(update, context, data.category_id, data.page)


@on_tap
async def back_to_category(update: Update, context: RuralContext, data: BackToCategory) -> None:
    """Back from a product card: to the page of its category that lists it."""
    product = await find_product(update, context, data.product_id)
    if product is None:
        await categories(update, context)
        return
    page = await catalog.page_of_product(context.rt.store, product)
    await category_screen(update, context, product.category_id, page)


async def category_screen(update: Update, context: RuralContext, category_id: int, page: int) -> None:
    t = context.t
    found = await catalog.category_page(context.rt.store, category_id, page)
    if found is None:
        await alert(update, context, t("This category is empty now."))
        await categories(update, context)
        return
    rows = [[button(f"{p.name(t.language)} · {money(p.price_fen)}", Product(p.id, 1))] for p in found.products]
    rows.append(pager(t, found.page, found.pages, lambda page: Category(category_id, page)))
    rows.append([button(t("⬅️ Categories"), Categories()), button(t("🛍 Cart"), Cart())])
    title = label(t, "category", found.category.code)
    text = t("{title} — page {page} of {pages}", title=f"<b>{esc(title)}</b>", page=found.page + 1, pages=found.pages)
    await show(update, context, text, keyboard(*rows))


def most_orderable(product: ProductView) -> int:
    return max(1, min(product.stock, MAX_LINE_QUANTITY))


async def product_card(update: Update, context: RuralContext, product: ProductView, quantity: int,
                       note: str = "") -> None:
    t = context.t
    unit = label(t, "unit", product.unit)
    quantity = min(max(quantity, 1), most_orderable(product))
    lines = [f"<b>{esc(product.name(t.language))}</b>",
             t("💰 {price} per {unit}", price=money(product.price_fen), unit=esc(unit))]
    if product.stock > 0:
        lines.append(t("📦 In stock: {n}", n=product.stock))
    else:
        lines.append(t("❌ Sold out"))
    if product.description(t.language):
        lines.append(f"<i>{esc(product.description(t.language))}</i>")
    if note:
        lines += ["", note]
    rows = []
    if product.stock > 0:
        rows.append([
            button("➖", Product(product.id, max(1, quantity - 1))),
            button(f"{quantity} {unit} ✏️", TypeQuantity(product.id)),
            button("➕", Product(product.id, min(quantity + 1, most_orderable(product)))),
        ])
        rows.append([button(t("🛍 Add {n} to cart", n=quantity), AddToCart(product.id, quantity))])
    rows.append([button(t("⬅️ Back"), BackToCategory(product.id)), button(t("🛍 Cart"), Cart())])
    await show(update, context, "\n".join(lines), keyboard(*rows), photo=product.photo)


async def find_product(update: Update, context: RuralContext, product_id: int) -> ProductView | None:
    product = await catalog.get_product(context.rt.store, product_id)
    if product is None:
        await alert(update, context, context.t("😔 This product is no longer available."))
    return product


@on_tap
async def product_tapped(update: Update, context: RuralContext, data: Product) -> None:
    product = await find_product(update, context, data.product_id)
    if product is not None:
        await product_card(update, context, product, data.quantity)


@on_tap
async def add_tapped(update: Update, context: RuralContext, data: AddToCart) -> None:
    quantity = data.quantity
    # The same button (of the same card) again within a second: it was added once already.
    message = update.callback_query.message
    tap = (context.shopper.id, message.message_id if message else 0, data.product_id, quantity)
    if not context.rt.double_taps.first(tap, context.rt.clock.now()):
        return
    product = await find_product(update, context, data.product_id)
    if product is None:
        return
    added = await add(update, context, product, quantity)
    if added:
        note, stock = added
        await product_card(update, context, replace(product, stock=stock), quantity, note)


async def add(update: Update, context: RuralContext, product: ProductView, quantity: int) -> tuple[str, int] | None:
    """Put a product in the cart; answers problems itself. Returns the success note and the
    stock as the cart saw it."""
    t = context.t
    try:
        cart = await add_to_cart(context.rt.store, context.shopper.id, product.id, quantity,
                                 max_lines=context.rt.cart_max_lines)
    except CartFull as exc:
        if update.message is not None:  # a typed quantity: the question is over
            await forms.stop_waiting(context)
        await alert(update, context, t("🛍 Your cart is full: at most {n} different products. Check out, "
                                       "or remove something first.", n=exc.max_lines))
        return None
    except InvalidQuantity as exc:
        await alert(update, context, t("⚠️ Please choose a quantity from 1 to {max}.", max=exc.maximum))
        return None
    except NotEnoughStock as exc:
        await alert(update, context, t("⚠️ Only {n} left of {name}.", n=exc.available, name=product.name(t.language)))
        return None
    except NotFound:
        await alert(update, context, t("😔 This product is no longer available."))
        return None
    line = cart.line_for(product.id)
    return t("✅ Added to your cart. In your cart now: {n} · total {total}",
             n=line.quantity, total=money(cart.total_fen)), line.stock


@on_tap
async def quantity_tapped(update: Update, context: RuralContext, data: TypeQuantity) -> None:
    t = context.t
    product = await find_product(update, context, data.product_id)
    if product is None:
        return
    await forms.wait_for(context, QUANTITY(product.id))
    await say(update, context, t("✏️ How many {unit} of {name}? Send a number from 1 to {max}.",
                                 unit=esc(label(t, "unit", product.unit)), name=esc(product.name(t.language)),
                                 max=most_orderable(product)))


async def quantity_typed(update: Update, context: RuralContext, product_id: int, text: str) -> None:
    """The answer to "How many?" for a product card."""
    t = context.t
    product = await catalog.get_product(context.rt.store, product_id)
    if product is None:
        await forms.stop_waiting(context)
        await say(update, context, t("😔 This product is no longer available."))
        return
    try:
        quantity = parse_quantity(text, unit=product.unit)
    except OtherUnit as exc:
        await say(update, context, t("⚠️ This is sold by the {unit}. Please type how many {unit}.",
                                     unit=esc(label(t, "unit", exc.unit))))
        return
    except InvalidQuantity as exc:
        await say(update, context, t("⚠️ Please send a whole number from 1 to {max}, for example 3.", max=exc.maximum))
        return
    added = await add(update, context, product, quantity)
    if added:
        await forms.stop_waiting(context)
        await say(update, context, added[0], keyboard([button(t("🛍 Cart"), Cart()), button(t("📂 Categories"), Categories())]))


def register(app: Application) -> None:
    forms.on_menu(app, "shop", categories)
    forms.on_text(app, QUANTITY, quantity_typed)
    app.add_handler(CommandHandler("catalog", categories, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(Categories, on_tap(categories)))
    app.add_handler(on(Category, category_tapped))
    app.add_handler(on(BackToCategory, back_to_category))
    app.add_handler(on(Product, product_tapped))
    app.add_handler(on(AddToCart, add_tapped))
    app.add_handler(on(TypeQuantity, quantity_tapped))
