"""Browsing the catalog: categories, pages of products, one product."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from locales import localized
from store.db import Store
from store.models import Category, Product

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
