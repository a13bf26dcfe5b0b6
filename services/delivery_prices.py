"""What a center charges to deliver produce to a town buyer: a table by destination and weight.

Each center sets, for each zone (the seller's own county, the rest of its province, elsewhere),
weight bands: "up to 5 kg: ¥8". A parcel costs the price of the smallest band that holds its
weight; where the center has no band that large for the zone, it does not deliver there. The zone
of an address is read from the address itself: it names the county, or the province, or neither.
The delivery money is the county's (it pays the carrier), so it is not in the center's cash book.

An admin edits any center's table, county staff only their own county's centers' (``/delivery``,
handlers/delivery_prices.py): ``set_price`` and ``remove_band`` (``edit_bands``: several at once),
each row keeping who changed it last and when. services/delivery_words.py reads a band as people
type it ("county 5 8", "本县 5 8", "省外 20 -" to remove) and the demo's default table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.amounts import MILLI
from services.clock import Clock
from services.counties import NotYourCounty, check_may_supervise, staff_counties
from services.errors import DomainError, NotAdmin, NotFound
from services.partners import Actor, center_by_code
from store.db import Store
from store.models import County, DeliveryPrice, ServiceCenter, Villager

log = logging.getLogger(__name__)


class Zone(StrEnum):
    COUNTY = "county"  # the seller's county
    PROVINCE = "province"  # the seller's province, beyond the county
    ELSEWHERE = "elsewhere"


ZONES = tuple(Zone)
# The weight of one unit, in grams; a piece, a dozen and a box are what a parcel of produce
# usually weighs (an apple, a dozen eggs, a box of fruit), as a partner would guess it.
UNIT_GRAMS = {"jin": 500, "kg": 1000, "ton": 1_000_000, "piece": 500, "dozen": 1000, "box": 5000}


# Other ways an address names a province: its short name where it is not the name less 省 or 市
# (广西, 新疆), and its name in pinyin, as a Telegram shipping address often gives it (Shaanxi).
PROVINCE_WORDS = {
    "北京市": ("Beijing",), "天津市": ("Tianjin",), "上海市": ("Shanghai",), "重庆市": ("Chongqing",),
    "河北省": ("Hebei",), "山西省": ("Shanxi",), "辽宁省": ("Liaoning",), "吉林省": ("Jilin",),
    "黑龙江省": ("Heilongjiang",), "江苏省": ("Jiangsu",), "浙江省": ("Zhejiang",), "安徽省": ("Anhui",),
    "福建省": ("Fujian",), "江西省": ("Jiangxi",), "山东省": ("Shandong",), "河南省": ("Henan",),
    "湖北省": ("Hubei",), "湖南省": ("Hunan",), "广东省": ("Guangdong",), "海南省": ("Hainan",),
    "四川省": ("Sichuan",), "贵州省": ("Guizhou",), "云南省": ("Yunnan",), "陕西省": ("Shaanxi",),
    "甘肃省": ("Gansu",), "青海省": ("Qinghai",), "台湾省": ("台湾", "Taiwan"),
    "内蒙古自治区": ("内蒙古", "Inner Mongolia", "Nei Mongol"), "广西壮族自治区": ("广西", "Guangxi"),
    "西藏自治区": ("西藏", "Tibet", "Xizang"), "宁夏回族自治区": ("宁夏", "Ningxia"),
    "新疆维吾尔自治区": ("新疆", "Xinjiang"), "香港特别行政区": ("香港", "Hong Kong"),
    "澳门特别行政区": ("澳门", "Macau", "Macao"),
}


@dataclass(frozen=True, slots=True)
class PriceRow:
    zone: Zone
    up_to_grams: int
    price_fen: int


def unit_grams(unit: str) -> int:
    return UNIT_GRAMS.get(unit, 1000)


def order_grams(unit: str, quantity_milli: int) -> int:
    """The weight of ``quantity_milli`` thousandths of ``unit``, rounded up to the gram."""
    return -(-unit_grams(unit) * quantity_milli // MILLI)


def zone_of(address: str, county_names: dict, county_name: str, province: str) -> Zone:
    """Where ``address`` is, seen from a center in the county ``county_name`` (its ``county_names``
    in each language) of ``province``."""
    said = address.casefold()
    county_words = {county_name, *county_names.values()}
    # "Chenggu County" is often written "Chenggu" (a pinyin name is long enough not to be a guess).
    county_words |= {word[:-len(" county")] for word in county_words if word.casefold().endswith(" county")
                     and len(word) >= len(" county") + 4}
    if any(word and word.casefold() in said for word in county_words):
        return Zone.COUNTY
    short = province.removesuffix("省").removesuffix("市")  # "陕西" names "陕西省"
    if any(word and word.casefold() in said for word in (short, *PROVINCE_WORDS.get(province, ()))):
        return Zone.PROVINCE
    return Zone.ELSEWHERE


async def table(session: AsyncSession, center_id: int) -> list[PriceRow]:
    """The center's bands, zone by zone, the lightest first."""
    rows = (await session.scalars(select(DeliveryPrice).where(DeliveryPrice.center_id == center_id))).all()
    found = [PriceRow(Zone(row.zone), row.up_to_grams, row.price_fen) for row in rows]
    return sorted(found, key=lambda row: (ZONES.index(row.zone), row.up_to_grams))


