"""The center's cash book: every movement of cash at a center's counter, append-only, in fen.

An entry says what came into the till (+) or went out of it (−), and how much of that is the
partner's fee. A delivery order's money never passes the till: it is a pair of entries that
cancel out in the till (``PAID_AWAY`` the seller's, ``HELD_AWAY`` the county's, see ``record_away``). It is the seller's money when it names a seller (market produce collected, refunded
or paid out), the county's otherwise (catalog orders, services, cash handed over). So for every
center, at every moment:

    cash on hand = owed to sellers + owed to the county + the partner's fees

A mistake is never edited away: ``correct`` writes a new entry that points at the one it corrects.
``record`` is idempotent by ``ref`` (what the entry is for: "pickup:12"), so a decision tapped
twice, or an update delivered twice, moves the cash once. It runs inside the caller's transaction,
next to the change it accounts for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import CashEntry, ServiceCenter


class Entry(StrEnum):
    COLLECTED = "collected"  # cash taken at a pickup (+)
    REFUND = "refund"  # cash paid back to a villager (−)
    SERVICE = "service"  # a service charged at the counter, with its fee (+)
    PAYOUT = "payout"  # a seller paid for their produce (−)
    HANDOVER = "handover"  # cash handed to the county (−)
    CORRECTION = "correction"  # puts a mistaken entry right (±)
    # A delivery order's goods, paid online or to the carrier: never in the till. The seller's
    # money, with the partner's fee (+), and the same money held by the county's payment account
    # (−, the county's: the county owes it to the center). Together they leave the cash on hand as it was.
    PAID_AWAY = "paid_away"
    HELD_AWAY = "held_away"


OUT = frozenset({Entry.REFUND, Entry.PAYOUT, Entry.HANDOVER})  # kinds whose amount is never positive


def order_fee(center: ServiceCenter, total_fen: int) -> int:
    """The partner's fee on an order of ``total_fen``: the center's share plus its fixed amount,
    never more than the order itself."""
    if total_fen <= 0:
        return 0
    share = (total_fen * (center.order_fee_bp or 0) + 5000) // 10000  # rounded half up, to the fen
    return min(total_fen, share + (center.order_fee_fen or 0))


async def record(session: AsyncSession, center_id: int, kind: Entry, amount_fen: int, at: datetime, *,
                 fee_fen: int = 0, order_id: int | None = None, seller_id: int | None = None,
                 actor_telegram_id: int | None = None, ref: str | None = None, corrects_id: int | None = None,
                 note: str = "") -> CashEntry:
    """Write one entry, unless one with ``ref`` is there already (then that one is returned)."""
    if kind in OUT and amount_fen > 0:
        raise ValueError(f"a {kind} takes cash out of the till: its amount is negative, not {amount_fen}")
    if ref is not None:
        existing = await session.scalar(select(CashEntry).where(CashEntry.ref == ref))
        if existing is not None:
            return existing
    entry = CashEntry(center_id=center_id, kind=str(kind), amount_fen=amount_fen, fee_fen=fee_fen, at=at,
                      order_id=order_id, seller_id=seller_id, actor_telegram_id=actor_telegram_id, ref=ref,
                      corrects_id=corrects_id, note=note[:300])
    session.add(entry)
    await session.flush()
    return entry


async def record_away(session: AsyncSession, center_id: int, amount_fen: int, at: datetime, *, order_id: int,
                      seller_id: int, fee_fen: int = 0, kind: Entry = Entry.PAID_AWAY, ref: str,
                      actor_telegram_id: int | None = None, note: str = "") -> tuple[CashEntry, CashEntry]:
    """Money that moved away from the till, for a delivery order: ``amount_fen`` of the seller's
    (``kind`` PAID_AWAY when the buyer paid, + ; REFUND when it is given back, −) and the same
    amount, the other way, held by the county (HELD_AWAY). Idempotent by ``ref``."""
    seller = await record(session, center_id, kind, amount_fen, at, fee_fen=fee_fen, order_id=order_id,
                          seller_id=seller_id, actor_telegram_id=actor_telegram_id, ref=ref, note=note)
    held = await record(session, center_id, Entry.HELD_AWAY, -amount_fen, at, order_id=order_id,
                        actor_telegram_id=actor_telegram_id, ref=f"held-{ref}", note=note)
    return seller, held


async def correct(session: AsyncSession, entry_id: int, amount_fen: int, fee_fen: int, at: datetime, *,
                  actor_telegram_id: int | None, note: str) -> CashEntry:
    """A new entry that puts ``entry_id`` right by ``amount_fen`` (and ``fee_fen``): same center,
    same order and seller, the mistaken entry untouched."""
    wrong = await session.get(CashEntry, entry_id)
    if wrong is None:
        raise LookupError(f"no cash entry {entry_id}")
    return await record(session, wrong.center_id, Entry.CORRECTION, amount_fen, at, fee_fen=fee_fen,
                        order_id=wrong.order_id, seller_id=wrong.seller_id, actor_telegram_id=actor_telegram_id,
                        corrects_id=wrong.id, note=note)


@dataclass(frozen=True, slots=True)
class Balance:
    """Where a center's cash stands: how much is in the till, and whose it is."""

    on_hand: int
    owed_to_county: int
    fees: int
    owed_to_sellers: dict[int, int] = field(default_factory=dict)  # seller villager id -> fen


async def balance(session: AsyncSession, center_id: int, until: datetime | None = None) -> Balance:
    """The center's balance from every entry (up to ``until``)."""
    query = select(
        CashEntry.seller_id, func.coalesce(func.sum(CashEntry.amount_fen), 0),
        func.coalesce(func.sum(CashEntry.fee_fen), 0),
    ).where(CashEntry.center_id == center_id).group_by(CashEntry.seller_id)
    if until is not None:
        query = query.where(CashEntry.at <= until)
    on_hand = county = fees = 0
    sellers: dict[int, int] = {}
    for seller_id, amount, fee in await session.execute(query):
        amount, fee = int(amount), int(fee)  # PostgreSQL sums BIGINTs as NUMERIC (a Decimal)
        on_hand, fees = on_hand + amount, fees + fee
        if seller_id is None:
            county += amount - fee
        else:
            sellers[seller_id] = amount - fee
    return Balance(on_hand, county, fees, {s: fen for s, fen in sellers.items() if fen})


async def totals_by_kind(session: AsyncSession, center_id: int, since: datetime, until: datetime
                         ) -> dict[str, tuple[int, int]]:
    """Per kind of entry between ``since`` and ``until``: (amount, fee) in fen."""
    rows = await session.execute(
        select(CashEntry.kind, func.sum(CashEntry.amount_fen), func.sum(CashEntry.fee_fen))
        .where(CashEntry.center_id == center_id, CashEntry.at >= since, CashEntry.at < until)
        .group_by(CashEntry.kind))
    return {kind: (int(amount or 0), int(fee or 0)) for kind, amount, fee in rows}

