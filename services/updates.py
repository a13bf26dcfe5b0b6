"""Each Telegram update is handled once.

Telegram delivers an update again when it thinks the bot did not get it (a webhook answer that
timed out, a polling offset that was never confirmed because the process stopped). With several
processes the second delivery may land on another one. ``take`` records the update's id in the
store; only the process whose insert went in handles it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from services.clock import Clock
from store.db import Store, insert_unless_there
from store.models import ProcessedUpdate

# Telegram keeps an unconfirmed update for 24 hours; remember ours for longer than that.
KEEP = timedelta(hours=48)


async def take(store: Store, clock: Clock, update_id: int) -> bool:
    """True for the first taker of ``update_id``; False if it was handled already."""
    async with store.write() as session:
        result = await session.execute(insert_unless_there(session, ProcessedUpdate, update_id=update_id,
                                                           at=clock.now()))
        return result.rowcount == 1


async def forget_old(store: Store, now: datetime) -> int:
    """Drop the ids older than ``KEEP``; returns how many."""
    async with store.write() as session:
        result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < now - KEEP))
        return result.rowcount


async def last_taken(store: Store) -> int:
    """The highest update id taken (0: none), where a Telegram that forgot picks up numbering."""
    async with store.read() as session:
        return await session.scalar(select(func.max(ProcessedUpdate.update_id))) or 0
