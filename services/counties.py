"""County staff: who supervises the centers of a county (``CountyStaff``), and the one check that
someone may act for a center as its county's staff. Admins (ADMIN_IDS) may act for every county."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.partners import Actor
from store.models import CountyStaff, ServiceCenter


async def staff_counties(session: AsyncSession, telegram_id: int) -> set[int]:
    """The ids of the counties ``telegram_id`` is staff of (none for most people)."""
    return set((await session.scalars(select(CountyStaff.county_id).where(CountyStaff.telegram_id == telegram_id))
                ).all())


async def may_supervise(session: AsyncSession, actor: Actor, center_id: int) -> bool:
    """Whether ``actor`` is an admin, or staff of the county of ``center_id``."""
    if actor.is_admin:
        return True
    return await session.scalar(
        select(CountyStaff.id).join(ServiceCenter, ServiceCenter.county_id == CountyStaff.county_id)
        .where(ServiceCenter.id == center_id, CountyStaff.telegram_id == actor.telegram_id).limit(1)
    ) is not None
