"""Problems after pickup: a villager reports what was wrong with an order they picked up.

For ``PROBLEM_DAYS`` after the pickup, the villager fills in a report one step at a time (a
``draft``): the lines and quantities concerned (never more than bought, less what an earlier
problem already settled), a reason, and a photo or none. Sent, it is ``open`` on the desk of the
center where it was picked up (and paid), whose partner decides (services/problem_desk.py).

A town buyer's delivery order is the same, for ``PROBLEM_DAYS`` after it was delivered, on the
desk of the seller's center; what it paid is its goods (paid online or to the carrier, not at the
counter; its delivery is not refunded), and a refund goes back the way it was paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from locales import localized
from services import outbox
from services.amounts import line_total_fen
from services.clock import Clock
from services.counties import in_counties
from services.errors import DomainError, InvalidQuantity, NotAllowed, NotFound
from services.outbox import Kind
from services.states import OrderStatus
from store.db import Store
from store.models import CashEntry, Order, OrderEvent, OrderLine, OrderProblem, ServiceCenter, Villager

PROBLEM_DAYS = 7
REASONS = ("damaged", "wrong_item", "missing", "spoiled", "other")
# The order's timeline: one event per step of a problem (Order.status stays picked_up).
EVENTS = ("problem_reported", "problem_refunded", "problem_replaced", "problem_declined")


class Status(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    REFUNDED = "refunded"
    REPLACED = "replaced"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Step(StrEnum):
    LINES = "lines"
    REASON = "reason"
    PHOTO = "photo"


SETTLED = (Status.REFUNDED, Status.REPLACED)


class TooLate(DomainError):
    """The order is not picked up, or was picked up more than PROBLEM_DAYS ago."""


class ProblemOpen(DomainError):
    """A problem with this order already waits for the partner."""


class NothingLeft(DomainError):
    """Every line of the order is settled already (refunded or replaced)."""


class NothingChosen(DomainError):
    """No line was chosen yet."""


@dataclass(frozen=True, slots=True)
class ProblemLine:
    line_id: int
    names: dict
    unit: str
    price_fen: int
    produce: bool  # quantities in thousandths of the unit; else whole units
    bought: int
    most: int  # what may still be reported: bought, less what earlier problems settled
    chosen: int

    def name(self, language: str) -> str:
        return localized(self.names, language)

    @property
    def step(self) -> int:
        return 1000 if self.produce else 1


def line_fen(line: ProblemLine | OrderLine, quantity: int) -> int:
    """What ``quantity`` of a line cost."""
    if getattr(line, "produce", None) or getattr(line, "quantity_milli", None) is not None:
        return line_total_fen(line.price_fen, quantity)
    return line.price_fen * quantity


@dataclass(frozen=True, slots=True)
class ProblemView:
    id: int
    order_id: int
    order_number: str
    villager_id: int
    villager_name: str
    center_id: int
    center_timezone: str
    desk_locale: str | None
    status: str
    step: str | None
    reason: str | None
    photo: str | None
    lines: list[ProblemLine]
    decision: str | None
    refunded_fen: int
    refund_lines: dict[int, int]
    replacement_number: str | None
    decline_reason: str
    restock: str | None
    decided_by: str | None
    reported_at: datetime | None
    decided_at: datetime | None
    paid_fen: int  # cash collected for the order (a delivery order: its goods, paid away)
    refundable_fen: int  # what is left of it to refund, before this problem is decided
    cards: dict[int, int]  # chat id -> message id of its card there
    # A delivery order's payment_method ("online", "cash_on_delivery"): its refund does not leave
    # the till; None for an order paid at the counter.
    paid_away: str | None = None

    @property
    def chosen(self) -> list[ProblemLine]:
        return [line for line in self.lines if line.chosen]

    @property
    def chosen_fen(self) -> int:
        """A refund of the chosen lines (never more than is left to refund)."""
        return min(self.refundable_fen, sum(line_fen(line, line.chosen) for line in self.chosen))

    @property
    def whole_fen(self) -> int:
        """A refund of everything not yet settled."""
        return min(self.refundable_fen, sum(line_fen(line, line.most) for line in self.lines))

    @property
    def goods_back(self) -> bool:
        """Goods came back to the counter and wait for the partner's word: sellable or not."""
        return self.status in SETTLED and self.reason != "missing" and self.restock is None


def _keys(lines: dict) -> dict[int, int]:
    return {int(k): int(v) for k, v in (lines or {}).items()}


async def settled_lines(session: AsyncSession, order_id: int, but: int | None = None) -> dict[int, int]:
    """Per order line, the quantity earlier problems refunded or replaced."""
    settled: dict[int, int] = {}
    for problem in (await session.scalars(select(OrderProblem).where(
            OrderProblem.order_id == order_id, OrderProblem.status.in_([str(s) for s in SETTLED]),
            OrderProblem.id != (but or 0)))).all():
        done = problem.refund_lines if problem.status == Status.REFUNDED else problem.lines
        for line_id, quantity in _keys(done).items():
            settled[line_id] = settled.get(line_id, 0) + quantity
    return settled


