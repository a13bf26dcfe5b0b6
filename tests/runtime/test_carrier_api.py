"""The carrier endpoint over real HTTP: tokens, bad requests, unknown and pending orders,
duplicate and out-of-order events, and the villager told at once; a town buyer's delivery order
delivered once, by its tracking number, and events of the other way changing nothing."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from sqlalchemy import select

from bot import runner
from bot.config import Settings, SettingsError
from bot.metrics import Metrics
from bot.server import EVENTS_PATH, MAX_BODY, bound_port, build_web_app, start_server, stop_server
from chat import last_text, settle_in
from services import cart as carts
from services import desks, orders, villagers
from store.models import Order, OrderEvent, OutboxMessage, Product, ServiceCenter, Villager
from support.desk import ADMIN
from support.produce import approved_listing, person
from support.town import delivery_order, prices, ship

LOGISTICS_TOKEN = "carrier-secret-0123456789"
BOT_TOKEN = "123456789:TEST-token-aaaaaaaaaaaaaaaaaaaaaaaa"
SHANGHAI = timezone(timedelta(hours=8))


@dataclass
class Carrier:
    """A carrier's HTTP client pointed at the bot's server."""

    http: aiohttp.ClientSession
    url: str
    wakes: list[int] = field(default_factory=list)

    async def send(self, body, token: str | None = LOGISTICS_TOKEN, raw: bytes | None = None,
                   headers: dict | None = None) -> tuple[int, dict]:
        headers = dict(headers or {})
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        data = raw if raw is not None else json.dumps(body).encode()
        async with self.http.post(self.url, data=data, headers=headers) as response:
            assert response.content_type == "application/json"
            return response.status, await response.json()

    async def event(self, number: str, event: str, at: datetime) -> tuple[int, dict]:
        return await self.send({"order_no": number, "event": event, "at": at.isoformat()})


@pytest.fixture
async def serve():
    """``await serve(store, clock, token=..., wake=...)``: the server on a free port and a client."""
    runners = []
    async with aiohttp.ClientSession() as http:

        async def start(store, clock, token: str | None = LOGISTICS_TOKEN, wake=None) -> Carrier:
            carrier = Carrier(http, "")
            app = build_web_app(store=store, clock=clock, logistics_token=token,
                                wake=wake or (lambda: carrier.wakes.append(1)), metrics=Metrics())
            runner = await start_server(app, "127.0.0.1", 0)
            runners.append(runner)
            carrier.url = f"http://127.0.0.1:{bound_port(runner)}{EVENTS_PATH}"
            return carrier

        try:
            yield start
        finally:
            for runner in runners:
                await stop_server(runner)


@pytest.fixture
async def carrier(serve, demo_store, clock) -> Carrier:
    return await serve(demo_store, clock)


async def place(store, clock, telegram_id: int = 1, confirm: bool = True) -> str:
    """A villager of CG-01 orders rice; an admin confirms it unless told not to. Returns its number."""
    person = await villagers.enter(store, clock, telegram_id=telegram_id, first_name=f"V{telegram_id}",
                                   username=None, locale="en")
    async with store.read() as session:
        center_id = await session.scalar(select(ServiceCenter.id).where(ServiceCenter.code == "CG-01"))
        rice_id = await session.scalar(select(Product.id).where(Product.sku == "FD-001"))
    if person.center_id is None:
        await villagers.set_center(store, person.id, center_id)
    cart = await carts.add_to_cart(store, person.id, rice_id, 1)
    placed = await orders.place_order(store, clock, person.id, cart.checkout_token)
    if confirm:
        await desks.decide(store, clock, ADMIN, placed.order.id, confirm=True)
    return placed.order.number


async def timeline(store, number: str) -> tuple[str, list[str]]:
    """The order's status and the statuses of its order_events rows, oldest first."""
    async with store.read() as session:
        order = await session.scalar(select(Order).where(Order.number == number))
        steps = (await session.scalars(
            select(OrderEvent.status).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))).all()
        return order.status, list(steps)


async def test_an_event_with_the_right_token_moves_the_order(carrier, demo_store, clock):
    number = await place(demo_store, clock)
    clock.advance(timedelta(hours=2))
    at = datetime(2026, 11, 11, 11, 30, tzinfo=SHANGHAI)  # 03:30 UTC, before the clock's 04:00

    status, body = await carrier.event(number, "in_transit", at)

    assert (status, body) == (200, {"order_no": number, "status": "in_transit", "moved": True})
    assert await timeline(demo_store, number) == ("in_transit", ["pending", "confirmed", "in_transit"])
    async with demo_store.read() as session:
        recorded = await session.scalar(select(OrderEvent.at).where(OrderEvent.status == "in_transit"))
    assert recorded == at
    assert carrier.wakes == [1]


