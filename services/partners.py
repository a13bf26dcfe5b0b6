"""Who runs which village service center, and which group chat is each center's order desk.

Admins are the ids in ADMIN_IDS; they are passed in by the caller (``Actor``), never stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from services.clock import Clock
from services.errors import DomainError, NotAdmin, NotFound, NotYours
from store.db import Store
from store.models import Partner, ServiceCenter, Villager


@dataclass(frozen=True, slots=True)
class Actor:
    """The person acting: their Telegram id, name, and whether they are an admin."""

    telegram_id: int
    name: str = ""
    is_admin: bool = False


class NotPartner(DomainError):
    """Only the partners of ``center`` (and admins) may do this."""

    def __init__(self, center_names: dict):
        super().__init__("not a partner of this center")
        self.center_names = center_names


class UnknownPerson(DomainError):
    """An @username nobody with that name has talked to the bot yet."""

    def __init__(self, who: str):
        super().__init__(f"unknown person {who}")
        self.who = who


class AmbiguousPerson(DomainError):
    """Several people the bot knows have had this @username (some of them before a rename the
    bot has not seen yet): guessing one could give a stranger a center's rights."""

    def __init__(self, who: str, candidates: list[Person]):
        super().__init__(f"ambiguous person {who}")
        self.who = who
        self.candidates = candidates


class PersonChanged(DomainError):
    """The person asked about is not as they were shown: their name or username changed since."""

    def __init__(self, person: Person):
        super().__init__("person changed")
        self.person = person


class ConfirmationLapsed(DomainError):
    """A confirmation asked for longer ago than ``CONFIRMATION_LIFETIME``."""


class GroupTaken(DomainError):
    """The group is already another center's order desk."""

    def __init__(self, center_names: dict):
        super().__init__("group already bound")
        self.center_names = center_names


