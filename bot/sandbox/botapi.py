"""An in-process Telegram Bot API double: an aiohttp server a real PTB bot talks to.

The model (users, chats, messages) is public so tests and the offline demo can drive
people and inspect what the bot showed them.  The server enforces the Telegram rules a
bot most often trips over (limits, HTML, callback data, "not modified", blocked users).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import re
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from aiohttp import web

from .html import HtmlError, Rendered, render, utf16_len

__all__ = ["ApiCall", "ApiError", "BotApiDouble", "Button", "CallbackAnswer", "Chat", "Group",
           "KeyboardButton", "Message", "Person", "StoredFile", "Upload", "User"]

NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
_INLINE_ACTIONS = ("callback_data", "url", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "callback_game", "pay")
_JSON_FIELDS = {"reply_markup", "entities", "caption_entities", "commands", "scope",
                "allowed_updates", "reply_parameters", "link_preview_options"}
_CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                 "upload_voice", "upload_document", "choose_sticker", "find_location",
                 "record_video_note", "upload_video_note"}
log = logging.getLogger(__name__)
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?(?=\s|$)")


def _now() -> int:
    return int(time.time())


class ApiError(Exception):
    """A Telegram error reply; raise it from a method handler."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


def bad(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


class ApiCall(NamedTuple):
    method: str  # as the bot spelled it, e.g. "sendMessage"
    params: dict  # form values are strings; JSON-ish fields (reply_markup, ...) are decoded


@dataclass
class Upload:
    """A file the bot uploaded in a multipart request."""

    filename: str | None
    content: bytes
    mime_type: str | None


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes | None = None  # None: only known by URL
    mime_type: str | None = None
    file_name: str | None = None
    url: str | None = None

    def to_dict(self) -> dict:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.content or b""), "file_path": self.file_path}


@dataclass
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class KeyboardButton:
    text: str
    request_location: bool = False
    request_contact: bool = False


@dataclass
class CallbackAnswer:
    """The bot's answerCallbackQuery for one tap (``answered`` False if it never answered)."""

    text: str | None = None
    show_alert: bool = False
    answered: bool = False
    url: str | None = None
    query_id: str = ""


@dataclass(eq=False)
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> dict:
        data = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(eq=False)