async def quote(session: AsyncSession, center_id: int, zone: Zone, grams: int) -> int | None:
    """The price of delivering ``grams`` to ``zone``; None where the center does not deliver it."""
    return await session.scalar(
        select(DeliveryPrice.price_fen)
        .where(DeliveryPrice.center_id == center_id, DeliveryPrice.zone == str(zone),
               DeliveryPrice.up_to_grams >= grams)
        .order_by(DeliveryPrice.up_to_grams).limit(1))


# ---- a center's table, as admins and county staff edit it ---------------------------------------

MAX_GRAMS = 100_000  # a parcel of up to 100 kg; more is a lorry's load, not a delivery band
MAX_PRICE_FEN = 100_000  # ¥1000 for one parcel is a typing mistake
MAX_BANDS = 10  # in each zone: a table stays short enough to read (and to fit in one message)
# The zones as people type them (any letter case): the words of both languages.
ZONE_WORDS = {
    "county": Zone.COUNTY, "本县": Zone.COUNTY, "县内": Zone.COUNTY, "同县": Zone.COUNTY,
    "province": Zone.PROVINCE, "本省": Zone.PROVINCE, "省内": Zone.PROVINCE, "同省": Zone.PROVINCE,
    "elsewhere": Zone.ELSEWHERE, "省外": Zone.ELSEWHERE, "外省": Zone.ELSEWHERE,
}
class BadBand(DomainError):
    """A band refused before anything is written: ``what`` is "zone" (not one of the three),
    "weight" (not above 0 and at most 100 kg), "price" (not ¥0 to ¥1000), "line" (not three
    words) or "count" (more than ``MAX_BANDS`` in a zone, or in one edit); ``value`` as given."""

    def __init__(self, what: str, value: object = ""):
        super().__init__(f"bad {what}: {value}")
        self.what = what
        self.value = str(value)


@dataclass(frozen=True, slots=True)
class Band:
    """One typed line: ``price_fen`` None removes the band."""

    zone: Zone
    up_to_grams: int
    price_fen: int | None


@dataclass(frozen=True, slots=True)
class CenterTable:
    """A center's delivery prices, with the last change (who, by Telegram id; when)."""

    center_id: int
    code: str
    names: dict
    county_id: int
    county_names: dict
    province: str
    timezone: str
    rows: list[PriceRow]
    updated_at: datetime | None
    updated_by: int | None
    updated_by_name: str = ""  # their first name, if they ever wrote to the bot


@dataclass(frozen=True, slots=True)
class Edit:
    """A band set or removed: its price ``before`` and ``after`` (None: no such band)."""

    table: CenterTable
    zone: Zone
    up_to_grams: int
    before: int | None
    after: int | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True, slots=True)
class Choice:
    """A county (``code`` empty) or a center to pick, with how many it holds (centers; bands)."""

    id: int
    code: str
    names: dict
    count: int


def zone_named(word: str) -> Zone:
    """The zone a typed word names ("county", "本县", "省外"...); BadBand("zone") for any other."""
    zone = ZONE_WORDS.get(str(word).strip().casefold())
    if zone is None:
        raise BadBand("zone", word)
    return zone


def check_grams(grams: int) -> int:
    if isinstance(grams, bool) or not isinstance(grams, int) or not 0 < grams <= MAX_GRAMS:
        raise BadBand("weight", grams)
    return grams


def check_fen(fen: int) -> int:
    if isinstance(fen, bool) or not isinstance(fen, int) or not 0 <= fen <= MAX_PRICE_FEN:
        raise BadBand("price", fen)
    return fen


async def _supervised(session: AsyncSession, actor: Actor, center_code: str) -> ServiceCenter:
    """The center ``center_code`` if ``actor`` may edit its prices: an admin any center, county
    staff their county's (NotYourCounty); NotAdmin for anyone else, NotFound for no such center."""
    if not actor.is_admin and not await staff_counties(session, actor.telegram_id):
        raise NotAdmin()
    center = await center_by_code(session, center_code)
    await check_may_supervise(session, actor, center)
    return center


async def _table_of(session: AsyncSession, center: ServiceCenter) -> CenterTable:
    county = await session.get(County, center.county_id)
    at, by = (await session.execute(
        select(DeliveryPrice.updated_at, DeliveryPrice.updated_by).where(DeliveryPrice.center_id == center.id)
        .order_by(DeliveryPrice.updated_at.desc(), DeliveryPrice.id.desc()).limit(1))).first() or (None, None)
    name = await session.scalar(select(Villager.first_name).where(Villager.telegram_id == by)) if by else None
    return CenterTable(center.id, center.code, center.names, county.id, county.names or {"zh": county.name},
                       county.province, center.timezone, await table(session, center.id), at, by, name or "")


async def center_table(store: Store, actor: Actor, center_code: str) -> CenterTable:
    """A center's delivery prices, for an admin or its county's staff."""
    async with store.read() as session:
        return await _table_of(session, await _supervised(session, actor, center_code))


