"""Reading what the store holds: row counts, products by SKU, rows of the outbox."""

from __future__ import annotations

from sqlalchemy import func, select

from services.outbox import Kind
from store.models import Order, OutboxMessage, Product


async def count(store, model, *where) -> int:
    """How many rows of `model` there are, of those matching `where` if given."""
    async with store.read() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def product(store, sku: str) -> Product | None:
    async with store.read() as session:
        return await session.scalar(select(Product).where(Product.sku == sku))


async def outbox_rows(store, kind: Kind) -> list[OutboxMessage]:
    """The outbox's rows of one kind, oldest first."""
    async with store.read() as session:
        return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == str(kind))
                                          .order_by(OutboxMessage.id)))


async def status_of(store, number: str) -> Order:
    """The order with this number (its status, its lines' owner, its times)."""
    async with store.read() as session:
        return await session.scalar(select(Order).where(Order.number == number))
