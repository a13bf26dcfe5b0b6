"""The outbox: messages that must go out, now or later, kept in the store until they have.

A service that changes an order adds rows in the same transaction as the change, so a status
notice exists exactly when the status does. Pumps (bot/pump.py) claim due rows, send them and
mark them. A claim is a lease in real time (services/leases.py): the pump renews it while it
sends, and a pump that dies lets its rows go when the lease ends. On PostgreSQL, rows are
claimed with ``FOR UPDATE SKIP LOCKED``, so several processes never claim the same row; on
SQLite there is one process, whose writers are serialized.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services import leases
from store.db import Store, insert_unless_there, mark_effect
from store.models import PENDING_COPY, BroadcastDelivery, OutboxMessage

MAX_ATTEMPTS = 12
OUTBOX = "outbox"  # what ``enqueue`` marks a session with (``store.db.mark_effect``)


class Kind(StrEnum):
    CARD = "card"  # post or refresh an order's card on its center's desk
    STATUS = "status"  # tell a villager their order moved
    REMINDER = "reminder"  # a parcel is waiting for pickup
    UNCOLLECTED = "uncollected"  # tell the desk which parcels are still waiting after the last reminder
    DIGEST = "digest"  # the desk's morning summary
    LISTING_CARD = "listing_card"  # post or refresh a produce listing's review card on its center's desk
    LOW_STOCK = "low_stock"  # tell the admins a product's stock fell below its threshold
    SELLER = "seller"  # tell a seller what happened to their listing: reviewed, sold, sold out, paid
    CARD_EDIT = "card_edit"  # edit an order's cards where they are (a name was forgotten); never post one
    LISTING_CARD_EDIT = "listing_card_edit"  # the same for a produce listing's review cards
    PROBLEM_CARD = "problem_card"  # post or refresh a problem's card on its center's desk
    PROBLEM = "problem"  # tell a villager (or a produce seller) what was decided on a problem
    CASH = "cash"  # the cash book's news: a seller paid, a handover to confirm, a handover confirmed or not
    RETURN_DUE = "return_due"  # a parcel not collected in time: the desk's list of parcels to send back (services/returns.py)
    SERVICE_CARD = "service_card"  # post or refresh a service request's card on its center's desk
    SERVICE = "service"  # tell a villager their service request was done or declined
    RATE = "rate"  # ask a buyer for stars for one order line of produce they picked up (services/ratings.py)
    REVIEW_CARD = "review_card"  # post or refresh a buyer's review with text on the seller's center's desk
    REFUND_DUE = "refund_due"  # tell the admins (and county staff) to refund money paid online at the provider


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    kind: str
    order_id: int | None
    center_id: int | None
    villager_id: int | None
    payload: dict
    due_at: datetime
    attempts: int
    held_until: datetime  # the claim's lease, and its token (services/leases.py)


async def enqueue(
    session: AsyncSession,
    kind: Kind,
    *,
    due_at: datetime,
    order_id: int | None = None,
    center_id: int | None = None,
    villager_id: int | None = None,
    payload: dict | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Add a message to send at ``due_at``; a second row with the same ``dedupe_key`` is ignored.
    A row added marks the session, so that the pumps are woken once it commits (``store.db.mark_effect``)."""
    values = dict(kind=str(kind), order_id=order_id, center_id=center_id, villager_id=villager_id,
                  payload=payload or {}, dedupe_key=dedupe_key, due_at=due_at, attempts=0, last_error="",
                  is_open=True)
    added = await session.execute(insert_unless_there(session, OutboxMessage), values)
    if added.rowcount != 0:  # -1: the driver cannot tell
        mark_effect(session, OUTBOX)


async def cancel(session: AsyncSession, *, order_id: int, kinds: set[Kind], at: datetime) -> int:
    """Withdraw messages no longer wanted (e.g. reminders once the parcel is picked up)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.order_id == order_id, OutboxMessage.is_open,
               OutboxMessage.kind.in_([str(k) for k in kinds]))
        .values(is_open=False, cancelled_at=at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


async def claim_due(store: Store, now: datetime, *, held_at: datetime, lease: timedelta = leases.LEASE,
                    limit: int = 50) -> list[Claimed]:
    """Take up to ``limit`` rows due at ``now`` (the bot's clock), oldest first, unclaimed or
    whose lease lapsed before ``held_at`` (the real time), until ``held_at + lease``."""
    until = held_at + lease
    async with store.write() as session:
        rows = (await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.is_open, OutboxMessage.due_at <= now,
                   (OutboxMessage.claimed_until.is_(None)) | (OutboxMessage.claimed_until < held_at))
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )).all()
        for row in rows:
            row.claimed_until = until
        return [Claimed(r.id, r.kind, r.order_id, r.center_id, r.villager_id, dict(r.payload), r.due_at, r.attempts,
                        until) for r in rows]


async def renew(store: Store, message_ids: list[int], held: datetime, until: datetime) -> set[int]:
    """Keep holding the open rows still claimed with ``held``, until ``until``; returns their ids."""
    return await leases.renew(store, OutboxMessage, message_ids, held, until, OutboxMessage.is_open)


async def mark_sent(store: Store, message_id: int, at: datetime) -> None:
    await _close(store, message_id, sent_at=at)


async def mark_failed(store: Store, message_id: int, at: datetime, error: str) -> None:
    """Give up on a message: it can never be sent (the person blocked the bot, the chat is gone)."""
    await _close(store, message_id, failed_at=at, last_error=error[:300])


async def mark_dropped(store: Store, message_id: int, at: datetime) -> None:
    """Nothing to send any more (the order moved on); the row is closed as cancelled."""
    await _close(store, message_id, cancelled_at=at)


async def _close(store: Store, message_id: int, **values) -> None:
    """Close an open row; one closed already (cancelled by a pickup, or covered by another row's
    list of uncollected parcels) keeps how it ended."""
    async with store.write() as session:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.is_open)
            .values(is_open=False, claimed_until=None, **values)
        )


async def postpone(store: Store, message_id: int, until: datetime, *, now: datetime, error: str = "",
                   counts: bool = True) -> None:
    """Send later. A failure (``error``) counts toward MAX_ATTEMPTS unless ``counts`` is False
    (Telegram asked us to wait: that is pacing, not failing); quiet hours give no error at all."""
    async with store.write() as session:
        row = await session.get(OutboxMessage, message_id)
        if row is None or not row.is_open:
            return
        row.due_at = until
        row.claimed_until = None
        if error:
            row.last_error = error[:300]
        if error and counts:
            row.attempts += 1
            if row.attempts >= MAX_ATTEMPTS:
                row.is_open = False
                row.failed_at = now


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 10 minutes."""
    return timedelta(seconds=min(600, 5 * 2 ** attempts))


async def backlog(store: Store, now: datetime) -> dict[str, int]:
    """What is due and not yet sent: outbox messages (order news, reminders, digests, alerts) and
    promotion copies."""
    async with store.read() as session:
        due = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.is_open, OutboxMessage.due_at <= now))
        promotions = await session.scalar(select(func.count()).select_from(BroadcastDelivery).where(PENDING_COPY))
    return {"outbox": due or 0, "promotions": promotions or 0}