async def refunded_fen(session: AsyncSession, order_id: int) -> int:
    return int(await session.scalar(select(func.coalesce(func.sum(OrderProblem.refunded_fen), 0))
                                    .where(OrderProblem.order_id == order_id)) or 0)  # PostgreSQL: a Decimal


async def load_view(session: AsyncSession, problem: OrderProblem) -> ProblemView:
    order = await session.get(Order, problem.order_id)
    center = await session.get(ServiceCenter, problem.center_id)
    villager = await session.get(Villager, problem.villager_id)
    decider = await session.get(Villager, problem.decided_by_id) if problem.decided_by_id else None
    replacement = await session.get(Order, problem.replacement_order_id) if problem.replacement_order_id else None
    settled = await settled_lines(session, order.id, but=problem.id)
    chosen = _keys(problem.lines)
    lines = []
    for line in (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                                       .order_by(OrderLine.id))).all():
        produce = line.quantity_milli is not None
        bought = line.quantity_milli if produce else line.quantity or 0
        lines.append(ProblemLine(line.id, line.names, line.unit, line.price_fen, produce, bought,
                                 max(0, bought - settled.get(line.id, 0)), chosen.get(line.id, 0)))
    paid_away = order.payment_method if order.ship_to is not None else None
    paid = order.total_fen if paid_away and order.status == OrderStatus.DELIVERED else order.cash_collected_fen or 0
    others = await refunded_fen(session, order.id) - problem.refunded_fen
    return ProblemView(
        problem.id, order.id, order.number, problem.villager_id, villager.first_name if villager else "",
        center.id, center.timezone, center.desk_locale, problem.status, problem.step, problem.reason,
        problem.photo, lines, problem.decision, problem.refunded_fen, _keys(problem.refund_lines),
        replacement.number if replacement else None, problem.decline_reason, problem.restock,
        decider.first_name if decider else None, problem.reported_at, problem.decided_at, paid,
        max(0, paid - others), {int(k): int(v) for k, v in (problem.cards or {}).items()}, paid_away)


RECEIVED = (OrderStatus.PICKED_UP, OrderStatus.DELIVERED)  # the buyer has it: picked up or delivered


async def picked_up_at(session: AsyncSession, order: Order) -> datetime | None:
    """When the buyer got the order: picked up, or delivered."""
    return await session.scalar(select(func.max(OrderEvent.at)).where(
        OrderEvent.order_id == order.id, OrderEvent.status == order.status))


async def _check_window(session: AsyncSession, order: Order, now: datetime) -> None:
    picked = await picked_up_at(session, order) if order.status in RECEIVED else None
    if picked is None or now - picked > timedelta(days=PROBLEM_DAYS):
        raise TooLate()


async def _own_order(session: AsyncSession, villager_id: int, order_id: int, lock: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id, Order.villager_id == villager_id)
    order = await session.scalar(query.with_for_update() if lock else query)
    if order is None:
        raise NotFound("order")
    return order


async def reportable(store: Store, clock: Clock, villager_id: int, order_id: int) -> bool:
    """Whether My orders offers ⚠️ Problem on the order now."""
    async with store.read() as session:
        try:
            order = await _own_order(session, villager_id, order_id)
            await _check_window(session, order, clock.now())
        except (NotFound, TooLate):
            return False
        return True


async def start(store: Store, clock: Clock, villager_id: int, order_id: int) -> ProblemView:
    """⚠️ Problem on an order: a draft report at its first step (the villager's draft for this
    order, if one was left half done). Refused after the window, while another report on the order
    waits for the partner, and when every line is settled."""
    now = clock.now()
    async with store.write() as session:
        order = await _own_order(session, villager_id, order_id, lock=True)
        await _check_window(session, order, now)
        if await session.scalar(select(OrderProblem.id).where(
                OrderProblem.order_id == order.id, OrderProblem.status == Status.OPEN)) is not None:
            raise ProblemOpen()
        problem = await session.scalar(select(OrderProblem).where(
            OrderProblem.order_id == order.id, OrderProblem.status == Status.DRAFT))
        if problem is None:
            problem = OrderProblem(order_id=order.id, villager_id=villager_id, center_id=order.center_id,
                                   status=Status.DRAFT, lines={}, refund_lines={}, refunded_fen=0,
                                   decline_reason="", cards={}, created_at=now)
            session.add(problem)
        problem.step = Step.LINES
        await session.flush()
        view = await load_view(session, problem)
        if not any(line.most for line in view.lines):
            raise NothingLeft()
        return view


