"""The catalog and the centers, for admins (ADMIN_IDS), in a private chat:

    a CSV file        import products (a ``sku`` column) or service centers (a ``code`` column),
                      in the formats of ``rural-bot catalog import`` / ``centers import``; the reply
                      is the import report, and a file with any bad row changes nothing; a
                      ``word,means`` file teaches the search words (handlers.synonyms)
    /product SKU      a product's card: change its price or stock, hide or show it

Low-stock alerts reach the admins through the outbox (``handlers.notices.send_low_stock``); their
button opens the product's card here.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from catalog.csvfile import ImportReport, error_lines
from catalog.importer import MAX_STOCK
from handlers import forms
from handlers.admin import admin_actor, for_admins, only_admins
from handlers.callbacks import AdminProduct as ProductCard
from handlers.callbacks import AdminProductChange, AdminProductOpen, AdminProductVisibility, on
from handlers.context import RuralContext
from handlers.listings import amount_problem
from handlers.ui import alert, button, cannot_read, esc, keyboard, label, money, on_tap, say, show
from locales import N_, Translator
from services import catalog, synonyms
from services.amounts import BadAmount, parse_price
from services.catalog import AdminProduct
from services.errors import NotFound
from services.partners import Actor

log = logging.getLogger(__name__)
PRIVATE = filters.ChatType.PRIVATE
MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # larger catalogs go through `rural-bot catalog import`
MAX_REPORT_CHARS = 3500  # a message holds 4096; a longer report also comes as a text file
NOT_UTF8 = N_("The file is not UTF-8 text.")  # catalog.csvfile's reason, answered with a hint
EXCEL = (".xlsx", ".xls", ".xlsm", ".ods")
# A typed price or stock (of the product the form is about).
PRICE = forms.Form("aprice")
STOCK = forms.Form("astock")
CHANGES = {"price": PRICE, "stock": STOCK}
SYNONYMS = "synonyms"  # a word,means file: words taught to the search (handlers.synonyms)


# ---- importing a CSV file -------------------------------------------------------------------

def looks_like_csv(file_name: str, mime_type: str) -> bool:
    return file_name.lower().endswith((".csv", ".txt")) or mime_type in ("text/csv", "text/plain")


async def document_received(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    document = update.effective_message.document
    file_name, mime_type = document.file_name or "", document.mime_type or ""
    if mime_type.startswith(("image/", "video/", "audio/")):  # a picture sent as a file is no catalog
        await cannot_read(update, context)
        return
    if admin_actor(update, context) is None:
        if looks_like_csv(file_name, mime_type) or file_name.lower().endswith(EXCEL):
            await only_admins(update, context)
        else:
            await cannot_read(update, context)
        return
    if file_name.lower().endswith(EXCEL):
        await say(update, context, t("📄 This is a spreadsheet file. In Excel or WPS, choose Save As → "
                                     "“CSV UTF-8”, then send me the .csv file."))
        return
    if document.file_size and document.file_size > MAX_UPLOAD_BYTES:
        await say(update, context, too_large(t, document.file_size))
        return
    try:
        data = bytes(await (await context.bot.get_file(document.file_id)).download_as_bytearray())
    except TelegramError as exc:
        log.info("could not download %r: %s", file_name, exc)
        await say(update, context, t("😔 I could not download the file. Please send it again."))
        return
    if len(data) > MAX_UPLOAD_BYTES:
        await say(update, context, too_large(t, len(data)))
        return
    if synonyms.is_synonyms_csv(data):
        kind, report = SYNONYMS, await synonyms.import_csv(rt.store, rt.clock.now(), update.effective_user.id,
                                                             data, rt.search.finds)
    else:
        kind, report = await catalog.import_file(rt.store, rt.clock, data)
    log.info("admin %s imported %r (%s): %s created, %s updated, %s bad rows", update.effective_user.id,
             file_name, kind, report.created, report.updated, len(report.errors))
    if kind is None and report.ok:
        await say(update, context, t("🤔 I cannot tell what this file holds. A products file has a <b>sku</b> "
                                     "column, a centers file a <b>code</b> column, in its first row."))
        return
    text, full = report_text(t, kind, report)
    await say(update, context, text)
    if full is not None:
        await context.bot.send_document(update.effective_chat.id, full.encode("utf-8"),
                                        filename="import-report.txt")


def too_large(t: Translator, size: int) -> str:
    return t("⚠️ The file is {size} MB; I can import files up to {limit} MB here. Please split it, or ask "
             "for it to be imported with rural-bot on the server.", size=f"{size / 1024 / 1024:.1f}",
             limit=MAX_UPLOAD_BYTES >> 20)


def report_text(t: Translator, kind: str | None, report: ImportReport) -> tuple[str, str | None]:
    """The import report as a message; when every bad row does not fit in one, also the whole
    report as plain text, to send as a file."""
    if report.ok:
        if kind == SYNONYMS:
            return t("✅ Words imported: {created} added, {updated} changed.",
                     created=report.created, updated=report.updated), None
        if kind == catalog.CENTERS:
            return t("✅ Service centers imported: {created} added, {updated} updated.",
                     created=report.created, updated=report.updated), None
        return t("✅ Products imported: {created} added, {updated} updated.",
                 created=report.created, updated=report.updated), None
    head = t.plural("❌ {n} bad row; nothing was imported:", "❌ {n} bad rows; nothing was imported:",
                    len(report.errors))
    lines = error_lines(report.errors, t)
    tail = []
    if any(error.message == NOT_UTF8 for error in report.errors):
        tail.append(t("💡 In Excel or WPS, choose Save As → “CSV UTF-8”, then send the file again."))
    shown, size = [], len(head)
    for line in lines:
        size += len(esc(line)) + 1
        if size > MAX_REPORT_CHARS:
            break
        shown.append(esc(line))
    full = None
    if len(shown) < len(lines):
        tail.insert(0, t("… and {n} more: the whole report is in the file below.", n=len(lines) - len(shown)))
        full = "\n".join([t.plural("{n} bad row; nothing was imported:", "{n} bad rows; nothing was imported:",
                                   len(report.errors)), *lines, ""])
    return "\n".join([head, *shown, *tail]), full


# ---- one product ----------------------------------------------------------------------------

def card_text(t: Translator, product: AdminProduct, note: str = "") -> str:
    unit = label(t, "unit", product.unit)
    lines = [note, ""] if note else []
    lines += [
        f"📦 <b>{esc(product.name(t.language))}</b> · {esc(product.sku)}",
        t("💰 Price: {price} / {unit}", price=money(product.price_fen), unit=esc(unit)),
        t("🧮 Stock: {n} {unit} (alert below {threshold})", n=product.stock, unit=esc(unit),
          threshold=product.low_stock_threshold),
    ]
    if product.is_low:
        lines.append(t("⚠️ Low stock"))
    lines.append(t("👁 Shown in the shop") if product.is_active else t("🙈 Hidden from the shop"))
    return "\n".join(lines)


def card_keyboard(t: Translator, product: AdminProduct) -> InlineKeyboardMarkup:
    visibility = button(t("🙈 Hide"), AdminProductVisibility("hide", product.id)) if product.is_active else \
        button(t("👁 Show"), AdminProductVisibility("show", product.id))
    return keyboard([button(t("💰 Price"), AdminProductChange("price", product.id)),
                     button(t("📦 Stock"), AdminProductChange("stock", product.id))],
                    [visibility])


async def show_card(update: Update, context: RuralContext, product: AdminProduct, note: str = "") -> None:
    await show(update, context, card_text(context.t, product, note), card_keyboard(context.t, product))


@for_admins
async def product_command(update: Update, context: RuralContext, actor: Actor) -> None:
    t = context.t
    sku = " ".join(context.args or []).strip()
    if not sku:
        await say(update, context, t("Usage: /product SKU, for example /product SF-001"))
        return
    product = await catalog.find_product(context.rt.store, sku)
    if product is None:
        await say(update, context, t("😔 There is no product with the sku {sku}.", sku=esc(sku[:64])))
        return
    await forms.stop_waiting(context, PRICE, STOCK)
    await show_card(update, context, product)


def admin_tap(callback):
    """A button on a product's card: admins only, and the product must exist;
    ``callback(update, context, product, data)``."""

    @on_tap
    @for_admins
    async def tapped(update: Update, context: RuralContext, actor: Actor, data) -> None:
        product = await catalog.admin_product(context.rt.store, data.product_id)
        if product is None:
            await alert(update, context, context.t("😔 There is no such product."))
            return
        await callback(update, context, product, data)

    return tapped


@admin_tap
async def card_tapped(update: Update, context: RuralContext, product: AdminProduct,
                      data: ProductCard | AdminProductOpen) -> None:
    """⬅️ Back to the card, in place; or the card opened from a low-stock alert, below it."""
    await forms.stop_waiting(context, PRICE, STOCK)
    if isinstance(data, AdminProductOpen):
        await say(update, context, card_text(context.t, product), card_keyboard(context.t, product))
    else:
        await show_card(update, context, product)


@admin_tap
async def change_tapped(update: Update, context: RuralContext, product: AdminProduct,
                        data: AdminProductChange) -> None:
    await forms.wait_for(context, CHANGES[data.what](product.id))
    await show(update, context, prompt(context.t, data.what, product),
               keyboard([button(context.t("⬅️ Back"), ProductCard(product.id))]))


def prompt(t: Translator, what: str, product: AdminProduct) -> str:
    name, unit = esc(product.name(t.language)), esc(label(t, "unit", product.unit))
    if what == "price":
        return t("💰 Type the new price of <b>{name}</b> in yuan per {unit}, for example 12.50. Now: {price}.",
                 name=name, unit=unit, price=money(product.price_fen))
    return t("📦 Type the new stock of <b>{name}</b> in {unit}, a whole number. Now: {n}.",
             name=name, unit=unit, n=product.stock)


@admin_tap
async def visibility_tapped(update: Update, context: RuralContext, product: AdminProduct,
                            data: AdminProductVisibility) -> None:
    t, rt = context.t, context.rt
    visible = data.what == "show"
    product = await catalog.set_visible(rt.store, rt.clock, product.id, visible)
    note = t("👁 Villagers can find and order it again.") if visible else \
        t("🙈 Hidden: villagers no longer see it in the shop or in search.")
    await show_card(update, context, product, note)


# ---- typed answers --------------------------------------------------------------------------

async def typed_product(update: Update, context: RuralContext, product_id: int) -> AdminProduct | None:
    """The product a typed answer is for, if it still exists."""
    product = await catalog.admin_product(context.rt.store, product_id)
    if product is None:
        await forms.stop_waiting(context)
        await say(update, context, context.t("😔 There is no such product."))
    return product


async def change_typed(update: Update, context: RuralContext, product_id: int, what: str, change,
                       problem) -> AdminProduct | None:
    """A typed price or stock: ``change(product)`` reads and stores it. A refused amount is asked
    for again with ``problem(exc, product)``. Returns the changed product, or None once answered."""
    t = context.t
    product = await typed_product(update, context, product_id)
    if product is None:
        return None
    try:
        changed = await change(product)
    except BadAmount as exc:  # still waiting for the answer
        await say(update, context, problem(exc, product) + "\n" + prompt(t, what, product),
                  keyboard([button(t("⬅️ Back"), ProductCard(product.id))]))
        return None
    except NotFound:
        changed = None
    await forms.stop_waiting(context)
    if changed is None:
        await say(update, context, t("😔 There is no such product."))
    return changed


@for_admins(answers_form=True)
async def price_typed(update: Update, context: RuralContext, actor: Actor, product_id: int, text: str) -> None:
    t, rt = context.t, context.rt

    async def set_price(product: AdminProduct) -> AdminProduct:
        return await catalog.set_price(rt.store, rt.clock, product.id, parse_price(text, product.unit))

    product = await change_typed(update, context, product_id, "price", set_price,
                                 lambda exc, product: amount_problem(t, exc, product.unit, is_price=True))
    if product is not None:
        await show_card(update, context, product, t("✅ New price: {price}", price=money(product.price_fen)))


def stock_problem(t: Translator, exc: BadAmount, product: AdminProduct) -> str:
    """Why a typed stock was refused: another unit ("5斤" of rice sold by the bag) is named."""
    if exc.reason == "other_unit":
        return t("⚠️ This is sold by the {unit}. Please type how many {unit}.",
                 unit=esc(label(t, "unit", product.unit)))
    return t("⚠️ Please type a whole number from 0 to {limit}.", limit=MAX_STOCK)


@for_admins(answers_form=True)
async def stock_typed(update: Update, context: RuralContext, actor: Actor, product_id: int, text: str) -> None:
    t, rt = context.t, context.rt

    async def set_stock(product: AdminProduct) -> AdminProduct:
        return await catalog.set_stock(rt.store, rt.clock, product.id, catalog.parse_stock(text, product.unit))

    product = await change_typed(update, context, product_id, "stock", set_stock,
                                 lambda exc, product: stock_problem(t, exc, product))
    if product is not None:
        await show_card(update, context, product, t("✅ New stock: {n}", n=product.stock))


def register(app: Application) -> None:
    forms.on_text(app, PRICE, price_typed)
    forms.on_text(app, STOCK, stock_typed)
    app.add_handler(CommandHandler("product", product_command, filters=PRIVATE))
    app.add_handler(MessageHandler(filters.Document.ALL & PRIVATE, document_received))
    app.add_handler(on(ProductCard, card_tapped))
    app.add_handler(on(AdminProductOpen, card_tapped))
    app.add_handler(on(AdminProductChange, change_tapped))
    app.add_handler(on(AdminProductVisibility, visibility_tapped))
