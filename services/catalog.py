"""Browsing the catalog: categories, pages of products, one product. For admins: importing
products and centers from a CSV file, changing a product's price, stock and visibility, and the
low-stock alerts."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.csvfile import ImportReport, read_csv
from catalog.importer import MAX_STOCK, bump_catalog_version, import_products
from locales import localized
from services import outbox
from services.amounts import BadAmount, read_quantity
from services.centers import import_centers
from services.clock import Clock
from services.errors import NotFound
from services.outbox import Kind
from store.db import Store
from store.models import Category, Product, Villager

PAGE_SIZE = 8


@dataclass(frozen=True, slots=True)
class ProductView:
    id: int
    sku: str
    category_id: int
    category: str
    price_fen: int
    unit: str
    stock: int
    names: dict
    descriptions: dict
    photo: str | None
    keywords: tuple[str, ...] = ()

    def name(self, language: str) -> str:
        return localized(self.names, language, self.sku)

    def description(self, language: str) -> str:
        return self.descriptions.get(language) or self.descriptions.get("zh") or ""


@dataclass(frozen=True, slots=True)
class CategoryView:
    id: int
    code: str
    products: int


@dataclass(frozen=True, slots=True)
class ProductPage:
    category: CategoryView
    products: list[ProductView]
    page: int
    pages: int


def product_view(product: Product, category_code: str) -> ProductView:
    return ProductView(
        id=product.id, sku=product.sku, category_id=product.category_id, category=category_code,
        price_fen=product.price_fen, unit=product.unit, stock=product.stock, names=product.names,
        descriptions=product.descriptions, photo=product.photo, keywords=tuple(product.keywords),
    )


def _visible():
    return select(Product, Category.code).join(Category, Product.category_id == Category.id).where(Product.is_active)


async def list_categories(store: Store) -> list[CategoryView]:
    async with store.read() as session:
        rows = await session.execute(
            select(Category.id, Category.code, func.count(Product.id))
            .join(Product, Product.category_id == Category.id)
            .where(Product.is_active)
            .group_by(Category.id, Category.code)
            .order_by(Category.code)
        )
        return [CategoryView(id_, code, count) for id_, code, count in rows]


async def category_page(store: Store, category_id: int, page: int) -> ProductPage | None:
    """Page ``page`` (from 0) of a category; a page past the end shows the last one."""
    async with store.read() as session:
        category = await session.get(Category, category_id)
        if category is None:
            return None
        total = await session.scalar(
            select(func.count(Product.id)).where(Product.category_id == category_id, Product.is_active)
        )
        if not total:
            return None
        pages = math.ceil(total / PAGE_SIZE)
        page = min(max(page, 0), pages - 1)
        rows = await session.execute(
            _visible().where(Product.category_id == category_id)
            .order_by(Product.sku).offset(page * PAGE_SIZE).limit(PAGE_SIZE)
        )
        products = [product_view(p, code) for p, code in rows]
        return ProductPage(CategoryView(category.id, category.code, total), products, page, pages)


async def page_of_product(store: Store, product: ProductView) -> int:
    async with store.read() as session:
        before = await session.scalar(
            select(func.count(Product.id)).where(
                Product.category_id == product.category_id, Product.is_active, Product.sku < product.sku
            )
        )
    return (before or 0) // PAGE_SIZE


async def get_product(store: Store, product_id: int) -> ProductView | None:
    async with store.read() as session:
        row = (await session.execute(_visible().where(Product.id == product_id))).first()
        return product_view(*row) if row else None


async def get_products(store: Store, product_ids: Sequence[int]) -> list[ProductView]:
    """Visible products in the order of ``product_ids``."""
    if not product_ids:
        return []
    async with store.read() as session:
        rows = await session.execute(_visible().where(Product.id.in_(list(product_ids))))
        found = {p.id: product_view(p, code) for p, code in rows}
    return [found[i] for i in product_ids if i in found]


async def all_products(store: Store) -> list[ProductView]:
    async with store.read() as session:
        return [product_view(p, code) for p, code in await session.execute(_visible())]


# ---- admins: importing a CSV file -------------------------------------------------------------

PRODUCTS, CENTERS = "products", "centers"


def csv_kind(data: bytes) -> str | None:
    """Products (a ``sku`` column) or centers (a ``code`` column), told by the header row."""
    try:
        header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")), [])
    except (UnicodeDecodeError, csv.Error):
        return None
    names = {name.strip() for name in header}
    if "sku" in names:
        return PRODUCTS
    if "code" in names:
        return CENTERS
    return None


async def import_file(store: Store, clock: Clock, data: bytes) -> tuple[str | None, ImportReport]:
    """Import a CSV file of products or of centers, whichever its header says. A file with any
    bad row changes nothing. ``(None, report)``: what the file is could not be told; the report
    holds why when the file cannot be read at all (not UTF-8, not CSV), and no error otherwise."""
    kind = csv_kind(data)
    if kind == PRODUCTS:
        return kind, await import_products(store, clock.now(), data)
    if kind == CENTERS:
        return kind, await import_centers(store, data)
    table = read_csv(data, ())
    return None, ImportReport(errors=table if isinstance(table, list) else [])


# ---- admins: one product --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AdminProduct:
    """A product as an admin sees it, hidden or not."""

    id: int
    sku: str
    category: str
    names: dict
    price_fen: int
    unit: str
    stock: int
    is_active: bool
    low_stock_threshold: int

    def name(self, language: str) -> str:
        return localized(self.names, language, self.sku)

    @property
    def is_low(self) -> bool:
        return self.stock < self.low_stock_threshold


async def _admin_product(session: AsyncSession, where) -> AdminProduct | None:
    row = (await session.execute(
        select(Product, Category.code).join(Category, Product.category_id == Category.id).where(where)
        .order_by(Product.id).limit(1)
    )).first()
    if row is None:
        return None
    product, code = row
    return AdminProduct(product.id, product.sku, code, product.names, product.price_fen, product.unit,
                        product.stock, product.is_active, product.low_stock_threshold)


async def find_product(store: Store, sku: str) -> AdminProduct | None:
    """A product by its sku, hidden or not; the case of the letters need not match."""
    sku = sku.strip()
    async with store.read() as session:
        return (await _admin_product(session, Product.sku == sku)
                or await _admin_product(session, func.upper(Product.sku) == sku.upper()))


async def admin_product(store: Store, product_id: int) -> AdminProduct | None:
    async with store.read() as session:
        return await _admin_product(session, Product.id == product_id)


def parse_stock(text: str, unit: str | None = None) -> int:
    """A stock an admin typed: a whole number from 0 to MAX_STOCK ("１２", "1,200", "两百", "120袋"
    too); a unit word other than the product's ``unit`` is refused."""
    amount, named = read_quantity(text, unit)
    if named is not None and named != unit:
        raise BadAmount("other_unit", MAX_STOCK)
    if amount < 0 or amount != amount.to_integral_value():
        raise BadAmount("not_a_number", MAX_STOCK)
    if amount > MAX_STOCK:
        raise BadAmount("too_big", MAX_STOCK)
    return int(amount)


