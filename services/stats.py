"""Figures for admins (``/stats``): orders and sales, produce sold, villagers, parcels waiting
for pickup, searches that found nothing, and a chart of daily orders.

Each figure is one short read transaction of SQL aggregates, so a province's orders are counted
by the database, never loaded. Days are the bot's local days (``timezone``): a window's start is
a local midnight turned into UTC, and a day's count is a conditional aggregate between two such
instants, which is exact in any zone and on both SQLite and PostgreSQL.

Orders and sales count orders that are not rejected or cancelled; an order belongs to its pickup
center (``Order.center_id``), and a produce sale to the seller and the seller's village.

``counties`` (the county staff's own, or the one an admin names) limits every figure to those
counties: orders of their centers, produce of their villages' sellers, villagers of their centers
and those villagers' searches. None (an admin's default) is every county.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, null, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.counties import in_counties
from services.listings import first_name_only
from services.states import OrderStatus
from services.stats_chart import daily_orders_png as daily_orders_png  # the chart, drawn apart
from store.db import Store
from store.models import County, Listing, Order, OrderEvent, OrderLine, SearchMiss, ServiceCenter, Villager

S = OrderStatus
TOP = 10  # places, sellers and search terms shown
OLDEST = 3  # waiting parcels shown
CHART_DAYS = 30
NEW_DAYS = 7
WINDOWS = (1, 7, 30)  # today, 7 days, 30 days (local days, today included)
NOT_COUNTED = (str(S.REJECTED), str(S.CANCELLED), str(S.RETURNED))  # orders left out of orders and sales


# ---- local days -------------------------------------------------------------------------------

def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def day_start(day: date, timezone: str) -> datetime:
    """The instant a local day begins."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


def window_start(now: datetime, timezone: str, days: int) -> datetime:
    """The start of the last ``days`` local days, today included (1: since local midnight)."""
    return day_start(local_today(now, timezone) - timedelta(days=days - 1), timezone)


def local_days(now: datetime, timezone: str, days: int) -> list[tuple[date, datetime, datetime]]:
    """The last ``days`` local days, oldest first: (day, start, end)."""
    today = local_today(now, timezone)
    found = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        found.append((day, day_start(day, timezone), day_start(day + timedelta(days=1), timezone)))
    return found


def _per_day(column, days: list[tuple[date, datetime, datetime]]) -> list:
    return [func.count(case(((column >= start) & (column < end), 1))) for _, start, end in days]


# ---- orders and sales ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Figure:
    orders: int = 0
    sales_fen: int = 0

    def __sub__(self, other: Figure) -> Figure:
        return Figure(self.orders - other.orders, self.sales_fen - other.sales_fen)

    def __add__(self, other: Figure) -> Figure:
        return Figure(self.orders + other.orders, self.sales_fen + other.sales_fen)


@dataclass(frozen=True, slots=True)
class Windows:
    """Orders and sales today, over 7 days and over 30 days."""

    today: Figure = Figure()
    week: Figure = Figure()
    month: Figure = Figure()

    def __sub__(self, other: Windows) -> Windows:
        return Windows(self.today - other.today, self.week - other.week, self.month - other.month)

    def __add__(self, other: Windows) -> Windows:
        return Windows(self.today + other.today, self.week + other.week, self.month + other.month)


_WINDOW_LABELS = ("today_n", "today_fen", "week_n", "week_fen", "month_n", "month_fen")


def _window_columns(now: datetime, timezone: str) -> list:
    """Orders and sales of each window, as labelled aggregates (see ``_WINDOW_LABELS``)."""
    columns = []
    for days in WINDOWS:
        since = Order.created_at >= window_start(now, timezone, days)
        columns += [func.count(case((since, 1))), func.coalesce(func.sum(case((since, Order.total_fen), else_=0)), 0)]
    return [column.label(name) for column, name in zip(columns, _WINDOW_LABELS, strict=True)]


def _windows(row, prefix: str = "") -> Windows:
    n = [int(getattr(row, prefix + name) or 0) for name in _WINDOW_LABELS]
    return Windows(Figure(n[0], n[1]), Figure(n[2], n[3]), Figure(n[4], n[5]))