class Message:
    message_id: int
    chat: Chat = field(repr=False)
    sender: User
    date: int
    text: str | None = None  # plain text, as a person sees it
    html: str | None = None  # raw HTML as sent (parse_mode=HTML), else None
    entities: list[dict] = field(default_factory=list, repr=False)
    caption: str | None = None
    caption_html: str | None = None
    caption_entities: list[dict] = field(default_factory=list, repr=False)
    photo: str | None = None  # file_id or URL as sent
    document: dict | None = None
    location: dict | None = None
    venue: dict | None = None
    media: dict = field(default_factory=dict, repr=False)  # raw extras: photo sizes, sticker...
    reply_markup: dict | None = None  # raw, any kind
    reply_to: Message | None = field(default=None, repr=False)
    edited: bool = False
    edit_count: int = 0
    edit_date: int | None = None
    deleted: bool = False

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def from_bot(self) -> bool:
        return self.sender.is_bot

    @property
    def inline_markup(self) -> dict | None:
        markup = self.reply_markup
        return markup if markup and "inline_keyboard" in markup else None

    @property
    def buttons(self) -> list[list[Button]]:
        rows = (self.inline_markup or {}).get("inline_keyboard", [])
        return [[Button(b["text"], b.get("callback_data"), b.get("url")) for b in row]
                for row in rows]

    def to_dict(self, with_reply: bool = True) -> dict:
        data: dict[str, Any] = {"message_id": self.message_id, "from": self.sender.to_dict(),
                                "chat": self.chat.to_dict(), "date": self.date}
        if self.edit_date:
            data["edit_date"] = self.edit_date
        if self.reply_to and with_reply:
            data["reply_to_message"] = self.reply_to.to_dict(with_reply=False)
        for key in ("text", "entities", "caption", "caption_entities", "document",
                    "location", "venue"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        data.update(self.media)
        if self.inline_markup:
            data["reply_markup"] = self.inline_markup
        return data


@dataclass(eq=False)
class Chat:
    id: int
    type: str  # "private" | "group" | "supergroup"
    title: str | None = None
    user: User | None = None  # the person on the other side of a private chat
    bot_status: str = "member"
    members: dict[int, User] = field(default_factory=dict, repr=False)
    messages: list[Message] = field(default_factory=list, repr=False)
    reply_keyboard: list[list[KeyboardButton]] | None = None
    actions: list[str] = field(default_factory=list, repr=False)  # sendChatAction log

    def to_dict(self) -> dict:
        if self.user is None:
            return {"id": self.id, "type": self.type, "title": self.title}
        data = self.user.to_dict()
        data.pop("is_bot"), data.pop("language_code", None)
        return {**data, "id": self.id, "type": self.type}

    def message(self, message_id: int) -> Message | None:
        return next((m for m in self.messages if m.message_id == message_id), None)

    def bot_messages(self) -> list[Message]:
        return [m for m in self.messages if m.from_bot and not m.deleted]

    def last_bot_message(self) -> Message | None:
        messages = self.bot_messages()
        return messages[-1] if messages else None

    def _new_message(self, sender: User, **fields: Any) -> Message:
        last = self.messages[-1].message_id if self.messages else 0
        message = Message(last + 1, self, sender, _now(), **fields)
        self.messages.append(message)
        return message


@dataclass(eq=False)
class Group(Chat):
    bot_status: str = "left"

    def add_member(self, person: User) -> None:
        """Make ``person`` a member (no update is sent, as for an existing member)."""
        self.members[person.id] = person


@dataclass(eq=False)
class Person(User):
    """A simulated Telegram user.  Actions return after the bot handled the update."""

    double: BotApiDouble | None = field(default=None, repr=False)
    blocked: bool = False
    answers: list[CallbackAnswer] = field(default_factory=list, repr=False)

    @property
    def chat(self) -> Chat:
        return self.double.chats[self.id]

    @property
    def alerts(self) -> list[str | None]:
        return [a.text for a in self.answers if a.show_alert]

    def blocks_bot(self) -> None:
        self.blocked = True
        self.double.inject(self.double.member_update(self.chat, self, "member", "kicked"))

    def unblocks_bot(self) -> None:
        self.blocked = False
        self.double.inject(self.double.member_update(self.chat, self, "kicked", "member"))

    async def send(self, text: str, chat: Chat | None = None) -> Message:
        match = _COMMAND_RE.match(text)
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
                    ] if match else []
        return await self._post(chat, text=text, entities=entities)

    async def send_sticker(self, emoji: str = "👍", chat: Chat | None = None) -> Message:
        file = self.double.store_file("sticker", b"RIFF-sticker", "sticker.webp", "image/webp")
        sticker = {"file_id": file.file_id, "file_unique_id": file.file_unique_id,
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        return await self._post(chat, media={"sticker": sticker})

    async def send_voice(self, duration: int = 2, chat: Chat | None = None) -> Message:
        file = self.double.store_file("voice", b"OggS-voice", "voice.ogg", "audio/ogg")
        voice = {"file_id": file.file_id, "file_unique_id": file.file_unique_id,
                 "duration": duration, "mime_type": "audio/ogg", "file_size": 10}
        return await self._post(chat, media={"voice": voice})

    async def send_photo(self, caption: str | None = None, chat: Chat | None = None) -> Message:
        file = self.double.store_file("photo", b"\xff\xd8\xff\xe0-jpeg", "photo.jpg", "image/jpeg")
        return await self._post(chat, caption=caption, photo=file.file_id,
                                media={"photo": self.double.photo_sizes(file)})

    async def send_document(self, filename: str, content: bytes,
                            mime_type: str = "application/octet-stream",
                            caption: str | None = None, chat: Chat | None = None) -> Message:
        file = self.double.store_file("document", content, filename, mime_type)
        return await self._post(chat, caption=caption, document=self.double.document_dict(file))

    async def share_location(self, latitude: float, longitude: float,
                             chat: Chat | None = None) -> Message:
        return await self._post(chat, location={"latitude": latitude, "longitude": longitude})

    async def share_contact(self, phone: str, chat: Chat | None = None) -> Message:
        contact = {"phone_number": phone, "first_name": self.first_name, "user_id": self.id}
        return await self._post(chat, media={"contact": contact})

    async def press(self, text: str, latitude: float | None = None,
                    longitude: float | None = None, phone: str | None = None,
                    chat: Chat | None = None) -> Message:
        """Press a button of the chat's current reply keyboard."""
        chat = chat or self.chat
        buttons = [b for row in chat.reply_keyboard or [] for b in row]
        button = next((b for b in buttons if b.text == text), None)
        if button is None:
            raise AssertionError(f"no reply-keyboard button {text!r} in chat {chat.id}; "
                                 f"available: {[b.text for b in buttons]}")
        if button.request_location:
            if latitude is None or longitude is None:
                raise AssertionError(f"button {text!r} requests a location: pass latitude=, "
                                     "longitude=")
            return await self.share_location(latitude, longitude, chat=chat)
        if button.request_contact:
            return await self.share_contact(phone or "+8613800000000", chat=chat)
        return await self.send(text, chat=chat)

    async def tap(self, text: str, message: Message | None = None,
                  chat: Chat | None = None) -> CallbackAnswer:
        """Tap an inline button (exact text, else the first containing ``text``)."""
        chat = chat or (message.chat if message else self.chat)
        if message is None:
            message = next((m for m in reversed(chat.bot_messages()) if m.inline_markup), None)
            if message is None:
                raise AssertionError(f"no bot message with an inline keyboard in chat {chat.id}")
        buttons = [b for row in message.buttons for b in row]
        button = next((b for b in buttons if b.text == text), None) or next(
            (b for b in buttons if text in b.text), None)
        if button is None or button.callback_data is None:
            raise AssertionError(f"no inline callback button {text!r} on message "
                                 f"{message.message_id}; available: {[b.text for b in buttons]}")
        return await self.tap_data(button.callback_data, message)

    async def tap_data(self, data: str, message: Message) -> CallbackAnswer:
        """Send a callback query with arbitrary (possibly forged or stale) data."""
        double = self.double
        query_id = double.new_query_id()
        await double.deliver({"callback_query": {
            "id": query_id, "from": self.to_dict(), "message": message.to_dict(),
            "chat_instance": str(abs(hash((message.chat.id, double.bot_user.id)))),
            "data": data}})
        answer = double.callback_answers[query_id]
        self.answers.append(answer)
        return answer

    async def _post(self, chat: Chat | None, **fields: Any) -> Message:
        chat = chat or self.chat
        if chat.type == "private" and self.blocked:
            raise AssertionError(f"{self.first_name} blocked the bot; call unblocks_bot() first")
        if chat.type != "private" and self.id not in chat.members:
            raise AssertionError(f"{self.first_name} is not a member of chat {chat.id}")
        message = chat._new_message(self, **fields)
        self.double.notify("new", message)
        if chat.bot_status in ("member", "administrator"):
            await self.double.deliver({"message": message.to_dict()})
        return message


class Params(dict):
    """Request parameters: strings from forms/queries, typed values from JSON bodies."""

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key)
        return default if value is None else str(value)

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad(f"invalid {key} specified") from None

    def number(self, key: str) -> float:
        try:
            return float(self[key])
        except (KeyError, TypeError, ValueError):
            raise bad(f"wrong {key} specified") from None

    def flag(self, key: str) -> bool:
        value = self.get(key)
        return value is True or str(value).lower() in ("true", "1")


