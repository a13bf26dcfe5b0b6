"""A month of money moved online, as CSV, to reconcile with the payment provider's statement
(``rural-bot payments export --month 2026-11``).

One row per ``payments`` row, oldest first, the month and the times in the bot's time zone
(TIMEZONE): each payment, and each refund with the charge it goes back to (the order's payments'
charge ids) and when and by whom it was confirmed paid back at the provider. Amounts in yuan with
2 decimals; text cells escaped as the ledger export escapes them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from catalog.csvfile import write_csv
from services.ledger_export import parse_month, yuan
from store.db import Store
from store.models import Order, Payment, Villager

HEADER = ["id", "at", "order", "kind", "amount", "currency", "telegram_charge_id", "provider_charge_id",
          "refund_confirmed_at", "refund_confirmed_by"]


async def export_month(store: Store, month: str, timezone: str) -> str:
    """The CSV text of the payments and refunds of ``month`` (YYYY-MM, in ``timezone``); BadMonth."""
    first = parse_month(month)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    tz = ZoneInfo(timezone)
    since, until = datetime.combine(first, time(0), tz), datetime.combine(following, time(0), tz)
    async with store.read() as session:
        rows = (await session.execute(
            select(Payment, Order.number, Villager.first_name).join(Order, Order.id == Payment.order_id)
            .outerjoin(Villager, Villager.telegram_id == Payment.confirmed_by)
            .where(Payment.at >= since, Payment.at < until).order_by(Payment.at, Payment.id))).all()
        refunded = {payment.order_id for payment, _, _ in rows if payment.kind == "refund"}
        charges: dict[int, list[Payment]] = defaultdict(list)
        for paid in (await session.scalars(select(Payment).where(
                Payment.order_id.in_(refunded), Payment.kind == "payment").order_by(Payment.id))).all():
            charges[paid.order_id].append(paid)
    lines = []
    for payment, number, confirmer in rows:
        if payment.kind == "refund":  # the charge it goes back to
            telegram = " ".join(p.telegram_charge_id or "" for p in charges[payment.order_id])
            provider = " ".join(p.provider_charge_id for p in charges[payment.order_id])
        else:
            telegram, provider = payment.telegram_charge_id or "", payment.provider_charge_id
        confirmed = payment.confirmed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if payment.confirmed_at else ""
        by = confirmer or (str(payment.confirmed_by) if payment.confirmed_by is not None else "")
        lines.append([str(payment.id), payment.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), number, payment.kind,
                      yuan(payment.amount_fen), payment.currency, telegram, provider, confirmed, by])
    return write_csv(HEADER, lines, numbers=("id", "amount"))