def _counted(now: datetime, timezone: str, counties: set[int] | None = None):
    """Orders of the last 30 days that count: not rejected or cancelled (and of ``counties``)."""
    return ((Order.created_at >= window_start(now, timezone, WINDOWS[-1])) & Order.status.not_in(NOT_COUNTED)
            & in_counties(Order.center_id, counties))


async def _overall(session: AsyncSession, now: datetime, timezone: str, counties: set[int] | None = None) -> Windows:
    return _windows((await session.execute(
        select(*_window_columns(now, timezone)).where(_counted(now, timezone, counties)))).one())


async def orders_and_sales(store: Store, now: datetime, timezone: str, counties: set[int] | None = None) -> Windows:
    async with store.read() as session:
        return await _overall(session, now, timezone, counties)


@dataclass(frozen=True, slots=True)
class Place:
    id: int
    names: dict
    code: str | None  # a center's; None for a county
    figures: Windows


@dataclass(frozen=True, slots=True)
class Places:
    """The places with the most sales over 30 days, and the others summed up."""

    top: list[Place]
    others: int = 0  # places beyond the top that had orders in the 30 days
    rest: Windows = Windows()  # their orders and sales


async def _places(store: Store, now: datetime, timezone: str, county: bool, limit: int,
                  counties: set[int] | None = None) -> Places:
    key = (ServiceCenter.county_id if county else Order.center_id).label("place_id")
    grouped = select(key, *_window_columns(now, timezone)).select_from(Order)
    if county:
        grouped = grouped.join(ServiceCenter, ServiceCenter.id == Order.center_id)
    ranked = grouped.where(_counted(now, timezone, counties)).group_by(key).subquery()
    named = County if county else ServiceCenter
    code = null() if county else ServiceCenter.code
    # Window functions sum up every place, before the limit, in the same statement (so the rest is
    # consistent with the top even while orders come in).
    everywhere = [func.sum(ranked.c[name]).over().label(f"all_{name}") for name in _WINDOW_LABELS]
    async with store.read() as session:
        rows = (await session.execute(
            select(ranked, named.names, code.label("code"), func.count().over().label("places"), *everywhere)
            .join(named, named.id == ranked.c.place_id)
            .order_by(ranked.c.month_fen.desc(), ranked.c.month_n.desc(), ranked.c.place_id).limit(limit)
        )).all()
    if not rows:
        return Places([])
    top = [Place(row.place_id, row.names, row.code, _windows(row)) for row in rows]
    everywhere = _windows(rows[0], "all_")
    return Places(top, int(rows[0].places) - len(top), everywhere - sum((p.figures for p in top), Windows()))


async def by_center(store: Store, now: datetime, timezone: str, limit: int = TOP,
                    counties: set[int] | None = None) -> Places:
    """Orders and sales by pickup center, the centers with the most sales over 30 days first."""
    return await _places(store, now, timezone, False, limit, counties)


async def by_county(store: Store, now: datetime, timezone: str, limit: int = TOP,
                    counties: set[int] | None = None) -> Places:
    return await _places(store, now, timezone, True, limit, counties)


# ---- produce sold by sellers --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SellerSales:
    seller_id: int
    first_name: str  # the first name only, as everywhere a seller is named
    center_names: dict  # the seller's village, where the produce was listed
    quantities: list[tuple[str, int]]  # (unit, thousandths sold), one per unit they sell in
    sold_fen: int  # in orders not rejected or cancelled
    paid_fen: int  # of which picked up and paid


@dataclass(frozen=True, slots=True)
class ProduceSales:
    top: list[SellerSales]
    others: int = 0  # other sellers who sold something


