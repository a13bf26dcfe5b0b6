"""Money paid online for an order (the ``payments`` ledger) given back: a refund row the payment
provider pays out, and the buyer told. Used when a paid delivery order lapses, is rejected by the
seller's center or cancelled by its buyer (services/town_orders.py, services/desks.py,
services/orders.py), and for a problem after delivery (services/problem_desk.py).

The Bot API cannot refund payments for physical goods: a person refunds each one in the payment
provider's dashboard, by the payment's provider charge id. So every refund row (``add_refund``, in
the same transaction) queues a ``Kind.REFUND_DUE`` notice: the pump makes it one card for each
admin and each staff of the seller's county (``fan_out``), with ✅ Refunded at the provider.
``confirm`` records, once, who said it was paid back and when (the row's ``confirmed_at`` and
``confirmed_by``, set once and never changed); ``owed`` lists the refunds not confirmed yet
(/refunds).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services import counties, outbox
from services.clock import Clock
from services.errors import AlreadyDone, NotAdmin, NotYours
from services.outbox import Kind
from services.partners import Actor
from store.db import Store
from store.models import CountyStaff, Order, OrderEvent, Payment, ServiceCenter, Villager

REFUND = "refund"
OWED_SHOWN = 10  # /refunds shows this many cards, oldest first; it says how many more wait


@dataclass(frozen=True, slots=True)
class RefundDue:
    """A refund row as its card shows it."""

    payment_id: int
    order_id: int
    order_number: str
    center_id: int
    timezone: str
    amount_fen: int  # what goes back to the card (positive)
    currency: str
    buyer_name: str
    telegram_charges: tuple[str, ...]  # the order's payments: what the refund goes back to
    provider_charges: tuple[str, ...]
    reason: str  # "rejected", "cancelled", "lapsed", "problem", or else the row's note as it is
    detail: str  # the desk's reason code for a rejection, "" otherwise
    at: datetime
    confirmed_at: datetime | None
    confirmed_by: str | None  # a first name (or the telegram id)


@dataclass(frozen=True, slots=True)
class Owed:
    shown: list[RefundDue]  # the oldest OWED_SHOWN
    total: int  # how many wait in all


async def add_refund(session: AsyncSession, order: Order, amount_fen: int, now: datetime, *, ref: str, note: str,
                     currency: str = "CNY", actor_telegram_id: int | None = None) -> Payment:
    """The one way a refund row is written: ``amount_fen`` (> 0) goes back to the buyer's card, and
    the admins are told, in the same transaction, to pay it back at the provider."""
    payment = Payment(order_id=order.id, kind=REFUND, amount_fen=-amount_fen, currency=currency,
                      telegram_charge_id=None, provider_charge_id="", ref=ref, at=now,
                      actor_telegram_id=actor_telegram_id, note=note[:300])
    session.add(payment)
    await session.flush()
    await outbox.enqueue(session, Kind.REFUND_DUE, due_at=now, order_id=order.id,
                         payload={"payment_id": payment.id}, dedupe_key=f"refund-due:{payment.id}")
    return payment


async def refund_in_full(session: AsyncSession, order: Order, now: datetime, *, note: str,
                         actor_telegram_id: int | None = None) -> int:
    """Give back everything paid online for ``order`` and not yet refunded: a refund row in
    ``payments`` (the provider pays it back; see the README); returns the fen refunded."""
    rows = (await session.scalars(select(Payment).where(Payment.order_id == order.id))).all()
    left = sum(row.amount_fen for row in rows)
    if left <= 0:
        return 0
    await add_refund(session, order, left, now, ref=f"refund:{order.id}:{len(rows)}", note=note,
                     currency=rows[0].currency, actor_telegram_id=actor_telegram_id)
    await outbox.enqueue(session, Kind.STATUS, due_at=now, order_id=order.id, villager_id=order.villager_id,
                         payload={"refunded_fen": left})
    return left


def _reason(note: str) -> str:
    if note == "rejected":
        return "rejected"
    if note.startswith("cancelled"):
        return "cancelled"
    if note == "reservation lapsed":
        return "lapsed"
    if note.startswith("problem "):
        return "problem"
    return note


async def _name(session: AsyncSession, telegram_id: int | None) -> str | None:
    if telegram_id is None:
        return None
    return await session.scalar(select(Villager.first_name).where(Villager.telegram_id == telegram_id)) \
        or str(telegram_id)


def _center_of(order: Order) -> int:
    return order.seller_center_id or order.center_id


async def _view(session: AsyncSession, payment: Payment) -> RefundDue:
    order = await session.get(Order, payment.order_id)
    center = await session.get(ServiceCenter, _center_of(order))
    paid = (await session.scalars(select(Payment).where(Payment.order_id == order.id, Payment.kind == "payment")
                                  .order_by(Payment.id))).all()
    buyer = (order.ship_to or {}).get("name") or await session.scalar(
        select(Villager.first_name).where(Villager.id == order.villager_id)) or ""
    reason = _reason(payment.note)
    detail = ""
    if reason == "rejected":
        detail = await session.scalar(select(OrderEvent.note).where(
            OrderEvent.order_id == order.id, OrderEvent.status == "rejected").order_by(OrderEvent.id.desc())
            .limit(1)) or ""
    return RefundDue(payment.id, order.id, order.number, center.id, center.timezone, -payment.amount_fen,
                     payment.currency, buyer, tuple(p.telegram_charge_id or "" for p in paid),
                     tuple(p.provider_charge_id for p in paid), reason, detail, payment.at, payment.confirmed_at,
                     await _name(session, payment.confirmed_by))


async def _refund(session: AsyncSession, payment_id: int, actor: Actor, lock: bool = False) -> Payment:
    """The refund row, for someone who may see it (an admin, or staff of the seller's county)."""
    query = select(Payment).where(Payment.id == payment_id, Payment.kind == REFUND)
    payment = await session.scalar(query.with_for_update() if lock else query)
    if payment is None:
        raise NotYours()
    order = await session.get(Order, payment.order_id)
    if not await counties.may_supervise(session, actor, _center_of(order)):
        raise NotYours()
    return payment


async def refund_view(store: Store, payment_id: int) -> RefundDue | None:
    async with store.read() as session:
        payment = await session.get(Payment, payment_id)
        if payment is None or payment.kind != REFUND:
            return None
        return await _view(session, payment)


async def may_see(store: Store, actor: Actor, payment_id: int) -> RefundDue:
    """The refund for someone who may confirm it; NotYours otherwise."""
    async with store.read() as session:
        return await _view(session, await _refund(session, payment_id, actor))


async def confirm(store: Store, clock: Clock, actor: Actor, payment_id: int) -> RefundDue:
    """✅ Refunded at the provider: who said so and when, recorded once. NotYours for anyone but the
    admins and the staff of the seller's county; AlreadyDone once confirmed."""
    now = clock.now()
    async with store.write() as session:
        payment = await _refund(session, payment_id, actor, lock=True)
        done = await session.execute(
            update(Payment).where(Payment.id == payment.id, Payment.confirmed_at.is_(None))
            .values(confirmed_at=now, confirmed_by=actor.telegram_id).execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise AlreadyDone("confirmed")
        await session.refresh(payment)
        return await _view(session, payment)


async def owed(store: Store, actor: Actor) -> Owed:
    """The refunds not confirmed yet, oldest first: every one for an admin, those of their counties
    for county staff; NotAdmin for anyone else."""
    async with store.read() as session:
        scope = None if actor.is_admin else await counties.staff_counties(session, actor.telegram_id)
        if scope is not None and not scope:
            raise NotAdmin()
        center = func.coalesce(Order.seller_center_id, Order.center_id)
        query = (select(Payment).join(Order, Order.id == Payment.order_id)
                 .where(Payment.kind == REFUND, Payment.confirmed_at.is_(None),
                        counties.in_counties(center, scope)))
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (await session.scalars(query.order_by(Payment.at, Payment.id).limit(OWED_SHOWN))).all()
        return Owed([await _view(session, row) for row in rows], total or 0)


async def fan_out(store: Store, row_id: int, payment_id: int, admin_telegram_ids: Iterable[int],
                  now: datetime) -> int:
    """One refund notice (outbox row ``row_id``) becomes one card for each admin and each staff of
    the seller's county the bot can write to, each its own outbox row, sent and retried alone."""
    async with store.write() as session:
        payment = await session.get(Payment, payment_id)
        if payment is None or payment.confirmed_at is not None:
            return 0
        order = await session.get(Order, payment.order_id)
        staff = select(CountyStaff.telegram_id).join(
            ServiceCenter, ServiceCenter.county_id == CountyStaff.county_id).where(
            ServiceCenter.id == _center_of(order))
        people = (await session.execute(
            select(Villager.id, Villager.telegram_id).where(
                or_(Villager.telegram_id.in_(sorted(set(admin_telegram_ids))), Villager.telegram_id.in_(staff)),
                ~Villager.unreachable).order_by(Villager.telegram_id))).all()
        for villager_id, telegram_id in people:
            await outbox.enqueue(session, Kind.REFUND_DUE, due_at=now, order_id=order.id, villager_id=villager_id,
                                 payload={"payment_id": payment_id, "to": telegram_id},
                                 dedupe_key=f"refund-due:{row_id}:{telegram_id}")
        return len(people)
