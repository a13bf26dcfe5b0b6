"""Claims that lapse: how a pump holds outbox rows and promotion copies while it sends them.

A claim writes ``claimed_until`` (real time: a lease is about a process being alive, not about
the bot's clock, which tests and the demo move). That value is also the holder's token: a row
whose lease lapsed is taken by another pump only with a strictly later ``claimed_until`` (it
was below that pump's ``now``, and it becomes ``now + lease``), so a holder that finds its own
value still there knows nobody took the row since, without a column naming the holder.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from store.db import Store

LEASE = timedelta(minutes=2)  # the default for outbox rows and promotion copies; Settings.outbox_lease


async def renew(store: Store, model, ids: list[int], held: datetime, until: datetime, *still_open) -> set[int]:
    """Extend the claim on those of ``ids`` still held with ``held`` (and matching ``still_open``)
    to ``until``; returns their ids. The others were closed, or taken by another holder."""
    if not ids:
        return set()
    async with store.write() as session:
        result = await session.execute(
            update(model).where(model.id.in_(ids), model.claimed_until == held, *still_open)
            .values(claimed_until=until).returning(model.id)
            .execution_options(synchronize_session=False))
        return set(result.scalars())
