"""A promotion's copies, from the start of its sending to its end.

A broadcast's copies are rows of ``broadcast_deliveries``, one per person (unique), queued with
one INSERT … SELECT, so 100,000 recipients cost one statement and no memory in the process. Any
process sends them: rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, each send is
marked at once, a claim is renewed while its copies wait and go (services/leases.py), and a
process that dies lets its claims go when their lease ends. So a restart
carries on where it stopped, nobody gets a promotion twice, and nobody is missed.

The pace is global: each claim reserves its send slots on the ``pace_at`` column of the
promotion's row, ``rate`` a second between all processes; a 429 pushes the next slot back by
``retry_after``. The pace follows the real time, not the bot's (injectable) clock: it is about
Telegram's limits.

Quiet hours follow the bot's clock, in each reader's center's time zone: a copy whose reader is in
them is not claimed until they end, unless the admin chose "send anyway" on the preview.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, insert, literal, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from services import leases
from services.broadcast import BroadcastView, Delivery, Status, as_view, audience_filter
from services.reminders import QuietHours
from store.db import Store
from store.models import Broadcast, BroadcastDelivery, ServiceCenter, Villager

MAX_ATTEMPTS = 5


async def start_due(store: Store, now: datetime) -> list[int]:
    """Start the promotions whose time has come: queue one copy per person in the audience.
    Someone who opted out or blocked the bot gets a copy marked so, which is counted, not sent."""
    started = []
    async with store.write() as session:
        due = (await session.scalars(select(Broadcast).where(
            Broadcast.status == Status.SCHEDULED, Broadcast.send_at <= now).with_for_update(skip_locked=True))).all()
        for row in due:
            status = case((Villager.unreachable, literal(str(Delivery.BLOCKED))),
                          (Villager.promotions_off, literal(str(Delivery.OPTED_OUT))),
                          else_=literal(str(Delivery.PENDING)))
            query = select(literal(row.id), Villager.id, status, literal(0), literal("")).where(
                audience_filter(row.audience)).order_by(Villager.id)
            result = await session.execute(insert(BroadcastDelivery).from_select(
                ["broadcast_id", "villager_id", "status", "attempts", "error"], query))
            row.total = result.rowcount
            row.status = Status.SENDING
            row.started_at = now
            started.append(row.id)
    return started


@dataclass(frozen=True, slots=True)
class Quiet:
    """The quiet hours promotions wait out, and the time zone of villagers without a center."""

    hours: QuietHours
    now: datetime  # the bot's clock
    default_timezone: str

    def asleep(self, timezone: str) -> bool:
        return self.hours.contains(self.now.astimezone(ZoneInfo(timezone)).time())


async def awake(session: AsyncSession, quiet: Quiet | None):
    """The villagers outside quiet hours now, in their center's time zone (or the default one)."""
    if quiet is None:
        return true()
    zones = (await session.scalars(select(ServiceCenter.timezone).distinct())).all()
    asleep_centers = select(ServiceCenter.id).where(ServiceCenter.timezone.in_([z for z in zones if quiet.asleep(z)]))
    if quiet.asleep(quiet.default_timezone):
        return and_(Villager.center_id.is_not(None), Villager.center_id.not_in(asleep_centers))
    return or_(Villager.center_id.is_(None), Villager.center_id.not_in(asleep_centers))


async def asleep_now(store: Store, audience: dict, quiet: Quiet) -> int:
    """How many of ``audience`` are in their quiet hours now: what the preview tells the admin."""
    async with store.read() as session:
        return await session.scalar(select(func.count(Villager.id)).where(
            audience_filter(audience), ~await awake(session, quiet))) or 0


@dataclass(frozen=True, slots=True)
class Copy:
    """One copy to send: to whom, in which language, of which promotion."""

    delivery_id: int
    broadcast_id: int
    telegram_id: int
    locale: str | None
    attempts: int
    opted_out: bool = False  # since it was queued


@dataclass(frozen=True, slots=True)
class Batch:
    """Copies claimed together, and when (wall-clock time) the first may go: the rest follow at
    ``1 / rate`` seconds apart."""

    copies: list[Copy]
    first_slot: datetime
    held_until: datetime  # the claim's lease, and its token (services/leases.py)


