"""Parcels nobody collected: the desk's list of parcels to send back, and sending one back.

    ready_for_pickup ──RETURN_AFTER_DAYS──> on the desk's list ──↩️ Return──> returned
                                                  └──⏳ Keep──> on a later list, KEEP_FOR later

When a parcel reaches the village, ``reminders.queue`` adds a RETURN_DUE row to the outbox, due
RETURN_AFTER_DAYS later: its round 0. ⏳ Keep adds the next round, due KEEP_FOR later, whose
payload says who kept it, when, and until when. A RETURN_DUE row is the parcel's date with the
desk. The rows of a center that fall due together make one list (``take_due``), even when several
pumps claimed them: the row that is sent is the list, and its payload keeps the parcels it shows
(``"list": [[order id, round], ...]``), which its buttons name by the row's id, so that the list
can be shown again as it stands after a tap. A parcel that arrived before this existed has no
round 0: the outbox pump looks for overdue parcels without one every hour (``plan_missing``).

A returned order collected no cash, so nothing goes into the cash book. Its stock goes back
(``orders.move_order``), its reminders and rounds are withdrawn, its villager and, for produce,
its seller are told, and its card on the desk shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import outbox, parcels
from services.clock import Clock
from services.counties import in_counties
from services.errors import AlreadyDone, DomainError, NotAllowed, NotFound, NotYours
from services.listings import tell_seller
from services.outbox import Kind
from services.partners import Actor, check_may_act, check_may_see
from services.reminders import return_key
from services.states import OrderStatus
from store.db import Store
from store.models import Order, OrderEvent, OutboxMessage, ServiceCenter, Villager

S = OrderStatus
KEEP_FOR = timedelta(days=3)  # ⏳ Keep: the parcel comes back on a list this much later
# What a returned parcel's rows in the outbox were for: nothing of them is wanted any more.
WITHDRAWN = {Kind.REMINDER, Kind.UNCOLLECTED, Kind.RETURN_DUE}


class AlreadyKept(DomainError):
    """⏳ Keep was tapped already for this parcel on this list: it comes back at ``until``."""

    def __init__(self, until: datetime, by: str):
        super().__init__(f"already kept until {until.isoformat()}")
        self.until = until
        self.by = by


@dataclass(frozen=True, slots=True)
class ListedParcel:
    """A parcel on a list of parcels to send back, as it stands now."""

    order_id: int
    number: str
    status: str
    round: int  # 0: first listed after RETURN_AFTER_DAYS; n: kept n times before
    arrived_at: datetime | None
    kept_by: str | None = None  # round > 0: who kept it on an earlier list ("" if they used /forget)
    kept_at: datetime | None = None
    kept_again_by: str | None = None  # kept from this list: by whom, and until when
    kept_until: datetime | None = None

    @property
    def waiting(self) -> bool:
        """Still for the desk to decide from this list: return it or keep it."""
        return self.status == S.READY_FOR_PICKUP and self.kept_until is None


@dataclass(frozen=True, slots=True)
class ReturnList:
    id: int
    center_id: int
    timezone: str
    parcels: list[ListedParcel]


async def take_due(store: Store, center_id: int, now: datetime, row_id: int) -> ReturnList | None:
    """The list to send for the RETURN_DUE row ``row_id``: every row of the center due now, one
    list however many fell due together, even when several pumps claimed them. The row sent
    closes the others; a row closed that way is not sent (None). The rows are locked in id
    order, so two pumps here take turns rather than deadlock, and the second sees the first's
    rows closed. A row sent again (Telegram asked to wait) keeps the parcels it listed."""
    async with store.write() as session:
        due = (await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.center_id == center_id, OutboxMessage.kind == str(Kind.RETURN_DUE),
                   OutboxMessage.is_open, OutboxMessage.due_at <= now)
            .order_by(OutboxMessage.id).with_for_update()
        )).all()
        sent = next((row for row in due if row.id == row_id), None)
        if sent is None:
            return None
        listed = [tuple(item) for item in sent.payload.get("list", [])]
        for row in due:
            item = (row.order_id, int(row.payload.get("round", 0)))
            if item not in listed:
                listed.append(item)
            if row is not sent:
                row.is_open, row.sent_at, row.claimed_until = False, now, None
        sent.payload = {**sent.payload, "list": [list(item) for item in listed]}
        await session.flush()
        return await _list_view(session, sent)


async def plan_missing(store: Store, now: datetime, return_after: timedelta) -> int:
    """Give a round 0, due now, to each parcel waiting longer than ``return_after`` that has no
    RETURN_DUE row at all (one that reached the village before the lists existed). Returns how
    many. An order's ``updated_at`` is its arrival while it is ready for pickup (nothing else
    moves it); the dedupe key keeps a parcel found by two pumps at once single."""
    async with store.read() as session:
        dated = select(OutboxMessage.id).where(OutboxMessage.order_id == Order.id,
                                               OutboxMessage.kind == str(Kind.RETURN_DUE)).exists()
        overdue = (await session.execute(
            select(Order.id, Order.center_id)
            .where(Order.status == S.READY_FOR_PICKUP, Order.updated_at <= now - return_after, ~dated)
            .order_by(Order.id))).all()
    if overdue:
        async with store.write() as session:
            for order_id, center_id in overdue:
                await outbox.enqueue(session, Kind.RETURN_DUE, due_at=now, order_id=order_id, center_id=center_id,
                                     payload={"round": 0}, dedupe_key=return_key(order_id, 0))
    return len(overdue)


async def list_for(store: Store, list_id: int, actor: Actor, chat_id: int) -> ReturnList:
    """A list as it stands now, for ``actor`` in ``chat_id``: NotYours unless they may see its
    center's cards there (``partners.check_may_see``), or if there is no such list."""
    async with store.read() as session:
        row = await _list_row(session, list_id)
        await check_may_see(session, {row.center_id}, actor, chat_id)
        return await _list_view(session, row)


