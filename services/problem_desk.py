"""The partner's decisions on a problem after pickup (services/problems.py): a refund, a replacement
order, or a decline with a reason; then, for goods that came back, whether they can be sold again.

Only the partners of the center where the order was picked up (and paid), and admins, decide.
Each decision is once: a second tap finds it done (``AlreadyDone``). A refund is cash paid back
at the counter: a REFUND entry in the cash book (negative), with the partner's order fee corrected
in proportion and, for produce, the seller's money (their earnings drop). A delivered town order's
refund never leaves the till: the seller's REFUND is matched by the money the county held for it
(``cashbook.record_away``), and when it was paid online a refund row in ``payments`` says what the
payment provider pays back to the card (see the README). An order is never
refunded more than was paid for it, and a line never more than was bought.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services import cashbook, outbox
from services.cashbook import Entry
from services.catalog import note_stock_change
from services.clock import Clock
from services.errors import AlreadyDone, DomainError, NotAllowed, NotEnoughStock, NotFound, NotYours
from services.listings import Status as ListingStatus
from services.orders import new_order_number
from services.outbox import Kind
from services.parcels import acting_villager, lock_order
from services.partners import Actor, check_may_act, check_may_see
from services.problems import ProblemView, Status, load_view
from services.refunds import add_refund
from services.states import OrderStatus
from services.town_orders import ONLINE
from store.db import Store
from store.models import CashEntry, Listing, Order, OrderEvent, OrderLine, OrderProblem, Payment, Product

DECLINE_REASONS = ("not_seen", "after_pickup", "settled")
MAX_REASON = 300
DECIDED = (Status.REFUNDED, Status.REPLACED, Status.DECLINED)


class NothingToRefund(DomainError):
    """The order's cash was all paid back already."""


async def card_view(store: Store, problem_id: int) -> ProblemView | None:
    """A problem as its card shows it (a draft or a cancelled one has no card)."""
    async with store.read() as session:
        problem = await session.get(OrderProblem, problem_id)
        if problem is None or problem.status in (Status.DRAFT, Status.CANCELLED):
            return None
        return await load_view(session, problem)


async def card_for(store: Store, problem_id: int, actor: Actor, chat_id: int) -> ProblemView:
    """The problem's card, for ``actor`` in ``chat_id``: NotYours unless it may be seen there (the
    desk of its center, or the private chat of one of its partners or of an admin)."""
    async with store.read() as session:
        problem = await session.get(OrderProblem, problem_id)
        if problem is None or problem.status in (Status.DRAFT, Status.CANCELLED):
            raise NotYours()
        await check_may_see(session, {problem.center_id}, actor, chat_id)
        return await load_view(session, problem)


async def record_card(store: Store, problem_id: int, chat_id: int, message_id: int) -> None:
    async with store.write() as session:
        problem = await session.scalar(select(OrderProblem).where(OrderProblem.id == problem_id).with_for_update())
        if problem is not None:
            problem.cards = {**(problem.cards or {}), str(chat_id): message_id}


async def _open(session: AsyncSession, problem_id: int, actor: Actor) -> tuple[Order, OrderProblem]:
    """The problem and its order, locked (the order first: problems on one order take turns), once
    the actor may decide on it; AlreadyDone if it is decided, NotAllowed if it is not on the desk."""
    center_order = await session.scalar(select(OrderProblem.order_id).where(OrderProblem.id == problem_id))
    if center_order is None:
        raise NotFound("problem")
    order = await lock_order(session, center_order)
    problem = await session.scalar(select(OrderProblem).where(OrderProblem.id == problem_id).with_for_update())
    await check_may_act(session, problem.center_id, actor)
    if problem.status in DECIDED:
        raise AlreadyDone(problem.status)
    if problem.status != Status.OPEN:
        raise NotAllowed(problem.status)
    return order, problem


async def _decided(session: AsyncSession, order: Order, problem: OrderProblem, actor: Actor, status: Status,
                   note: str, now) -> None:
    """Record the decision, on the problem and on the order's timeline, and queue the card's refresh
    and the villager's notice."""
    actor_id = await acting_villager(session, actor)
    problem.status, problem.decision = status, {Status.REFUNDED: "refund", Status.REPLACED: "replace",
                                                Status.DECLINED: "decline"}[status]
    problem.decided_by_id, problem.decided_at = actor_id, now
    session.add(OrderEvent(order_id=order.id, status=f"problem_{status}", at=now, actor_id=actor_id, note=note))
    await outbox.enqueue(session, Kind.PROBLEM_CARD, due_at=now, order_id=order.id, center_id=problem.center_id,
                         payload={"problem_id": problem.id}, dedupe_key=f"problem:{problem.id}:{status}:card")
    await outbox.enqueue(session, Kind.PROBLEM, due_at=now, order_id=order.id, villager_id=problem.villager_id,
                         payload={"problem_id": problem.id, "event": str(status)},
                         dedupe_key=f"problem:{problem.id}:{status}:villager")