async def set_price(store: Store, clock: Clock, actor: Actor, center_code: str, zone: Zone | str,
                    up_to_grams: int, price_fen: int) -> Edit:
    """Insert the band (``zone``, up to ``up_to_grams``) of the center at ``price_fen``, or change
    its price; the row keeps who changed it and when. BadBand for bad input, before anything is
    read; NotAdmin, NotFound or NotYourCounty as ``center_table``."""
    zone, up_to_grams, price_fen = zone_named(zone), check_grams(up_to_grams), check_fen(price_fen)
    return (await edit_bands(store, clock, actor, center_code, [Band(zone, up_to_grams, price_fen)]))[0]


async def remove_band(store: Store, clock: Clock, actor: Actor, center_code: str, zone: Zone | str,
                      up_to_grams: int) -> Edit:
    """Remove the band; ``Edit.before`` None when there was no such band (nothing changed)."""
    zone, up_to_grams = zone_named(zone), check_grams(up_to_grams)
    return (await edit_bands(store, clock, actor, center_code, [Band(zone, up_to_grams, None)]))[0]


async def edit_bands(store: Store, clock: Clock, actor: Actor, center_code: str, bands: list[Band]) -> list[Edit]:
    """Set or remove (``price_fen`` None) each band, in order, all or none; each ``Edit`` holds
    the table as it is after all of them. The rules of ``set_price``."""
    if len(bands) > MAX_BANDS * len(ZONES):
        raise BadBand("count", len(bands))
    for band in bands:
        zone_named(band.zone)
        check_grams(band.up_to_grams)
        if band.price_fen is not None:
            check_fen(band.price_fen)
    async with store.write() as session:
        center = await _supervised(session, actor, center_code)
        done = [(band, await _edit(session, clock, actor, center, band)) for band in bands]
        await session.flush()
        after = await _table_of(session, center)
        for zone in ZONES:
            if sum(row.zone == zone for row in after.rows) > MAX_BANDS:
                raise BadBand("count", zone)  # and the transaction is rolled back
        return [Edit(after, Zone(band.zone), band.up_to_grams, before, band.price_fen) for band, before in done]


async def _edit(session: AsyncSession, clock: Clock, actor: Actor, center: ServiceCenter, band: Band) -> int | None:
    """Set or remove one band; its price before (None: there was none)."""
    row = await session.scalar(select(DeliveryPrice).where(
        DeliveryPrice.center_id == center.id, DeliveryPrice.zone == str(band.zone),
        DeliveryPrice.up_to_grams == band.up_to_grams))
    before = row.price_fen if row is not None else None
    if band.price_fen is None:
        if row is not None:
            await session.delete(row)
            log.info("delivery band removed: %s %s %s g (was %s fen) by %s", center.code, band.zone,
                     band.up_to_grams, before, actor.telegram_id)
    elif row is None:
        session.add(DeliveryPrice(center_id=center.id, zone=str(band.zone), up_to_grams=band.up_to_grams,
                                  price_fen=band.price_fen, updated_at=clock.now(), updated_by=actor.telegram_id))
    elif row.price_fen != band.price_fen:
        row.price_fen, row.updated_at, row.updated_by = band.price_fen, clock.now(), actor.telegram_id
    await session.flush()  # the next band of the same line sees this one
    return before


async def counties_to_price(store: Store, actor: Actor) -> list[Choice]:
    """The counties whose centers ``actor`` may price (every one for an admin), with their active
    centers' count; NotAdmin for someone who is neither admin nor county staff."""
    async with store.read() as session:
        own = None if actor.is_admin else await staff_counties(session, actor.telegram_id)
        if own is not None and not own:
            raise NotAdmin()
        query = (select(County, func.count(ServiceCenter.id)).join(ServiceCenter, ServiceCenter.county_id == County.id)
                 .where(ServiceCenter.is_active).group_by(County.id).order_by(County.name))
        if own is not None:
            query = query.where(County.id.in_(own))
        rows = await session.execute(query)
        return [Choice(county.id, "", county.names or {"zh": county.name}, n) for county, n in rows]


async def centers_to_price(store: Store, actor: Actor, county_id: int, limit: int = 60) -> list[Choice]:
    """The active centers of the county, with how many bands each has; NotYourCounty for county
    staff of another county, NotAdmin for anyone else."""
    async with store.read() as session:
        own = None if actor.is_admin else await staff_counties(session, actor.telegram_id)
        if own is not None and not own:
            raise NotAdmin()
        county = await session.get(County, county_id)
        if county is None:
            raise NotFound("county")
        if own is not None and county_id not in own:
            raise NotYourCounty(names=county.names or {"zh": county.name})
        bands = select(func.count(DeliveryPrice.id)).where(DeliveryPrice.center_id == ServiceCenter.id)
        rows = await session.execute(
            select(ServiceCenter.id, ServiceCenter.code, ServiceCenter.names, bands.scalar_subquery())
            .where(ServiceCenter.county_id == county_id, ServiceCenter.is_active)
            .order_by(ServiceCenter.code).limit(limit))
        return [Choice(*row) for row in rows]