async def return_parcel(store: Store, clock: Clock, actor: Actor, list_id: int, order_id: int) -> parcels.Moved:
    """↩️ Return: the parcel on the list goes back. Only the center's partners and admins;
    once only (AlreadyDone); a parcel picked up meanwhile is NotAllowed."""
    now = clock.now()
    async with store.write() as session:
        order = await parcels.lock_order(session, order_id)
        await check_may_act(session, order.center_id, actor)
        await _listed(session, list_id, order)
        if order.status == S.RETURNED:
            raise AlreadyDone(order.status)
        if order.status != S.READY_FOR_PICKUP:
            raise NotAllowed(order.status)
        await parcels.move_and_announce(session, order, S.RETURNED, now, await parcels.acting_villager(session, actor))
        await outbox.cancel(session, order_id=order.id, kinds=WITHDRAWN, at=now)
        for listing in await parcels.listings_of(session, order.id):
            await tell_seller(session, listing, now, "returned", order_id=order.id)
        return parcels.Moved(order.id, order.number, order.status, order.center_id, order.total_fen)


@dataclass(frozen=True, slots=True)
class Kept:
    number: str
    until: datetime


async def keep_parcel(store: Store, clock: Clock, actor: Actor, list_id: int, order_id: int) -> Kept:
    """⏳ Keep: the parcel stays KEEP_FOR longer, then comes back on a list that says who kept it.
    Once per list (AlreadyKept); only while it waits for pickup."""
    now = clock.now()
    async with store.write() as session:
        order = await parcels.lock_order(session, order_id)
        await check_may_act(session, order.center_id, actor)
        round_ = await _listed(session, list_id, order)
        if order.status != S.READY_FOR_PICKUP:
            raise NotAllowed(order.status)
        kept = await session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == return_key(order.id, round_ + 1)))
        if kept is not None:
            raise AlreadyKept(datetime.fromisoformat(kept.payload["until"]),
                              await _name(session, kept.payload.get("kept_by")))
        until = now + KEEP_FOR
        await outbox.enqueue(session, Kind.RETURN_DUE, due_at=until, order_id=order.id, center_id=order.center_id,
                             payload={"round": round_ + 1, "kept_by": await parcels.acting_villager(session, actor),
                                      "kept_at": now.isoformat(), "until": until.isoformat()},
                             dedupe_key=return_key(order.id, round_ + 1))
        return Kept(order.number, until)


