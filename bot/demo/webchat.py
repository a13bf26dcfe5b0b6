"""The demo's web chat: a browser plays the people of the Bot API double.

The page (``static/``) picks a person, shows their chats and talks to this small JSON API. What
the bot sends, and what people type, reaches every open page at once as server-sent events, edits
in place included. A person's actions go through the double's ``Person``, exactly as in the tests,
so the bot receives the same updates it would get from Telegram.

Only its own page may use it, with JSON; a photo (base64 in the JSON) must be a raster picture and a
document a CSV or plain-text file: see webguard.py and uploads.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.demo.menu import command_menu
from bot.demo.paysheet import PaySheets, invoice_view, payment_view
from bot.demo.uploads import (
    MAX_DOCUMENT_JSON,
    MAX_PHOTO_JSON,
    MAX_VOICE_JSON,
    acting,
    send_document,
    send_photo,
    send_voice,
)
from bot.demo.webguard import FILE_POLICY, MAX_JSON, TIMEOUTS, Refused, json_body, no_sniffing, own_page_only, refusals
from bot.http_input import runner_options
from bot.sandbox.botapi import BotApiDouble
from bot.sandbox.model import Chat, Message, Person
from locales import localized
from services.desks import opening_time

if TYPE_CHECKING:
    from bot.demo.world import DemoWorld, Role
    from services.clock import OffsetClock

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
TAP_ANSWER_WAIT = 5.0  # seconds the page waits for the bot to answer a tap
HEARTBEAT = 15.0  # seconds between SSE comments that keep idle connections open
ROLE_LABELS = {
    "zh": {"villager": "村民", "partner": "站长", "bystander": "群成员", "admin": "管理员", "buyer": "城里买家"},
    "en": {"villager": "Villager", "partner": "Partner", "bystander": "Group member", "admin": "Admin",
           "buyer": "Town buyer"},
}
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
TOWN = {"zh": "西安", "en": "Xi'an"}  # where the demo's town buyer lives (the payment sheet's pretend address)
CLOCK_STEPS = {1, 24}  # hours the clock control may move forward


class WebChat:
    def __init__(self, double: BotApiDouble, world: DemoWorld, clock: OffsetClock,
                 wake: Callable[[], None], timezone: str = "Asia/Shanghai"):
        self.double, self.world, self.clock, self.wake = double, world, clock, wake
        self.tz = ZoneInfo(timezone)
        self.roles = {r.telegram_id: r for r in world.roles}
        self._streams: set[asyncio.Queue] = set()
        self._runner: web.AppRunner | None = None
        self.host, self.port = "127.0.0.1", 0
        self.pay_sheets = PaySheets(double, self._speaker, {r.telegram_id: r.phone for r in world.roles})
        double.observers.append(self._on_message)

    # ---- lifecycle ------------------------------------------------------------------
    def application(self) -> web.Application:
        guard = own_page_only(lambda: (self.host, self.port))
        app = web.Application(client_max_size=MAX_JSON, middlewares=[refusals, guard])
        app.on_response_prepare.append(no_sniffing)
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/api/chats/{chat_id}", self._chat_history)
        app.router.add_get("/api/files/{file_id}", self._file)
        app.router.add_get("/api/events", self._events)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/tap", self._tap)
        app.router.add_post("/api/location", self._location)
        app.router.add_post("/api/contact", self._contact)
        app.router.add_post("/api/photo", self._photo)
        app.router.add_post("/api/document", self._document)
        app.router.add_post("/api/voice", self._voice)
        app.router.add_post("/api/clock", self._move_clock)
        self.pay_sheets.add_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 8080) -> None:
        self._runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=1.0,
                                     **runner_options(TIMEOUTS))
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.host, self.port = host, self._runner.addresses[0][1]

    async def stop(self) -> None:
        for queue in list(self._streams):  # end the open event streams, or shutdown waits for them
            queue.put_nowait(None)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        with contextlib.suppress(ValueError):
            self.double.observers.remove(self._on_message)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # ---- reading --------------------------------------------------------------------
    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _state(self, request: web.Request) -> web.Response:
        bot = self.double.bot_user
        return web.json_response({
            "bot": {"id": bot.id, "name": bot.first_name, "username": bot.username},
            "clock": self._clock_view(),
            "people": [self._person_view(role) for role in self.world.roles],
            "villages": [{"name": localized(c.names, "zh"), "latitude": c.latitude, "longitude": c.longitude}
                         for c in self.world.centers if c.latitude is not None and c.longitude is not None],
        })

    def _person_view(self, role: Role) -> dict:
        language = role.locale.split("_")[0]  # "zh_Hans" -> "zh", the key of the data's names
        center = TOWN[language] if role.role == "buyer" else localized(self.world.center_of(role).names, language)
        chats = [c for c in self.double.chats.values() if self._may_see(role.telegram_id, c)]
        chats.sort(key=lambda c: c.type != "private")
        return {"id": role.telegram_id, "name": role.first_name, "role": role.role,
                "label": f"{ROLE_LABELS[language][role.role]} · {center}", "language": language,
                "language_name": LANGUAGE_NAMES[language], "featured": role.featured,
                "chats": [self._chat_view(c) for c in chats]}

    def _chat_view(self, chat: Chat) -> dict:
        title = self.double.bot_user.first_name if chat.type == "private" else chat.title
        return {"id": chat.id, "type": chat.type, "title": title}

    async def _chat_history(self, request: web.Request) -> web.Response:
        person = self._person(request.query.get("as"))
        chat = self._visible_chat(person, request.match_info["chat_id"])
        return web.json_response({
            "chat": self._chat_view(chat),
            "messages": [self._message_view(m) for m in chat.messages if not m.deleted],
            "reply_keyboard": _keyboard_view(chat),
            "commands": command_menu(self.double.commands, chat, person.id, person.language_code),
        })

    async def _file(self, request: web.Request) -> web.Response:
        stored = self.double.files.get(request.match_info["file_id"])
        if stored is None or stored.content is None:
            raise Refused(404, "no such file")
        return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream",
                            headers={"Cache-Control": "max-age=86400", "Content-Security-Policy": FILE_POLICY})

    def _message_view(self, message: Message) -> dict:
        photo = None
        if message.photo:
            stored = self.double.files.get(message.photo)
            photo = f"/api/files/{message.photo}" if stored and stored.content is not None else (
                stored.url if stored else message.photo)
        document = None
        if message.document:
            document = {"name": message.document.get("file_name") or "file",
                        "url": f"/api/files/{message.document['file_id']}"}
        contact, voice = message.media.get("contact"), message.media.get("voice")
        return {
            "chat_id": message.chat.id, "message_id": message.message_id,
            "from": {"id": message.sender.id, "name": message.sender.first_name, "is_bot": message.sender.is_bot},
            "date": message.date, "edited": message.edited, "deleted": message.deleted,
            "text": message.text, "entities": message.entities,
            "caption": message.caption, "caption_entities": message.caption_entities,
            "photo": photo, "document": document, "location": message.location,
            "venue": {"title": message.venue["title"], "address": message.venue["address"]} if message.venue else None,
            "contact": {"phone_number": contact["phone_number"]} if contact else None,
            "voice": {"url": f"/api/files/{voice['file_id']}", "duration": voice["duration"]} if voice else None,
            "buttons": [[{k: v for k, v in (("text", b.text), ("callback_data", b.callback_data), ("url", b.url),
                                            ("pay", b.pay or None)) if v is not None} for b in row]
                        for row in message.buttons],
            "invoice": invoice_view(self.double, message), "payment": payment_view(message),
            "reply_to": _quote(message.reply_to) if message.reply_to else None,
            "force_reply": self._force_reply(message),
        }

    def _force_reply(self, message: Message) -> dict | None:
        """A ForceReply opens a reply to the message in the client of everyone (``for`` None), or,
        when selective, of the people it mentions and the sender of the message it replies to."""
        markup = message.reply_markup or {}
        if not markup.get("force_reply"):
            return None
        people = None
        if markup.get("selective"):
            people = [e["user"]["id"] for e in message.entities if e["type"] == "text_mention"]
            text = message.text or ""
            for entity in (e for e in message.entities if e["type"] == "mention"):
                name = text.encode("utf-16-le")[2 * entity["offset"] + 2:2 * (entity["offset"] + entity["length"])]
                people += [u.id for u in self.double.users.values() if u.username == name.decode("utf-16-le")]
            if message.reply_to is not None:
                people.append(message.reply_to.sender.id)
        return {"for": people, "placeholder": markup.get("input_field_placeholder")}

    # ---- live events ----------------------------------------------------------------
    def _on_message(self, event: str, message: Message) -> None:
        if not self._streams:  # no page is open: nobody to tell
            return
        self._publish("message", {"kind": event, "message": self._message_view(message),
                                  "reply_keyboard": _keyboard_view(message.chat)})

    def _publish(self, event: str, data: dict) -> None:
        frame = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        for queue in self._streams:
            queue.put_nowait(frame)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue: asyncio.Queue = asyncio.Queue()
        self._streams.add(queue)
        try:
            await response.write(b"retry: 1000\n\n")
            while True:
                try:
                    frame = await asyncio.wait_for(queue.get(), HEARTBEAT)
                except TimeoutError:
                    frame = b": still here\n\n"
                if frame is None:
                    break
                await response.write(frame)
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the page was closed or reloaded
        finally:
            self._streams.discard(queue)
        return response

    # ---- acting ---------------------------------------------------------------------
    async def _send(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        person, chat = self._speaker(body)
        text = str(body.get("text") or "").strip()
        if not text:
            raise Refused(400, "the message is empty", "empty.message")
        if len(text) > 4096:
            raise Refused(400, "the message is longer than 4096 characters", "message.long")
        if body.get("reply_to") is None:
            await acting(person.send(text, chat=chat))
            return _ok()
        replied = chat.message(_integer(body["reply_to"], "reply_to"))
        if replied is None or replied.deleted:
            raise Refused(404, "the message to reply to is gone", "message.gone")
        await acting(person.reply(text, to=replied))
        return _ok()

    async def _tap(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        person, chat = self._speaker(body)
        message = chat.message(_integer(body.get("message_id"), "message_id"))
        data = body.get("data")
        if message is None or message.deleted or not isinstance(data, str):
            raise Refused(404, "that message is gone", "message.gone")
        answer = await acting(person.tap_data(data, message))
        try:
            await self.double.wait_for(lambda: answer.answered, TAP_ANSWER_WAIT)
        except AssertionError:
            return _ok(answer=None)  # the bot did not answer the tap (Telegram shows a spinner, then nothing)
        return _ok(answer={"text": answer.text, "show_alert": answer.show_alert})

    async def _location(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        person, chat = self._speaker(body)
        try:
            latitude, longitude = float(body["latitude"]), float(body["longitude"])
        except (KeyError, TypeError, ValueError):
            raise Refused(400, "latitude and longitude must be numbers") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise Refused(400, "that is not a place on Earth", "not.place")
        await acting(person.share_location(latitude, longitude, chat=chat))
        return _ok()

    async def _contact(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        person, chat = self._speaker(body)
        await acting(person.share_contact(self.roles[person.id].phone, chat=chat))
        return _ok()

    async def _photo(self, request: web.Request) -> web.Response:
        body = await json_body(request, MAX_PHOTO_JSON)
        await send_photo(body, *self._speaker(body))
        return _ok()

    async def _document(self, request: web.Request) -> web.Response:
        body = await json_body(request, MAX_DOCUMENT_JSON)
        await send_document(body, *self._speaker(body))
        return _ok()

    async def _voice(self, request: web.Request) -> web.Response:
        body = await json_body(request, MAX_VOICE_JSON)
        await send_voice(body, *self._speaker(body))
        return _ok()

    async def _move_clock(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        hours = body.get("hours")
        if body.get("to") == "opening":
            self.clock.advance(self._until_opening())
        elif hours in CLOCK_STEPS:
            self.clock.advance(timedelta(hours=hours))
        else:
            raise Refused(400, "the clock moves forward by 1 or 24 hours, or to the next opening")
        view = self._clock_view()
        self._publish("clock", view)
        self.wake()  # reminders and digests that just fell due go out now
        return web.json_response(view)

    def _until_opening(self) -> timedelta:
        """From now to a minute after the first center's desk next opens: the morning digests go out
        then (a desk's digest is sent within the hour after it opens), and the night's reminders."""
        center = self.world.centers[0]
        opens = opening_time(center.opening_hours) or time(8, 0)
        now = self.clock.now().astimezone(ZoneInfo(center.timezone))
        target = now.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0) + timedelta(minutes=1)
        if target <= now:
            target += timedelta(days=1)
        return target - now

    def _clock_view(self) -> dict:
        return {"now": self.clock.now().astimezone(self.tz).isoformat(timespec="seconds"),
                "offset_seconds": int(self.clock.offset.total_seconds())}

    # ---- who may do what ------------------------------------------------------------
    def _person(self, value: Any) -> Person:
        role = self.roles.get(_integer(value, "as"))
        if role is None:
            raise Refused(404, "no such person in the demo")
        return self.world.person(role)

    def _speaker(self, fields: Any) -> tuple[Person, Chat]:
        """Who acts (``as``) and in which of their chats (``chat_id``), from a request's fields."""
        person = self._person(fields.get("as"))
        return person, self._visible_chat(person, fields.get("chat_id"))

    def _may_see(self, person_id: int, chat: Chat) -> bool:
        return chat.id == person_id if chat.type == "private" else person_id in chat.members

    def _visible_chat(self, person: Person, value: Any) -> Chat:
        chat = self.double.chats.get(_integer(value, "chat_id"))
        if chat is None or not self._may_see(person.id, chat):
            raise Refused(403, f"{person.first_name} is not in that chat")
        return chat


def _quote(message: Message) -> dict:
    """What a reply shows of the message it answers."""
    return {"message_id": message.message_id, "name": message.sender.first_name,
            "text": (message.text or message.caption or "")[:100], "deleted": message.deleted}


def _keyboard_view(chat: Chat) -> list[list[dict]] | None:
    if not chat.reply_keyboard:
        return None
    return [[{"text": b.text, "request_location": b.request_location, "request_contact": b.request_contact}
             for b in row] for row in chat.reply_keyboard]


def _integer(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Refused(400, f"{name} must be a number") from None


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra})
