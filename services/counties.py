"""County staff: who supervises the centers of a county (``CountyStaff``), and the one check that
someone may act for a center as its county's staff. Admins (ADMIN_IDS) may act for every county.

An admin makes someone county staff (``/staff add 城固县 @name`` or ``rural-bot staff add``): as
for a partner, the person found is shown first and the change waits for a confirmation
(``preview_staff_change``, then ``confirm_staff_change``). A county is named by its name in any
language ("城固县", "Chenggu County"), in any letter case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import Clock
from services.errors import DomainError, NotAdmin, NotFound
from services.partners import (
    Actor,
    Person,
    check_confirmation,
    confirmed_person,
    find_person,
    require_admin,
    set_member,
)
from store.db import Store
from store.models import County, CountyStaff, ServiceCenter, Villager


class NotYourCounty(DomainError):
    """County staff asked about a center (``code``) or a county (``names``) that is not theirs."""

    def __init__(self, code: str = "", names: dict | None = None):
        super().__init__(f"not in the actor's county: {code or names}")
        self.code = code
        self.names = names or {}


@dataclass(frozen=True, slots=True)
class StaffChange:
    """What ``/staff add|remove`` would do, shown before it is done."""

    adding: bool
    county_id: int
    county_names: dict
    person: Person
    needed: bool  # False: they already are (adding) or are not (removing) staff of the county


@dataclass(frozen=True, slots=True)
class StaffView:
    county_names: dict
    telegram_id: int
    first_name: str
    username: str | None


@dataclass(frozen=True, slots=True)
class Scope:
    """Which counties someone's figures cover: ``county_ids`` None is every county (an admin's
    default); ``names`` are those counties' names, for the title (empty for every county)."""

    county_ids: set[int] | None
    names: list[dict]


def _names(county: County) -> dict:
    return county.names or {"zh_Hans": county.name}


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


async def county_by_name(session: AsyncSession, name: str) -> County:
    """A county by its name in any language, in any letter case; NotFound if there is none."""
    wanted = _words(name)
    if wanted:
        for county in (await session.scalars(select(County).order_by(County.id))).all():
            if wanted in {_words(county.name), *(_words(str(n)) for n in (county.names or {}).values())}:
                return county
    raise NotFound("county")


async def staff_counties(session: AsyncSession, telegram_id: int) -> set[int]:
    """The ids of the counties ``telegram_id`` is staff of (none for most people)."""
    return set((await session.scalars(select(CountyStaff.county_id).where(CountyStaff.telegram_id == telegram_id))
                ).all())


async def may_supervise(session: AsyncSession, actor: Actor, center_id: int) -> bool:
    """Whether ``actor`` is an admin, or staff of the county of ``center_id``."""
    if actor.is_admin:
        return True
    return await session.scalar(
        select(CountyStaff.id).join(ServiceCenter, ServiceCenter.county_id == CountyStaff.county_id)
        .where(ServiceCenter.id == center_id, CountyStaff.telegram_id == actor.telegram_id).limit(1)
    ) is not None


async def check_may_supervise(session: AsyncSession, actor: Actor, center: ServiceCenter) -> None:
    """Raise NotYourCounty unless ``actor`` is an admin or staff of the center's county."""
    if not await may_supervise(session, actor, center.id):
        raise NotYourCounty(center.code)


async def check_audience(session: AsyncSession, actor: Actor, audience: dict) -> None:
    """Whom ``actor`` may send a promotion to: an admin, anyone; county staff, only the villagers
    of one of their counties or of one of its centers (NotYourCounty for any other audience)."""
    if actor.is_admin:
        return
    own = await staff_counties(session, actor.telegram_id)
    kind, value = audience.get("kind"), str(audience.get("value", ""))
    if value.isascii() and value.isdigit():
        if kind == "county" and int(value) in own:
            return
        if kind == "center" and await session.scalar(
                select(ServiceCenter.county_id).where(ServiceCenter.id == int(value))) in own:
            return
    raise NotYourCounty()


async def is_staff(store: Store, telegram_id: int) -> bool:
    """Whether ``telegram_id`` is staff of any county."""
    async with store.read() as session:
        return bool(await staff_counties(session, telegram_id))