async def returned_count(store: Store, since: datetime | None = None, counties: set[int] | None = None) -> int:
    """Orders sent back uncollected (since ``since``, if given; at the centers of ``counties``), for /stats."""
    async with store.read() as session:
        query = (select(func.count(func.distinct(OrderEvent.order_id))).join(Order, Order.id == OrderEvent.order_id)
                 .where(OrderEvent.status == S.RETURNED, in_counties(Order.center_id, counties)))
        if since is not None:
            query = query.where(OrderEvent.at >= since)
        return await session.scalar(query) or 0


# ---- reading a list ---------------------------------------------------------------------------

async def _list_row(session: AsyncSession, list_id: int) -> OutboxMessage:
    row = await session.get(OutboxMessage, list_id)
    if row is None or row.kind != Kind.RETURN_DUE or "list" not in row.payload:
        raise NotYours()
    return row


async def _listed(session: AsyncSession, list_id: int, order: Order) -> int:
    """The round the order is on the list with; NotFound if the list does not show it."""
    row = await session.get(OutboxMessage, list_id)
    if row is None or row.kind != Kind.RETURN_DUE or row.center_id != order.center_id:
        raise NotFound("order")
    rounds = [int(r) for o, r in row.payload.get("list", []) if o == order.id]
    if not rounds:
        raise NotFound("order")
    return rounds[0]


async def _name(session: AsyncSession, villager_id: int | None) -> str:
    """A keeper's first name; "" if unknown or forgotten (/forget)."""
    if villager_id is None:
        return ""
    return await session.scalar(select(Villager.first_name).where(Villager.id == villager_id)) or ""


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


async def _list_view(session: AsyncSession, row: OutboxMessage) -> ReturnList:
    items = [(int(order_id), int(round_)) for order_id, round_ in row.payload.get("list", [])]
    ids = [order_id for order_id, _ in items]
    orders = {o.id: o for o in (await session.scalars(select(Order).where(Order.id.in_(ids)))).all()}
    arrived = dict((await session.execute(
        select(OrderEvent.order_id, func.max(OrderEvent.at))
        .where(OrderEvent.order_id.in_(ids), OrderEvent.status == S.READY_FOR_PICKUP)
        .group_by(OrderEvent.order_id))).all())
    keys = [return_key(o, r) for o, r in items] + [return_key(o, r + 1) for o, r in items]
    rounds = {m.dedupe_key: m.payload for m in (await session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key.in_(keys)))).all()}
    parcels_: list[ListedParcel] = []
    for order_id, round_ in items:
        order = orders.get(order_id)
        if order is None:
            continue
        this, after = rounds.get(return_key(order_id, round_), {}), rounds.get(return_key(order_id, round_ + 1))
        parcels_.append(ListedParcel(
            order_id, order.number, order.status, round_, arrived.get(order_id),
            kept_by=await _name(session, this.get("kept_by")) if round_ else None, kept_at=_when(this.get("kept_at")),
            kept_again_by=await _name(session, after.get("kept_by")) if after else None,
            kept_until=_when(after.get("until")) if after else None))
    timezone = await session.scalar(select(ServiceCenter.timezone).where(ServiceCenter.id == row.center_id))
    return ReturnList(row.id, row.center_id, timezone or "Asia/Shanghai", parcels_)
