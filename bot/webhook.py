"""Updates by webhook: Telegram POSTs each update to ``WEBHOOK_URL``.

The route is the URL's path (``/telegram`` when it has none) on the bot's own server, next to the
carrier endpoint, /healthz and /metrics. A request without the right
``X-Telegram-Bot-Api-Secret-Token`` gets 401 before its body is read. A body that is not an
update gets 400 (JSON nested more than ``MAX_DEPTH`` levels too), one over 1 MiB 413 (the route's
own limit: the other endpoints keep 64 KiB), and one slower than the body timeout 408. An update
is handled before the answer (200), so an answer means "done": one that never got it (a crash, a
timeout) is sent again by Telegram, and handled once (``services.updates``) wherever it lands. A
delivery of an update that another delivery is handling gets 503, so that Telegram sends it again
later, when it is done or its claim lapsed.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.http_input import TIMEOUTS, BadJson, BodyRefused, parse_json, read_body
from services.updates import UpdateInProgress

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram"
MAX_UPDATE = 1024 * 1024  # bytes; an update is a few kilobytes


def webhook_path(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    return path or DEFAULT_PATH


def add_telegram_route(web_app: web.Application, app: Application, path: str, secret: str) -> None:
    expected = secret.encode()
    body_timeout = web_app[TIMEOUTS].body

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return web.json_response({"error": "missing or wrong secret token"}, status=401)
        if not app.running:  # stopping: Telegram will send it again, to a process that runs
            return web.json_response({"error": "shutting down"}, status=503)
        try:
            body = await read_body(request, MAX_UPDATE, body_timeout)
        except BodyRefused as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)
        update = _parse(body, app)
        if update is None:
            log.warning("webhook: a request that is not a Telegram update", extra={"status": 400})
            return web.json_response({"error": "the body is not a Telegram update"}, status=400)
        # Through the update processor, so that CONCURRENT_UPDATES holds as it does for polling.
        try:
            await app.update_processor.process_update(update, app.process_update(update))
        except UpdateInProgress:
            return web.json_response({"error": "this update is being handled; send it again later"}, status=503)
        return web.Response(status=200)

    web_app.router.add_post(path, receive)


def _parse(body: bytes, app: Application) -> Update | None:
    try:
        data = parse_json(body)
    except BadJson:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int) or isinstance(data["update_id"], bool):
        return None
    try:
        return Update.de_json(data, app.bot)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
