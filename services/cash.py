"""What people see and do with a center's cash book (services/cashbook.py is the ledger itself).

    cash view   today's takings by kind (the center's day), the cash on hand, what is owed to each
                seller and to the county, the fees earned this month; for the center's partners,
                its county's staff and admins
    pay seller  a payout of at most what the seller is owed, never 0; the seller is told
    correction  a new entry for a mistaken one, by the center's partners or an admin
    fees        an admin sets a center's fees: on orders (a share, a fixed amount) and per service

Who may read: ``may_read``. Who may move cash: the center's partners and admins
(``partners.check_may_act``); county staff only read and confirm handovers (services/handovers.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import cashbook, counties, outbox
from services.cashbook import Entry
from services.clock import Clock
from services.counties import in_counties
from services.errors import DomainError, NotAdmin, NotFound, NotYours
from services.outbox import Kind
from services.partners import Actor, center_by_code, check_may_act, is_partner
from store.db import Store
from store.models import CashEntry, Handover, Order, ServiceCenter, Villager

SERVICE_KINDS = ("topup", "bill", "ticket")
MAX_FEE_BP = 10_000  # 100%
MAX_FEE_FEN = 100_000  # ¥1,000


class TooMuch(DomainError):
    """More than there is: ``limit`` fen (what the seller is owed, the cash on hand)."""

    def __init__(self, limit: int):
        super().__init__(f"at most {limit} fen")
        self.limit = limit


class NothingOwed(DomainError):
    """The seller is owed nothing (any more) at this center."""


@dataclass(frozen=True, slots=True)
class SellerOwed:
    seller_id: int
    name: str
    owed_fen: int


@dataclass(frozen=True, slots=True)
class CashView:
    center_id: int
    code: str
    names: dict
    timezone: str
    now: datetime
    today: dict[str, int]  # kind -> amount in fen, entries of the center's day so far
    on_hand: int
    owed_to_county: int
    sellers: list[SellerOwed]
    fees_month: int
    pending_handovers: int  # fen handed over, not yet confirmed by the county
    may_move: bool  # a partner of the center or an admin: may pay sellers, hand over, correct


def day_start(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date(), time(0), ZoneInfo(timezone))


def month_start(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date().replace(day=1), time(0), ZoneInfo(timezone))


async def may_read(session: AsyncSession, actor: Actor, center_id: int) -> bool:
    """The center's partners, its county's staff and admins read its cash book."""
    return await is_partner(session, center_id, actor.telegram_id) or await counties.may_supervise(
        session, actor, center_id)


async def center_of(store: Store, code: str) -> tuple[int, str]:
    """A center's (id, code) by its code in any letter case; NotFound."""
    async with store.read() as session:
        center = await center_by_code(session, code)
        return center.id, center.code


async def view(store: Store, clock: Clock, actor: Actor, center_id: int) -> CashView:
    """The center's cash book as its reader sees it; NotYours for anyone else (or no such center)."""
    now = clock.now()
    async with store.read() as session:
        center = await session.get(ServiceCenter, center_id)
        if center is None or not await may_read(session, actor, center_id):
            raise NotYours()
        book = await cashbook.balance(session, center_id)
        today = await cashbook.totals_by_kind(session, center_id, day_start(now, center.timezone), now + timedelta(1))
        month = await cashbook.totals_by_kind(session, center_id, month_start(now, center.timezone),
                                              now + timedelta(1))
        names = dict((await session.execute(select(Villager.id, Villager.first_name).where(
            Villager.id.in_(list(book.owed_to_sellers))))).all()) if book.owed_to_sellers else {}
        pending = await session.scalar(select(func.coalesce(func.sum(Handover.amount_fen), 0)).where(
            Handover.center_id == center_id, Handover.status == "pending"))
        may_move = actor.is_admin or await is_partner(session, center_id, actor.telegram_id)
    # Sums of big integers come back as Decimal on PostgreSQL: the view holds plain fen.
    sellers = sorted((SellerOwed(s, names.get(s) or "—", int(fen)) for s, fen in book.owed_to_sellers.items()),
                     key=lambda s: (-s.owed_fen, s.seller_id))
    return CashView(center.id, center.code, center.names, center.timezone, now,
                    {kind: int(amount) for kind, (amount, _) in today.items() if amount},
                    int(book.on_hand), int(book.owed_to_county), sellers, int(sum(fee for _, fee in month.values())),
                    int(pending or 0), may_move)


