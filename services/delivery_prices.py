"""What a center charges to deliver produce to a town buyer: a table by destination and weight.

Each center sets, for each zone (the seller's own county, the rest of its province, elsewhere),
weight bands: "up to 5 kg: ¥8". A parcel costs the price of the smallest band that holds its
weight; where the center has no band that large for the zone, it does not deliver there. The zone
of an address is read from the address itself: it names the county, or the province, or neither.
The delivery money is the county's (it pays the carrier), so it is not in the center's cash book.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.amounts import MILLI
from store.models import DeliveryPrice


class Zone(StrEnum):
    COUNTY = "county"  # the seller's county
    PROVINCE = "province"  # the seller's province, beyond the county
    ELSEWHERE = "elsewhere"


ZONES = tuple(Zone)
# The weight of one unit, in grams; a piece, a dozen and a box are what a parcel of produce
# usually weighs (an apple, a dozen eggs, a box of fruit), as a partner would guess it.
UNIT_GRAMS = {"jin": 500, "kg": 1000, "ton": 1_000_000, "piece": 500, "dozen": 1000, "box": 5000}


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
    if any(word and word.casefold() in said for word in county_words):
        return Zone.COUNTY
    short = province.removesuffix("省").removesuffix("市")  # "陕西" names "陕西省"
    if short and short.casefold() in said:
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
