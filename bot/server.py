"""The bot's own HTTP server: the carrier pushes parcel events to it.

    POST /api/v1/parcels/events
    Authorization: Bearer <LOGISTICS_TOKEN>
    {"order_no": "RT-XXXXX", "event": "in_transit" | "at_county" | "at_village" | "delivered",
     "at": "2026-11-11T10:00:00+08:00"}

``order_no`` is the order's number, or the tracking number the seller's center gave the parcel
of a delivery order (any letter case). A parcel to a village takes in_transit, at_county and
at_village; a delivery to a town buyer takes only "delivered", once it is in transit.

Every answer is JSON. 200 ``{"order_no", "status", "moved"}``: ``moved`` is false for a
duplicate, late or out-of-order event, which changes nothing, for an event of the other way
(delivered for a parcel to the village, at_village for a delivery), and for a rejected or
cancelled order (the carrier is late). 400 bad JSON (or JSON nested more than 32 levels) or field, 401
missing or wrong token, 404 unknown order, 408 a body that took longer than 20 s, 409 the order is
not yet confirmed, 413 a body over 64 KiB. Without LOGISTICS_TOKEN the endpoint is disabled and
answers 503, so a carrier can tell "switched off here" from "your token is wrong".

The same server answers ``GET /healthz`` (200 ``{"status": "ok"}`` when the database answers,
503 ``{"status": "unavailable"}`` when it does not) and ``GET /metrics`` (Prometheus text; see
bot/metrics.py), which with METRICS_TOKEN set wants ``Authorization: Bearer <METRICS_TOKEN>`` (401
without it). ``rural-bot webhook`` adds Telegram's route to it (bot/webhook.py). A client has
``Timeouts.head`` seconds to send a request's head and ``Timeouts.body`` for its body
(bot/http_input.py).

``build_web_app`` makes the aiohttp application; ``start_server``/``stop_server`` run it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from aiohttp import web

from bot.http_input import TIMEOUTS, BadJson, BodyRefused, Timeouts, parse_json, read_body, runner_options
from bot.metrics import CONTENT_TYPE, Metrics
from services import outbox, parcels
from services.clock import Clock
from services.errors import DomainError, NotFound
from services.reminders import RETURN_AFTER
from store.db import Store, is_unavailable

log = logging.getLogger(__name__)
EVENTS_PATH = "/api/v1/parcels/events"
MAX_BODY = 64 * 1024
FIELDS = ("order_no", "event", "at")
HEALTH_TIMEOUT = 2.0  # seconds the database gets to answer /healthz


class BadEvent(ValueError):
    """The request body is not a valid carrier event; the message says why."""


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    """aiohttp's own refusals (404 path, 405 method, 413 body) as JSON too."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, exc.reason)


def parse_event(body: bytes) -> tuple[str, str, datetime]:
    """(order number, event name, aware time) from a JSON body; raises BadEvent."""
    try:
        data = parse_json(body)
    except BadJson as exc:
        raise BadEvent(str(exc)) from None
    if not isinstance(data, dict):
        raise BadEvent("the body must be a JSON object")
    for name in FIELDS:
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise BadEvent(f"{name} is missing or not a string")
    number, event, at_text = (data[name].strip() for name in FIELDS)
    if event not in parcels.CARRIER_EVENTS:
        raise BadEvent(f"unknown event {event!r}; expected one of {', '.join(parcels.CARRIER_EVENTS)}")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        raise BadEvent("at is not an ISO 8601 time") from None
    if at.utcoffset() is None:
        raise BadEvent("at has no UTC offset (e.g. +08:00 or Z)")
    return number.upper(), event, at


def bearer(token: str) -> bytes:
    return f"Bearer {token}".encode()


def has_bearer(request: web.Request, expected: bytes) -> bool:
    """Whether the request's Authorization is ``expected``, compared in constant time."""
    given = request.headers.get("Authorization", "").encode("utf-8", "replace")
    return hmac.compare_digest(given, expected)


def build_web_app(*, store: Store, clock: Clock, logistics_token: str | None,
                  wake: Callable[[], None], metrics: Metrics, metrics_token: str | None = None,
                  timeouts: Timeouts = Timeouts(), return_after: timedelta = RETURN_AFTER) -> web.Application:
    """The aiohttp application with the carrier endpoint, /healthz and /metrics. ``wake`` is
    called after an event moved an order, so its notices are sent at once (the outbox pump's
    ``kick``). ``return_after`` (RETURN_AFTER_DAYS) is how long a parcel a carrier brought to the
    village waits for pickup before the desk is asked to send it back."""
    expected = bearer(logistics_token) if logistics_token else None
    scraper = bearer(metrics_token) if metrics_token else None

    async def parcel_event(request: web.Request) -> web.Response:
        if expected is None:
            return error(503, "the carrier endpoint is disabled: LOGISTICS_TOKEN is not set")
        if not has_bearer(request, expected):
            return error(401, "missing or wrong bearer token")
        try:
            number, event, at = parse_event(await read_body(request, MAX_BODY, timeouts.body))
        except BodyRefused as exc:
            return error(exc.status, str(exc))
        except BadEvent as exc:
            return error(400, str(exc))
        try:
            result = await parcels.carrier_event(store, clock, number, event, at, return_after)
        except NotFound:
            return error(404, f"no order {number}")
        except DomainError as exc:
            return error(409, f"order {number} cannot take this event: {exc}")
        if result.moved:
            wake()
        log.info("carrier event %s for %s at %s: %s", event, number, at.isoformat(),
                 "moved" if result.moved else "no change")
        return web.json_response({"order_no": number, "status": result.status, "moved": result.moved})

    async def database_answers(query) -> bool:
        """Whether ``query`` (a trivial one, or the backlog's) got its answer within HEALTH_TIMEOUT;
        the answer is kept in ``rural_database_up``."""
        try:
            await asyncio.wait_for(query(), HEALTH_TIMEOUT)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            metrics.database_up.set(0)
            return False
        metrics.database_up.set(1)
        return True

    async def healthz(request: web.Request) -> web.Response:
        if await database_answers(store.ping):
            return web.json_response({"status": "ok", "database": "ok"})
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)

    async def scrape(request: web.Request) -> web.Response:
        if scraper is not None and not has_bearer(request, scraper):
            return web.json_response({"error": "missing or wrong bearer token"}, status=401,
                                     headers={"WWW-Authenticate": "Bearer"})
        metrics.backlog.clear()  # no figure rather than an old one while the database is down

        async def read_backlog() -> None:  # it answers for the database too: no separate ping
            for queue, count in (await outbox.backlog(store, clock.now())).items():
                metrics.backlog.labels(queue=queue).set(count)

        await database_answers(read_backlog)
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors])
    app[TIMEOUTS] = timeouts
    app.router.add_post(EVENTS_PATH, parcel_event)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", scrape)
    if expected is None:
        log.warning("LOGISTICS_TOKEN is not set: %s answers 503", EVENTS_PATH)
    return app


async def start_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Listen on host:port (port 0: any free port; see ``bound_port``), with the application's
    timeouts for slow clients."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0, **runner_options(app[TIMEOUTS]))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("listening on http://%s:%s", host, bound_port(runner))
    return runner


def bound_port(runner: web.AppRunner) -> int:
    return runner.addresses[0][1]


async def stop_server(runner: web.AppRunner) -> None:
    await runner.cleanup()
