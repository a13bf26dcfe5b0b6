"""Who is talking to the bot: their language, their service center, and what they are typing.
Their own choices are written without waiting for the disk (``Store.write(durable=False)``): one
lost with a crashed database server is a tap to do again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import Clock
from services.errors import NotFound
from store.db import Store
from store.models import ServiceCenter, Villager

# last_seen_at is refreshed at most this often, so most updates cost a read, not a write.
_SEEN_RESOLUTION = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class VillagerView:
    id: int
    telegram_id: int
    first_name: str
    locale: str
    center_id: int | None
    awaiting: str | None
    acting_for_id: int | None = None
    is_new: bool = False
    started: bool = False  # their first /start was answered


_COLUMNS = (Villager.id, Villager.telegram_id, Villager.first_name, Villager.locale, Villager.center_id,
            Villager.awaiting, Villager.username, Villager.last_seen_at, Villager.acting_for_id, Villager.started_at)


def _view(row, is_new: bool = False) -> VillagerView:
    return VillagerView(
        id=row.id,
        telegram_id=row.telegram_id,
        first_name=row.first_name,
        locale=row.locale or "",
        center_id=row.center_id,
        awaiting=row.awaiting,
        acting_for_id=row.acting_for_id,
        is_new=is_new,
        started=row.started_at is not None,
    )


async def enter(
    store: Store,
    clock: Clock,
    *,
    telegram_id: int,
    first_name: str,
    username: str | None,
    locale: str,
) -> VillagerView:
    """Find or register the person behind an update. ``locale`` is used only for a newcomer."""
    now = clock.now()
    # Every update starts here, so the common case is one plain-column read and no write.
    async with store.read() as session:
        row = (await session.execute(select(*_COLUMNS).where(Villager.telegram_id == telegram_id))).first()
        if row is not None and (
            row.first_name == first_name
            and row.username == username
            and now - row.last_seen_at < _SEEN_RESOLUTION
        ):
            return _view(row)
    try:
        async with store.write(durable=False) as session:
            if username:
                # This person's row and whoever else holds the username, locked in one order (by
                # id): two people swapping usernames at the same moment would otherwise each hold
                # the row the other one needs, a deadlock on PostgreSQL (SQLite has one writer).
                await session.execute(
                    select(Villager.id)
                    .where(or_(Villager.telegram_id == telegram_id, func.lower(Villager.username) == username.lower()))
                    .order_by(Villager.id).with_for_update())
            row = await session.scalar(select(Villager).where(Villager.telegram_id == telegram_id))
            is_new = row is None
            if row is None:
                row = Villager(telegram_id=telegram_id, locale=locale, created_at=now)
                session.add(row)
            row.first_name = first_name[:200]
            row.username = username
            row.last_seen_at = now
            if username:
                await _take_username(session, telegram_id, username)
            await session.flush()
            return _view(row, is_new=is_new)
    except IntegrityError:
        # Two first updates of the same person raced; the other one registered them.
        async with store.read() as session:
            row = await session.scalar(select(Villager).where(Villager.telegram_id == telegram_id))
            return _view(row)


async def _take_username(session, telegram_id: int, username: str) -> None:
    """Telegram gives a username to one person at a time (in any letter case): whoever else the
    store remembers with it gave it up since, and keeping it there would let ``/partner add
    @name`` pick the wrong person. Runs only on the write path above (a new person, a changed
    name or username, or every _SEEN_RESOLUTION), on the index of lower(username)."""
    await session.execute(
        update(Villager)
        .where(func.lower(Villager.username) == username.lower(), Villager.telegram_id.is_distinct_from(telegram_id))
        .values(username=None)
        .execution_options(synchronize_session=False)
    )


async def lock(session: AsyncSession, villager_id: int) -> Villager | None:
    """The villager's row, held until the transaction ends (PostgreSQL; SQLite has one writer), so
    that two of their actions at once that a cap counts take turns: two checkouts, two listings sent
    to review, the same search twice. Taken before the rows it guards, as /forget takes it."""
    return await session.scalar(select(Villager).where(Villager.id == villager_id).with_for_update())


async def set_locale(store: Store, villager_id: int, locale: str) -> None:
    async with store.write(durable=False) as session:
        await session.execute(update(Villager).where(Villager.id == villager_id).values(locale=locale))


async def set_center(store: Store, villager_id: int, center_id: int) -> None:
    async with store.write(durable=False) as session:
        center = await session.get(ServiceCenter, center_id)
        if center is None or not center.is_active:
            raise NotFound("center")
        await session.execute(
            update(Villager).where(Villager.id == villager_id).values(center_id=center_id)
        )


async def mark_started(store: Store, clock: Clock, villager_id: int) -> None:
    """Their first /start is answered: from now on /start welcomes them back."""
    async with store.write(durable=False) as session:
        await session.execute(update(Villager).where(Villager.id == villager_id, Villager.started_at.is_(None))
                              .values(started_at=clock.now()))


async def set_awaiting(store: Store, villager_id: int, awaiting: str | None) -> None:
    """Remember what the next typed text answers (None: free text is a search)."""
    async with store.write(durable=False) as session:
        await session.execute(
            update(Villager).where(Villager.id == villager_id).values(awaiting=awaiting)
        )


async def get(store: Store, villager_id: int) -> VillagerView | None:
    async with store.read() as session:
        row = (await session.execute(select(*_COLUMNS).where(Villager.id == villager_id))).first()
        return _view(row) if row else None


async def set_reachable(store: Store, telegram_id: int, reachable: bool) -> None:
    """Telegram said the person blocked the bot (403, or a my_chat_member update), or unblocked it."""
    async with store.write() as session:
        await session.execute(
            update(Villager).where(Villager.telegram_id == telegram_id).values(unreachable=not reachable))


async def by_telegram_id(store: Store, telegram_id: int) -> VillagerView | None:
    async with store.read() as session:
        row = (await session.execute(select(*_COLUMNS).where(Villager.telegram_id == telegram_id))).first()
        return _view(row) if row else None