class BotApiDouble:
    """A fake api.telegram.org for one bot, served on ``host:port`` (0: any free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, bot_id: int = 7000000001,
                 bot_username: str = "rural_test_bot", bot_first_name: str = "Rural Bot",
                 action_timeout: float = 10.0) -> None:
        self.host, self.port = host, port
        self.bot_user = User(bot_id, bot_first_name, username=bot_username, is_bot=True)
        self.token: str | None = None  # the token the bot last used
        self.calls: list[ApiCall] = []
        self.users: dict[int, User] = {bot_id: self.bot_user}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[dict]] = {}  # (scope type, language) -> list
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None}
        # set by the test fixture, e.g. ``lambda: application.update_queue.join()``
        self.settle: Callable[[], Awaitable[Any]] | None = None
        self.action_timeout = action_timeout
        # called as observer(event, message) with event "new" | "edit" | "delete"
        self.observers: list[Callable[[str, Message], None]] = []
        self.pending_updates: list[dict] = []
        self._next_update_id = 1
        self._confirmed = 0  # every update_id below this was acknowledged by the bot
        self._ack_waiters: list[tuple[int, asyncio.Future]] = []
        self._wakeup = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._methods = {name[4:].lower(): getattr(self, name)
                         for name in dir(self) if name.startswith("api_")}

    # ---- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    def calls_to(self, method: str) -> list[dict]:
        """Params of every call to ``method`` (case-insensitive), in order."""
        return [c.params for c in self.calls if c.method.lower() == method.lower()]

    # ---- people and chats -------------------------------------------------------------
    def person(self, user_id: int, first_name: str, last_name: str | None = None,
               username: str | None = None, language_code: str | None = "zh-hans") -> Person:
        """A Telegram user with a private chat (id = user_id); existing ones are returned."""
        if isinstance(self.users.get(user_id), Person):
            return self.users[user_id]
        person = Person(user_id, first_name, last_name, username, language_code, double=self)
        self.users[user_id] = person
        self.chats[user_id] = Chat(user_id, "private", user=person, members={user_id: person})
        return person

    def group(self, chat_id: int, title: str) -> Group:
        kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        self.chats[chat_id] = group = Group(chat_id, kind, title)
        return group

    async def add_bot_to_group(self, group: Group, by: Person) -> None:
        group.add_member(by)
        old, group.bot_status = group.bot_status, "member"
        await self.deliver(self.member_update(group, by, old, "member"))

    async def remove_bot_from_group(self, group: Group, by: Person) -> None:
        old, group.bot_status = group.bot_status, "left"
        await self.deliver(self.member_update(group, by, old, "left"))

    def member_update(self, chat: Chat, by: User, old: str, new: str) -> dict:
        def member(status: str) -> dict:
            extra = {"until_date": 0} if status == "kicked" else {}
            return {"user": self.bot_user.to_dict(), "status": status, **extra}
        return {"my_chat_member": {"chat": chat.to_dict(), "from": by.to_dict(), "date": _now(),
                                   "old_chat_member": member(old),
                                   "new_chat_member": member(new)}}

    def notify(self, event: str, message: Message) -> None:
        for observer in list(self.observers):
            observer(event, message)

    # ---- updates ----------------------------------------------------------------------
    def inject(self, update: dict) -> int:
        """Queue a raw update (``update_id`` assigned if missing); returns its id."""
        update = dict(update)
        update_id = update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update_id + 1)
        if "callback_query" in update:
            query_id = update["callback_query"]["id"]
            self.callback_answers.setdefault(query_id, CallbackAnswer(query_id=query_id))
        self.pending_updates.append(update)
        self._wake()
        return update_id

    def new_query_id(self) -> str:
        return str(4_000_000_000_000_000_000 + next(self._ids))

    def acknowledged(self, update_id: int) -> asyncio.Future:
        """A future resolved once the bot called getUpdates with offset > update_id."""
        future = asyncio.get_running_loop().create_future()
        if update_id < self._confirmed:
            future.set_result(update_id)
        else:
            self._ack_waiters.append((update_id, future))
        return future

    async def deliver(self, update: dict, timeout: float | None = None) -> int:
        """Inject an update and return once the bot fetched and (via ``settle``) handled it."""
        timeout = self.action_timeout if timeout is None else timeout
        update_id = self.inject(update)
        try:
            await asyncio.wait_for(self.acknowledged(update_id), timeout)
        except TimeoutError:
            raise AssertionError(
                f"bot did not fetch update {update_id} within {timeout:g} s") from None
        if self.settle is not None:
            try:
                await asyncio.wait_for(self.settle(), timeout)
            except TimeoutError:
                raise AssertionError(
                    f"bot did not finish handling update {update_id} within {timeout:g} s"
                ) from None
        return update_id

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0,
                       message: str | None = None) -> Any:
        """Poll ``predicate`` (sync or async) until truthy; AssertionError on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(message or f"condition not met within {timeout:g} s")
            await asyncio.sleep(0.005)

    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def _confirm(self, offset: int) -> None:
        if offset < 0:  # Telegram: keep only the last -offset updates
            kept = self.pending_updates[offset:]
            offset = kept[0]["update_id"] if kept else self._next_update_id
        self._confirmed = max(self._confirmed, offset)
        self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        waiting = []
        for update_id, future in self._ack_waiters:
            if update_id < self._confirmed:
                if not future.done():
                    future.set_result(update_id)
            elif not future.done():
                waiting.append((update_id, future))
        self._ack_waiters = waiting

    # ---- files ------------------------------------------------------------------------
    def store_file(self, kind: str, content: bytes | None, file_name: str | None = None,
                   mime_type: str | None = None, url: str | None = None) -> StoredFile:
        number = next(self._ids)
        suffix = PurePosixPath(file_name or "").suffix or (".jpg" if kind == "photo" else "")
        prefix = {"photo": "AgACAgUAAxkB", "document": "BQACAgUAAxkB"}.get(kind, "CAACAgUAAxkB")
        stored = StoredFile(f"{prefix}{number:08d}", f"AQAD{number:08d}",
                            f"{kind}s/file_{number}{suffix}", content, mime_type, file_name, url)
        self.files[stored.file_id] = stored
        return stored

    @staticmethod
    def photo_sizes(file: StoredFile) -> list[dict]:
        return [{"file_id": file.file_id, "file_unique_id": file.file_unique_id,
                 "width": 1280, "height": 960, "file_size": len(file.content or b"")}]

    @staticmethod
    def document_dict(file: StoredFile) -> dict:
        data = {"file_id": file.file_id, "file_unique_id": file.file_unique_id,
                "file_name": file.file_name, "mime_type": file.mime_type,
                "file_size": len(file.content or b"")}
        return {k: v for k, v in data.items() if v is not None}

    # ---- HTTP plumbing ------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        if path.startswith("file/bot"):
            return self._download(path[len("file/bot"):].partition("/")[2])
        token, _, method = path[3:].partition("/") if path.startswith("bot") else ("", "", "")
        if not token or not method or "/" in method:
            return self._error(ApiError(404, "Not Found"))
        try:
            params = await self._read_params(request)
        except ApiError as err:
            return self._error(err)
        self.token = token
        self.calls.append(ApiCall(method, dict(params)))
        handler = self._methods.get(method.lower())
        if handler is None:
            return self._error(ApiError(404, "Not Found"))
        try:
            self._check_faults(method, params)
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as err:
            return self._error(err)
        except Exception:  # a bug in the double, not a Telegram answer: make it loud
            log.exception("Bot API double failed on %s", method)
            return self._error(ApiError(500, "Internal Server Error: Bot API double bug"))
        return web.json_response({"ok": True, "result": result})

    def _check_faults(self, method: str, params: Params) -> None:
        """Hook for fault switches (failure rate, 429 bursts, 30 msg/s limit): raise ApiError."""

    @staticmethod
    def _error(err: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": err.code,
                                "description": err.description}
        if err.retry_after is not None:
            body["parameters"] = {"retry_after": err.retry_after}
        return web.json_response(body, status=err.code)

    @staticmethod
    async def _read_params(request: web.Request) -> Params:
        params = Params(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad("can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise bad("JSON request body must be an object")
                params.update(body)
            else:  # form-urlencoded or multipart/form-data
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        value = Upload(value.filename, value.file.read(), value.content_type)
                    params[key] = value
        for key in _JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    raise bad(f"can't parse {key} JSON object") from None
        for key, value in list(params.items()):  # resolve attach://<name> references
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.get(value[len("attach://"):], value)
        return params

    def _download(self, file_path: str) -> web.Response:
        stored = next((f for f in self.files.values() if f.file_path == file_path), None)
        if stored is None or stored.content is None:
            return self._error(ApiError(404, "Not Found"))
        return web.Response(body=stored.content,
                            content_type=stored.mime_type or "application/octet-stream")

    # ---- rule checks shared by methods --------------------------------------------------
    def _chat(self, params: Params, writing: bool = True) -> Chat:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = next((c for c in self.chats.values()
                         if c.user and c.user.username == chat_id[1:]), None)
        else:
            chat = self.chats.get(params.integer("chat_id"))
        if chat is None:
            raise bad("chat not found")
        if writing and chat.user is not None and getattr(chat.user, "blocked", False):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if writing and chat.user is None and chat.bot_status not in ("member", "administrator"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        return chat

    @staticmethod
    def _text(params: Params, key: str = "text", limit: int = 4096) -> Rendered | None:
        caption = key == "caption"
        raw = params.text(key)
        if not raw:
            if caption:
                return None
            raise bad("message text is empty")
        entities = params.get("caption_entities" if caption else "entities")
        try:
            rendered = render(raw, params.text("parse_mode"), entities)
        except HtmlError as err:
            raise bad(f"can't parse entities: {err}") from None
        if not caption and not rendered.text.strip():
            raise bad("message text is empty")
        if utf16_len(rendered.text) > limit:
            raise bad("message caption is too long" if caption else "message is too long")
        return rendered

    @staticmethod
    def _markup(params: Params, inline_only: bool = False) -> dict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        kind = next((k for k in ("inline_keyboard", "keyboard") if k in markup), None)
        if inline_only and kind != "inline_keyboard":
            raise bad("inline keyboard expected")
        if kind is None:
            if "remove_keyboard" in markup or "force_reply" in markup:
                return markup
            raise bad("can't parse reply keyboard markup JSON object")
        rows = markup[kind]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad(f'field "{kind}" must be an Array of Arrays')
        for button in (b for row in rows for b in row):
            if kind == "keyboard" and isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not button.get("text"):
                raise bad("can't parse keyboard button: Text must be non-empty")
            if kind == "keyboard":
                continue
            actions = [key for key in _INLINE_ACTIONS if key in button]
            if not actions:
                raise bad("text buttons are unallowed in the inline keyboard")
            if len(actions) > 1:
                raise bad("can't parse inline keyboard button: exactly one of the optional "
                          f"fields must be used, got {actions}")
            data = button.get("callback_data", "x")
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise bad("BUTTON_DATA_INVALID")
            if "url" in button and not str(button["url"]).strip():
                raise bad("BUTTON_URL_INVALID")
        return markup

    def _file(self, params: Params, key: str) -> tuple[str, StoredFile]:
        value = params.get(key)
        if isinstance(value, Upload):
            stored = self.store_file(key, value.content, value.filename, value.mime_type)
            return stored.file_id, stored
        if not value:
            raise bad(f"there is no {key} in the request")
        value = str(value)
        if value in self.files:
            return value, self.files[value]
        if value.startswith(("http://", "https://")):
            name = PurePosixPath(value.split("?")[0]).name or None
            return value, self.store_file(key, None, name, url=value)
        raise bad("wrong file identifier/HTTP URL specified")

    def _send(self, chat: Chat, params: Params, **fields: Any) -> dict:
        markup = self._markup(params)
        reply_to = None
        reply = params.get("reply_parameters") or {}
        reply_id = reply.get("message_id") or params.integer("reply_to_message_id")
        if reply_id:
            reply_to = chat.message(int(reply_id))
            if (reply_to is None or reply_to.deleted) and not (
                    reply.get("allow_sending_without_reply")
                    or params.flag("allow_sending_without_reply")):
                raise bad("message to be replied not found")
        message = chat._new_message(self.bot_user, reply_markup=markup, reply_to=reply_to,
                                    **fields)
        if markup and "keyboard" in markup:
            chat.reply_keyboard = [[KeyboardButton(b, False) if isinstance(b, str) else
                                    KeyboardButton(b["text"], bool(b.get("request_location")),
                                                   bool(b.get("request_contact")))
                                    for b in row] for row in markup["keyboard"]]
        elif markup and "remove_keyboard" in markup:
            chat.reply_keyboard = None
        self.notify("new", message)
        return message.to_dict()

    def _target(self, params: Params, verb: str) -> Message:
        if params.get("inline_message_id"):  # inline mode is not modelled
            raise bad(f"message to {verb} not found")
        chat = self._chat(params)
        message = chat.message(params.integer("message_id", 0))
        if message is None or message.deleted or not (
                message.from_bot or (verb == "delete" and chat.type == "private")):
            raise bad(f"message to {verb} not found")
        return message

    def _edit(self, message: Message, **changes: Any) -> dict:
        for key, value in changes.items():
            setattr(message, key, value)
        message.edited, message.edit_date = True, _now()
        message.edit_count += 1
        self.notify("edit", message)
        return message.to_dict()

    # ---- Bot API methods (api_<methodName>) ---------------------------------------------
    def api_getMe(self, params: Params) -> dict:
        return {**self.bot_user.to_dict(), "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    async def api_getUpdates(self, params: Params) -> list[dict]:
        if self.webhook["url"]:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        offset = params.integer("offset")
        if offset is not None:
            self._confirm(offset)
        limit = min(max(params.integer("limit", 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(float(params.get("timeout") or 0), 0)
        while not self.pending_updates and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        return self.pending_updates[:limit]

    def api_setWebhook(self, params: Params) -> bool:
        self.webhook = {"url": params.text("url", ""), "secret_token": params.text("secret_token")}
        return True

    def api_deleteWebhook(self, params: Params) -> bool:
        self.webhook = {"url": "", "secret_token": None}
        if params.flag("drop_pending_updates"):
            self.pending_updates.clear()
        return True

    def api_getWebhookInfo(self, params: Params) -> dict:
        return {"url": self.webhook["url"], "has_custom_certificate": False,
                "pending_update_count": len(self.pending_updates)}

    def api_sendMessage(self, params: Params) -> dict:
        chat = self._chat(params)
        text = self._text(params)
        return self._send(chat, params, text=text.text, html=text.html, entities=text.entities)

    def api_sendPhoto(self, params: Params) -> dict:
        chat = self._chat(params)
        caption = self._text(params, "caption", 1024)
        photo, stored = self._file(params, "photo")
        return self._send(chat, params, photo=photo, media={"photo": self.photo_sizes(stored)},
                          **self._caption_fields(caption))

    def api_sendDocument(self, params: Params) -> dict:
        chat = self._chat(params)
        caption = self._text(params, "caption", 1024)
        _, stored = self._file(params, "document")
        return self._send(chat, params, document=self.document_dict(stored),
                          **self._caption_fields(caption))

    @staticmethod
    def _caption_fields(caption: Rendered | None) -> dict:
        if caption is None:
            return {"caption": None, "caption_html": None, "caption_entities": []}
        return {"caption": caption.text, "caption_html": caption.html,
                "caption_entities": caption.entities}

    @staticmethod
    def _location(params: Params) -> dict:
        latitude, longitude = params.number("latitude"), params.number("longitude")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad("wrong location specified")
        return {"latitude": latitude, "longitude": longitude}

    def api_sendLocation(self, params: Params) -> dict:
        chat = self._chat(params)
        return self._send(chat, params, location=self._location(params))

    def api_sendVenue(self, params: Params) -> dict:
        chat = self._chat(params)
        location = self._location(params)
        title, address = params.text("title"), params.text("address")
        if not title or not address:
            raise bad("venue title and address must be non-empty")
        venue = {"location": location, "title": title, "address": address}
        return self._send(chat, params, location=location, venue=venue)

    def api_editMessageText(self, params: Params) -> dict:
        message = self._target(params, "edit")
        if message.text is None:
            raise bad("there is no text in the message to edit")
        text, markup = self._text(params), self._markup(params, inline_only=True)
        if (text.text, text.entities, markup) == (message.text, message.entities,
                                                  message.inline_markup):
            raise bad(NOT_MODIFIED)
        return self._edit(message, text=text.text, html=text.html, entities=text.entities,
                          reply_markup=markup)

    def api_editMessageCaption(self, params: Params) -> dict:
        message = self._target(params, "edit")
        if message.text is not None:
            raise bad("there is no caption in the message to edit")
        fields = self._caption_fields(self._text(params, "caption", 1024))
        markup = self._markup(params, inline_only=True)
        if (fields["caption"], fields["caption_entities"], markup) == (
                message.caption, message.caption_entities, message.inline_markup):
            raise bad(NOT_MODIFIED)
        return self._edit(message, reply_markup=markup, **fields)

    def api_editMessageReplyMarkup(self, params: Params) -> dict:
        message = self._target(params, "edit")
        markup = self._markup(params, inline_only=True)
        if markup == message.inline_markup:
            raise bad(NOT_MODIFIED)
        return self._edit(message, reply_markup=markup)

    def api_deleteMessage(self, params: Params) -> bool:
        message = self._target(params, "delete")
        message.deleted = True
        self.notify("delete", message)
        return True

    def api_answerCallbackQuery(self, params: Params) -> bool:
        answer = self.callback_answers.get(params.text("callback_query_id", ""))
        if answer is None or answer.answered:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = params.text("text")
        if text and utf16_len(text) > 200:
            raise bad("MESSAGE_TOO_LONG")
        answer.text, answer.show_alert = text, params.flag("show_alert")
        answer.url, answer.answered = params.text("url"), True
        return True

    @staticmethod
    def _commands_key(params: Params) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        kind = scope.get("type", "default")
        target = scope.get("chat_id")
        if target is not None:  # chat scopes are stored per chat (and user)
            kind = ":".join(str(p) for p in (kind, target, scope.get("user_id")) if p is not None)
        return kind, params.text("language_code", "")

    def api_setMyCommands(self, params: Params) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad("commands must be an Array of BotCommand")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad("command description must be 1-256 characters")
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def api_getMyCommands(self, params: Params) -> list[dict]:
        return self.commands.get(self._commands_key(params), [])

    def api_deleteMyCommands(self, params: Params) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def api_sendChatAction(self, params: Params) -> bool:
        chat = self._chat(params)
        if params.text("action") not in _CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        chat.actions.append(params.text("action"))
        return True

    def api_getChat(self, params: Params) -> dict:
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts",
                               "premium_subscription", "gifts_from_channels"), False)
        return {**self._chat(params, writing=False).to_dict(), "accent_color_id": 0,
                "max_reaction_count": 11, "accepted_gift_types": gifts}

    def api_getChatMember(self, params: Params) -> dict:
        chat = self._chat(params, writing=False)
        user = self.users.get(params.integer("user_id", 0))
        if user is None:
            raise bad("user not found")
        if user is self.bot_user:
            status = chat.bot_status
        else:
            status = "member" if user.id in chat.members else "left"
        return {"status": status, "user": user.to_dict(),
                **({"until_date": 0} if status == "kicked" else {})}

    def api_leaveChat(self, params: Params) -> bool:
        chat = self._chat(params, writing=False)
        if chat.type == "private":
            raise bad("chat member status can't be changed in private chats")
        old, chat.bot_status = chat.bot_status, "left"
        self.inject(self.member_update(chat, self.bot_user, old, "left"))
        return True

    def api_getFile(self, params: Params) -> dict:
        stored = self.files.get(params.text("file_id", ""))
        if stored is None:
            raise bad("invalid file_id")
        return stored.to_dict()

    def api_close(self, params: Params) -> bool:
        return True

    def api_logOut(self, params: Params) -> bool:
        return True