# How long a "make this person a partner?" question can be answered.
CONFIRMATION_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone named by an admin, as the bot knows them (``known`` False: they never wrote to it)."""

    telegram_id: int
    first_name: str = ""
    username: str | None = None
    known: bool = False

    @property
    def fingerprint(self) -> str:
        """Eight hex digits that change when the name or username shown to the admin changes."""
        shown = f"{self.known}\x00{self.first_name}\x00{(self.username or '').lower()}"
        return hashlib.sha256(shown.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class PartnerChange:
    """What ``/partner add|remove`` would do, shown before it is done."""

    adding: bool
    center_id: int
    center_code: str
    center_names: dict
    person: Person
    needed: bool  # False: they already are (adding) or are not (removing) a partner


@dataclass(frozen=True, slots=True)
class PartnerView:
    center_code: str
    center_names: dict
    telegram_id: int
    first_name: str
    username: str | None


@dataclass(frozen=True, slots=True)
class DeskView:
    """A center as its order desk sees it."""

    id: int
    code: str
    names: dict
    group_chat_id: int | None
    locale: str | None = None  # the language its group reads


def _desk(center: ServiceCenter) -> DeskView:
    return DeskView(center.id, center.code, center.names, center.group_chat_id, center.desk_locale)


async def center_by_code(session, code: str) -> ServiceCenter:
    """A center by its code, in any letter case; NotFound if there is none."""
    center = await session.scalar(select(ServiceCenter).where(func.upper(ServiceCenter.code) == code.strip().upper()))
    if center is None:
        raise NotFound("center")
    return center


async def is_partner(session, center_id: int, telegram_id: int) -> bool:
    return await session.scalar(
        select(Partner.id).where(Partner.center_id == center_id, Partner.telegram_id == telegram_id)
    ) is not None


async def partner_at_desk(store: Store, telegram_id: int, chat_id: int) -> bool:
    """Whether ``telegram_id`` is a partner of the center whose order desk is the group ``chat_id``."""
    async with store.read() as session:
        return await session.scalar(
            select(Partner.id).join(ServiceCenter, Partner.center_id == ServiceCenter.id)
            .where(ServiceCenter.group_chat_id == chat_id, Partner.telegram_id == telegram_id).limit(1)
        ) is not None


async def check_may_act(session, center_id: int, actor: Actor) -> None:
    """Raise NotPartner unless ``actor`` is a partner of the center or an admin."""
    if actor.is_admin or await is_partner(session, center_id, actor.telegram_id):
        return
    center = await session.get(ServiceCenter, center_id)
    raise NotPartner(center.names if center else {})


async def check_may_see(session, center_ids: set[int], actor: Actor, chat_id: int) -> None:
    """Raise NotYours unless a card of these centers may be shown to ``actor`` in ``chat_id``.

    Seeing is a right, like acting: callback data can be forged, so a card (an order's, a
    listing's review) is shown only where it is posted. That is the desk group of one of the
    centers, where anyone in the group sees its cards, or the private chat (its id is the
    person's own) of one of their partners or of an admin. Nowhere else: not in another
    center's group, even for an admin or a partner."""
    if chat_id == actor.telegram_id:
        if actor.is_admin or await session.scalar(select(Partner.id).where(
                Partner.center_id.in_(center_ids), Partner.telegram_id == actor.telegram_id).limit(1)) is not None:
            return
    elif await session.scalar(select(ServiceCenter.id).where(
            ServiceCenter.id.in_(center_ids), ServiceCenter.group_chat_id == chat_id).limit(1)) is not None:
        return
    raise NotYours()


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAdmin()


def _person(row) -> Person:
    return Person(row.telegram_id, row.first_name or "", row.username, known=True)


async def _person_by_id(session, telegram_id: int) -> Person:
    row = (await session.execute(select(Villager.telegram_id, Villager.first_name, Villager.username)
                                 .where(Villager.telegram_id == telegram_id))).first()
    return _person(row) if row else Person(telegram_id)


async def find_person(session, who: str) -> Person:
    """The person behind ``123456`` (a Telegram user id) or ``@username`` (someone who has talked
    to the bot). UnknownPerson if nobody has that username, AmbiguousPerson if several have."""
    who = who.strip()
    if who.isascii() and who.isdigit() and len(who) <= 16:  # Telegram's user ids have at most 52 bits
        return await _person_by_id(session, int(who))
    name = who.removeprefix("@")
    rows = (await session.execute(
        select(Villager.telegram_id, Villager.first_name, Villager.username)
        .where(func.lower(Villager.username) == name.lower(), Villager.telegram_id.is_not(None))
        .order_by(Villager.telegram_id).limit(10)
    )).all()
    if not rows:
        raise UnknownPerson(who)
    if len(rows) > 1:
        raise AmbiguousPerson(who, [_person(row) for row in rows])
    return _person(rows[0])


async def preview_partner_change(store: Store, actor: Actor, center_code: str, who: str, adding: bool
                                 ) -> PartnerChange:
    """Who ``who`` is and what adding (or removing) them would change; changes nothing."""
    require_admin(actor)
    async with store.read() as session:
        center = await center_by_code(session, center_code)
        person = await find_person(session, who)
        partner = await is_partner(session, center.id, person.telegram_id)
        return PartnerChange(adding, center.id, center.code, center.names, person, needed=partner != adding)


async def confirm_partner_change(store: Store, clock: Clock, actor: Actor, center_id: int, telegram_id: int,
                                 fingerprint: str, asked_at: datetime, adding: bool) -> PartnerChange:
    """Do what the admin confirmed, if the person is still the one shown (``fingerprint``) and the
    question has not lapsed. A second confirmation finds it done (``needed`` False)."""
    check_confirmation(actor, clock, asked_at)
    async with store.write() as session:
        center = await session.get(ServiceCenter, center_id)
        if center is None:
            raise NotFound("center")
        person = await confirmed_person(session, telegram_id, fingerprint)
        needed = await set_member(session, Partner, adding, clock.now(), center_id=center.id, telegram_id=telegram_id)
        return PartnerChange(adding, center.id, center.code, center.names, person, needed)


async def set_member(session, model, adding: bool, now: datetime, **keys) -> bool:
    """Add the row of ``model`` (a partner, county staff) with ``keys``, or remove it; whether
    that changed anything (False: it was already so)."""
    if adding:
        if await session.scalar(select(model.id).filter_by(**keys).limit(1)) is not None:
            return False
        session.add(model(**keys, added_at=now))
        return True
    return (await session.execute(delete(model).filter_by(**keys))).rowcount > 0


def check_confirmation(actor: Actor, clock: Clock, asked_at: datetime) -> None:
    """An admin's ✅ Confirm on a change of people (a partner, county staff), still within
    CONFIRMATION_LIFETIME of the question; NotAdmin or ConfirmationLapsed otherwise."""
    require_admin(actor)
    if not timedelta(0) <= clock.now() - asked_at <= CONFIRMATION_LIFETIME:
        raise ConfirmationLapsed("confirmation lapsed")


async def confirmed_person(session, telegram_id: int, fingerprint: str) -> Person:
    """The person an admin confirmed, if they are still the one shown (PersonChanged otherwise)."""
    person = await _person_by_id(session, telegram_id)
    if person.fingerprint != fingerprint:
        raise PersonChanged(person)
    return person


async def add_partner(store: Store, clock: Clock, actor: Actor, center_code: str, telegram_id: int) -> DeskView:
    """Make someone a partner of a center. Adding them twice is one partnership."""
    require_admin(actor)
    async with store.write() as session:
        center = await center_by_code(session, center_code)
        if not await is_partner(session, center.id, telegram_id):
            session.add(Partner(center_id=center.id, telegram_id=telegram_id, added_at=clock.now()))
        return _desk(center)


async def list_partners(store: Store, center_code: str | None = None) -> list[PartnerView]:
    async with store.read() as session:
        query = (
            select(ServiceCenter.code, ServiceCenter.names, Partner.telegram_id, Villager.first_name, Villager.username)
            .join(ServiceCenter, Partner.center_id == ServiceCenter.id)
            .outerjoin(Villager, Villager.telegram_id == Partner.telegram_id)
            .order_by(ServiceCenter.code, Partner.id)
        )
        if center_code:
            center = await center_by_code(session, center_code)
            query = query.where(Partner.center_id == center.id)
        return [PartnerView(code, names, tid, first or "", username)
                for code, names, tid, first, username in await session.execute(query)]


async def bind_group(store: Store, actor: Actor, center_code: str, chat_id: int, locale: str | None = None
                     ) -> DeskView:
    """Make a group chat the center's order desk (replacing any group it had before). Its cards
    speak ``locale``, the language of the partner who bound it."""
    async with store.write() as session:
        center = await center_by_code(session, center_code)
        await check_may_act(session, center.id, actor)
        other = await session.scalar(select(ServiceCenter).where(ServiceCenter.group_chat_id == chat_id))
        if other is not None and other.id != center.id:
            raise GroupTaken(other.names)
        center.group_chat_id = chat_id
        center.desk_locale = locale
        return _desk(center)


async def unbind_group(store: Store, actor: Actor, chat_id: int) -> DeskView:
    async with store.write() as session:
        center = await session.scalar(select(ServiceCenter).where(ServiceCenter.group_chat_id == chat_id))
        if center is None:
            raise NotFound("desk")
        await check_may_act(session, center.id, actor)
        center.group_chat_id = None
        return _desk(center)


async def group_gone(store: Store, chat_id: int) -> None:
    """The bot left or was removed from the group: it is no longer anyone's desk."""
    async with store.write() as session:
        await session.execute(
            update(ServiceCenter).where(ServiceCenter.group_chat_id == chat_id).values(group_chat_id=None)
        )


async def desk_of_group(store: Store, chat_id: int) -> DeskView | None:
    async with store.read() as session:
        center = await session.scalar(select(ServiceCenter).where(ServiceCenter.group_chat_id == chat_id))
        return _desk(center) if center else None


async def desk_of_center(store: Store, center_id: int) -> DeskView | None:
    async with store.read() as session:
        center = await session.get(ServiceCenter, center_id)
        return _desk(center) if center else None


async def centers_of_partner(store: Store, telegram_id: int) -> list[DeskView]:
    """The centers ``telegram_id`` is a partner of, by code (/help names them)."""
    async with store.read() as session:
        found = await session.scalars(select(ServiceCenter).join(Partner, Partner.center_id == ServiceCenter.id)
                                      .where(Partner.telegram_id == telegram_id).order_by(ServiceCenter.code))
        return [_desk(center) for center in found]
