"""Parcels nobody collected, end to end: the desk's list of parcels to send back RETURN_AFTER_DAYS
(7) after arrival, ⏳ Keep 3 more days, ↩️ Return, and who may tap them.

Time is the injected ManualClock: it starts at 2026-11-11 02:00 UTC, 10:00 in Asia/Shanghai, the
demo centers' time zone; the tests move it and wake the outbox pump (``bot.pump()``).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from bot.app import build_application
from bot.config import Settings, SettingsError, load_settings
from chat import body, labels, settle_in, texts, villager_id
from handlers.callbacks import ReturnParcel
from handlers.context import runtime_of
from services.outbox import Kind
from services.partners import add_partner
from services.states import FINAL, RETURNS_STOCK, OrderStatus, may_move
from store.db import Store
from store.models import CashEntry, Listing, Order, OrderLine, OutboxMessage, Product
from support.books import books_balance
from support.bots import second_application
from support.desk import ADMIN, card_of, desk, shipped_orders
from support.produce import approved_listing
from support.store import count, outbox_rows, status_of

TO_SEND_BACK = "↩️ Parcels to send back"
REMINDER = "⏰ Reminder"


# ---- helpers ------------------------------------------------------------------------------------

async def waiting_parcels(bot, count_: int = 1):
    """The CG-01 desk, and a villager whose ``count_`` rice orders reached the village now."""
    partner, bystander, villager, group, numbers = await shipped_orders(bot, count_)
    for number in numbers:
        await partner.tap("📬 Arrived at the village", message=card_of(group, number))
    return partner, bystander, villager, group, numbers


def lists(group) -> list:
    return [m for m in group.bot_messages() if body(m).startswith(TO_SEND_BACK)]


async def after(bot, delta: timedelta) -> None:
    bot.clock.advance(delta)
    await bot.pump()


async def rice_stock(store, number: str) -> int:
    async with store.read() as session:
        return await session.scalar(select(Product.stock).join(OrderLine, OrderLine.product_id == Product.id)
                                    .join(Order, Order.id == OrderLine.order_id).where(Order.number == number))


# ---- the list, keep and return -------------------------------------------------------------------

async def test_a_parcel_kept_three_days_comes_back_then_is_returned_and_the_villager_told(bot):
    partner, _, villager, group, [number] = await waiting_parcels(bot)
    stock = await rice_stock(bot.store, number)

    await after(bot, timedelta(days=7) - timedelta(minutes=1))
    assert lists(group) == []
    await after(bot, timedelta(minutes=1))
    [first] = lists(group)
    assert number in body(first) and "arrived 11-11 10:00" in body(first)
    assert labels(first) == [f"↩️ Return {number}", f"⏳ Keep {number} 3 more days"]

    answer = await partner.tap("⏳ Keep", message=first)
    assert f"{number} stays until 11-21 10:00" in answer.text
    assert f"{number} · ⏳ kept until 11-21 10:00 by Lao Zhang" in body(first) and labels(first) == []

    for _ in range(2):  # day 8 and day 9: nothing comes back
        await after(bot, timedelta(days=1))
        assert len(lists(group)) == 1
    await after(bot, timedelta(days=1) - timedelta(minutes=1))
    assert len(lists(group)) == 1
    await after(bot, timedelta(minutes=1))  # day 10
    [_, second] = lists(group)
    assert number in body(second) and "Kept 3 more days by Lao Zhang on 11-18 10:00" in body(second)
    assert labels(second) == [f"↩️ Return {number}", f"⏳ Keep {number} 3 more days"]

    answer = await partner.tap("↩️ Return", message=second)
    assert f"{number} goes back" in answer.text and not answer.show_alert
    assert f"{number} · ↩️ Returned" in body(second) and labels(second) == []

    order = await status_of(bot.store, number)
    assert order.status == "returned" and order.cash_collected_fen is None
    assert await rice_stock(bot.store, number) == stock + 1
    assert any(f"Your order {number} was not picked up in time and has been sent back" in text
               for text in texts(villager.chat))
    card = card_of(group, number)
    assert "↩️ Returned by Lao Zhang" in card.text and labels(card) == []
    assert all(not row.is_open for row in await outbox_rows(bot.store, Kind.RETURN_DUE))
    assert await count(bot.store, CashEntry) == 0 and await books_balance(bot.store) == []

    await villager.send("/orders")
    assert f"{number} · ↩️ Returned" in labels(villager.chat.last_bot_message())[0]
    await villager.tap(number)
    detail = body(villager.chat.last_bot_message())
    assert "Status: ↩️ Returned" in detail and detail.rstrip().endswith("↩️ Returned")

    await after(bot, timedelta(days=5))  # nothing more comes for it
    assert len(lists(group)) == 2


async def test_parcels_due_together_make_one_list_and_its_buttons_are_for_each(bot):
    partner, _, _, group, numbers = await waiting_parcels(bot, 3)
    await after(bot, timedelta(days=7))
    [listed] = lists(group)
    assert all(number in body(listed) for number in numbers)
    assert labels(listed) == [label for number in numbers
                              for label in (f"↩️ Return {number}", f"⏳ Keep {number} 3 more days")]

    await partner.tap(f"↩️ Return {numbers[0]}", message=listed)
    await partner.tap(f"⏳ Keep {numbers[1]} 3 more days", message=listed)
    assert labels(listed) == [f"↩️ Return {numbers[2]}", f"⏳ Keep {numbers[2]} 3 more days"]
    assert [(await status_of(bot.store, n)).status for n in numbers] == ["returned", "ready_for_pickup",
                                                                          "ready_for_pickup"]
    await after(bot, timedelta(days=3))
    [_, again] = lists(group)
    assert numbers[1] in body(again) and numbers[0] not in body(again) and numbers[2] not in body(again)


async def test_the_setting_shortens_the_wait_and_a_return_withdraws_the_reminders(bot):
    bot.app.bot_data["runtime"].return_after = timedelta(days=2)  # RETURN_AFTER_DAYS=2
    partner, _, villager, group, [number] = await waiting_parcels(bot)
    await after(bot, timedelta(days=2))
    assert [t for t in texts(villager.chat) if t.startswith(REMINDER)] != []  # the 24-hour one came
    await partner.tap("↩️ Return", message=lists(group)[0])
    assert (await status_of(bot.store, number)).status == "returned"

    await after(bot, timedelta(days=2))  # the 72-hour reminder and the desk's uncollected list never come
    assert len([t for t in texts(villager.chat) if t.startswith(REMINDER)]) == 1
    assert not any(t.startswith("📦 Parcels still not collected") for t in texts(group))
    rows = await outbox_rows(bot.store, Kind.REMINDER) + await outbox_rows(bot.store, Kind.UNCOLLECTED)
    assert sum(r.cancelled_at is not None for r in rows) == 2 and not any(r.is_open for r in rows)


async def test_a_list_due_in_quiet_hours_waits_for_the_morning(bot):
    partner, _, _, group, [number] = await shipped_orders(bot)
    bot.clock.advance(timedelta(hours=12))  # 22:00 in the village
    await partner.tap("📬 Arrived at the village", message=card_of(group, number))
    await after(bot, timedelta(days=7))  # due at 22:00, seven days on: quiet hours (21:00-08:00)
    assert lists(group) == []
    await after(bot, timedelta(hours=10) - timedelta(minutes=1))
    assert lists(group) == []
    await after(bot, timedelta(minutes=1))  # 08:00
    [listed] = lists(group)
    assert number in body(listed) and "arrived 11-11 22:00" in body(listed)


def test_only_a_parcel_waiting_for_pickup_can_be_returned():
    assert [status for status in OrderStatus if may_move(status, OrderStatus.RETURNED)] == [
        OrderStatus.READY_FOR_PICKUP]
    assert OrderStatus.RETURNED in FINAL and OrderStatus.RETURNED in RETURNS_STOCK
    assert not any(may_move(OrderStatus.RETURNED, status) for status in OrderStatus)


# ---- who may, and what cannot be done ------------------------------------------------------------

async def test_a_bystander_and_another_centers_partner_are_refused_and_an_admin_may(bot):
    partner, bystander, _, group, [number] = await waiting_parcels(bot)
    await add_partner(bot.store, bot.clock, ADMIN, "CG-02", 503)
    stranger = bot.person(503, "Lao Li", language_code="en")
    group.add_member(stranger)
    await after(bot, timedelta(days=7))
    [listed] = lists(group)

    for person in (bystander, stranger):
        for label in ("↩️ Return", "⏳ Keep"):
            answer = await person.tap(label, message=listed)
            assert answer.show_alert and "Only the partners of Shangyuan Village Service Center" in answer.text
    assert (await status_of(bot.store, number)).status == "ready_for_pickup"
    assert len(await outbox_rows(bot.store, Kind.RETURN_DUE)) == 1

    # The button carried to another partner's private chat, and a list that does not exist: the
    # one refusal, which says nothing of what is there.
    data = listed.buttons[0][0].callback_data
    await stranger.send("/start")
    answer = await stranger.tap_data(data, stranger.chat.last_bot_message())
    assert answer.show_alert and "not for you" in answer.text
    forged = ReturnParcel(999_999, ReturnParcel.unpack(data).order_id).pack()
    answer = await partner.tap_data(forged, listed)
    assert answer.show_alert and "not for you" in answer.text
    assert (await status_of(bot.store, number)).status == "ready_for_pickup"

    # An admin (the county's, who shipped it) in the group may: the parcel is kept, by them.
    admin = bot.person(900, "County", language_code="en")
    group.add_member(admin)
    answer = await admin.tap("⏳ Keep", message=listed)
    assert not answer.show_alert and f"{number} stays until" in answer.text
    assert f"{number} · ⏳ kept until 11-21 10:00 by County" in body(listed)


async def test_return_tapped_twice_and_keep_tapped_twice_have_one_effect(bot):
    partner, _, villager, group, numbers = await waiting_parcels(bot, 2)
    stock = await rice_stock(bot.store, numbers[0])
    await after(bot, timedelta(days=7))
    [listed] = lists(group)
    returning, keeping = listed.buttons[0][0].callback_data, listed.buttons[1][1].callback_data

    await partner.tap_data(returning, listed)
    answer = await partner.tap_data(returning, listed)  # an old copy of the list, tapped again
    assert answer.show_alert and "Already done: ↩️ Returned" in answer.text
    await partner.tap_data(keeping, listed)
    answer = await partner.tap_data(keeping, listed)
    assert answer.show_alert and "Already kept by Lao Zhang, until 11-21 10:00" in answer.text

    assert await rice_stock(bot.store, numbers[0]) == stock + 1  # one unit back, not two
    told = [t for t in texts(villager.chat) if "has been sent back" in t]
    assert len(told) == 1
    rows = await outbox_rows(bot.store, Kind.RETURN_DUE)
    assert [r.payload.get("round") for r in rows if r.is_open] == [1]  # one more round, for the kept one


async def test_a_parcel_picked_up_meanwhile_is_not_sent_back(bot):
    partner, _, _, group, [number] = await waiting_parcels(bot)
    await after(bot, timedelta(days=7))
    [listed] = lists(group)
    returning, keeping = (b.callback_data for b in listed.buttons[0])
    code = (await status_of(bot.store, number)).pickup_code
    await partner.send(f"/pickup {code}", chat=group)

    for data in (returning, keeping):
        answer = await partner.tap_data(data, listed)
        assert answer.show_alert and "Not possible now: the order is 🎉 Picked up" in answer.text
    assert f"{number} · 🎉 Picked up" in body(listed) and labels(listed) == []
    order = await status_of(bot.store, number)
    assert order.status == "picked_up" and order.cash_collected_fen == order.total_fen
    assert len(await outbox_rows(bot.store, Kind.RETURN_DUE)) == 1
    assert await books_balance(bot.store) == []


# ---- produce, and several pumps -----------------------------------------------------------------

async def test_returned_produce_is_back_on_the_market_and_its_seller_is_told(bot):
    partner, _, buyer, group = await desk(bot)
    seller = bot.person(2001, "Li Ming", language_code="en")
    await settle_in(seller)
    seller_id = await villager_id(bot.store, 2001)
    listing_id = await approved_listing(bot.store, bot.clock, seller_id, quantity=2000)
    await buyer.send("/market apples")
    await buyer.tap("Apples")
    await buyer.tap("🛒 Order")
    await buyer.tap("All 2 jin")
    await buyer.tap("✅ Confirm order")
    number = (await last_order(bot.store)).number
    async with bot.store.read() as session:
        assert (await session.get(Listing, listing_id)).status == "sold_out"
    await partner.tap("✅ Confirm", message=card_of(group, number))
    await bot.person(900, "County", language_code="en").send("/ship CG-01")
    await partner.tap("📬 Arrived at the village", message=card_of(group, number))

    await after(bot, timedelta(days=7))
    await partner.tap("↩️ Return", message=lists(group)[0])
    async with bot.store.read() as session:
        listing = await session.get(Listing, listing_id)
    assert (listing.status, listing.left_milli) == ("approved", 2000)
    assert any(f"Order {number} was not picked up and has been sent back" in t for t in texts(seller.chat))
    await buyer.send("/market apples")
    assert "Apples" in " ".join(labels(buyer.chat.last_bot_message()))


async def last_order(store) -> Order:
    async with store.read() as session:
        return await session.scalar(select(Order).order_by(Order.id.desc()).limit(1))


async def test_two_pumps_send_one_list_for_parcels_due_together(postgres_only, bot, monkeypatch):
    partner, _, _, group, numbers = await waiting_parcels(bot, 6)
    await after(bot, timedelta(days=4))  # the reminders and the uncollected list are out of the way
    own_store = Store(bot.store.url)
    other = second_application(bot, own_store)
    await other.initialize()
    try:
        pumps = [bot.app.bot_data["runtime"].pump, other.bot_data["runtime"].pump]
        for pump in pumps:  # small claims: each pump holds some of the rows due
            monkeypatch.setattr(pump, "batch", 2)
        bot.clock.advance(timedelta(days=3))
        await asyncio.gather(*(pump.run_once() for pump in pumps))
        await bot.pump()
    finally:
        await other.shutdown()
        await own_store.close()
    [listed] = lists(group)
    assert all(number in body(listed) for number in numbers)
    rows = await outbox_rows(bot.store, Kind.RETURN_DUE)
    assert len(rows) == 6 and all(not r.is_open and r.sent_at is not None for r in rows)


# ---- /stats, and the parcels that were waiting before ----------------------------------------------

async def test_stats_count_the_parcels_returned(bot):
    partner, _, _, group, numbers = await waiting_parcels(bot, 2)
    await after(bot, timedelta(days=7))
    await partner.tap(f"↩️ Return {numbers[0]}", message=lists(group)[0])
    admin = bot.person(900, "County", language_code="en")
    await admin.send("/stats")
    report = "\n".join(texts(admin.chat))
    assert "↩️ Returned uncollected" in report and "1 in 7 days · 1 in 30 days · 1 in all" in report


async def test_a_parcel_that_arrived_before_the_lists_existed_is_found_by_the_hourly_check(bot):
    partner, _, _, group, [number] = await waiting_parcels(bot)
    async with bot.store.write() as session:  # as in a database from before: no date with the desk
        await session.execute(delete(OutboxMessage).where(OutboxMessage.kind == str(Kind.RETURN_DUE)))
    await after(bot, timedelta(days=6, hours=23))
    assert lists(group) == [] and await outbox_rows(bot.store, Kind.RETURN_DUE) == []
    await after(bot, timedelta(hours=1))  # the pump's hourly check finds it overdue, and sends its list
    [listed] = lists(group)
    assert number in body(listed) and labels(listed) == [f"↩️ Return {number}", f"⏳ Keep {number} 3 more days"]
    await after(bot, timedelta(hours=2))  # found once: its row now exists
    assert len(await outbox_rows(bot.store, Kind.RETURN_DUE)) == 1 and len(lists(group)) == 1


def test_return_after_days_is_a_setting_the_runtime_carries():
    assert load_settings({}, env_file="").return_after_days == 7
    assert load_settings({"RETURN_AFTER_DAYS": "3"}, env_file="").return_after_days == 3
    for bad in ("0", "2.5", "x", "366"):
        with pytest.raises(SettingsError, match="RETURN_AFTER_DAYS is invalid"):
            load_settings({"RETURN_AFTER_DAYS": bad}, env_file="")
    app = build_application(Settings(bot_token="1:x", database_url="sqlite+aiosqlite://", return_after_days=3),
                            store=None)
    assert runtime_of(app).return_after == timedelta(days=3)