async def _draft(session: AsyncSession, villager_id: int, problem_id: int) -> OrderProblem:
    problem = await session.scalar(select(OrderProblem).where(
        OrderProblem.id == problem_id, OrderProblem.villager_id == villager_id).with_for_update())
    if problem is None:
        raise NotFound("problem")
    if problem.status != Status.DRAFT:
        raise NotAllowed(problem.status)
    return problem


async def draft(store: Store, villager_id: int, problem_id: int) -> ProblemView:
    """The villager's own report, in any status (NotFound for anyone else's)."""
    async with store.read() as session:
        problem = await session.scalar(select(OrderProblem).where(
            OrderProblem.id == problem_id, OrderProblem.villager_id == villager_id))
        if problem is None:
            raise NotFound("problem")
        return await load_view(session, problem)


async def set_quantity(store: Store, clock: Clock, villager_id: int, problem_id: int, line_id: int,
                       quantity: int) -> ProblemView:
    """How much of a line is concerned: 0 up to what was bought and is not settled yet."""
    async with store.write() as session:
        problem = await _draft(session, villager_id, problem_id)
        view = await load_view(session, problem)
        line = next((line for line in view.lines if line.line_id == line_id), None)
        if line is None:
            raise NotFound("line")
        if not 0 <= quantity <= line.most:
            raise InvalidQuantity(line.most)
        lines = {k: v for k, v in _keys(problem.lines).items() if k != line_id}
        if quantity:
            lines[line_id] = quantity
        problem.lines = {str(k): v for k, v in lines.items()}
        problem.step = Step.LINES
        await session.flush()
        return await load_view(session, problem)


async def to_step(store: Store, clock: Clock, villager_id: int, problem_id: int, step: Step) -> ProblemView:
    """Go to a step (forward from the lines once one is chosen; back at any time)."""
    async with store.write() as session:
        problem = await _draft(session, villager_id, problem_id)
        if step != Step.LINES and not problem.lines:
            raise NothingChosen()
        if step == Step.PHOTO and not problem.reason:
            step = Step.REASON
        problem.step = step
        return await load_view(session, problem)


async def set_reason(store: Store, clock: Clock, villager_id: int, problem_id: int, reason: str) -> ProblemView:
    if reason not in REASONS:
        raise NotFound("reason")
    async with store.write() as session:
        problem = await _draft(session, villager_id, problem_id)
        if not problem.lines:
            raise NothingChosen()
        problem.reason, problem.step = reason, Step.PHOTO
        return await load_view(session, problem)


async def cancel(store: Store, clock: Clock, villager_id: int, problem_id: int) -> ProblemView:
    async with store.write() as session:
        problem = await _draft(session, villager_id, problem_id)
        problem.status, problem.step = Status.CANCELLED, None
        return await load_view(session, problem)


async def submit(store: Store, clock: Clock, villager_id: int, problem_id: int, photo: str | None) -> ProblemView:
    """Send the report (with its photo, or none) to the desk of the center where it was picked up.
    The quantities are checked again: another report may have been settled meanwhile."""
    now = clock.now()
    async with store.write() as session:
        problem = await _draft(session, villager_id, problem_id)
        order = await _own_order(session, villager_id, problem.order_id, lock=True)
        await _check_window(session, order, now)
        if not problem.lines or not problem.reason:
            raise NothingChosen()
        if await session.scalar(select(OrderProblem.id).where(
                OrderProblem.order_id == order.id, OrderProblem.status == Status.OPEN)) is not None:
            raise ProblemOpen()
        view = await load_view(session, problem)
        for line in view.chosen:
            if line.chosen > line.most:
                raise InvalidQuantity(line.most)
        problem.photo = photo
        problem.status, problem.step, problem.reported_at = Status.OPEN, None, now
        session.add(OrderEvent(order_id=order.id, status="problem_reported", at=now, actor_id=villager_id,
                               note=""))
        await outbox.enqueue(session, Kind.PROBLEM_CARD, due_at=now, order_id=order.id,
                             center_id=problem.center_id, payload={"problem_id": problem.id})
        await session.flush()
        return await load_view(session, problem)


@dataclass(frozen=True, slots=True)
class Figures:
    """For /stats: problems reported, and refunds paid back (how many, how much), since a time."""

    reported: int
    refunds: int
    refunded_fen: int


async def figures(store: Store, since: datetime, counties: set[int] | None = None) -> Figures:
    """Problems reported since ``since``, and the refunds paid (at the centers of ``counties``)."""
    async with store.read() as session:
        reported = await session.scalar(select(func.count(OrderProblem.id)).where(
            OrderProblem.reported_at >= since, in_counties(OrderProblem.center_id, counties)))
        count, amount = (await session.execute(
            select(func.count(CashEntry.id), func.coalesce(func.sum(CashEntry.amount_fen), 0))
            .where(CashEntry.kind == "refund", CashEntry.at >= since, in_counties(CashEntry.center_id, counties)))).one()
    return Figures(int(reported or 0), int(count or 0), -int(amount or 0))