async def _sellers(session: AsyncSession, order: Order) -> dict[int, int]:
    """Produce lines: order line id -> the seller's villager id."""
    rows = await session.execute(select(OrderLine.id, Listing.seller_id).join(Listing, Listing.id == OrderLine.listing_id)
                                 .where(OrderLine.order_id == order.id))
    return dict(rows.all())


async def _tell_sellers(session: AsyncSession, order: Order, problem: OrderProblem, event: str, now) -> None:
    for seller_id in sorted(set((await _sellers(session, order)).values())):
        await outbox.enqueue(session, Kind.PROBLEM, due_at=now, order_id=order.id, villager_id=seller_id,
                             payload={"problem_id": problem.id, "event": event},
                             dedupe_key=f"problem:{problem.id}:{event}:{seller_id}")


async def refund(store: Store, clock: Clock, actor: Actor, problem_id: int, *, whole: bool = False) -> ProblemView:
    """💰 Refund the chosen lines (or, ``whole``, all that is not settled yet): cash paid back at
    the counter, and written in the cash book."""
    now = clock.now()
    async with store.write() as session:
        order, problem = await _open(session, problem_id, actor)
        view = await load_view(session, problem)
        lines = {line.line_id: (line.most if whole else min(line.chosen, line.most)) for line in view.lines}
        lines = {line_id: quantity for line_id, quantity in lines.items() if quantity}
        amount = view.whole_fen if whole else view.chosen_fen
        if amount <= 0 or not lines:
            raise NothingToRefund()
        before = view.paid_fen - view.refundable_fen  # refunded by earlier problems
        paid_ref = f"delivered:{order.id}" if view.paid_away else f"pickup:{order.id}"
        pickup_fee = await session.scalar(select(CashEntry.fee_fen).where(CashEntry.ref == paid_ref)) or 0
        paid = view.paid_fen or 1
        # The fee shrinks in proportion; refunds adding up to the whole order give back all of it.
        fee = pickup_fee * (before + amount) // paid - pickup_fee * before // paid
        sellers = set((await _sellers(session, order)).values())
        if view.paid_away:
            await _refund_away(session, order, problem, amount, fee, min(sellers), actor, now)
        else:
            await cashbook.record(session, order.center_id, Entry.REFUND, -amount, now, fee_fen=-fee,
                                  order_id=order.id, seller_id=min(sellers) if sellers else None,
                                  actor_telegram_id=actor.telegram_id, ref=f"problem:{problem.id}:refund",
                                  note=f"problem {problem.id}")
        problem.refund_lines = {str(k): v for k, v in lines.items()}
        problem.refunded_fen = amount
        await _decided(session, order, problem, actor, Status.REFUNDED, "", now)
        await _tell_sellers(session, order, problem, "seller_refunded", now)
        await session.flush()
        return await load_view(session, problem)


async def _refund_away(session: AsyncSession, order: Order, problem: OrderProblem, amount: int, fee: int,
                       seller_id: int, actor: Actor, now) -> None:
    """A delivered order's refund: the seller's money back from what the county held (not the till),
    and for an online payment the provider's refund to the card, in ``payments``."""
    payments = (await session.scalars(select(Payment).where(Payment.order_id == order.id))).all()
    refunds = await session.scalar(select(func.count(CashEntry.id)).where(
        CashEntry.order_id == order.id, CashEntry.kind == Entry.REFUND))
    n = max(len(payments), 1 + (refunds or 0))
    ref, note = f"refund:{order.id}:{n}", f"problem {problem.id}"
    await cashbook.record_away(session, order.center_id, -amount, now, order_id=order.id, seller_id=seller_id,
                               kind=Entry.REFUND, fee_fen=-fee, ref=ref, actor_telegram_id=actor.telegram_id,
                               note=note)
    if order.payment_method == ONLINE and payments:
        await add_refund(session, order, amount, now, ref=ref, note=note, currency=payments[0].currency,
                         actor_telegram_id=actor.telegram_id)