@dataclass(frozen=True, slots=True)
class Paid:
    seller_id: int
    seller_name: str
    amount_fen: int
    owed_left: int
    again: bool  # the same payout was recorded already (a second tap): nothing new happened


async def owed_to(store: Store, actor: Actor, center_id: int, seller_id: int) -> SellerOwed:
    """What the seller is owed at the center, for the partner about to pay them."""
    async with store.read() as session:
        await check_may_act(session, center_id, actor)
        return await _owed(session, center_id, seller_id)


async def _owed(session: AsyncSession, center_id: int, seller_id: int) -> SellerOwed:
    owed = int((await cashbook.balance(session, center_id)).owed_to_sellers.get(seller_id, 0))
    name = await session.scalar(select(Villager.first_name).where(Villager.id == seller_id))
    if owed <= 0 or name is None:
        raise NothingOwed()
    return SellerOwed(seller_id, name or "—", owed)


async def pay_seller(store: Store, clock: Clock, actor: Actor, center_id: int, seller_id: int, amount_fen: int,
                     token: str) -> Paid:
    """Pay the seller ``amount_fen`` in cash: a PAYOUT entry, and the seller is told. ``token`` is
    the confirmation's: a second tap on it records nothing more."""
    now, ref = clock.now(), f"payout:{center_id}:{token}"
    async with store.write() as session:
        await check_may_act(session, center_id, actor)
        # One payment at a time at a center: a double tap waits, then finds its entry; two payments
        # cannot both take what is owed only once.
        await session.get(ServiceCenter, center_id, with_for_update=True)
        done = await session.scalar(select(CashEntry).where(CashEntry.ref == ref))
        if done is not None:
            name = await session.scalar(select(Villager.first_name).where(Villager.id == done.seller_id))
            left = int((await cashbook.balance(session, center_id)).owed_to_sellers.get(seller_id, 0))
            return Paid(seller_id, name or "—", -done.amount_fen, left, True)
        seller = await _owed(session, center_id, seller_id)
        if amount_fen <= 0:
            raise NothingOwed()
        if amount_fen > seller.owed_fen:
            raise TooMuch(seller.owed_fen)
        entry = await cashbook.record(session, center_id, Entry.PAYOUT, -amount_fen, now, seller_id=seller_id,
                                      actor_telegram_id=actor.telegram_id, ref=ref)
        await outbox.enqueue(session, Kind.CASH, due_at=now, center_id=center_id, villager_id=seller_id,
                             payload={"event": "payout", "amount_fen": amount_fen, "entry_id": entry.id},
                             dedupe_key=f"cash:{ref}")
        return Paid(seller_id, seller.name, amount_fen, seller.owed_fen - amount_fen, False)


async def correct(store: Store, clock: Clock, actor: Actor, entry_id: int, amount_fen: int, reason: str) -> CashEntry:
    """A correction of entry ``entry_id`` by ``amount_fen`` (±, never 0): a new entry, for the
    entry's center's partners and admins. NotFound for an entry they may not touch (or none)."""
    async with store.write() as session:
        wrong = await session.get(CashEntry, entry_id)
        if wrong is None or not (actor.is_admin or await is_partner(session, wrong.center_id, actor.telegram_id)):
            raise NotFound("entry")
        if amount_fen == 0:
            raise NothingOwed()
        fix = await cashbook.correct(session, entry_id, amount_fen, 0, clock.now(),
                                     actor_telegram_id=actor.telegram_id, note=reason)
        session.expunge(fix)
        return fix


@dataclass(frozen=True, slots=True)
class EntryLine:
    id: int
    at: datetime
    kind: str
    amount_fen: int
    order_number: str | None
    seller_name: str | None
    note: str
    corrects_id: int | None