async def claim(store: Store, limit: int, rate: float, wall: Callable[[], datetime],
                lease: timedelta = leases.LEASE, quiet: Quiet | None = None) -> Batch | None:
    """Take up to ``limit`` copies of the oldest running promotion with copies to send now
    (promotions go out one after another; copies whose readers are in ``quiet`` hours wait), and
    reserve their send slots on its row, so that all processes together keep to ``rate`` messages
    a second. ``wall()`` is the real time, which the pace and the lease follow; it is read again
    once the copies are claimed, so a slow claim never leaves slots in the past to catch up."""
    held_at = wall()
    until = held_at + lease
    async with store.write() as session:
        running = (await session.scalars(select(Broadcast).where(Broadcast.status == Status.SENDING)
                                         .order_by(Broadcast.id).with_for_update())).all()
        if not running:
            return None
        not_quiet = await awake(session, quiet)
        for broadcast in running:
            rows = (await session.execute(
                select(BroadcastDelivery, Villager.telegram_id, Villager.locale, Villager.promotions_off)
                .join(Villager, Villager.id == BroadcastDelivery.villager_id)
                .where(BroadcastDelivery.broadcast_id == broadcast.id, BroadcastDelivery.status == Delivery.PENDING,
                       (BroadcastDelivery.claimed_until.is_(None)) | (BroadcastDelivery.claimed_until < held_at),
                       true() if broadcast.send_in_quiet_hours else not_quiet)
                .order_by(BroadcastDelivery.id).limit(limit)
                .with_for_update(skip_locked=True, of=BroadcastDelivery))).all()
            if rows:
                break
        for delivery, *_ in rows:
            delivery.claimed_until = until
        real = wall()
        first = max(broadcast.pace_at or real, real)
        broadcast.pace_at = first + timedelta(seconds=len(rows) / rate)
        return Batch([Copy(d.id, d.broadcast_id, telegram_id, locale, d.attempts, off)
                      for d, telegram_id, locale, off in rows], first, until)


async def hold_back(store: Store, broadcast_id: int, until: datetime) -> None:
    """Telegram said 429: no process sends this promotion before ``until`` (wall-clock time)."""
    async with store.write() as session:
        row = await session.scalar(select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update())
        if row is not None and (row.pace_at is None or row.pace_at < until):
            row.pace_at = until


async def mark(store: Store, delivery_id: int, status: Delivery, now: datetime, error: str = "") -> None:
    """How a copy ended. A copy that went out is marked sent even if the promotion was cancelled
    while it was on its way: the report tells what people got."""
    allowed = [Delivery.PENDING, Delivery.CANCELLED] if status == Delivery.SENT else [Delivery.PENDING]
    async with store.write() as session:
        await session.execute(update(BroadcastDelivery).where(
            BroadcastDelivery.id == delivery_id, BroadcastDelivery.status.in_(allowed))
            .values(status=status, sent_at=now if status == Delivery.SENT else None, error=error[:200],
                    claimed_until=None))


async def renew(store: Store, delivery_ids: list[int], held: datetime, until: datetime) -> set[int]:
    """Keep holding the pending copies still claimed with ``held``, until ``until``; returns their ids."""
    return await leases.renew(store, BroadcastDelivery, delivery_ids, held, until,
                              BroadcastDelivery.status == Delivery.PENDING)


async def retry_later(store: Store, delivery_id: int, until: datetime, *, counts: bool, error: str = "") -> None:
    """Send again after ``until`` (real time: it is kept as the copy's claim); a failure that
    counts gives up after MAX_ATTEMPTS."""
    async with store.write() as session:
        row = await session.get(BroadcastDelivery, delivery_id)
        if row is None or row.status != Delivery.PENDING:
            return
        row.claimed_until = until
        if counts:
            row.attempts += 1
            row.error = error[:200]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = Delivery.FAILED


async def release(store: Store, delivery_ids: list[int]) -> None:
    """Give back claimed copies not sent (the broadcast was cancelled, or the process stops)."""
    if not delivery_ids:
        return
    async with store.write() as session:
        await session.execute(update(BroadcastDelivery).where(BroadcastDelivery.id.in_(delivery_ids),
                                                              BroadcastDelivery.status == Delivery.PENDING)
                              .values(claimed_until=None))


async def content(store: Store, broadcast_id: int) -> BroadcastView | None:
    """The promotion without its counts (read for every copy sent, so it must be cheap)."""
    async with store.read() as session:
        row = await session.get(Broadcast, broadcast_id)
        return as_view(row) if row else None


async def finish_if_done(store: Store, broadcast_id: int, now: datetime) -> bool:
    """Mark a running promotion done once no copy is pending; True for the one caller that did."""
    async with store.write() as session:
        left = await session.scalar(select(func.count(BroadcastDelivery.id)).where(
            BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.status == Delivery.PENDING))
        if left:
            return False
        done = await session.execute(update(Broadcast).where(
            Broadcast.id == broadcast_id, Broadcast.status == Status.SENDING)
            .values(status=Status.DONE, finished_at=now))
        return done.rowcount == 1


async def running(store: Store) -> list[int]:
    async with store.read() as session:
        return list((await session.scalars(select(Broadcast.id).where(Broadcast.status == Status.SENDING))).all())
