"""The cash book's rules: entries are written once per purpose, never edited, corrected by new
entries, and the balance says whose the cash in the till is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from services import cashbook
from services.cashbook import Entry
from store.models import CashEntry, County, ServiceCenter, Villager
from support.books import books_balance


async def a_center(store, clock, **fees) -> tuple[int, int]:
    async with store.write() as session:
        county = County(name="苍溪县", names={})
        session.add(county)
        await session.flush()
        center = ServiceCenter(code="CG-01", names={"zh_Hans": "白驿村服务站"}, county_id=county.id, **fees)
        seller = Villager(telegram_id=1001, first_name="王芳", created_at=clock.now(), last_seen_at=clock.now())
        session.add_all([center, seller])
        await session.flush()
        return center.id, seller.id


def test_an_order_fee_is_a_share_plus_a_fixed_amount_rounded_to_the_fen_and_never_more_than_the_order():
    center = ServiceCenter(order_fee_bp=150, order_fee_fen=50)
    assert cashbook.order_fee(center, 5200) == 78 + 50
    assert cashbook.order_fee(center, 100) == 2 + 50  # 1.5 fen rounds up
    assert cashbook.order_fee(center, 30) == 30
    assert cashbook.order_fee(ServiceCenter(order_fee_bp=0, order_fee_fen=0), 5200) == 0


async def test_the_balance_says_whose_the_cash_is(store, clock):
    center, seller = await a_center(store, clock)
    now = clock.now()
    async with store.write() as session:
        await cashbook.record(session, center, Entry.COLLECTED, 5200, now, fee_fen=128, ref="pickup:1")
        await cashbook.record(session, center, Entry.COLLECTED, 1300, now, fee_fen=20, seller_id=seller, ref="pickup:2")
        await cashbook.record(session, center, Entry.SERVICE, 5200, now, fee_fen=200, ref="service:1")
        await cashbook.record(session, center, Entry.PAYOUT, -1000, now, seller_id=seller, ref="payout:1")
        await cashbook.record(session, center, Entry.HANDOVER, -4000, now + timedelta(hours=1), ref="handover:1")
    async with store.read() as session:
        book = await cashbook.balance(session, center)
        before = await cashbook.balance(session, center, until=now)
        kinds = await cashbook.totals_by_kind(session, center, now, now + timedelta(days=1))
    assert book == cashbook.Balance(on_hand=6700, owed_to_county=5200 + 5200 - 4000 - 128 - 200, fees=348, owed_to_sellers={seller: 280})
    assert before.on_hand == 10700  # the handover came later
    assert kinds[Entry.COLLECTED] == (6500, 148) and kinds[Entry.HANDOVER] == (-4000, 0)
    assert await books_balance(store) == []


async def test_an_entry_is_written_once_for_its_purpose_and_a_mistake_is_corrected_by_a_new_entry(store, clock):
    center, _ = await a_center(store, clock)
    async with store.write() as session:
        first = await cashbook.record(session, center, Entry.HANDOVER, -1200, clock.now(), ref="handover:7")
        again = await cashbook.record(session, center, Entry.HANDOVER, -1200, clock.now(), ref="handover:7")
        assert again.id == first.id
        fix = await cashbook.correct(session, first.id, 200, 0, clock.now(), actor_telegram_id=2001,
                                     note="¥1,000 handed over, not ¥1,200")
    async with store.read() as session:
        rows = (await session.scalars(select(CashEntry).order_by(CashEntry.id))).all()
        book = await cashbook.balance(session, center)
    assert [(r.kind, r.amount_fen, r.corrects_id) for r in rows] == [("handover", -1200, None),
                                                                     ("correction", 200, fix.corrects_id)]
    assert fix.corrects_id == first.id and book.on_hand == -1000


async def test_cash_going_out_is_never_a_positive_entry(store, clock):
    center, _ = await a_center(store, clock)
    async with store.write() as session:
        with pytest.raises(ValueError):
            await cashbook.record(session, center, Entry.REFUND, 500, clock.now())