async def test_the_order_number_is_read_as_the_villager_would_type_it(carrier, demo_store, clock):
    number = await place(demo_store, clock)

    status, body = await carrier.event(f" {number.lower()} ", "in_transit", clock.now())

    assert (status, body) == (200, {"order_no": number, "status": "in_transit", "moved": True})


async def test_at_village_makes_a_pickup_code(carrier, demo_store, clock):
    number = await place(demo_store, clock)

    status, body = await carrier.event(number, "at_village", clock.now())

    assert (status, body["status"], body["moved"]) == (200, "ready_for_pickup", True)
    async with demo_store.read() as session:
        code = await session.scalar(select(Order.pickup_code).where(Order.number == number))
    assert code is not None and len(code) == 6
    assert await timeline(demo_store, number) == (
        "ready_for_pickup", ["pending", "confirmed", "in_transit", "at_county", "ready_for_pickup"])


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": LOGISTICS_TOKEN},
    {"Authorization": f"Basic {LOGISTICS_TOKEN}"},
    {"Authorization": f"Bearer {LOGISTICS_TOKEN}x"},
], ids=["missing", "wrong", "no-scheme", "basic", "longer"])
async def test_a_missing_or_wrong_token_is_refused(carrier, demo_store, clock, headers):
    number = await place(demo_store, clock)

    status, body = await carrier.send({"order_no": number, "event": "in_transit", "at": clock.now().isoformat()},
                                      token=None, headers=headers)

    assert status == 401 and "token" in body["error"]
    assert await timeline(demo_store, number) == ("confirmed", ["pending", "confirmed"])
    assert carrier.wakes == []


async def test_without_a_logistics_token_the_endpoint_is_disabled(serve, demo_store, clock):
    carrier = await serve(demo_store, clock, token=None)
    number = await place(demo_store, clock)

    for token in (None, "", "anything"):
        status, body = await carrier.send(
            {"order_no": number, "event": "in_transit", "at": clock.now().isoformat()}, token=token)
        assert status == 503 and "disabled" in body["error"]
    assert await timeline(demo_store, number) == ("confirmed", ["pending", "confirmed"])


@pytest.mark.parametrize("raw, complaint", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"", "not valid JSON"),
    (b'["in_transit"]', "JSON object"),
    (b'{"order_no": "NUMBER", "note": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "nested"),
    (b'{"event": "in_transit", "at": "2026-11-11T10:00:00+08:00"}', "order_no"),
    (b'{"order_no": "NUMBER", "at": "2026-11-11T10:00:00+08:00"}', "event"),
    (b'{"order_no": "NUMBER", "event": "in_transit"}', "at"),
    (b'{"order_no": 12345, "event": "in_transit", "at": "2026-11-11T10:00:00+08:00"}', "order_no"),
    (b'{"order_no": "NUMBER", "event": "lost", "at": "2026-11-11T10:00:00+08:00"}', "unknown event"),
    (b'{"order_no": "NUMBER", "event": "picked_up", "at": "2026-11-11T10:00:00+08:00"}', "unknown event"),
    (b'{"order_no": "NUMBER", "event": "in_transit", "at": "yesterday"}', "ISO 8601"),
    (b'{"order_no": "NUMBER", "event": "in_transit", "at": "2026-11-11T10:00:00"}', "offset"),
    (b'{"order_no": "NUMBER", "event": "in_transit", "at": 1762826400}', "at"),
], ids=["syntax", "not-utf8", "empty", "array", "deeply-nested", "no-order", "no-event", "no-at", "number-not-string",
        "unknown-event", "not-a-carrier-event", "not-a-time", "naive-time", "epoch"])
async def test_a_bad_request_is_answered_400(carrier, demo_store, clock, raw, complaint):
    number = await place(demo_store, clock)

    status, body = await carrier.send(None, raw=raw.replace(b"NUMBER", number.encode()))

    assert status == 400 and complaint in body["error"]
    assert await timeline(demo_store, number) == ("confirmed", ["pending", "confirmed"])


async def test_a_body_over_the_limit_is_answered_413(carrier, demo_store, clock):
    number = await place(demo_store, clock)
    body = {"order_no": number, "event": "in_transit", "at": clock.now().isoformat(), "note": "x" * MAX_BODY}

    status, answer = await carrier.send(body)

    assert status == 413 and "error" in answer
    assert await timeline(demo_store, number) == ("confirmed", ["pending", "confirmed"])


async def test_an_unknown_order_is_answered_404(carrier, demo_store, clock):
    status, body = await carrier.event("RT-ZZZZZ", "in_transit", clock.now())

    assert status == 404 and "RT-ZZZZZ" in body["error"]
    assert carrier.wakes == []