async def replace(store: Store, clock: Clock, actor: Actor, problem_id: int) -> ProblemView:
    """🔁 Replace: a new order for the chosen lines at no charge, confirmed, taking its stock as any
    order does (NotEnoughStock if there is not enough); it follows the parcel's usual way."""
    now = clock.now()
    async with store.write() as session:
        order, problem = await _open(session, problem_id, actor)
        view = await load_view(session, problem)
        chosen = {line.line_id: min(line.chosen, line.most) for line in view.chosen if min(line.chosen, line.most)}
        if not chosen:
            raise NotAllowed(problem.status)
        originals = {line.id: line for line in (await session.scalars(
            select(OrderLine).where(OrderLine.id.in_(chosen)))).all()}
        new_lines, products = [], []
        for line_id, quantity in chosen.items():
            line = originals[line_id]
            if line.listing_id is not None:
                taken = await session.execute(
                    update(Listing).where(Listing.id == line.listing_id, Listing.left_milli >= quantity)
                    .values(left_milli=Listing.left_milli - quantity).execution_options(synchronize_session=False))
                left = Listing.left_milli
            elif line.product_id is not None:
                taken = await session.execute(
                    update(Product).where(Product.id == line.product_id, Product.stock >= quantity)
                    .values(stock=Product.stock - quantity).execution_options(synchronize_session=False))
                products.append(line.product_id)
                left = None
            else:
                raise NotEnoughStock(line.names, 0)
            if taken.rowcount != 1:
                available = 0
                if left is not None:
                    available = await session.scalar(select(Listing.left_milli).where(Listing.id == line.listing_id))
                elif line.product_id is not None:
                    available = await session.scalar(select(Product.stock).where(Product.id == line.product_id))
                raise NotEnoughStock(line.names, available or 0)
            produce = line.quantity_milli is not None
            new_lines.append(OrderLine(product_id=line.product_id, sku=line.sku, names=line.names, unit=line.unit,
                                       price_fen=line.price_fen, quantity=None if produce else quantity,
                                       listing_id=line.listing_id, quantity_milli=quantity if produce else None))
        await note_stock_change(session, products, now)
        number = new_order_number()
        while await session.scalar(select(Order.id).where(Order.number == number)) is not None:
            number = new_order_number()
        actor_id = await acting_villager(session, actor)
        new = Order(number=number, villager_id=order.villager_id, center_id=order.center_id,
                    seller_center_id=order.seller_center_id, status=OrderStatus.CONFIRMED, total_fen=0,
                    payment_method="replacement", checkout_token=f"replace-{problem.id}", created_at=now,
                    updated_at=now, ship_to=order.ship_to)  # a town buyer's goes to their door again
        new.lines = new_lines
        new.events = [OrderEvent(status=OrderStatus.CONFIRMED, at=now, actor_id=actor_id,
                                 note=order.number)]
        session.add(new)
        await session.flush()
        problem.replacement_order_id = new.id
        await outbox.enqueue(session, Kind.CARD, due_at=now, order_id=new.id)  # its card on the desk
        await _decided(session, order, problem, actor, Status.REPLACED, number, now)
        await _tell_sellers(session, order, problem, "seller_replaced", now)
        await session.flush()
        return await load_view(session, problem)


async def decline(store: Store, clock: Clock, actor: Actor, problem_id: int, reason: str) -> ProblemView:
    """❌ Decline, with a reason (a code of DECLINE_REASONS, or the partner's words)."""
    now = clock.now()
    reason = reason.strip()[:MAX_REASON]
    async with store.write() as session:
        order, problem = await _open(session, problem_id, actor)
        problem.decline_reason = reason
        await _decided(session, order, problem, actor, Status.DECLINED, reason, now)
        await session.flush()
        return await load_view(session, problem)


async def restock(store: Store, clock: Clock, actor: Actor, problem_id: int, sellable: bool) -> ProblemView:
    """What came back can be sold again (back into the product's stock, or the listing's) or not.
    Said once; NotAllowed where no goods came back."""
    now = clock.now()
    async with store.write() as session:
        problem = await session.scalar(select(OrderProblem).where(OrderProblem.id == problem_id).with_for_update())
        if problem is None:
            raise NotFound("problem")
        await check_may_act(session, problem.center_id, actor)
        if problem.restock is not None:
            raise AlreadyDone(problem.status)
        view = await load_view(session, problem)
        if problem.status not in (Status.REFUNDED, Status.REPLACED) or problem.reason == "missing":
            raise NotAllowed(problem.status)
        problem.restock = "stock" if sellable else "discard"
        if sellable:
            back = view.refund_lines if problem.status == Status.REFUNDED else {
                line.line_id: line.chosen for line in view.chosen}
            products = []
            for line in (await session.scalars(select(OrderLine).where(OrderLine.id.in_(back)))).all():
                if line.listing_id is not None:
                    await session.execute(update(Listing).where(Listing.id == line.listing_id)
                                          .values(left_milli=Listing.left_milli + back[line.id])
                                          .execution_options(synchronize_session=False))
                    await session.execute(update(Listing).where(Listing.id == line.listing_id,
                                                                Listing.status == ListingStatus.SOLD_OUT)
                                          .values(status=ListingStatus.APPROVED)
                                          .execution_options(synchronize_session=False))
                elif line.product_id is not None:
                    await session.execute(update(Product).where(Product.id == line.product_id)
                                          .values(stock=Product.stock + back[line.id])
                                          .execution_options(synchronize_session=False))
                    products.append(line.product_id)
            await note_stock_change(session, products, now)
        await outbox.enqueue(session, Kind.PROBLEM_CARD, due_at=now, order_id=problem.order_id,
                             center_id=problem.center_id, payload={"problem_id": problem.id},
                             dedupe_key=f"problem:{problem.id}:restock:card")
        await session.flush()
        return await load_view(session, problem)


async def decide(store: Store, clock: Clock, actor: Actor, problem_id: int, yes: bool, reason: str) -> str:
    """The desk's one flow (handlers.cards.DecisionCard): only its "no" is used, to decline."""
    if yes:
        raise NotAllowed(Status.OPEN)
    return (await decline(store, clock, actor, problem_id, reason)).status
