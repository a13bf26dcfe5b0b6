"""Reading a service's answers as villagers type them: each refused one says why."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services import service_input as read
from services import service_requests
from services.partners import Actor
from services.service_input import BadService
from store.models import ServiceCenter

TODAY = date(2026, 11, 11)


def reason(call, *args) -> str:
    with pytest.raises(BadService) as refused:
        call(*args)
    return refused.value.reason


def test_a_phone_number_is_11_digits_with_spaces_or_dashes_between():
    assert read.phone("13800001234") == read.phone("138 0000 1234") == read.phone("138-0000-1234") \
        == read.phone("１３８００００１２３４") == "13800001234"
    for wrong in ("1380000123", "138000012345", "1380000123a", "", "+8613800001234"):
        assert reason(read.phone, wrong) == "phone", wrong


def test_an_amount_is_more_than_nothing_and_at_most_5000_yuan():
    assert read.amount("50") == read.amount("¥50") == read.amount("50元") == read.amount("五十") == 5000
    assert read.amount("120.5") == read.amount("一百二十块五") == 12050
    assert read.amount("5000") == 500_000
    assert reason(read.amount, "0") == "amount_zero"
    assert reason(read.amount, "5000.01") == "amount_too_big"
    assert reason(read.amount, "1.234") == "amount_precise"
    assert reason(read.amount, "fifty") == "amount"
    assert reason(read.amount, "-5") == "amount_zero"


def test_an_account_a_route_a_day_and_people():
    assert read.account("0512 3456 78") == "0512345678" and read.account("W-20931") == "W-20931"
    assert reason(read.account, "A1") == "account"
    for typed in ("苍溪-成都", "苍溪 - 成都", "苍溪→成都", "苍溪到成都", "苍溪—成都"):
        assert read.route(typed) == ("苍溪", "成都"), typed
    assert read.route("Cangxi to Chengdu") == ("Cangxi", "Chengdu")
    for wrong in ("苍溪", "苍溪-", "-成都", "", "苍溪-苍溪"):
        assert reason(read.route, wrong) == "route", wrong
    assert read.travel_date("2026-12-20", TODAY) == read.travel_date("12-20", TODAY) == date(2026, 12, 20)
    assert read.travel_date("11-11", TODAY) == TODAY
    assert reason(read.travel_date, "2026-11-10", TODAY) == "date_past"
    assert reason(read.travel_date, "2028-01-01", TODAY) == "date_far"
    assert reason(read.travel_date, "tomorrow", TODAY) == "date"
    assert read.people("2") == read.people("两") == read.people("2人") == read.people("９") - 7 == 2
    for wrong in ("0", "10", "1.5", "many", "2 bags"):
        assert reason(read.people, wrong) == "people", wrong


def test_the_fee_is_for_the_kind_else_for_its_service_else_none():
    fees = {"topup": 200, "bill": 100, "water": 50}
    assert read.fee_for(fees, "topup") == 200
    assert read.fee_for(fees, "water") == 50 and read.fee_for(fees, "electricity") == 100
    assert read.fee_for(fees, "bus") == 0 and read.fee_for({}, "bus") == 0 and read.fee_for(None, "train") == 0
    assert read.fee_for({"train": "oops"}, "train") == 0 and read.fee_for({"train": -5}, "train") == 0


async def test_the_figures_count_services_done_declined_and_waiting_by_county(demo_store, clock):
    admin = Actor(900, "Admin", is_admin=True)
    async with demo_store.read() as session:
        county = await session.scalar(select(ServiceCenter.county_id).where(ServiceCenter.id == 1))
        elsewhere = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.county_id != county).limit(1))
    await service_requests.walk_in(demo_store, clock, admin, 1, "topup", ["13800001234", "50"])
    await service_requests.walk_in(demo_store, clock, admin, elsewhere, "water", ["0512345678", "30"])
    everywhere = await service_requests.figures(demo_store, clock.now())
    assert (everywhere.done, everywhere.charged_fen, everywhere.fees_fen) == (2, 8000, 0)
    first = await service_requests.figures(demo_store, clock.now(), counties={county})
    assert (first.done, first.charged_fen, first.declined, first.waiting) == (1, 5000, 0, 0)
    later = await service_requests.figures(demo_store, clock.now() + timedelta(days=31))
    assert later.done == 0