async def produce_sold(store: Store, now: datetime, timezone: str, limit: int = TOP,
                       counties: set[int] | None = None) -> ProduceSales:
    """Who sold the most produce (by amount) in orders placed over the last 30 days (sellers of
    ``counties``' villages)."""

    def produce_lines(*columns):
        return (select(*columns).select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
                .join(Listing, Listing.id == OrderLine.listing_id)
                .where(_counted(now, timezone), in_counties(Listing.center_id, counties)))

    # A produce order has one line, so its total is that line's amount.
    sold = func.coalesce(func.sum(Order.total_fen), 0).label("sold")
    paid = func.coalesce(func.sum(case((Order.status.in_([S.PICKED_UP, S.DELIVERED]), Order.total_fen), else_=0)),
                         0).label("paid")
    grouped = produce_lines(Listing.seller_id, Listing.center_id, sold, paid).group_by(
        Listing.seller_id, Listing.center_id)
    async with store.read() as session:
        ranked = (await session.execute(
            grouped.order_by(sold.desc(), Listing.seller_id, Listing.center_id).limit(limit))).all()
        if not ranked:
            return ProduceSales([])
        sellers = int(await session.scalar(select(func.count()).select_from(grouped.subquery())) or 0)
        ids = {row.seller_id for row in ranked}
        quantities: dict[tuple[int, int], list[tuple[str, int]]] = {}
        for seller_id, center_id, unit, milli in await session.execute(
                produce_lines(Listing.seller_id, Listing.center_id, OrderLine.unit, func.sum(OrderLine.quantity_milli))
                .where(Listing.seller_id.in_(ids))
                .group_by(Listing.seller_id, Listing.center_id, OrderLine.unit)
                .order_by(Listing.seller_id, Listing.center_id, OrderLine.unit)):
            quantities.setdefault((seller_id, center_id), []).append((unit, int(milli or 0)))
        names = dict((await session.execute(
            select(Villager.id, Villager.first_name).where(Villager.id.in_(ids)))).all())
        centers = dict((await session.execute(
            select(ServiceCenter.id, ServiceCenter.names)
            .where(ServiceCenter.id.in_({row.center_id for row in ranked})))).all())
    top = [SellerSales(row.seller_id, first_name_only(names.get(row.seller_id)), centers.get(row.center_id, {}),
                       quantities.get((row.seller_id, row.center_id), []), int(row.sold), int(row.paid))
           for row in ranked]
    return ProduceSales(top, sellers - len(top))


# ---- villagers ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class VillagerFigures:
    active_week: int  # on Telegram, seen in the last 7 days
    active_month: int  # ... 30 days
    total: int  # everyone the bot knows, with those partners registered without a phone
    new_per_day: list[tuple[date, int]] = field(default_factory=list)  # the last 7 local days


async def villager_figures(store: Store, now: datetime, timezone: str, days: int = NEW_DAYS,
                           counties: set[int] | None = None) -> VillagerFigures:
    on_telegram = Villager.telegram_id.is_not(None)
    here = in_counties(Villager.center_id, counties)
    seen = [func.count(case(((Villager.last_seen_at >= now - timedelta(days=n)) & on_telegram, 1))) for n in (7, 30)]
    span = local_days(now, timezone, days)
    async with store.read() as session:
        active_week, active_month, total = (await session.execute(
            select(*seen, func.count(Villager.id)).where(here))).one()
        new = (await session.execute(
            select(*_per_day(Villager.created_at, span)).where(Villager.created_at >= span[0][1], here))).one()
    return VillagerFigures(int(active_week), int(active_month), int(total),
                           [(day, int(n)) for (day, _, _), n in zip(span, new, strict=True)])


# ---- parcels waiting for pickup -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WaitingParcel:
    number: str
    center_code: str
    center_names: dict
    arrived_at: datetime


@dataclass(frozen=True, slots=True)
class Waiting:
    count: int
    oldest: list[WaitingParcel]


