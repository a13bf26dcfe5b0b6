"""Products from and to CSV: ``rural-bot catalog import`` / ``export``.

Required columns: sku, category, price (yuan), unit, stock, name:zh. Optional: name:<lang>,
description:<lang>, photo (URL or Telegram file id), keywords (separated by ";").
Products are upserted by sku in one transaction; a file with any bad row imports nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update

from catalog.csvfile import ImportReport, RowError, localized_columns, parse_decimal, parse_rows, read_csv, write_csv
from locales import N_
from store.db import Store, mark_effect
from store.models import CatalogVersion, Category, Product

REQUIRED = ("sku", "category", "price", "unit", "stock", "name:zh")
EXPORT_COLUMNS = ["sku", "category", "price", "unit", "stock", "name:zh", "name:en",
                  "description:zh", "description:en", "photo", "keywords"]
NUMBER_COLUMNS = ("price", "stock")
MAX_PRICE_YUAN = Decimal("1000000")
MAX_STOCK = 10_000_000
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_PHOTO = re.compile(r"^(https?://\S+|[A-Za-z0-9_-]{20,200})$")


def _parse_row(line: int, row: dict[str, str], header: list[str]) -> tuple[dict | None, list[RowError]]:
    errors: list[RowError] = []

    def bad(message: str, **params) -> None:
        errors.append(RowError(line, message, params))

    sku = row["sku"]
    if not _SKU.match(sku):
        bad(N_("sku {value!r} must be 1-64 letters, digits, '.', '_' or '-'."), value=sku)
    category = row["category"].lower()
    if not _CODE.match(category):
        bad(N_("category {value!r} must be a code of lowercase letters, digits and '_'."), value=row["category"])
    price = parse_decimal(row["price"])
    if price is None:
        bad(N_("price {value!r} is not a number."), value=row["price"])
    elif price <= 0 or price > MAX_PRICE_YUAN:
        bad(N_("price {value!r} must be above 0 and at most {limit} yuan."), value=row["price"], limit=MAX_PRICE_YUAN)
    elif price != price.quantize(Decimal("0.01")):
        bad(N_("price {value!r} has more than 2 decimals."), value=row["price"])
    unit = row["unit"]
    if not unit or len(unit) > 32:
        bad(N_("unit must be given, at most 32 characters."))
    stock_text = row["stock"]
    if not re.fullmatch(r"\d{1,9}", stock_text) or int(stock_text) > MAX_STOCK:
        bad(N_("stock {value!r} must be a whole number from 0 to {limit}."), value=stock_text, limit=MAX_STOCK)
    names = localized_columns(row, header, "name")
    if not names.get("zh"):
        bad(N_("name:zh must be given."))
    if any(len(name) > 200 for name in names.values()):
        bad(N_("A name is longer than 200 characters."))
    descriptions = localized_columns(row, header, "description")
    if any(len(text) > 1000 for text in descriptions.values()):
        bad(N_("A description is longer than 1000 characters."))
    photo = row.get("photo") or None
    if photo and not _PHOTO.match(photo):
        bad(N_("photo {value!r} is neither an http(s) URL nor a Telegram file id."), value=photo)
    keywords = [word.strip() for word in (row.get("keywords") or "").split(";") if word.strip()]
    if errors:
        return None, errors
    return {
        "sku": sku,
        "category": category,
        "price_fen": int(price * 100),
        "unit": unit,
        "stock": int(stock_text),
        "names": names,
        "descriptions": descriptions,
        "photo": photo,
        "keywords": keywords,
    }, []


def parse_products(data: bytes) -> tuple[list[dict], list[RowError]]:
    table = read_csv(data, REQUIRED)
    if isinstance(table, list):
        return [], table
    return parse_rows(table, _parse_row, "sku", N_("sku {value!r} already appears on line {other}."),
                      N_("The file has no products."))


async def import_products(store: Store, now: datetime, data: bytes) -> ImportReport:
    """Upsert the file's products, each stamped ``updated_at = now`` (the caller's clock)."""
    products, errors = parse_products(data)
    report = ImportReport(errors=errors)
    if errors:
        return report
    async with store.write() as session:
        categories = {c.code: c for c in await session.scalars(select(Category))}
        skus = [item["sku"] for item in products]
        existing: dict[str, Product] = {}
        for start in range(0, len(skus), 1000):  # keep under the drivers' bind-parameter limits
            chunk = skus[start:start + 1000]
            existing.update((p.sku, p) for p in await session.scalars(select(Product).where(Product.sku.in_(chunk))))
        for item in products:
            category = categories.get(item["category"])
            if category is None:
                category = categories[item["category"]] = Category(code=item["category"])
                session.add(category)
            product = existing.get(item["sku"])
            if product is None:
                product = Product(sku=item["sku"], is_active=True)
                session.add(product)
                report.created += 1
            else:
                report.updated += 1
            product.category = category
            for key in ("price_fen", "unit", "stock", "names", "descriptions", "photo", "keywords"):
                setattr(product, key, item[key])
            if product.low_stock_alerted and item["stock"] >= product.low_stock_threshold:
                product.low_stock_alerted = False  # restocked: its next fall below alerts again
            product.updated_at = now
        await bump_catalog_version(session)
    return report


CATALOG_CHANGED = "catalog"  # what a change to the catalog marks its session with (``store.db.mark_effect``)


async def bump_catalog_version(session) -> None:
    """Every process rebuilds its search index when it sees a new version; this one at its next
    search, once the change commits."""
    await session.execute(update(CatalogVersion).where(CatalogVersion.id == 1)
                          .values(version=CatalogVersion.version + 1))
    mark_effect(session, CATALOG_CHANGED)


async def export_products(store: Store) -> str:
    async with store.read() as session:
        rows = (await session.execute(
            select(Product, Category.code).join(Category, Product.category_id == Category.id).order_by(Product.sku)
        )).all()
    languages = sorted({lang for product, _ in rows for lang in (*product.names, *product.descriptions)} - {"zh", "en"})
    header = EXPORT_COLUMNS[:7] + [f"name:{lang}" for lang in languages] + EXPORT_COLUMNS[7:9] + [
        f"description:{lang}" for lang in languages] + EXPORT_COLUMNS[9:]

    def cells(product: Product, code: str) -> list[str]:
        return [
            product.sku, code, f"{Decimal(product.price_fen) / 100:.2f}", product.unit, str(product.stock),
            product.names.get("zh", ""), product.names.get("en", ""),
            *(product.names.get(lang, "") for lang in languages),
            product.descriptions.get("zh", ""), product.descriptions.get("en", ""),
            *(product.descriptions.get(lang, "") for lang in languages),
            product.photo or "", ";".join(product.keywords),
        ]

    return write_csv(header, (cells(product, code) for product, code in rows), numbers=NUMBER_COLUMNS)
