"""Delivery bands as people write them: a typed line of ``/delivery`` ("county 5 8": zone, up to
kg, yuan; "本县 5 8"; "省外 10斤 -" removes the band), and the CSV of the demo's default table
(catalog/data/delivery_prices.csv: zone, up_to_kg, price), given to every center without one."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from catalog.csvfile import ImportReport, RowError, read_csv
from locales import N_
from services.clock import Clock
from services.delivery_prices import MAX_GRAMS, MAX_PRICE_FEN, BadBand, Band, check_fen, zone_named
from store.db import Store
from store.models import DeliveryPrice, ServiceCenter

_KG_UNITS = {"": 1000, "kg": 1000, "公斤": 1000, "千克": 1000, "斤": 500}
_YUAN_MARKS = ("¥", "￥")
_YUAN_UNITS = ("元", "块", "yuan")


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def read_grams(text: str) -> int:
    """Grams from "5", "5kg", "2.5公斤", "10斤"; BadBand("weight") if not a weight in 1 g..100 kg."""
    said = text.strip().casefold()
    for unit in sorted(_KG_UNITS, key=len, reverse=True):
        if unit and said.endswith(unit):
            number, per = said.removesuffix(unit), _KG_UNITS[unit]
            break
    else:
        number, per = said, 1000
    amount = _decimal(number)
    grams = amount * per if amount is not None else None
    if grams is None or grams != grams.to_integral_value() or not 0 < grams <= MAX_GRAMS:
        raise BadBand("weight", text)
    return int(grams)


def read_fen(text: str) -> int:
    """Fen from "8", "8.5", "¥8", "8元"; BadBand("price") if not ¥0 to ¥1000 in whole fen."""
    said = text.strip().casefold().lstrip("".join(_YUAN_MARKS))
    for unit in _YUAN_UNITS:
        said = said.removesuffix(unit)
    amount = _decimal(said)
    fen = amount * 100 if amount is not None else None
    if fen is None or fen != fen.to_integral_value() or not 0 <= fen <= MAX_PRICE_FEN:
        raise BadBand("price", text)
    return int(fen)


def read_band(words: list[str]) -> Band:
    """A typed line "county 5 8" (zone, up to kg, yuan), "本县 5 8", or "county 5 -" (remove)."""
    if len(words) != 3:
        raise BadBand("line", " ".join(words))
    zone, grams = zone_named(words[0]), read_grams(words[1])
    return Band(zone, grams, None if words[2] in ("-", "—", "－") else read_fen(words[2]))


async def give_default_tables(store: Store, clock: Clock, data: bytes) -> ImportReport:
    """Give every center that has no band yet the bands of ``data``, a CSV with the columns zone,
    up_to_kg, price (yuan): the demo's default table (catalog/data/delivery_prices.csv). A center
    with any band keeps its own, so a second run changes nothing; ``created`` counts the bands."""
    rows = read_csv(data, ("zone", "up_to_kg", "price"))
    if isinstance(rows, list):
        return ImportReport(errors=rows)
    bands, report = [], ImportReport()
    for line, row in rows.rows:
        try:
            band = read_band([row["zone"], row["up_to_kg"], row["price"]])
            bands.append(band if band.price_fen is not None else check_fen(band.price_fen))
        except BadBand:
            report.errors.append(RowError(line, N_("{value!r} is not a delivery band: a zone (county, province or "
                                                   "elsewhere), up to how many kg, and the price in yuan."),
                                          {"value": ",".join(row.values())}))
    if report.errors or not bands:
        return report
    async with store.write() as session:
        priced = select(DeliveryPrice.center_id).distinct()
        for center_id in (await session.scalars(select(ServiceCenter.id).where(ServiceCenter.id.not_in(priced)))).all():
            session.add_all(DeliveryPrice(center_id=center_id, zone=str(b.zone), up_to_grams=b.up_to_grams,
                                          price_fen=b.price_fen, updated_at=clock.now()) for b in bands)
            report.created += len(bands)
    return report
