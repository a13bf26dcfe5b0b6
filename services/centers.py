"""Counties and village service centers: choosing one, finding the nearest, importing from CSV.

A centers CSV has the columns of ``REQUIRED``, and may have ``county:en``, ``timezone`` and
``province`` (the county's province, e.g. 陕西省: delivery prices go by it; an empty or missing
cell leaves the county's province as it was).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from catalog.csvfile import ImportReport, RowError, localized_columns, parse_decimal, parse_rows, read_csv
from locales import N_
from store.db import Store
from store.models import County, ServiceCenter

REQUIRED = ("code", "name:zh", "name:en", "county", "address", "latitude", "longitude", "opening_hours")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")


@dataclass(frozen=True, slots=True)
class CountyView:
    id: int
    names: dict
    centers: int


@dataclass(frozen=True, slots=True)
class CenterView:
    id: int
    code: str
    names: dict
    county_id: int
    county_names: dict
    address: str
    latitude: float | None
    longitude: float | None
    opening_hours: str
    timezone: str
    distance_km: float | None = None


def _center_view(center: ServiceCenter, county: County, distance: float | None = None) -> CenterView:
    return CenterView(
        id=center.id, code=center.code, names=center.names, county_id=county.id,
        county_names=county.names, address=center.address, latitude=center.latitude,
        longitude=center.longitude, opening_hours=center.opening_hours, timezone=center.timezone,
        distance_km=distance,
    )


async def list_counties(store: Store) -> list[CountyView]:
    async with store.read() as session:
        rows = await session.execute(
            select(County, func.count(ServiceCenter.id))
            .join(ServiceCenter, ServiceCenter.county_id == County.id)
            .where(ServiceCenter.is_active)
            .group_by(County.id)
            .order_by(County.name)
        )
        return [CountyView(county.id, county.names, count) for county, count in rows]


async def list_centers(store: Store, county_id: int) -> list[CenterView]:
    async with store.read() as session:
        rows = await session.execute(
            select(ServiceCenter, County).join(County)
            .where(ServiceCenter.county_id == county_id, ServiceCenter.is_active)
            .order_by(ServiceCenter.code)
        )
        return [_center_view(center, county) for center, county in rows]


async def get_center(store: Store, center_id: int) -> CenterView | None:
    async with store.read() as session:
        row = (await session.execute(
            select(ServiceCenter, County).join(County).where(ServiceCenter.id == center_id)
        )).first()
        return _center_view(*row) if row else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


async def nearest_centers(store: Store, latitude: float, longitude: float, limit: int = 3) -> list[CenterView]:
    """The closest active centers. A province holds many thousands of centers, so look in a box
    around the point first and widen it only when it holds too few."""
    async with store.read() as session:
        for half_side in (0.5, 2.0, 8.0, 180.0):
            rows = (await session.execute(
                select(ServiceCenter, County).join(County).where(
                    ServiceCenter.is_active,
                    ServiceCenter.latitude.between(latitude - half_side, latitude + half_side),
                    ServiceCenter.longitude.between(longitude - half_side, longitude + half_side),
                )
            )).all()
            if len(rows) >= limit or half_side == 180.0:
                break
    ranked = sorted(
        (distance_km(latitude, longitude, center.latitude, center.longitude), center, county)
        for center, county in rows
    )
    return [_center_view(center, county, round(d, 1)) for d, center, county in ranked[:limit]]


def _parse_center(line: int, row: dict[str, str], header: list[str]) -> tuple[dict | None, list[RowError]]:
    errors: list[RowError] = []

    def bad(message: str, **params) -> None:
        errors.append(RowError(line, message, params))

    if not _CODE.match(row["code"]):
        bad(N_("code {value!r} must be 1-32 letters, digits, '.', '_' or '-'."), value=row["code"])
    names = localized_columns(row, header, "name")
    if not names.get("zh"):
        bad(N_("name:zh must be given."))
    if not row["county"]:
        bad(N_("county must be given."))
    lat, lon = parse_decimal(row["latitude"]), parse_decimal(row["longitude"])
    if row["latitude"] or row["longitude"]:
        if lat is None or not -90 <= lat <= 90:
            bad(N_("latitude {value!r} must be a number from -90 to 90."), value=row["latitude"])
        if lon is None or not -180 <= lon <= 180:
            bad(N_("longitude {value!r} must be a number from -180 to 180."), value=row["longitude"])
    hours = row["opening_hours"]
    if hours and not _HOURS.match(hours):
        bad(N_("opening_hours {value!r} must look like 08:00-20:00."), value=hours)
    province = row.get("province", "")
    if len(province) > 50:
        bad(N_("province {value!r} must be at most 50 characters."), value=province)
    timezone = row.get("timezone") or "Asia/Shanghai"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        bad(N_("timezone {value!r} is not an IANA time zone."), value=timezone)
    if errors:
        return None, errors
    county_names = {"zh": row["county"]}
    if row.get("county:en"):
        county_names["en"] = row["county:en"]
    return {
        "code": row["code"], "names": names, "county": row["county"], "county_names": county_names,
        "province": province,
        "address": row["address"], "opening_hours": hours, "timezone": timezone,
        "latitude": float(lat) if row["latitude"] else None,
        "longitude": float(lon) if row["longitude"] else None,
    }, []


async def import_centers(store: Store, data: bytes) -> ImportReport:
    table = read_csv(data, REQUIRED)
    if isinstance(table, list):
        return ImportReport(errors=table)
    parsed, errors = parse_rows(table, _parse_center, "code", N_("code {value!r} already appears on line {other}."),
                                N_("The file has no centers."))
    report = ImportReport(errors=errors)
    if errors:
        return report
    async with store.write() as session:
        counties = {c.name: c for c in await session.scalars(select(County))}
        centers = {c.code: c for c in await session.scalars(select(ServiceCenter))}
        for item in parsed:
            county = counties.get(item["county"])
            if county is None:
                county = counties[item["county"]] = County(name=item["county"], names={})
                session.add(county)
            county.names = {**county.names, **item["county_names"]}
            if item["province"]:  # an older file without the column leaves the province as it was
                county.province = item["province"]
            center = centers.get(item["code"])
            if center is None:
                center = centers[item["code"]] = ServiceCenter(code=item["code"], is_active=True)
                session.add(center)
                report.created += 1
            else:
                report.updated += 1
            center.county = county
            for key in ("names", "address", "latitude", "longitude", "opening_hours", "timezone"):
                setattr(center, key, item[key])
    return report
