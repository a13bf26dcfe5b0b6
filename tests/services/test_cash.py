"""The cash book's rules for people, without Telegram: who reads a center's book, payouts and
handovers taken at once from two places, and the county's one word on a handover."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from services import cash, cashbook, handovers
from services.cash import NothingOwed, TooMuch
from services.cashbook import Entry
from services.errors import AlreadyDone, NotYours
from services.partners import Actor, NotPartner, add_partner
from store.models import County, CountyStaff, ServiceCenter, Villager
from support.books import books_balance

ADMIN = Actor(900, "Admin", is_admin=True)
ZHANG = Actor(501, "Lao Zhang")


async def shangyuan_owes(store, clock, seller_fen: int = 1200, county_fen: int = 5200) -> tuple[int, int]:
    """CG-01 holds ``seller_fen`` of 王芳's and ``county_fen`` of the county's; Lao Zhang runs it."""
    await add_partner(store, clock, ADMIN, "CG-01", 501)
    async with store.write() as session:
        center = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == "CG-01"))
        seller = Villager(telegram_id=2001, first_name="王芳", created_at=clock.now(), last_seen_at=clock.now())
        session.add(seller)
        await session.flush()
        await cashbook.record(session, center, Entry.COLLECTED, seller_fen, clock.now(), seller_id=seller.id,
                              ref="test:seller")
        await cashbook.record(session, center, Entry.COLLECTED, county_fen, clock.now(), ref="test:county")
        return center, seller.id


async def test_who_reads_a_center_s_book(demo_store, clock):
    center, seller = await shangyuan_owes(demo_store, clock)
    async with demo_store.write() as session:
        chenggu, suichang = [await session.scalar(select(County.id).where(County.name == name))
                             for name in ("城固县", "遂昌县")]
        session.add_all([CountyStaff(county_id=chenggu, telegram_id=3001, added_at=clock.now()),
                         CountyStaff(county_id=suichang, telegram_id=3002, added_at=clock.now())])
    for reader in (ZHANG, ADMIN, Actor(3001)):
        view = await cash.view(demo_store, clock, reader, center)
        assert (view.on_hand, view.owed_to_county, [(s.name, s.owed_fen) for s in view.sellers]) == (
            6400, 5200, [("王芳", 1200)])
    assert not (await cash.view(demo_store, clock, Actor(3001), center)).may_move
    for stranger in (Actor(3002), Actor(502), Actor(2001)):
        with pytest.raises(NotYours):
            await cash.view(demo_store, clock, stranger, center)
    with pytest.raises(NotPartner):
        await cash.pay_seller(demo_store, clock, Actor(3001), center, seller, 100, "aaaaaaaa")


async def test_two_payouts_at_once_never_pay_more_than_is_owed(demo_store, clock):
    center, seller = await shangyuan_owes(demo_store, clock)
    results = await asyncio.gather(
        *(cash.pay_seller(demo_store, clock, ZHANG, center, seller, 1200, token) for token in ("aaaa0001", "aaaa0002")),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["NothingOwed", "Paid"]
    twice = await asyncio.gather(*(cash.pay_seller(demo_store, clock, ZHANG, center, seller, 1200, "aaaa0001")
                                   for _ in range(2)))
    assert all(paid.again for paid in twice)
    with pytest.raises(NothingOwed):
        await cash.owed_to(demo_store, ZHANG, center, seller)
    assert await books_balance(demo_store) == []


async def test_two_handovers_at_once_never_take_more_than_is_on_hand_and_the_county_decides_once(
        demo_store, clock):
    center, _ = await shangyuan_owes(demo_store, clock)
    results = await asyncio.gather(
        *(handovers.hand_over(demo_store, clock, ZHANG, center, 4000, frozenset({900})) for _ in range(2)),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["HandoverView", "TooMuch"]
    (done,) = [r for r in results if not isinstance(r, Exception)]
    with pytest.raises(NotYours):
        await handovers.decide(demo_store, clock, Actor(3002), done.id, received=True)
    words = await asyncio.gather(*(handovers.decide(demo_store, clock, ADMIN, done.id, received=False)
                                   for _ in range(2)), return_exceptions=True)
    assert sorted(type(r).__name__ for r in words) == ["AlreadyDone", "HandoverView"]
    with pytest.raises(AlreadyDone):
        await handovers.decide(demo_store, clock, ADMIN, done.id, received=True)
    assert (await cash.view(demo_store, clock, ZHANG, center)).on_hand == 6400  # back on hand, once
    with pytest.raises(TooMuch):
        await handovers.hand_over(demo_store, clock, ZHANG, center, 6401, frozenset({900}))
    assert await books_balance(demo_store) == []
