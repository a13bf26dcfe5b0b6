"""Who runs which village service center, and which group chat is each center's order desk.

Admins are the ids in ADMIN_IDS; they are passed in by the caller (``Actor``), never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from services.clock import Clock
from services.errors import DomainError, NotFound
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


class NotAdmin(DomainError):
    pass


class UnknownPerson(DomainError):
    """An @username nobody with that name has talked to the bot yet."""

    def __init__(self, who: str):
        super().__init__(f"unknown person {who}")
        self.who = who


class GroupTaken(DomainError):
    """The group is already another center's order desk."""

    def __init__(self, center_names: dict):
        super().__init__("group already bound")
        self.center_names = center_names


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


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAdmin()


async def resolve_person(store: Store, who: str) -> int:
    """A Telegram user id from ``123456`` or ``@username`` (someone who has talked to the bot)."""
    who = who.strip()
    if who.lstrip("-").isdigit() and len(who) <= 20:
        return int(who)
    name = who.removeprefix("@")
    async with store.read() as session:
        telegram_id = await session.scalar(
            select(Villager.telegram_id).where(func.lower(Villager.username) == name.lower(),
                                               Villager.telegram_id.is_not(None))
        )
    if telegram_id is None:
        raise UnknownPerson(who)
    return telegram_id


async def add_partner(store: Store, clock: Clock, actor: Actor, center_code: str, telegram_id: int) -> DeskView:
    """Make someone a partner of a center. Adding them twice is one partnership."""
    _require_admin(actor)
    async with store.write() as session:
        center = await center_by_code(session, center_code)
        if not await is_partner(session, center.id, telegram_id):
            session.add(Partner(center_id=center.id, telegram_id=telegram_id, added_at=clock.now()))
        return _desk(center)


async def remove_partner(store: Store, actor: Actor, center_code: str, telegram_id: int) -> bool:
    """Returns whether there was such a partnership."""
    _require_admin(actor)
    async with store.write() as session:
        center = await center_by_code(session, center_code)
        removed = await session.execute(
            delete(Partner).where(Partner.center_id == center.id, Partner.telegram_id == telegram_id)
        )
        return removed.rowcount > 0


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
