"""A town buyer follows a delivery with /track, played by people: Wang Fang sells honey at Shangyuan
(CG-01, Lao Zhang's desk); Zhou, in Xi'an, has no center and orders 2 jin for delivery, paid online.
Shangyuan confirms it and sends it with a tracking number; Zhou follows it with /track. The carrier
posts "delivered" for the tracking number to the bot's real HTTP endpoint: Zhou is told at once,
Shangyuan's cash book has the money paid away (not in the till) and Wang is owed it, and a day
later Zhou is asked for stars. A second "delivered" moves nothing; a stranger's /track of Zhou's
order, or a forged button, finds nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.metrics import Metrics
from bot.server import EVENTS_PATH, bound_port, build_web_app, start_server, stop_server
from chat import body, center_id, labels, last_text, settle_in, texts, villager_id
from services import cashbook
from store.models import CashEntry, Payment
from support.produce import SELLER_DESK, desks, published_listing, registered, review_card
from support.store import status_of
from support.town import confirm, delivery_order, prices, ship

LOGISTICS_TOKEN = "carrier-secret-0123456789"
TRACKING = "SF1234567890"


@pytest.fixture
async def carrier(bot):
    """``await carrier(number, event)``: the carrier posts an event to the bot's own HTTP server,
    which wakes the outbox pump as in production. Returns (status, JSON body)."""
    rt = bot.app.bot_data["runtime"]
    app = build_web_app(store=bot.store, clock=bot.clock, logistics_token=LOGISTICS_TOKEN, wake=rt.kick,
                        metrics=Metrics())
    runner = await start_server(app, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{bound_port(runner)}{EVENTS_PATH}"
    async with aiohttp.ClientSession() as http:

        async def post(number: str, event: str) -> tuple[int, dict]:
            data = json.dumps({"order_no": number, "event": event, "at": bot.clock.now().isoformat()})
            async with http.post(url, data=data, headers={"Authorization": f"Bearer {LOGISTICS_TOKEN}"}) as answer:
                status, found = answer.status, await answer.json()
            await rt.pump.idle()
            return status, found

        try:
            yield post
        finally:
            await stop_server(runner)


async def town_order(bot):
    zhang, _, _, seller_group, _ = await desks(bot)
    seller = bot.person(1001, "Wang Fang", language_code="en")
    buyer = bot.person(1002, "Zhou", language_code="en")
    await settle_in(seller)
    listing = await published_listing(bot, seller, quantity=5000)
    await zhang.tap("✅ Approve", message=review_card(seller_group, "Mountain honey"))
    await prices(bot.store, bot.clock)
    await buyer.send("/start")  # a town buyer: no center chosen
    order = await delivery_order(bot.store, bot.clock, (await registered(bot, buyer)).id, listing, 2000)
    await bot.pump()
    return seller, buyer, order


async def test_a_town_buyer_tracks_the_delivery_and_the_carrier_delivers_it(bot, carrier):
    seller, buyer, order = await town_order(bot)
    number = order.number
    await confirm(bot.store, bot.clock, order.id)
    await bot.pump()

    await buyer.send("/track")
    shown = buyer.chat.last_bot_message()
    assert body(shown).startswith("🚚 Your deliveries")
    assert f"📦 {number} · ✅ Confirmed" in body(shown) and "No tracking number yet" in body(shown)
    assert labels(shown) == [f"📦 {number} · ✅ Confirmed", "⬅️ My orders", "🏠 Menu"]

    bot.clock.advance(timedelta(hours=3))
    await ship(bot.store, bot.clock, order.id, TRACKING)
    await buyer.send("/track")
    assert f"📦 {number} · 🚚 On the way" in last_text(buyer) and f"Tracking number: {TRACKING}" in last_text(buyer)
    await buyer.tap(f"📦 {number} · 🚚 On the way")
    detail = last_text(buyer)
    assert f"Order {number}" in detail and "To: 周丽, 陕西省西安市雁塔区科技路 10 号" in detail
    assert "Goods ¥90.00 + delivery ¥12.00" in detail and "Timeline" in detail
    # The timeline in the center's time zone (Asia/Shanghai): the clock's 02:00 UTC is 10:00 there.
    assert "11-11 10:00 · 💳 Waiting for payment" in detail and "11-11 13:00 · 🚚 On the way" in detail
    assert labels(buyer.chat.last_bot_message()) == ["⬅️ Deliveries", "⬅️ My orders", "🏠 Menu"]

    # The carrier knows the parcel by its tracking number, in its own letter case.
    bot.clock.advance(timedelta(hours=20))
    told = len(texts(buyer.chat))
    assert await carrier(TRACKING.lower(), "delivered") == (
        200, {"order_no": TRACKING.lower().upper(), "status": "delivered", "moved": True})
    assert f"Your order {number} was delivered" in last_text(buyer)
    assert labels(buyer.chat.last_bot_message()) == ["📦 Track"]
    assert len(texts(buyer.chat)) == told + 1
    assert any(f"Order {number} was delivered to its buyer: you earned ¥90.00" in text for text in texts(seller.chat))

    # Shangyuan's book: Wang's money, paid away, not in the till; Wang is owed it.
    cg01, wang = await center_id(bot.store, "CG-01"), await villager_id(bot.store, 1001)
    async with bot.store.read() as session:
        kinds = (await session.execute(select(CashEntry.kind, CashEntry.amount_fen)
                                       .order_by(CashEntry.id))).all()
        book = await cashbook.balance(session, cg01)
    assert [tuple(k) for k in kinds] == [("paid_away", 9000), ("held_away", -9000)]
    assert book.on_hand == 0 and book.owed_to_sellers == {wang: 9000 - book.fees}

    # The same event again: nothing moves, nobody is told twice.
    assert await carrier(number, "delivered") == (200, {"order_no": number, "status": "delivered", "moved": False})
    assert await carrier(number, "at_village") == (200, {"order_no": number, "status": "delivered", "moved": False})
    assert len(texts(buyer.chat)) == told + 1
    assert (await status_of(bot.store, number)).status == "delivered"

    # /track: delivered lately, and the order's own screen with its whole timeline.
    await buyer.send("/track")
    assert "Nothing on its way now." in last_text(buyer) and "✅ Delivered lately" in last_text(buyer)
    await buyer.send(f"/track {number.lower()}")
    assert "Status: 📦 Delivered" in last_text(buyer) and "11-12 09:00 · 📦 Delivered" in last_text(buyer)
    await buyer.tap("⬅️ My orders")
    assert "Your orders" in last_text(buyer)

    # A day later Zhou is asked for stars, as after a pickup.
    bot.clock.advance(timedelta(days=1, minutes=1))
    await bot.pump()
    asked = [m for m in buyer.chat.bot_messages() if "How was your Mountain honey" in body(m)]
    assert len(asked) == 1 and number in body(asked[0])
    assert labels(asked[0]) == ["1⭐", "2⭐", "3⭐", "4⭐", "5⭐"]


async def test_nobody_else_tracks_the_buyers_order(bot):
    _, buyer, order = await town_order(bot)
    await confirm(bot.store, bot.clock, order.id)
    await ship(bot.store, bot.clock, order.id, TRACKING)
    stranger = bot.person(1003, "Sun", language_code="en")
    await settle_in(stranger)

    for typed in (order.number, TRACKING):
        await stranger.send(f"/track {typed}")
        assert "This order was not found" in last_text(stranger)
    await stranger.send("/track")  # no delivery of their own: their orders, as before
    assert "You have no orders yet" in last_text(stranger)
    forged = await stranger.tap_data(f"trk:{order.id}", stranger.chat.last_bot_message())
    assert forged.show_alert and "This order was not found" in forged.text
    assert not any(order.number in text for text in texts(stranger.chat))

    await buyer.send(f"/track {TRACKING}")  # the buyer may name it by its tracking number too
    assert f"Order {order.number}" in last_text(buyer)


async def test_a_problem_after_delivery_is_refunded_to_the_card(bot, carrier):
    """Zhou finds half the honey spoiled: ⚠️ Problem on the delivered order in /track; Lao Zhang
    refunds it at Shangyuan's desk, where no cash leaves the till: Zhou reads that it goes back to
    the card, and the payments ledger holds the provider's refund."""
    _, buyer, order = await town_order(bot)
    zhang = bot.person(501, "Lao Zhang", language_code="en")
    await confirm(bot.store, bot.clock, order.id)
    await ship(bot.store, bot.clock, order.id, TRACKING)
    assert (await carrier(TRACKING, "delivered"))[1]["moved"]

    await buyer.send(f"/track {order.number}")
    await buyer.tap("⚠️ Problem")
    await buyer.tap("➕")
    await buyer.tap("➡️ Next")
    await buyer.tap("🥀 Spoiled or poor quality")
    await buyer.tap("⏭ Skip")
    assert f"Your problem with order {order.number} is sent to the service center" in last_text(buyer)
    group = bot.double.chats[SELLER_DESK]
    card = next(m for m in reversed(group.bot_messages()) if body(m).startswith(f"⚠️ Problem with order {order.number}"))
    assert "Paid for the order: ¥90.00" in body(card)

    admin = bot.person(900, "Zhou Min", language_code="en")
    await admin.send("/refunds")
    done = await zhang.tap("💰 Refund ¥45.00", message=card)
    await bot.pump()
    assert done.show_alert and "not from the till" in done.text
    assert f"Your problem with order {order.number}: ¥45.00 is refunded to the card you paid with" in last_text(buyer)
    told = last_text(admin)  # the admin refunds it at the payment provider (test_provider_refunds.py)
    assert f"💳 Refund ¥45.00 to 周丽 for order {order.number} at the payment provider" in told, told
    assert "Reason: a problem after delivery" in told
    async with bot.store.read() as session:
        kinds = (await session.execute(select(CashEntry.kind, CashEntry.amount_fen).order_by(CashEntry.id))).all()
        refunds = (await session.execute(select(Payment.amount_fen, Payment.ref).where(Payment.kind == "refund"))).all()
        book = await cashbook.balance(session, await center_id(bot.store, "CG-01"))
    assert [tuple(k) for k in kinds][2:] == [("refund", -4500), ("held_away", 4500)]
    assert [tuple(r) for r in refunds] == [(-4500, f"refund:{order.id}:1")]
    assert book.on_hand == 0
