"""The check that every center's books balance, run after every test that made a store
(tests/conftest.py's ``store_factory``), and by tests that move cash, at the moments they choose.

It compares the cash book with what the rest of the store says happened, so it can fail:
  - each picked-up order has exactly one pickup entry, of the cash collected for it;
  - no entry that takes cash out (refund, payout, handover) is positive;
  - no order is refunded more than was collected for it (or paid online for it);
  - each delivered order has one paid-away entry, and what was paid away (less its refunds) is
    what the county holds;
  - a correction points at an entry of the same center;
  - cash on hand = collected − refunds − payouts − handovers (+ services and corrections), and it
    is the sum of what is owed to the sellers, to the county, and the partner's fees;
  - each service done has one entry of what was charged plus its fee, and no other has any.
"""

from __future__ import annotations

from sqlalchemy import func, select

from services import cashbook
from services.cashbook import Entry
from store.models import CashEntry, Order, ServiceCenter, ServiceRequest


async def books_balance(store) -> list[str]:
    """What is wrong with the books, for every center; [] when they balance."""
    wrong: list[str] = []
    async with store.read() as session:
        entries = (await session.scalars(select(CashEntry).order_by(CashEntry.id))).all()
        by_id = {e.id: e for e in entries}
        collected = dict((await session.execute(
            select(Order.id, Order.cash_collected_fen).where(Order.cash_collected_fen.is_not(None)))).all())
        for order_id, fen in collected.items():
            pickups = [e.amount_fen for e in entries if e.order_id == order_id and e.kind == Entry.COLLECTED]
            if pickups != [fen]:
                wrong.append(f"order {order_id}: {fen} fen collected, pickup entries {pickups}")
        for entry in entries:
            if entry.kind in cashbook.OUT and entry.amount_fen > 0:
                wrong.append(f"entry {entry.id}: a {entry.kind} of +{entry.amount_fen}")
            if entry.corrects_id is not None and getattr(by_id.get(entry.corrects_id), "center_id", None) \
                    != entry.center_id:
                wrong.append(f"entry {entry.id} corrects {entry.corrects_id}, not an entry of its center")
        # A delivery order's goods money, paid online or to the carrier, never passed the till.
        away = {e.order_id: e.amount_fen for e in entries if e.kind == Entry.PAID_AWAY}
        delivered = set((await session.scalars(select(Order.id).where(Order.status == "delivered"))).all())
        if set(away) != delivered:
            wrong.append(f"delivered orders {sorted(delivered)}, paid-away entries for {sorted(away)}")
        for order_id in {e.order_id for e in entries if e.kind == Entry.REFUND}:
            refunded = -sum(e.amount_fen for e in entries if e.order_id == order_id and e.kind == Entry.REFUND)
            paid = collected.get(order_id) or away.get(order_id) or 0
            if refunded > paid:
                wrong.append(f"order {order_id}: {refunded} fen refunded, {paid} paid")
        for center_id in (await session.scalars(select(ServiceCenter.id))).all():
            mine = [e for e in entries if e.center_id == center_id]
            kinds = {kind: sum(e.amount_fen for e in mine if e.kind == kind) for kind in Entry}
            # Refunds, payouts and handovers are negative entries: "minus" them is adding them.
            expected = (kinds[Entry.COLLECTED] + kinds[Entry.SERVICE] + kinds[Entry.CORRECTION]
                        + kinds[Entry.REFUND] + kinds[Entry.PAYOUT] + kinds[Entry.HANDOVER]
                        + kinds[Entry.PAID_AWAY] + kinds[Entry.HELD_AWAY])
            if kinds[Entry.PAID_AWAY] + kinds[Entry.HELD_AWAY] + sum(
                    e.amount_fen for e in mine if e.kind == Entry.REFUND and e.order_id in away) != 0:
                wrong.append(f"center {center_id}: money paid away does not match what the county holds")
            book = await cashbook.balance(session, center_id)
            if book.on_hand != expected:
                wrong.append(f"center {center_id}: {book.on_hand} fen on hand, the entries say {expected}")
            owed = book.owed_to_county + sum(book.owed_to_sellers.values()) + book.fees
            if book.on_hand != owed:
                wrong.append(f"center {center_id}: {book.on_hand} fen on hand, but {owed} owed and earned")
            total = await session.scalar(select(func.coalesce(func.sum(CashEntry.amount_fen), 0))
                                         .where(CashEntry.center_id == center_id))
            if total != book.on_hand:
                wrong.append(f"center {center_id}: the entries add up to {total}, the balance says {book.on_hand}")
        wrong += await _services_wrong(session, entries)
    return wrong


async def _services_wrong(session, entries: list[CashEntry]) -> list[str]:
    """Each service done has exactly one service entry, of what was charged plus its fee, at its
    center; a service not done has none."""
    wrong = []
    for request in (await session.scalars(select(ServiceRequest))).all():
        mine = [e for e in entries if e.ref == f"service:{request.id}"]
        if request.status == "done":
            want = [(request.center_id, Entry.SERVICE, (request.charged_fen or 0) + request.fee_fen, request.fee_fen)]
            if [(e.center_id, e.kind, e.amount_fen, e.fee_fen) for e in mine] != want:
                wrong.append(f"service {request.id}: entries {[(e.kind, e.amount_fen, e.fee_fen) for e in mine]}, "
                             f"want {want}")
        elif mine:
            wrong.append(f"service {request.id} is {request.status}, but has entries")
    return wrong