async def figures_scope(store: Store, actor: Actor, county: str | int | None = None) -> Scope:
    """The counties ``actor``'s ``/stats`` covers: an admin's, every county or the one named;
    county staff's, their own counties or the one named if it is theirs (else NotYourCounty).
    ``county`` is a name (as typed) or an id (from a button). NotAdmin for anyone else."""
    async with store.read() as session:
        own = None if actor.is_admin else await staff_counties(session, actor.telegram_id)
        if own is not None and not own:
            raise NotAdmin()
        if county is None:
            if own is None:
                return Scope(None, [])
            found = (await session.scalars(select(County).where(County.id.in_(own)).order_by(County.id))).all()
        else:
            one = await session.get(County, county) if isinstance(county, int) else \
                await county_by_name(session, county)
            if one is None:
                raise NotFound("county")
            if own is not None and one.id not in own:
                raise NotYourCounty(names=_names(one))
            found = [one]
        return Scope({c.id for c in found}, [_names(c) for c in found])


async def _is_staff_of(session: AsyncSession, county_id: int, telegram_id: int) -> bool:
    return await session.scalar(select(CountyStaff.id).where(
        CountyStaff.county_id == county_id, CountyStaff.telegram_id == telegram_id)) is not None


async def preview_staff_change(store: Store, actor: Actor, county: str, who: str, adding: bool) -> StaffChange:
    """Who ``who`` is and what adding (or removing) them as staff of ``county`` would change;
    changes nothing. NotFound (the county), UnknownPerson or AmbiguousPerson (``who``)."""
    require_admin(actor)
    async with store.read() as session:
        found = await county_by_name(session, county)
        person = await find_person(session, who)
        staff = await _is_staff_of(session, found.id, person.telegram_id)
        return StaffChange(adding, found.id, _names(found), person, needed=staff != adding)


async def confirm_staff_change(store: Store, clock: Clock, actor: Actor, county_id: int, telegram_id: int,
                               fingerprint: str, asked_at: datetime, adding: bool) -> StaffChange:
    """Do what the admin confirmed, if the person is still the one shown (``fingerprint``) and the
    question has not lapsed. A second confirmation finds it done (``needed`` False)."""
    check_confirmation(actor, clock, asked_at)
    async with store.write() as session:
        county = await session.get(County, county_id)
        if county is None:
            raise NotFound("county")
        person = await confirmed_person(session, telegram_id, fingerprint)
        needed = await set_member(session, CountyStaff, adding, clock.now(), county_id=county.id,
                                  telegram_id=telegram_id)
        return StaffChange(adding, county.id, _names(county), person, needed)


async def list_staff(store: Store, county: str | None = None) -> list[StaffView]:
    """The county staff, by county; only ``county``'s if named (NotFound if there is no such county)."""
    async with store.read() as session:
        query = (select(County.name, County.names, CountyStaff.telegram_id, Villager.first_name, Villager.username)
                 .join(County, County.id == CountyStaff.county_id)
                 .outerjoin(Villager, Villager.telegram_id == CountyStaff.telegram_id)
                 .order_by(County.id, CountyStaff.id))
        if county:
            query = query.where(CountyStaff.county_id == (await county_by_name(session, county)).id)
        return [StaffView(names or {"zh_Hans": name}, tid, first or "", username)
                for name, names, tid, first, username in await session.execute(query)]


async def counties_of_staff(store: Store, telegram_id: int) -> list[dict]:
    """The names of the counties ``telegram_id`` is staff of, by name (/help names them)."""
    async with store.read() as session:
        found = await session.scalars(select(County).join(CountyStaff, CountyStaff.county_id == County.id)
                                      .where(CountyStaff.telegram_id == telegram_id).order_by(County.id))
        return [_names(county) for county in found]


def in_counties(column, counties: set[int] | None):
    """``column`` (a center's id) is a center of ``counties``; always true for None (everywhere)."""
    if counties is None:
        return true()
    return column.in_(select(ServiceCenter.id).where(ServiceCenter.county_id.in_(counties)).correlate(None))
