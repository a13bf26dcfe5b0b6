"""Reading the chats of the Bot API double the way a person reads their phone, and the common
first steps of a villager."""

from __future__ import annotations

from sqlalchemy import select

from store.models import Product, ServiceCenter, Villager

SHANGYUAN = (33.16, 107.30)  # near the Chenggu centers of the demo data


def body(message) -> str:
    """What a message says: its text, or a photo's caption."""
    return message.text or message.caption or ""


def texts(chat) -> list[str]:
    return [body(m) for m in chat.bot_messages()]


def last_text(person) -> str:
    return body(person.chat.last_bot_message())


def labels(message) -> list[str]:
    """The labels of a message's inline buttons, row by row."""
    return [b.text for row in message.buttons for b in row]


def menu_labels(chat) -> list[str]:
    return [b.text for row in chat.reply_keyboard or [] for b in row]


async def stock_of(store, sku: str) -> int:
    async with store.read() as session:
        return await session.scalar(select(Product.stock).where(Product.sku == sku))


async def center_id(store, code: str) -> int:
    async with store.read() as session:
        return await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == code))


async def villager_id(store, telegram_id: int) -> int:
    """The villager the bot registered for a Telegram user."""
    async with store.read() as session:
        return await session.scalar(select(Villager.id).where(Villager.telegram_id == telegram_id))


async def settle_in(person, county: str = "Chenggu", village: str = "Shangyuan") -> None:
    await person.send("/start")
    await person.tap(county)
    await person.tap(village)
