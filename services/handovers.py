"""Cash a partner hands to the county (``/handover 1200``), and the county's word on it.

    recorded ──✅ Received (county staff / admin)──> confirmed
        └─────⚠️ Not received──────────────────────> disputed: a correction puts the cash back on hand

The HANDOVER entry is written when the partner records it: the cash has left the till. A card
goes through the outbox to the staff of the center's county (to the admins when the county has
none). Only they (``counties.may_supervise``) decide, once; the partner hears the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services import cashbook, counties, outbox
from services.cash import TooMuch
from services.cashbook import Entry
from services.clock import Clock
from services.errors import AlreadyDone, DomainError, NotYours
from services.outbox import Kind
from services.partners import Actor, check_may_act
from store.db import Store
from store.models import CountyStaff, Handover, ServiceCenter, Villager

PENDING, CONFIRMED, DISPUTED = "pending", "confirmed", "disputed"


class NoCash(DomainError):
    """An amount of nothing, or less."""


@dataclass(frozen=True, slots=True)
class HandoverView:
    id: int
    center_id: int
    code: str
    names: dict
    timezone: str
    amount_fen: int
    by_name: str
    by_telegram_id: int
    at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None


async def _name(session: AsyncSession, telegram_id: int | None) -> str | None:
    if telegram_id is None:
        return None
    return await session.scalar(select(Villager.first_name).where(Villager.telegram_id == telegram_id)) \
        or str(telegram_id)


async def _view(session: AsyncSession, handover: Handover) -> HandoverView:
    center = await session.get(ServiceCenter, handover.center_id)
    return HandoverView(handover.id, center.id, center.code, center.names, center.timezone, handover.amount_fen,
                        await _name(session, handover.by_telegram_id), handover.by_telegram_id, handover.at,
                        handover.status, await _name(session, handover.confirmed_by), handover.confirmed_at)


async def get(store: Store, handover_id: int) -> HandoverView | None:
    async with store.read() as session:
        handover = await session.get(Handover, handover_id)
        return await _view(session, handover) if handover else None


async def hand_over(store: Store, clock: Clock, actor: Actor, center_id: int, amount_fen: int,
                    admin_ids: frozenset[int]) -> HandoverView:
    """The partner handed ``amount_fen`` to the county: never more than the cash on hand."""
    if amount_fen <= 0:
        raise NoCash()
    now = clock.now()
    async with store.write() as session:
        await check_may_act(session, center_id, actor)
        center = await session.get(ServiceCenter, center_id, with_for_update=True)  # one handover at a time
        on_hand = int((await cashbook.balance(session, center_id)).on_hand)  # a Decimal on PostgreSQL
        if amount_fen > on_hand:
            raise TooMuch(max(on_hand, 0))
        handover = Handover(center_id=center_id, amount_fen=amount_fen, by_telegram_id=actor.telegram_id, at=now,
                            status=PENDING)
        session.add(handover)
        await session.flush()
        entry = await cashbook.record(session, center_id, Entry.HANDOVER, -amount_fen, now,
                                      actor_telegram_id=actor.telegram_id, ref=f"handover:{handover.id}")
        handover.entry_id = entry.id
        staff = (await session.scalars(select(CountyStaff.telegram_id).where(
            CountyStaff.county_id == center.county_id).order_by(CountyStaff.telegram_id))).all()
        for telegram_id in staff or sorted(admin_ids):
            await outbox.enqueue(session, Kind.CASH, due_at=now, center_id=center_id,
                                 payload={"event": "handover", "handover_id": handover.id, "to": telegram_id},
                                 dedupe_key=f"handover:{handover.id}:{telegram_id}")
        return await _view(session, handover)


async def decide(store: Store, clock: Clock, actor: Actor, handover_id: int, received: bool) -> HandoverView:
    """The county's word: received (confirmed), or not (disputed: the cash is back on hand, by a
    correction of the handover's entry). NotYours for anyone but the county's staff and admins;
    AlreadyDone (with the view's status) once decided."""
    now = clock.now()
    async with store.write() as session:
        handover = await session.get(Handover, handover_id, with_for_update=True)
        if handover is None or not await counties.may_supervise(session, actor, handover.center_id):
            raise NotYours()
        if handover.status != PENDING:
            raise AlreadyDone(handover.status)
        handover.status = CONFIRMED if received else DISPUTED
        handover.confirmed_by, handover.confirmed_at = actor.telegram_id, now
        if not received:
            await cashbook.correct(session, handover.entry_id, handover.amount_fen, 0, now,
                                   actor_telegram_id=actor.telegram_id, note=f"handover {handover.id} not received")
        await outbox.enqueue(session, Kind.CASH, due_at=now, center_id=handover.center_id,
                             payload={"event": "handover_decided", "handover_id": handover.id},
                             dedupe_key=f"handover:{handover.id}:decided")
        return await _view(session, handover)


async def may_see(store: Store, actor: Actor, handover_id: int) -> HandoverView:
    """The handover for someone who may decide on it; NotYours otherwise."""
    async with store.read() as session:
        handover = await session.get(Handover, handover_id)
        if handover is None or not await counties.may_supervise(session, actor, handover.center_id):
            raise NotYours()
        return await _view(session, handover)