async def latest(store: Store, actor: Actor, center_id: int, limit: int = 10) -> tuple[str, list[EntryLine]]:
    """The center's timezone and its latest entries, newest first (their numbers are what /correct
    takes); NotYours for anyone who may not read its book."""
    async with store.read() as session:
        center = await session.get(ServiceCenter, center_id)
        if center is None or not await may_read(session, actor, center_id):
            raise NotYours()
        rows = (await session.execute(
            select(CashEntry, Order.number, Villager.first_name)
            .outerjoin(Order, Order.id == CashEntry.order_id).outerjoin(Villager, Villager.id == CashEntry.seller_id)
            .where(CashEntry.center_id == center_id).order_by(CashEntry.id.desc()).limit(limit))).all()
    return center.timezone, [EntryLine(e.id, e.at, e.kind, e.amount_fen, number, name, e.note, e.corrects_id)
                             for e, number, name in rows]


# ---- fees ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Fees:
    code: str
    names: dict
    order_bp: int
    order_fen: int
    services: dict[str, int]


def _fees(center: ServiceCenter) -> Fees:
    return Fees(center.code, center.names, center.order_fee_bp or 0, center.order_fee_fen or 0,
                {k: v for k, v in (center.service_fees or {}).items() if v})


async def fees(store: Store, actor: Actor, code: str) -> Fees:
    if not actor.is_admin:
        raise NotAdmin()
    async with store.read() as session:
        return _fees(await center_by_code(session, code))


async def set_fee(store: Store, actor: Actor, code: str, what: str, *, bp: int | None = None,
                  fen: int | None = None) -> Fees:
    """Set the center's fee on ``what``: "order" (``bp``, a share in basis points, or ``fen``, a
    fixed amount per order) or a service kind (``fen`` per service). Admins only."""
    if not actor.is_admin:
        raise NotAdmin()
    if what != "order" and (what not in SERVICE_KINDS or bp is not None):
        raise NotFound("fee")
    if (bp is not None and not 0 <= bp <= MAX_FEE_BP) or (fen is not None and not 0 <= fen <= MAX_FEE_FEN):
        raise TooMuch(MAX_FEE_BP if bp is not None else MAX_FEE_FEN)
    async with store.write() as session:
        center = await center_by_code(session, code)
        if what == "order" and bp is not None:
            center.order_fee_bp = bp
        elif what == "order":
            center.order_fee_fen = fen
        else:
            center.service_fees = {**(center.service_fees or {}), what: fen}
        return _fees(center)


# ---- /stats -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CashFigures:
    fees_month: int  # fees earned this month, all centers
    on_hand: int  # cash in the tills now
    handed_over_month: int  # handed to the county this month (confirmed or waiting)
    waiting_fen: int  # handed over, not yet confirmed
    disputed: int  # handovers the county said never arrived, this month


async def figures(store: Store, now: datetime, timezone: str, counties: set[int] | None = None) -> CashFigures:
    """The cash of the centers of ``counties`` (None: every center)."""
    since = month_start(now, timezone)
    entries, handovers = in_counties(CashEntry.center_id, counties), in_counties(Handover.center_id, counties)
    async with store.read() as session:
        fees_month = await session.scalar(select(func.coalesce(func.sum(CashEntry.fee_fen), 0))
                                          .where(CashEntry.at >= since, entries))
        on_hand = await session.scalar(select(func.coalesce(func.sum(CashEntry.amount_fen), 0)).where(entries))
        rows = (await session.execute(select(Handover.status, func.count(), func.sum(Handover.amount_fen))
                                      .where(Handover.at >= since, handovers).group_by(Handover.status))).all()
        waiting = await session.scalar(select(func.coalesce(func.sum(Handover.amount_fen), 0))
                                       .where(Handover.status == "pending", handovers))
    by = {status: (n, int(fen or 0)) for status, n, fen in rows}
    return CashFigures(int(fees_month or 0), int(on_hand or 0), by.get("pending", (0, 0))[1] + by.get("confirmed", (0, 0))[1],
                       int(waiting or 0), by.get("disputed", (0, 0))[0])