async def waiting_parcels(store: Store, limit: int = OLDEST, counties: set[int] | None = None) -> Waiting:
    """Parcels at the village not yet collected, and the ones that have waited longest. A parcel
    arrived when its order became ready for pickup (its last such event)."""
    ready = (Order.status == S.READY_FOR_PICKUP) & in_counties(Order.center_id, counties)
    async with store.read() as session:
        count = await session.scalar(select(func.count(Order.id)).where(ready))
        arrived = (select(OrderEvent.order_id, func.max(OrderEvent.at).label("at"))
                   .join(Order, Order.id == OrderEvent.order_id)
                   .where(ready, OrderEvent.status == S.READY_FOR_PICKUP)
                   .group_by(OrderEvent.order_id).subquery())
        rows = (await session.execute(
            select(Order.number, ServiceCenter.code, ServiceCenter.names, arrived.c.at)
            .join(arrived, arrived.c.order_id == Order.id)
            .join(ServiceCenter, ServiceCenter.id == Order.center_id)
            .order_by(arrived.c.at, Order.id).limit(limit))).all()
    return Waiting(int(count or 0), [WaitingParcel(*row) for row in rows])


# ---- searches that found nothing ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Miss:
    term: str  # as normalised: casefolded, spaces collapsed
    count: int
    people: int


@dataclass(frozen=True, slots=True)
class Misses:
    top: list[Miss]
    others: int = 0  # other terms


async def search_misses(store: Store, now: datetime, timezone: str, limit: int = TOP,
                        counties: set[int] | None = None) -> Misses:
    """What people searched for and did not find over 30 days, most frequent first: demand the
    catalog does not meet yet (searched by villagers of ``counties``)."""
    count = func.count(SearchMiss.id)
    whose = true() if counties is None else SearchMiss.villager_id.in_(
        select(Villager.id).where(in_counties(Villager.center_id, counties)))
    grouped = (select(SearchMiss.normalized, count.label("n"), func.count(SearchMiss.villager_id.distinct()))
               .where(SearchMiss.at >= window_start(now, timezone, WINDOWS[-1]), whose)
               .group_by(SearchMiss.normalized))
    async with store.read() as session:
        rows = (await session.execute(grouped.order_by(count.desc(), SearchMiss.normalized).limit(limit))).all()
        terms = int(await session.scalar(select(func.count()).select_from(grouped.subquery())) or 0)
    return Misses([Miss(term, int(n), int(people)) for term, n, people in rows], terms - len(rows))


# ---- daily orders, and their chart --------------------------------------------------------------

async def daily_orders(store: Store, now: datetime, timezone: str, days: int = CHART_DAYS,
                       counties: set[int] | None = None) -> list[tuple[date, int]]:
    """Orders placed (not rejected or cancelled) on each of the last ``days`` local days, oldest
    first, days without orders included."""
    span = local_days(now, timezone, days)
    async with store.read() as session:
        counts = (await session.execute(
            select(*_per_day(Order.created_at, span))
            .where(Order.created_at >= span[0][1], Order.status.not_in(NOT_COUNTED),
                   in_counties(Order.center_id, counties)))).one()
    return [(day, int(n)) for (day, _, _), n in zip(span, counts, strict=True)]


# ---- all of it ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Report:
    now: datetime
    timezone: str
    orders: Windows
    counties: Places
    centers: Places
    produce: ProduceSales
    villagers: VillagerFigures
    waiting: Waiting
    misses: Misses
    daily: list[tuple[date, int]]
    scope: list[dict] = field(default_factory=list)  # the names of the counties it is limited to


async def report(store: Store, now: datetime, timezone: str, counties: set[int] | None = None,
                 scope: list[dict] | None = None) -> Report:
    """Every figure of ``/stats``, one short read each (not one snapshot: figures a moment apart);
    only of ``counties`` (named ``scope``) if given."""
    c = counties
    return Report(
        now=now, timezone=timezone,
        orders=await orders_and_sales(store, now, timezone, c),
        counties=await by_county(store, now, timezone, counties=c),
        centers=await by_center(store, now, timezone, counties=c),
        produce=await produce_sold(store, now, timezone, counties=c),
        villagers=await villager_figures(store, now, timezone, counties=c),
        waiting=await waiting_parcels(store, counties=c),
        misses=await search_misses(store, now, timezone, counties=c),
        daily=await daily_orders(store, now, timezone, counties=c),
        scope=scope or [],
    )
