"""Pickup reminders: when they fall due after a parcel reaches the village, the quiet hours they
wait out, and the one list of uncollected parcels the desk gets after the last of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services import outbox
from services.outbox import Kind
from store.db import Store
from store.models import Order, OutboxMessage

REMINDER_DELAYS = (timedelta(hours=24), timedelta(hours=72))
# Reminders and their escalation wait for the end of quiet hours; order news does not.
WAIT_FOR_QUIET = frozenset({Kind.REMINDER, Kind.UNCOLLECTED, Kind.RETURN_DUE})
# How long a parcel waits for pickup before the desk is asked to send it back (RETURN_AFTER_DAYS).
RETURN_AFTER = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No reminders between ``start`` and ``end`` in the center's local time (may wrap midnight)."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"21:00-08:00"``; raises ValueError."""
        first, _, second = text.strip().partition("-")
        return cls(time.fromisoformat(first.strip()), time.fromisoformat(second.strip()))

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, when: datetime, timezone: str) -> datetime:
        """``when`` itself, or the end of the quiet hours it falls in."""
        local = when.astimezone(ZoneInfo(timezone))
        if not self.contains(local.time()):
            return when
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(when.tzinfo)


def held_until(quiet: QuietHours, kind: Kind, now: datetime, timezone: str) -> datetime | None:
    """When a message of ``kind`` due ``now`` at a center in ``timezone`` may be sent, if not now."""
    if kind not in WAIT_FOR_QUIET:
        return None
    allowed = quiet.next_allowed(now, timezone)
    return allowed if allowed > now else None


async def queue(session: AsyncSession, order: Order, recipients: list[int], remind_from: datetime,
                return_after: timedelta = RETURN_AFTER) -> None:
    """Queue the reminders of a parcel that reached the village: to each recipient 24 and 72 hours
    after they were told (``remind_from``), then the desk's list of what is still waiting, and
    ``return_after`` after it the desk's list of parcels to send back (services/returns.py)."""
    for number, delay in enumerate(REMINDER_DELAYS, start=1):
        for villager_id in recipients:
            await outbox.enqueue(session, Kind.REMINDER, due_at=remind_from + delay, order_id=order.id,
                                 villager_id=villager_id,
                                 payload={"number": number, "last": number == len(REMINDER_DELAYS)},
                                 dedupe_key=f"reminder:{order.id}:{number}:{villager_id}")
    # After the last reminder, the desk hears which parcels are still waiting.
    await outbox.enqueue(session, Kind.UNCOLLECTED, due_at=remind_from + REMINDER_DELAYS[-1], order_id=order.id,
                         center_id=order.center_id, dedupe_key=f"uncollected:{order.id}")
    await outbox.enqueue(session, Kind.RETURN_DUE, due_at=remind_from + return_after, order_id=order.id,
                         center_id=order.center_id, payload={"round": 0}, dedupe_key=return_key(order.id, 0))


def return_key(order_id: int, round_: int) -> str:
    """The dedupe key of a parcel's ``round_``-th time due to be sent back (0: after
    RETURN_AFTER_DAYS; each ⏳ Keep adds the next)."""
    return f"return:{order_id}:{round_}"


async def take_uncollected(store: Store, center_id: int, now: datetime, row_id: int) -> bool:
    """One list of uncollected parcels goes to the desk at a time, however many rows fell due
    together, even when several pumps claimed them: the first row sent closes the others due, and
    a row closed that way is not sent. Returns whether ``row_id`` is the one to send.

    The rows are locked in id order, so two pumps taking turns here wait for each other rather
    than deadlock; the second then sees the first's rows closed."""
    async with store.write() as session:
        due = (await session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.center_id == center_id, OutboxMessage.kind == str(Kind.UNCOLLECTED),
                   OutboxMessage.is_open, OutboxMessage.due_at <= now)
            .order_by(OutboxMessage.id).with_for_update()
        )).all()
        if row_id not in due:
            return False
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([other for other in due if other != row_id]))
            .values(is_open=False, sent_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return True