async def test_a_pending_order_is_answered_409(carrier, demo_store, clock):
    number = await place(demo_store, clock, confirm=False)

    status, body = await carrier.event(number, "in_transit", clock.now())

    assert status == 409 and "pending" in body["error"]
    assert await timeline(demo_store, number) == ("pending", ["pending"])
    assert carrier.wakes == []


async def test_a_duplicate_event_makes_one_transition(carrier, demo_store, clock):
    number = await place(demo_store, clock)

    first = await carrier.event(number, "in_transit", clock.now())
    clock.advance(timedelta(minutes=5))
    again = await carrier.event(number, "in_transit", clock.now())

    assert first == (200, {"order_no": number, "status": "in_transit", "moved": True})
    assert again == (200, {"order_no": number, "status": "in_transit", "moved": False})
    assert await timeline(demo_store, number) == ("in_transit", ["pending", "confirmed", "in_transit"])
    assert carrier.wakes == [1]


async def test_a_late_event_never_moves_the_order_back(carrier, demo_store, clock):
    number = await place(demo_store, clock)
    clock.advance(timedelta(hours=6))
    shipped, reached = clock.now() - timedelta(hours=5), clock.now() - timedelta(hours=1)

    county = await carrier.event(number, "at_county", reached)
    late = await carrier.event(number, "in_transit", shipped)

    assert county == (200, {"order_no": number, "status": "at_county", "moved": True})
    assert late == (200, {"order_no": number, "status": "at_county", "moved": False})
    # The skipped step is recorded once, at the county event's time; the late one adds nothing.
    assert await timeline(demo_store, number) == ("at_county", ["pending", "confirmed", "in_transit", "at_county"])
    async with demo_store.read() as session:
        times = (await session.scalars(select(OrderEvent.at).where(
            OrderEvent.status.in_(["in_transit", "at_county"])).order_by(OrderEvent.id))).all()
    assert times == [reached, reached]
    assert carrier.wakes == [1]


async def test_a_cancelled_order_ignores_the_carrier(carrier, demo_store, clock):
    number = await place(demo_store, clock, confirm=False)
    async with demo_store.read() as session:
        order_id = await session.scalar(select(Order.id).where(Order.number == number))
    await desks.decide(demo_store, clock, ADMIN, order_id, confirm=False, reason="out_of_stock")

    status, body = await carrier.event(number, "in_transit", clock.now())

    assert (status, body) == (200, {"order_no": number, "status": "rejected", "moved": False})
    assert await timeline(demo_store, number) == ("rejected", ["pending", "rejected"])


async def test_other_paths_and_methods_answer_json(carrier):
    async with carrier.http.get(carrier.url) as response:
        assert response.status == 405 and "error" in await response.json()
    async with carrier.http.post(carrier.url.replace("events", "elsewhere")) as response:
        assert response.status == 404 and "error" in await response.json()


async def test_the_villager_hears_at_once_that_the_parcel_is_on_its_way(bot, serve):
    """The real bot: after the carrier's event, the pump is woken and the notice sent without
    waiting for its next scheduled run."""
    rt = bot.app.bot_data["runtime"]
    carrier = await serve(bot.store, bot.clock, wake=rt.kick)
    villager = bot.person(1001, "Wang", language_code="en")
    await settle_in(villager)
    async with bot.store.read() as session:
        telegram_user = await session.scalar(select(Villager).where(Villager.telegram_id == 1001))
    assert telegram_user.center_id is not None
    number = await place(bot.store, bot.clock, telegram_id=1001)
    await bot.pump()
    assert "is confirmed" in last_text(villager)

    status, body = await carrier.event(number, "in_transit", bot.clock.now())
    await rt.pump.idle()

    assert (status, body["moved"]) == (200, True)
    assert f"Your order {number} is on its way." in last_text(villager)


def run_settings(store, double, port: int) -> Settings:
    return Settings(bot_token=BOT_TOKEN, database_url=store.url, telegram_base_url=double.base_url,
                    logistics_token=LOGISTICS_TOKEN, listen_host="127.0.0.1", listen_port=port)


async def test_rural_bot_run_serves_the_endpoint_next_to_polling_and_stops_it(demo_store, clock, telegram,
                                                                           monkeypatch):
    number = await place(demo_store, clock)
    stop = asyncio.Event()
    monkeypatch.setattr(runner, "wait_for_stop_signal", stop.wait)  # instead of Ctrl-C
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
    running = asyncio.create_task(runner.serve(run_settings(demo_store, telegram, port), webhook=False))
    async with aiohttp.ClientSession() as http:
        carrier = Carrier(http, url)
        for _ in range(200):
            assert not running.done(), running.result()
            try:
                status, body = await carrier.event(number, "in_transit", clock.now())
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the server did not come up")
        assert any(call.method == "getUpdates" for call in telegram.calls), "not polling"

        stop.set()
        assert await asyncio.wait_for(running, 10) == 0

        with pytest.raises(aiohttp.ClientConnectionError):
            await carrier.event(number, "at_county", clock.now())
    assert (status, body) == (200, {"order_no": number, "status": "in_transit", "moved": True})
    assert await timeline(demo_store, number) == ("in_transit", ["pending", "confirmed", "in_transit"])


