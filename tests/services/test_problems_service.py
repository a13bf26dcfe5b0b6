"""The rules of a problem after pickup, without Telegram: quantities within what was bought, the
window of PROBLEM_DAYS, refunds that add up to what was paid with the partner's fee given back in
proportion, and a decision taken once even when two partners tap at the same moment."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from services import cashbook, problem_desk, problems
from services.cashbook import Entry
from services.errors import AlreadyDone, InvalidQuantity
from services.partners import Actor
from services.problems import NothingLeft, ProblemOpen, TooLate
from store.models import (
    CashEntry,
    Category,
    County,
    Order,
    OrderEvent,
    OrderLine,
    Partner,
    Product,
    ServiceCenter,
    Villager,
)
from support.books import books_balance

ZHANG = Actor(501, "Lao Zhang")


async def a_picked_up_order(store, clock) -> tuple[int, int, int]:
    """Wang picked up 3 bags of rice at ¥25.90 (¥77.70) at a center whose partner earns 10%:
    (villager, order, line)."""
    now = clock.now()
    async with store.write() as session:
        county = County(name="苍溪县", names={})
        category = Category(code="food")
        session.add_all([county, category])
        await session.flush()
        center = ServiceCenter(code="CG-01", names={"en": "Baiyi"}, county_id=county.id, order_fee_bp=1000)
        wang = Villager(telegram_id=1001, first_name="Wang", created_at=now, last_seen_at=now)
        rice = Product(sku="RICE", category_id=category.id, price_fen=2590, unit="bag", stock=10, names={"en": "Rice"},
                       updated_at=now)
        session.add_all([center, wang, rice])
        await session.flush()
        session.add(Partner(center_id=center.id, telegram_id=501, added_at=now))
        order = Order(number="RT-22222", villager_id=wang.id, center_id=center.id, status="picked_up", total_fen=7770,
                      checkout_token="t1", created_at=now, updated_at=now, cash_collected_fen=7770)
        order.lines = [OrderLine(product_id=rice.id, sku="RICE", names={"en": "Rice"}, unit="bag", price_fen=2590,
                                 quantity=3)]
        order.events = [OrderEvent(status="picked_up", at=now)]
        session.add(order)
        await session.flush()
        await cashbook.record(session, center.id, Entry.COLLECTED, 7770, now, fee_fen=777, order_id=order.id,
                              ref=f"pickup:{order.id}")
        return wang.id, order.id, order.lines[0].id


async def reported(store, clock, wang: int, order: int, line: int, quantity: int, reason: str = "damaged") -> int:
    draft = await problems.start(store, clock, wang, order)
    await problems.set_quantity(store, clock, wang, draft.id, line, quantity)
    await problems.set_reason(store, clock, wang, draft.id, reason)
    return (await problems.submit(store, clock, wang, draft.id, None)).id


async def test_refunds_add_up_to_what_was_paid_and_give_the_whole_fee_back(store, clock):
    wang, order, line = await a_picked_up_order(store, clock)
    first = await reported(store, clock, wang, order, line, 1)
    with pytest.raises(ProblemOpen):
        await problems.start(store, clock, wang, order)
    assert (await problem_desk.refund(store, clock, ZHANG, first)).refunded_fen == 2590
    draft = await problems.start(store, clock, wang, order)
    with pytest.raises(InvalidQuantity):  # one bag of three is refunded: two are left
        await problems.set_quantity(store, clock, wang, draft.id, line, 3)
    await problems.cancel(store, clock, wang, draft.id)
    second = await reported(store, clock, wang, order, line, 1)
    assert (await problem_desk.refund(store, clock, ZHANG, second, whole=True)).refunded_fen == 7770 - 2590
    with pytest.raises(NothingLeft):
        await problems.start(store, clock, wang, order)
    async with store.read() as session:
        entries = (await session.execute(select(CashEntry.amount_fen, CashEntry.fee_fen)
                                         .where(CashEntry.kind == Entry.REFUND).order_by(CashEntry.id))).all()
    assert [tuple(e) for e in entries] == [(-2590, -259), (-5180, -518)]
    assert await books_balance(store) == []


async def test_two_partners_tapping_refund_at_once_refund_once(store, clock):
    wang, order, line = await a_picked_up_order(store, clock)
    problem = await reported(store, clock, wang, order, line, 2)
    results = await asyncio.gather(problem_desk.refund(store, clock, ZHANG, problem),
                                   problem_desk.refund(store, clock, Actor(900, "Admin", is_admin=True), problem),
                                   return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["AlreadyDone", "ProblemView"]
    with pytest.raises(AlreadyDone):
        await problem_desk.replace(store, clock, ZHANG, problem)
    async with store.read() as session:
        assert len((await session.scalars(select(CashEntry).where(CashEntry.kind == Entry.REFUND))).all()) == 1
    assert await books_balance(store) == []


async def test_the_window_closes_after_problem_days(store, clock):
    wang, order, line = await a_picked_up_order(store, clock)
    draft = await problems.start(store, clock, wang, order)
    await problems.set_quantity(store, clock, wang, draft.id, line, 1)
    await problems.set_reason(store, clock, wang, draft.id, "spoiled")
    clock.advance(timedelta(days=problems.PROBLEM_DAYS, seconds=1))
    assert not await problems.reportable(store, clock, wang, order)
    with pytest.raises(TooLate):
        await problems.submit(store, clock, wang, draft.id, None)
    with pytest.raises(TooLate):
        await problems.start(store, clock, wang, order)


async def test_a_missing_item_refunded_asks_nothing_about_stock_and_nothing_more_than_paid(store, clock):
    wang, order, line = await a_picked_up_order(store, clock)
    problem = await reported(store, clock, wang, order, line, 3, reason="missing")
    view = await problem_desk.refund(store, clock, ZHANG, problem, whole=True)
    assert view.refunded_fen == 7770 and not view.goods_back
    with pytest.raises(NothingLeft):
        await problems.start(store, clock, wang, order)
    assert await books_balance(store) == []
