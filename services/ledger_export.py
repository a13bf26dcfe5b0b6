"""A month of a center's cash book as CSV, for the county's accounts (``rural-bot ledger export``).

One row per entry, oldest first, the month and the times in the center's time zone; amounts in
yuan with 2 decimals. Text cells a spreadsheet would run as a formula are escaped as the catalog
export escapes them (catalog.csvfile.write_csv), so a note "=1+1" stays text.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import aliased

from catalog.csvfile import write_csv
from services.errors import DomainError
from services.partners import center_by_code
from store.db import Store
from store.models import CashEntry, Order, Villager

HEADER = ["id", "date", "kind", "amount", "fee", "order", "seller", "recorded_by", "ref", "note", "corrects"]


class BadMonth(DomainError):
    """Not a month written YYYY-MM."""


def parse_month(text: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise BadMonth(text)
    return date(int(match.group(1)), int(match.group(2)), 1)


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


async def export_month(store: Store, code: str, month: str) -> str:
    """The CSV text of center ``code``'s entries in ``month`` (YYYY-MM); NotFound, BadMonth."""
    first = parse_month(month)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    seller, actor = aliased(Villager), aliased(Villager)
    async with store.read() as session:
        center = await center_by_code(session, code)
        tz = ZoneInfo(center.timezone)
        since, until = datetime.combine(first, time(0), tz), datetime.combine(following, time(0), tz)
        rows = (await session.execute(
            select(CashEntry, Order.number, seller.first_name, actor.first_name)
            .outerjoin(Order, Order.id == CashEntry.order_id)
            .outerjoin(seller, seller.id == CashEntry.seller_id)
            .outerjoin(actor, actor.telegram_id == CashEntry.actor_telegram_id)
            .where(CashEntry.center_id == center.id, CashEntry.at >= since, CashEntry.at < until)
            .order_by(CashEntry.at, CashEntry.id))).all()
    lines = []
    for entry, number, seller_name, actor_name in rows:
        who = actor_name or (str(entry.actor_telegram_id) if entry.actor_telegram_id is not None else "")
        lines.append([
            str(entry.id), entry.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), entry.kind, yuan(entry.amount_fen),
            yuan(entry.fee_fen), number or "", seller_name or "", who, entry.ref or "", entry.note or "",
            str(entry.corrects_id) if entry.corrects_id is not None else ""])
    return write_csv(HEADER, lines, numbers=("id", "amount", "fee", "corrects"))