async def test_rural_bot_run_names_a_port_in_use_and_stops_polling(demo_store, telegram, monkeypatch):
    monkeypatch.setattr(runner, "wait_for_stop_signal", asyncio.Event().wait)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SettingsError, match=f"cannot listen on 127.0.0.1:{port}"):
            await asyncio.wait_for(runner.serve(run_settings(demo_store, telegram, port), webhook=False), 10)
    calls = len(telegram.calls)
    await asyncio.sleep(0.3)
    assert len(telegram.calls) == calls, "still polling after the failed start"


async def test_a_back_dated_event_keeps_the_timeline_in_order_and_reminders_a_day_away(carrier, demo_store, clock):
    number = await place(demo_store, clock)
    clock.advance(timedelta(hours=1))

    status, body = await carrier.event(number, "at_village", clock.now() - timedelta(days=5))

    assert (status, body["moved"]) == (200, True)
    async with demo_store.read() as session:
        order = await session.scalar(select(Order).where(Order.number == number))
        times = (await session.scalars(
            select(OrderEvent.at).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))).all()
        reminders = (await session.scalars(
            select(OutboxMessage.due_at).where(OutboxMessage.order_id == order.id,
                                               OutboxMessage.kind == "reminder"))).all()
    assert times == sorted(times)
    assert sorted(reminders) == [clock.now() + timedelta(hours=24), clock.now() + timedelta(hours=72)]


async def delivery(store, clock, tracking: str | None = "SF-778899") -> tuple[int, str]:
    """A town buyer's delivery order of CG-01's apples, paid online, confirmed and (unless
    ``tracking`` is None) sent with that tracking number. Returns (its id, its number)."""
    await prices(store, clock)
    seller = await person(store, clock, 1)
    buyer = await person(store, clock, 2, center=None)
    order = await delivery_order(store, clock, buyer, await approved_listing(store, clock, seller))
    await desks.decide(store, clock, ADMIN, order.id, confirm=True)
    if tracking is not None:
        await ship(store, clock, order.id, tracking)
    return order.id, order.number


async def test_a_delivery_is_delivered_by_its_tracking_number_once(carrier, demo_store, clock):
    _, number = await delivery(demo_store, clock)
    clock.advance(timedelta(hours=5))

    first = await carrier.event("sf-778899", "delivered", clock.now())
    again = await carrier.event(number, "delivered", clock.now())

    assert first == (200, {"order_no": "SF-778899", "status": "delivered", "moved": True})
    assert again == (200, {"order_no": number, "status": "delivered", "moved": False})
    assert await timeline(demo_store, number) == (
        "delivered", ["awaiting_payment", "pending", "confirmed", "in_transit", "delivered"])
    assert carrier.wakes == [1]


async def test_village_events_for_a_delivery_and_delivered_for_a_village_parcel_change_nothing(
        carrier, demo_store, clock):
    _, number = await delivery(demo_store, clock)
    village = await place(demo_store, clock, telegram_id=7)
    await carrier.event(village, "in_transit", clock.now())
    carrier.wakes.clear()

    for event in ("in_transit", "at_county", "at_village"):
        assert await carrier.event(number, event, clock.now()) == (
            200, {"order_no": number, "status": "in_transit", "moved": False})
    assert await carrier.event(village, "delivered", clock.now()) == (
        200, {"order_no": village, "status": "in_transit", "moved": False})
    assert await timeline(demo_store, village) == ("in_transit", ["pending", "confirmed", "in_transit"])
    assert carrier.wakes == []


async def test_a_delivery_not_yet_confirmed_is_answered_409_and_not_yet_sent_changes_nothing(
        carrier, demo_store, clock):
    _, number = await delivery(demo_store, clock, tracking=None)
    assert await carrier.event(number, "delivered", clock.now()) == (
        200, {"order_no": number, "status": "confirmed", "moved": False})
    await prices(demo_store, clock)
    other = await delivery_order(demo_store, clock, await person(demo_store, clock, 3, center=None),
                                 await approved_listing(demo_store, clock, await person(demo_store, clock, 4)),
                                 token="town-2")
    status, body = await carrier.event(other.number, "delivered", clock.now())
    assert status == 409 and "pending" in body["error"]
    assert carrier.wakes == []
