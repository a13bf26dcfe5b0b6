"""Assisted ordering: a partner orders for a villager who has no phone (``/orderfor``).

The villager without Telegram is a villager row with no telegram_id, at the partner's center.
While the partner orders for them, the partner's ``acting_for_id`` names them, and the usual
browse, search and cart screens fill that villager's cart. The order counts toward that
villager, and is marked as assisted by the partner.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update

from services.clock import Clock
from services.errors import DomainError
from services.partners import NotPartner
from services.villagers import VillagerView, get
from store.db import Store
from store.models import Partner, Villager

MAX_NAME = 60


class BadName(DomainError):
    pass


class BadPhone(DomainError):
    pass


def normalize_phone(text: str) -> str:
    """Digits only, without a +86 country code: ``+86 138-0013-8000`` -> ``13800138000``."""
    digits = re.sub(r"[\s\-()]", "", text)
    if digits.startswith("+"):
        digits = digits[1:]
        if digits.startswith("86") and len(digits) > 11:
            digits = digits[2:]
    if not digits.isdigit() or not 5 <= len(digits) <= 15:
        raise BadPhone()
    return digits


def split_name_and_phone(text: str) -> tuple[str, str | None]:
    """``"Li Wei 13800138000"`` -> ("Li Wei", "13800138000"); the phone is optional."""
    text = " ".join(text.split())
    match = re.search(r"(\+?[\d\-() ]{5,20})$", text)
    phone = None
    if match and sum(c.isdigit() for c in match.group(1)) >= 5:
        phone = normalize_phone(match.group(1))
        text = text[:match.start()].strip()
    if not text or len(text) > MAX_NAME:
        raise BadName()
    return text, phone


async def begin(store: Store, clock: Clock, partner: VillagerView, name: str, phone: str | None) -> VillagerView:
    """Start ordering for a villager without a phone, found by phone at the partner's center
    or registered now."""
    now = clock.now()
    async with store.write() as session:
        center_id = await session.scalar(
            select(Partner.center_id).where(Partner.telegram_id == partner.telegram_id).order_by(Partner.id).limit(1))
        if center_id is None:
            raise NotPartner({})
        offline = None
        if phone:
            offline = await session.scalar(
                select(Villager).where(Villager.telegram_id.is_(None), Villager.phone == phone,
                                       Villager.center_id == center_id).limit(1))
        if offline is None:
            offline = Villager(telegram_id=None, phone=phone, center_id=center_id, created_at=now, last_seen_at=now)
            session.add(offline)
        offline.first_name = name
        await session.flush()
        await session.execute(update(Villager).where(Villager.id == partner.id).values(acting_for_id=offline.id))
        offline_id = offline.id
    return await get(store, offline_id)


async def end(store: Store, partner_villager_id: int) -> None:
    async with store.write() as session:
        await session.execute(update(Villager).where(Villager.id == partner_villager_id).values(acting_for_id=None))


async def save_phone(store: Store, villager_id: int, phone: str) -> str:
    """A villager shares their own phone number: assisted orders for that number reach them too."""
    phone = normalize_phone(phone)
    async with store.write() as session:
        await session.execute(update(Villager).where(Villager.id == villager_id).values(phone=phone))
    return phone
