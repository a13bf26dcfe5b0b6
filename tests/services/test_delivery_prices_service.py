"""A center's delivery prices, on SQLite and PostgreSQL: the zone of a real address, the band that
holds a parcel's weight, who may change a center's table (an admin anywhere, county staff only in
their own county, nobody else), bad input refused with nothing written, who changed a band and
when, and the demo's default table."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chat import center_id
from services import counties
from services import delivery_prices as dp
from services import delivery_words as dw
from services.counties import NotYourCounty
from services.delivery_prices import BadBand, Band, Zone
from services.errors import NotAdmin, NotFound
from services.partners import Actor
from store.models import County, CountyStaff, DeliveryPrice

ADMIN = Actor(900, "Admin", is_admin=True)
CHEN = Actor(700, "Xiao Chen")  # county staff of 城固县
VILLAGER = Actor(1001, "Wang")
DEFAULTS = Path(__file__).resolve().parents[2] / "catalog" / "data" / "delivery_prices.csv"


async def county_of(store, name: str) -> County:
    async with store.read() as session:
        return await session.scalar(select(County).where(County.name == name))


async def bands(store) -> list[tuple]:
    async with store.read() as session:
        return [tuple(row) for row in await session.execute(
            select(DeliveryPrice.center_id, DeliveryPrice.zone, DeliveryPrice.up_to_grams, DeliveryPrice.price_fen,
                   DeliveryPrice.updated_at, DeliveryPrice.updated_by).order_by(DeliveryPrice.id))]


async def make_staff(store, clock, telegram_id: int, county: str) -> None:
    change = await counties.preview_staff_change(store, ADMIN, county, str(telegram_id), True)
    await counties.confirm_staff_change(store, clock, ADMIN, change.county_id, telegram_id,
                                        change.person.fingerprint, clock.now(), True)


async def test_the_zone_of_an_address_from_the_centers_county_and_province(demo_store):
    chenggu, cangxi = await county_of(demo_store, "城固县"), await county_of(demo_store, "苍溪县")
    assert (chenggu.province, cangxi.province) == ("陕西省", "四川省")
    assert (await county_of(demo_store, "遂昌县")).province == "浙江省"

    def zone(address: str, county: County = chenggu) -> Zone:
        return dp.zone_of(address, county.names, county.name, county.province)

    assert zone("城固县博望镇周家村 3 组") == Zone.COUNTY
    assert zone("陕西省汉中市城固县博望镇") == Zone.COUNTY
    assert zone("陕西省西安市雁塔区科技路 10 号") == Zone.PROVINCE
    assert zone("北京市海淀区中关村大街 1 号") == Zone.ELSEWHERE
    assert zone("No. 3 Bowang Road, Chenggu County, Hanzhong") == Zone.COUNTY
    assert zone("12 Keji Road, Yanta, Xi'an, 陕西") == Zone.PROVINCE
    assert zone("四川省成都市武侯区") == Zone.ELSEWHERE
    assert zone("四川省成都市武侯区", cangxi) == Zone.PROVINCE
    assert zone("Cangxi County, Guangyuan", cangxi) == Zone.COUNTY
    # A Telegram shipping address often names the province in pinyin; 陕西 (Shaanxi) is not 山西 (Shanxi).
    assert zone("Yanta District, Xi'an, Shaanxi") == Zone.PROVINCE
    assert zone("Bowang Town, Chenggu, Hanzhong, Shaanxi") == Zone.COUNTY
    assert zone("Taiyuan, Shanxi") == Zone.ELSEWHERE
    assert zone("Chengdu, SICHUAN", cangxi) == Zone.PROVINCE
    guangxi = County(name="平南县", names={"zh": "平南县"}, province="广西壮族自治区")
    assert zone("广西南宁市青秀区", guangxi) == Zone.PROVINCE


async def test_a_parcel_costs_the_smallest_band_that_holds_its_weight(demo_store, clock):
    cg01 = await center_id(demo_store, "CG-01")
    await dp.set_price(demo_store, clock, ADMIN, "CG-01", Zone.COUNTY, 20_000, 1500)
    edit = await dp.set_price(demo_store, clock, ADMIN, "cg-01", "county", 5000, 600)
    last = await dp.set_price(demo_store, clock, ADMIN, "CG-01", "本省", 5000, 1000)

    assert edit.changed and (edit.before, edit.after) == (None, 600)
    assert last.table.rows == [dp.PriceRow(Zone.COUNTY, 5000, 600), dp.PriceRow(Zone.COUNTY, 20_000, 1500),
                               dp.PriceRow(Zone.PROVINCE, 5000, 1000)]
    async with demo_store.read() as session:
        assert await dp.quote(session, cg01, Zone.COUNTY, 1) == 600
        assert await dp.quote(session, cg01, Zone.COUNTY, 5000) == 600
        assert await dp.quote(session, cg01, Zone.COUNTY, 5001) == 1500
        assert await dp.quote(session, cg01, Zone.COUNTY, 20_001) is None
        assert await dp.quote(session, cg01, Zone.PROVINCE, 6000) is None
        assert await dp.quote(session, cg01, Zone.ELSEWHERE, 100) is None
        assert await dp.quote(session, await center_id(demo_store, "CG-02"), Zone.COUNTY, 100) is None
    assert dp.order_grams("jin", 4500) == 2250 and dp.order_grams("box", 1000) == 5000


async def test_an_admin_prices_any_center_county_staff_only_their_own_countys(demo_store, clock):
    await make_staff(demo_store, clock, CHEN.telegram_id, "城固县")

    await dp.set_price(demo_store, clock, ADMIN, "SC-01", Zone.ELSEWHERE, 5000, 1800)
    mine = await dp.set_price(demo_store, clock, CHEN, "CG-01", Zone.COUNTY, 5000, 600)
    assert mine.table.code == "CG-01" and mine.table.province == "陕西省"
    assert (await dp.center_table(demo_store, CHEN, "CG-02")).rows == []
    written = await bands(demo_store)
    assert len(written) == 2

    with pytest.raises(NotYourCounty):
        await dp.set_price(demo_store, clock, CHEN, "SC-01", Zone.COUNTY, 5000, 1)
    with pytest.raises(NotYourCounty):
        await dp.remove_band(demo_store, clock, CHEN, "SC-01", Zone.ELSEWHERE, 5000)
    with pytest.raises(NotYourCounty):
        await dp.center_table(demo_store, CHEN, "SC-01")
    for call in (dp.set_price(demo_store, clock, VILLAGER, "CG-01", Zone.COUNTY, 5000, 1),
                 dp.remove_band(demo_store, clock, VILLAGER, "CG-01", Zone.COUNTY, 5000),
                 dp.center_table(demo_store, VILLAGER, "CG-01"), dp.counties_to_price(demo_store, VILLAGER)):
        with pytest.raises(NotAdmin):
            await call
    assert await bands(demo_store) == written

    # The pickers: the staff member sees her county and its centers; an admin every county.
    assert [c.names["zh"] for c in await dp.counties_to_price(demo_store, CHEN)] == ["城固县"]
    assert len(await dp.counties_to_price(demo_store, ADMIN)) == 3
    chenggu = (await county_of(demo_store, "城固县")).id
    centers = await dp.centers_to_price(demo_store, CHEN, chenggu)
    assert [(c.code, c.count) for c in centers] == [("CG-01", 1), ("CG-02", 0), ("CG-03", 0), ("CG-04", 0),
                                                    ("CG-05", 0)]
    with pytest.raises(NotYourCounty):
        await dp.centers_to_price(demo_store, CHEN, (await county_of(demo_store, "遂昌县")).id)

    # Once no longer staff, nothing.
    async with demo_store.write() as session:
        staff = await session.scalar(select(CountyStaff).where(CountyStaff.telegram_id == CHEN.telegram_id))
        await session.delete(staff)
    with pytest.raises(NotAdmin):
        await dp.set_price(demo_store, clock, CHEN, "CG-01", Zone.COUNTY, 5000, 1)


@pytest.mark.parametrize(("zone", "grams", "price", "what"), [
    ("moon", 5000, 600, "zone"), ("", 5000, 600, "zone"),
    (Zone.COUNTY, 0, 600, "weight"), (Zone.COUNTY, -5, 600, "weight"), (Zone.COUNTY, 100_001, 600, "weight"),
    (Zone.COUNTY, 5000, -1, "price"), (Zone.COUNTY, 5000, 100_001, "price"), (Zone.COUNTY, 5000, 6.5, "price"),
])
async def test_bad_input_is_refused_and_nothing_is_written(demo_store, clock, zone, grams, price, what):
    with pytest.raises(BadBand) as refused:
        await dp.set_price(demo_store, clock, ADMIN, "CG-01", zone, grams, price)
    assert refused.value.what == what
    assert await bands(demo_store) == []


async def test_an_unknown_center_and_the_limits(demo_store, clock):
    with pytest.raises(NotFound):
        await dp.set_price(demo_store, clock, ADMIN, "XX-99", Zone.COUNTY, 5000, 600)
    with pytest.raises(NotFound):
        await dp.center_table(demo_store, ADMIN, "XX-99")
    await dp.set_price(demo_store, clock, ADMIN, "CG-01", Zone.COUNTY, 100_000, 100_000)  # 100 kg, ¥1000
    await dp.set_price(demo_store, clock, ADMIN, "CG-01", Zone.PROVINCE, 1, 0)  # free delivery is a price
    assert len(await bands(demo_store)) == 2


def test_typed_lines_in_both_languages():
    assert dw.read_band(["county", "5", "8"]) == Band(Zone.COUNTY, 5000, 800)
    assert dw.read_band(["本县", "5", "8"]) == Band(Zone.COUNTY, 5000, 800)
    assert dw.read_band(["Province", "2.5kg", "¥12.50"]) == Band(Zone.PROVINCE, 2500, 1250)
    assert dw.read_band(["省外", "10斤", "18元"]) == Band(Zone.ELSEWHERE, 5000, 1800)
    assert dw.read_band(["elsewhere", "20公斤", "0"]) == Band(Zone.ELSEWHERE, 20_000, 0)
    assert dw.read_band(["本省", "5", "-"]) == Band(Zone.PROVINCE, 5000, None)
    for words, what in ((["county", "5"], "line"), (["county", "abc", "8"], "weight"), (["县城", "5", "8"], "zone"),
                        (["county", "5", "8.001"], "price"), (["county", "0.0001", "8"], "weight"),
                        (["county", "101", "8"], "weight"), (["county", "5", "1000.01"], "price"),
                        (["county", "nan", "8"], "weight"), (["county", "5", "inf"], "price")):
        with pytest.raises(BadBand) as refused:
            dw.read_band(words)
        assert refused.value.what == what, words


async def test_every_change_keeps_who_made_it_and_when(demo_store, clock):
    await make_staff(demo_store, clock, CHEN.telegram_id, "城固县")
    cg01 = await center_id(demo_store, "CG-01")
    set_at = clock.now()
    await dp.set_price(demo_store, clock, CHEN, "CG-01", Zone.COUNTY, 5000, 600)
    clock.advance(timedelta(hours=2))
    edit = await dp.set_price(demo_store, clock, ADMIN, "CG-01", Zone.COUNTY, 5000, 800)
    assert (edit.before, edit.after, edit.table.updated_by, edit.table.updated_at) == (600, 800, 900, clock.now())
    assert await bands(demo_store) == [(cg01, "county", 5000, 800, clock.now(), 900)]

    clock.advance(timedelta(hours=1))
    same = await dp.set_price(demo_store, clock, CHEN, "CG-01", Zone.COUNTY, 5000, 800)
    assert not same.changed
    assert await bands(demo_store) == [(cg01, "county", 5000, 800, set_at + timedelta(hours=2), 900)]

    removed = await dp.remove_band(demo_store, clock, CHEN, "CG-01", "本县", 5000)
    assert (removed.before, removed.after, removed.table.rows, removed.table.updated_at) == (800, None, [], None)
    again = await dp.remove_band(demo_store, clock, CHEN, "CG-01", Zone.COUNTY, 5000)
    assert not again.changed and again.before is None
    assert await bands(demo_store) == []


async def test_the_demos_default_table_for_every_center_without_one(demo_store, clock):
    await dp.set_price(demo_store, clock, ADMIN, "CG-02", Zone.COUNTY, 3000, 500)
    report = await dw.give_default_tables(demo_store, clock, DEFAULTS.read_bytes())
    assert report.ok and report.created == 15 * 6
    again = await dw.give_default_tables(demo_store, clock, DEFAULTS.read_bytes())
    assert again.ok and again.created == 0

    table = await dp.center_table(demo_store, ADMIN, "CG-01")
    assert [(r.zone, r.up_to_grams, r.price_fen) for r in table.rows] == [
        (Zone.COUNTY, 5000, 600), (Zone.COUNTY, 20_000, 1500), (Zone.PROVINCE, 5000, 1000),
        (Zone.PROVINCE, 20_000, 2500), (Zone.ELSEWHERE, 5000, 1800), (Zone.ELSEWHERE, 20_000, 4500)]
    assert table.updated_by is None
    assert [r.price_fen for r in (await dp.center_table(demo_store, ADMIN, "CG-02")).rows] == [500]

    async with demo_store.read() as session:
        before = await session.scalar(select(func.count(DeliveryPrice.id)))
    bad = await dw.give_default_tables(demo_store, clock, b"zone,up_to_kg,price\ncounty,5,6\nmoon,5,6\ncounty,5,-\n")
    assert [(e.line, e.params["value"]) for e in bad.errors] == [(3, "moon,5,6"), (4, "county,5,-")]
    assert not (await dw.give_default_tables(demo_store, clock, b"zone,price\ncounty,6\n")).ok
    async with demo_store.read() as session:
        assert await session.scalar(select(func.count(DeliveryPrice.id))) == before


async def test_a_zone_holds_at_most_ten_bands(demo_store, clock):
    ten = [Band(Zone.COUNTY, kg * 1000, kg * 100) for kg in range(1, 11)]
    await dp.edit_bands(demo_store, clock, ADMIN, "CG-01", ten)
    with pytest.raises(BadBand) as refused:
        await dp.set_price(demo_store, clock, ADMIN, "CG-01", Zone.COUNTY, 11_000, 1100)
    assert refused.value.what == "count"
    await dp.set_price(demo_store, clock, ADMIN, "CG-01", Zone.COUNTY, 10_000, 999)  # a change is no new band
    with pytest.raises(BadBand):
        await dp.edit_bands(demo_store, clock, ADMIN, "CG-01", [Band(Zone.PROVINCE, 1000, 100)] * 31)
    assert [(z, g, p) for _, z, g, p, _, _ in await bands(demo_store)] == [
        ("county", b.up_to_grams, b.price_fen) for b in ten[:-1]] + [("county", 10_000, 999)]
