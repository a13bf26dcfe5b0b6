"""Promotions for the tests: a crowd of villagers, an admin composing one, the copies a person got."""

from __future__ import annotations

from sqlalchemy import select

from services import villagers
from store.models import ServiceCenter


async def crowd(bot, count: int, first: int = 3000, language: str = "en", center: str = "CG-01"):
    """``count`` villagers of ``center`` who have talked to the bot (registered without chatting)."""
    async with bot.store.read() as session:
        center_id = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == center))
    people = []
    for telegram_id in range(first, first + count):
        person = bot.person(telegram_id, f"V{telegram_id}", language_code=language)
        found = await villagers.enter(bot.store, bot.clock, telegram_id=telegram_id, first_name=person.first_name,
                                      username=None, locale="en" if language == "en" else "zh_Hans")
        await villagers.set_center(bot.store, found.id, center_id)
        people.append(person)
    return people


def promotions_in(person) -> list:
    return [m for m in person.chat.bot_messages() if "New Year" in (m.text or m.caption or "")
            or "新年" in (m.text or m.caption or "")]


async def compose(admin, *, link: str | None = "FD-001", zh: str = "<b>新年大促</b> 🎉 化肥九折",
                  en: str | None = "<b>New Year sale</b> 🎉 fertilizer 10% off") -> None:
    await admin.send("/broadcast")
    await admin.send(zh)
    if en is None:
        await admin.tap("⏭ Skip")
    else:
        await admin.send(en)
    await admin.tap("⏭ Skip")  # no photo
    if link is None:
        await admin.tap("⏭ Skip")
    else:
        await admin.send(link)