async def _change(store: Store, clock: Clock, product_id: int, **values) -> AdminProduct:
    """Change a product, tell every process's search index, and look at its stock."""
    now = clock.now()
    async with store.write() as session:
        changed = await session.execute(
            update(Product).where(Product.id == product_id).values(updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:
            raise NotFound("product")
        await bump_catalog_version(session)
        await note_stock_change(session, [product_id], now)
        return await _admin_product(session, Product.id == product_id)


async def set_price(store: Store, clock: Clock, product_id: int, price_fen: int) -> AdminProduct:
    """A new price from now on; orders already placed keep theirs."""
    if price_fen <= 0:
        raise BadAmount("not_positive")
    return await _change(store, clock, product_id, price_fen=price_fen)


async def set_stock(store: Store, clock: Clock, product_id: int, stock: int) -> AdminProduct:
    """The stock counted in the warehouse; below the threshold, the admins hear of it once."""
    if not 0 <= stock <= MAX_STOCK:
        raise BadAmount("too_big", MAX_STOCK)
    return await _change(store, clock, product_id, stock=stock)


async def set_visible(store: Store, clock: Clock, product_id: int, visible: bool) -> AdminProduct:
    """Hide a product from browsing, search and checkout, or show it again."""
    return await _change(store, clock, product_id, is_active=visible)


# ---- low-stock alerts -----------------------------------------------------------------------

async def note_stock_change(session: AsyncSession, product_ids: Iterable[int], now: datetime) -> list[int]:
    """After stock changed, in the same transaction: queue one low-stock alert for each visible
    product that has just fallen below its threshold, and clear the mark of each that is back at
    or above it, so that its next fall alerts again. Returns the products that alerted."""
    ids = sorted(set(product_ids))
    if not ids:
        return []
    await session.execute(
        update(Product)
        .where(Product.id.in_(ids), Product.low_stock_alerted, Product.stock >= Product.low_stock_threshold)
        .values(low_stock_alerted=False)
        .execution_options(synchronize_session=False)
    )
    low = (await session.scalars(
        select(Product.id).where(Product.id.in_(ids), Product.is_active, ~Product.low_stock_alerted,
                                 Product.stock < Product.low_stock_threshold)
    )).all()
    alerted = []
    for product_id in low:
        # Conditional, like taking stock: of two transactions that saw the same fall, one alerts.
        marked = await session.execute(
            update(Product).where(Product.id == product_id, ~Product.low_stock_alerted)
            .values(low_stock_alerted=True).execution_options(synchronize_session=False)
        )
        if marked.rowcount == 1:
            await outbox.enqueue(session, Kind.LOW_STOCK, due_at=now, payload={"product_id": product_id})
            alerted.append(product_id)
    return alerted


async def fan_out_low_stock(store: Store, row_id: int, product_id: int, admin_telegram_ids: Iterable[int],
                            now: datetime) -> int:
    """One alert (outbox row ``row_id``) becomes one message for each admin the bot can write to
    (who has talked to it and not blocked it), each its own outbox row, sent and retried alone."""
    ids = sorted(set(admin_telegram_ids))
    if not ids:
        return 0
    async with store.write() as session:
        admins = (await session.execute(
            select(Villager.id, Villager.telegram_id).where(Villager.telegram_id.in_(ids), ~Villager.unreachable)
        )).all()
        for villager_id, telegram_id in admins:
            await outbox.enqueue(session, Kind.LOW_STOCK, due_at=now, villager_id=villager_id,
                                 payload={"product_id": product_id, "admin": telegram_id},
                                 dedupe_key=f"low:{row_id}:{telegram_id}")
        return len(admins)
