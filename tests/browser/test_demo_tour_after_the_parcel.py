"""The demo tour after the parcel (README, "A first tour"), as the web chat drives it: a parcel
picked up and paid at the counter, a problem reported and refunded in part, the cash book, and
cash handed to the county, which the admin confirms (the demo's counties have no staff)."""

from __future__ import annotations

import re

from sqlalchemy import select

from store.models import CashEntry, Handover, Order
from support.books import books_balance
from support.demo_web import ADMIN, DESK_CG02, LI_MING, PARTNER_CG02


async def test_a_refund_at_the_counter_and_cash_handed_to_the_county(demo, web):
    await web.send(LI_MING, "/search rice")
    await web.tap(LI_MING, "Rice")
    await web.tap(LI_MING, "➕")
    await web.tap(LI_MING, "Add 2")
    await web.send(LI_MING, "/cart")
    await web.tap(LI_MING, "Checkout")
    await web.tap(LI_MING, "Confirm order")
    number = re.search(r"RT-[0-9A-Z]{5}", await web.bot_text(LI_MING, r"RT-[0-9A-Z]{5}")).group(0)
    await web.tap(PARTNER_CG02, "确认", chat=DESK_CG02)
    await web.send(ADMIN, "/ship CG-02")
    assert number in await web.bot_text(ADMIN, "CG-02")
    await web.send(PARTNER_CG02, f"/arrived {number}", chat=DESK_CG02)
    code = re.search(r"\b\d{6}\b", await web.bot_text(LI_MING, "has arrived")).group(0)
    await web.send(PARTNER_CG02, f"/pickup {code}", chat=DESK_CG02)
    await web.bot_text(LI_MING, "Picked up|picked up")

    # Li Ming: one of the two bags was damaged.
    await web.send(LI_MING, "📦 My orders")
    await web.tap(LI_MING, number)
    await web.tap(LI_MING, "⚠️ Problem")
    await web.tap(LI_MING, "➕")
    await web.tap(LI_MING, "➡️ Next")
    await web.tap(LI_MING, "💥 Damaged")
    await web.tap(LI_MING, "⏭ Skip")
    assert "is sent to the service center" in await web.bot_text(LI_MING, "sent to the service center")

    # 李强, the partner of 青龙村, refunds that bag at the counter; it goes back on the shelf.
    card = await web.bot_text(PARTNER_CG02, "⚠️", chat=DESK_CG02)
    assert number in card and "Li Ming" in card
    await web.tap(PARTNER_CG02, "退款 ¥52.00", chat=DESK_CG02)
    await web.tap(PARTNER_CG02, "重新入库", chat=DESK_CG02)
    told = await web.bot_text(LI_MING, "is refunded")
    assert number in told and "¥52.00" in told

    await web.send(PARTNER_CG02, "/cash", chat=DESK_CG02)
    book = await web.bot_text(PARTNER_CG02, "现金账", chat=DESK_CG02)
    assert "¥104.00" in book and "¥52.00" in book  # taken at the pickup; on hand after the refund

    await web.send(PARTNER_CG02, "/handover 20", chat=DESK_CG02)
    await web.bot_text(PARTNER_CG02, "¥20.00", chat=DESK_CG02)
    asked = await web.bot_text(ADMIN, "Cash handed to the county")
    assert "¥20.00" in asked
    await web.tap(ADMIN, "✅ Received")
    await web.bot_text(ADMIN, "confirmed by Zhou Min")

    async with demo.store.read() as session:
        order_id = await session.scalar(select(Order.id).where(Order.number == number))
        entries = (await session.execute(select(CashEntry.kind, CashEntry.amount_fen)
                                         .where(CashEntry.order_id == order_id).order_by(CashEntry.id))).all()
        handover = await session.scalar(select(Handover))
    assert [tuple(e) for e in entries] == [("collected", 10400), ("refund", -5200)]
    assert (handover.amount_fen, handover.status, handover.confirmed_by) == (2000, "confirmed", ADMIN)
    assert await books_balance(demo.store) == []
