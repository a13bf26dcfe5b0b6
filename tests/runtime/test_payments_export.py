"""``rural-bot payments export``: a month of money paid online and refunded, as CSV, to reconcile
with the payment provider's statement, on a real database (SQLite and PostgreSQL), the month taken
in the bot's time zone (TIMEZONE, Asia/Shanghai by default)."""

from __future__ import annotations

import concurrent.futures
import csv
import io
from datetime import datetime, timedelta, timezone

from bot.cli import main
from services import desks, refunds, villagers
from services.clock import ManualClock
from services.partners import Actor
from support.desk import ADMIN
from support.produce import approved_listing, person
from support.town import delivery_order, prices


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def in_a_thread(argv: list[str]) -> int:
    """``main`` runs its own event loop: from an async test it runs in a thread of its own."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(main, argv).result()


async def a_month_of_payments(store) -> dict[str, str]:
    """Zhou Li pays for three deliveries of apples (¥12 of goods + ¥12 delivery each): just after
    local midnight on November 1st (still October in UTC); on the 10th, an order the admin rejects,
    refunded, and which Zhou Min confirms refunded at the provider on the 11th; and just after local
    midnight on December 1st (still November in UTC), which is December's."""
    clock = ManualClock(utc(2026, 10, 31, 2))
    await prices(store, clock)
    listing = await approved_listing(store, clock, await person(store, clock, 2001))
    clock.advance(utc(2026, 10, 31, 16, 30) - clock.now())
    buyer = await person(store, clock, 3001, center=None)
    await villagers.enter(store, clock, telegram_id=900, first_name="Zhou Min", username=None, locale="en")
    first = await delivery_order(store, clock, buyer, listing, token="a", charge="tg-a")
    clock.advance(utc(2026, 11, 10, 2) - clock.now())
    rejected = await delivery_order(store, clock, buyer, listing, token="b", charge="tg-b")
    clock.advance(timedelta(hours=1))
    await desks.decide(store, clock, ADMIN, rejected.id, confirm=False, reason="out_of_stock")
    owed = await refunds.owed(store, ADMIN)
    assert [r.order_number for r in owed.shown] == [rejected.number]
    clock.advance(timedelta(days=1))
    await refunds.confirm(store, clock, Actor(900, "Zhou Min", is_admin=True), owed.shown[0].payment_id)
    clock.advance(utc(2026, 11, 30, 16, 30) - clock.now())
    last = await delivery_order(store, clock, buyer, listing, token="c", charge="tg-c")
    return {"first": first.number, "rejected": rejected.number, "last": last.number}


async def test_a_month_of_payments_and_refunds_as_csv(demo_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", demo_store.url)
    monkeypatch.chdir(tmp_path)
    numbers = await a_month_of_payments(demo_store)

    out = tmp_path / "payments-2026-11.csv"
    assert in_a_thread(["payments", "export", "--month", "2026-11", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert list(rows[0]) == ["id", "at", "order", "kind", "amount", "currency", "telegram_charge_id",
                             "provider_charge_id", "refund_confirmed_at", "refund_confirmed_by"]
    assert [tuple(r.values())[1:] for r in rows] == [
        ("2026-11-01 00:30", numbers["first"], "payment", "24.00", "CNY", "tg-a", "p-a", "", ""),
        ("2026-11-10 10:00", numbers["rejected"], "payment", "24.00", "CNY", "tg-b", "p-b", "", ""),
        ("2026-11-10 11:00", numbers["rejected"], "refund", "-24.00", "CNY", "tg-b", "p-b", "2026-11-11 11:00",
         "Zhou Min"),
    ]

    capsys.readouterr()
    assert in_a_thread(["payments", "export", "--month", "2026-12"]) == 0
    december = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["at"], r["order"], r["amount"]) for r in december] == [("2026-12-01 00:30", numbers["last"], "24.00")]

    for month in ("2026-13", "November", "26-11"):
        assert in_a_thread(["payments", "export", "--month", month]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert [line for line in captured.err.splitlines() if not line.startswith("{")] == [
            f"rural-bot: {month} is not a month: write it YYYY-MM, e.g. 2026-11"]
