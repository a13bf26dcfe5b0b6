"""``rural-bot ledger export``: a month of a center's cash book as CSV, on a real database (SQLite and
PostgreSQL), the month taken in the center's time zone."""

from __future__ import annotations

import concurrent.futures
import csv
import io
from datetime import datetime, timezone

from sqlalchemy import select

from bot.cli import main
from services import cashbook
from services.cashbook import Entry
from store.models import Order, ServiceCenter, Villager


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def in_a_thread(argv: list[str]) -> int:
    """``main`` runs its own event loop: from an async test it runs in a thread of its own."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(main, argv).result()


async def a_month_of_cash(store) -> dict[str, int]:
    """Shangyuan's (CG-01, Asia/Shanghai) November: a pickup just after local midnight on the 1st
    (still October in UTC), a seller paid, a handover and its correction; and a pickup just after
    local midnight on December 1st (still November in UTC), which is December's."""
    now = utc(2026, 11, 1)
    async with store.write() as session:
        center = await session.scalar(select(ServiceCenter).where(ServiceCenter.code == "CG-01"))
        zhang = Villager(telegram_id=501, first_name="Lao Zhang", created_at=now, last_seen_at=now)
        seller = Villager(telegram_id=2001, first_name="王芳", created_at=now, last_seen_at=now)
        session.add_all([zhang, seller])
        await session.flush()
        order = Order(number="RT-7K3F9", villager_id=seller.id, center_id=center.id, status="picked_up",
                      total_fen=5200, checkout_token="t1", created_at=now, updated_at=now, cash_collected_fen=5200)
        late = Order(number="RT-DEC01", villager_id=seller.id, center_id=center.id, status="picked_up",
                     total_fen=900, checkout_token="t2", created_at=now, updated_at=now, cash_collected_fen=900)
        session.add_all([order, late])
        await session.flush()
        first = await cashbook.record(session, center.id, Entry.COLLECTED, 5200, utc(2026, 10, 31, 16, 30),
                                      fee_fen=128, order_id=order.id, actor_telegram_id=501, ref=f"pickup:{order.id}")
        await cashbook.record(session, center.id, Entry.PAYOUT, -1250, utc(2026, 11, 10, 3), seller_id=seller.id,
                              actor_telegram_id=501, ref="payout:1")
        handover = await cashbook.record(session, center.id, Entry.HANDOVER, -3000, utc(2026, 11, 20, 8),
                                         actor_telegram_id=501, ref="handover:1")
        await cashbook.correct(session, handover.id, 3000, 0, utc(2026, 11, 21, 8), actor_telegram_id=3001,
                               note="=HYPERLINK(\"x\") not received")
        await cashbook.record(session, center.id, Entry.COLLECTED, 900, utc(2026, 11, 30, 16, 30),
                              order_id=late.id, actor_telegram_id=501, ref=f"pickup:{late.id}")
        return {"first": first.id, "handover": handover.id, "order": order.id}


async def test_a_month_of_the_cash_book_as_csv(demo_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", demo_store.url)
    monkeypatch.chdir(tmp_path)
    ids = await a_month_of_cash(demo_store)

    out = tmp_path / "cg-01-2026-11.csv"
    assert in_a_thread(["ledger", "export", "--center", "cg-01", "--month", "2026-11", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert [(r["date"], r["kind"], r["amount"], r["fee"], r["order"], r["seller"], r["recorded_by"], r["ref"])
            for r in rows] == [
        ("2026-11-01 00:30", "collected", "52.00", "1.28", "RT-7K3F9", "", "Lao Zhang", f"pickup:{ids['order']}"),
        ("2026-11-10 11:00", "payout", "-12.50", "0.00", "", "王芳", "Lao Zhang", "payout:1"),
        ("2026-11-20 16:00", "handover", "-30.00", "0.00", "", "", "Lao Zhang", "handover:1"),
        ("2026-11-21 16:00", "correction", "30.00", "0.00", "", "", "3001", ""),
    ]
    assert rows[0]["id"] == str(ids["first"])
    assert rows[3]["corrects"] == str(ids["handover"])
    assert rows[3]["note"] == "'=HYPERLINK(\"x\") not received"  # a spreadsheet shows it, never runs it
    assert list(rows[0]) == ["id", "date", "kind", "amount", "fee", "order", "seller", "recorded_by", "ref", "note",
                             "corrects"]

    capsys.readouterr()
    assert in_a_thread(["ledger", "export", "--center", "CG-01", "--month", "2026-12"]) == 0
    december = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["date"], r["amount"], r["order"]) for r in december] == [("2026-12-01 00:30", "9.00", "RT-DEC01")]

    assert in_a_thread(["ledger", "export", "--center", "XX-99", "--month", "2026-11"]) == 2
    assert said(capsys) == ["rural-bot: there is no service center with the code XX-99"]
    for month in ("2026-13", "November", "26-11"):
        assert in_a_thread(["ledger", "export", "--center", "CG-01", "--month", month]) == 2
        assert said(capsys) == [f"rural-bot: {month} is not a month: write it YYYY-MM, e.g. 2026-11"]


def said(capsys) -> list[str]:
    """What the command line said to a person on stderr (the rest are the JSON log's lines), and
    that nothing went to stdout."""
    captured = capsys.readouterr()
    assert captured.out == ""
    return [line for line in captured.err.splitlines() if not line.startswith("{")]
