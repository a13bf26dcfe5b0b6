"""An in-process Telegram Bot API double: an aiohttp server a real PTB bot talks to.

The model (users, chats, messages) is public so tests and the offline demo can drive
people and inspect what the bot showed them.  The server enforces the Telegram rules a
bot most often trips over (limits, HTML, callback data, "not modified", blocked users).

This module holds the server (transport, update queue, people registry); the model lives
in ``model.py`` and the message methods in ``methods.py``.  Their public names are
re-exported here.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import itertools
import json
import logging
import math
import random
import re
import time
from urllib.parse import urlsplit
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath
from typing import Any

import aiohttp
from aiohttp import web

from bot.http_input import BadJson, parse_json

# Re-exported (Button, KeyboardButton, NOT_MODIFIED are not used here).
from .inline import InlineAnswer, InlineMethods
from .methods import NOT_MODIFIED, MessageMethods
from .payments import Invoice, Invoices, PaymentMethods, PaymentOutcome, PaymentSheet
from .model import (ApiCall, ApiError, Button, CallbackAnswer, Chat, ChatUpgraded, Group,
                    KeyboardButton, Message, Params, Person, StoredFile, Upload, User, _now, bad)

__all__ = ["ApiCall", "ApiError", "BotApiDouble", "Button", "CallbackAnswer", "Chat", "ChatUpgraded",
           "Group", "InlineAnswer", "Invoice", "KeyboardButton", "Message", "PaymentOutcome", "PaymentSheet",
           "Person", "StoredFile", "Upload", "User"]

_JSON_FIELDS = {"reply_markup", "entities", "caption_entities", "commands", "scope",
                "allowed_updates", "reply_parameters", "link_preview_options", "results", "button",
                "prices", "shipping_options", "suggested_tip_amounts"}
log = logging.getLogger(__name__)


SENDING_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument", "sendvenue", "sendlocation",
                             "copymessage", "forwardmessage", "sendmediagroup", "sendinvoice"})


class BotApiDouble(MessageMethods, InlineMethods, PaymentMethods):
    """A fake api.telegram.org for one bot, served on ``host:port`` (0: any free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, bot_id: int = 7000000001,
                 bot_username: str = "rural_test_bot", bot_first_name: str = "Rural Bot",
                 action_timeout: float = 10.0, clock: Any = None) -> None:
        self.host, self.port = host, port
        self.clock = clock  # anything with now() -> aware datetime (the demo's movable clock); None: real time
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
        self._pending: dict[int, dict] = {}  # by update_id, in the order they came
        self._next_update_id = 1
        self._confirmed = 0  # every update_id below this was acknowledged by the bot
        self._ack_waiters: dict[int, list[asyncio.Future]] = {}
        self._wakeup = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._methods = {name[4:].lower(): getattr(self, name)
                         for name in dir(self) if name.startswith("api_")}
        # Telegram's overall limit: more than this many messages sent in one second get a 429.
        self.send_limit: int | None = None
        self.too_many_requests = 0  # 429s answered for send_limit
        self.too_many_times: list[float] = []  # when (time.monotonic()) each was answered
        self._recent_sends: collections.deque[float] = collections.deque()
        # More fault switches: this share of calls fail with a 5xx; the next ``throttle_next``
        # sending calls get a 429 burst; ``refusing`` drops connections and refuses new ones.
        self.failure_rate = 0.0
        self.throttle_next = 0
        self.latency = 0.0  # seconds every sending call takes (above the bot's read timeout: a timeout)
        self.refusing = False
        self.faults_answered = 0
        # Telegram's limits for one chat (core.telegram.org/bots/faq, "My bot is hitting limits"):
        # "avoid sending more than one message per second" to a chat, "short bursts" allowed, and
        # "not more than 20 messages per minute to the same group". Modelled as a token bucket per
        # chat (``chat_rate`` a second, ``chat_burst`` at once: a reply of a few messages to one
        # tap passes, a pump pouring a queue into one chat does not; Telegram's maintainer calls 10
        # in a second to one chat "the speed noone can read", tdlib/telegram-bot-api#516) and a
        # sliding minute per group.
        # They run on people's time (``pace_time``): real time plus ``think_time`` for every action
        # a person takes, since tests act at machine speed where a person takes seconds to read
        # and tap. ``chat_limits = False`` turns them off.
        self.chat_limits = True
        self.chat_rate = 1.0
        self.chat_burst = 5
        self.group_per_minute = 20
        self.think_time = 3.0
        self.monotonic: Callable[[], float] = time.monotonic  # a test may replace it
        self._people_time = 0.0
        self.limits_clock: Any = None  # anything with now() -> datetime, moved by a test
        self._limits_clock_start = None
        self._buckets: dict[int, tuple[float, float]] = {}  # chat id -> (tokens, at pace_time)
        self._group_sends: dict[int, collections.deque[float]] = {}
        self.chat_limit_refusals: list[tuple[int, int]] = []  # (chat id, retry_after) of each 429
        self._random = random.Random(7)
        # Webhook delivery: each update is POSTed to the webhook URL's path on one of these servers
        # (a load balancer in front of several bot processes); None: to the URL itself. Which one:
        # "turns", each in turn; "least", the one with the fewest updates in flight, ties in turn
        # (nginx's least_conn, HAProxy's leastconn). An update not answered 2xx is sent again (to
        # the next server) after webhook_retry s.
        self.webhook_targets: list[str] | None = None
        self.webhook_balance = "turns"
        self._posting: collections.Counter[str] = collections.Counter()  # updates in flight, by server
        self.webhook_retry = 0.2
        self.webhook_posts: list[tuple[int, str, int | str]] = []  # (update_id, target, status)
        self._acked: set[int] = set()
        self._in_flight: set[int] = set()
        self._turn = itertools.count()
        self._http: aiohttp.ClientSession | None = None
        self._delivery: asyncio.Task | None = None
        self._connections = asyncio.Semaphore(40)  # setWebhook's max_connections
        # BotFather's privacy mode (on unless turned off there): in a group where the bot is not an
        # admin it gets only commands, replies to its own messages and messages that mention it.
        self.privacy_mode = True
        # Inline mode (inline.py): BotFather's /setinline on; what the bot asked for; its answers.
        self.inline_mode = True
        self.allowed_updates: list[str] | None = None
        self.inline_answers: dict[str, InlineAnswer] = {}
        # Payments (payments.py): the invoices sent; the bot's answers to shipping and pre-checkout
        # queries, by query id. Telegram waits 10 s for a pre-checkout answer; a test may add
        # seconds to the time an answer took (``*_delay``) to make it late without waiting.
        self.invoices = Invoices()
        self.shipping_answers: dict = {}
        self.pre_checkout_answers: dict = {}
        self.shipping_limit = 10.0
        self.shipping_delay = 0.0
        self.pre_checkout_limit = 10.0
        self.pre_checkout_delay = 0.0
        self._charges = itertools.count(1)
        self._again: set[int] = set()  # update ids sent again (deliver_again), not yet fetched again

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
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._delivery = asyncio.get_running_loop().create_task(self._deliver_webhooks())

    async def stop(self) -> None:
        self._closing = True
        self._wake()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def refuse_connections(self) -> None:
        """Telegram unreachable: the port refuses connections, open ones are dropped."""
        self.refusing = True
        for site in list(self._runner.sites):
            await site.stop()

    async def accept_connections(self) -> None:
        self.refusing = False
        await web.TCPSite(self._runner, self.host, self.port).start()

    @property
    def pending_updates(self) -> list[dict]:
        """The updates the bot has not acknowledged yet, oldest first."""
        return list(self._pending.values())

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

    async def migrate_to_supergroup(self, group: Group, by: Person, *, service_messages: bool = True,
                                    chat_id: int | None = None) -> Group:
        """``by`` turns ``group`` into a supergroup (as Telegram does when a group gets public,
        large, or some admin settings): a new chat, ``-100...``, with the same members and the
        bot's membership. The old group gets a service message with ``migrate_to_chat_id`` and
        the new one a message with ``migrate_from_chat_id``, delivered to a bot that is a member
        (``service_messages=False``: not delivered, as when the bot misses them); from then on a
        call on the old id is refused with 400 and ``parameters.migrate_to_chat_id``."""
        new_id = chat_id if chat_id is not None else -1_000_000_000_000 - abs(group.id)
        supergroup = self.group(new_id, group.title or "")
        supergroup.type = "supergroup"
        supergroup.members = dict(group.members)
        supergroup.bot_status = group.bot_status
        group.migrated_to = new_id
        told = [group._new_message(by, self.now(), media={"migrate_to_chat_id": new_id}),
                supergroup._new_message(by, self.now(), media={"migrate_from_chat_id": group.id})]
        for message in told:
            self.notify("new", message)
            if service_messages and group.bot_status in ("member", "administrator"):
                await self.deliver({"message": message.to_dict()})
        return supergroup

    def member_update(self, chat: Chat, by: User, old: str, new: str) -> dict:
        def member(status: str) -> dict:
            extra = {"until_date": 0} if status == "kicked" else {}
            return {"user": self.bot_user.to_dict(), "status": status, **extra}
        return {"my_chat_member": {"chat": chat.to_dict(), "from": by.to_dict(), "date": self.now(),
                                   "old_chat_member": member(old),
                                   "new_chat_member": member(new)}}

    def hears(self, message: Message) -> bool:
        """Whether Telegram gives the bot a person's message, as privacy mode decides."""
        chat = message.chat
        if chat.type == "private":
            return True
        if chat.bot_status not in ("member", "administrator"):
            return False
        if not self.privacy_mode or chat.bot_status == "administrator":
            return True
        if message.reply_to is not None and message.reply_to.sender is self.bot_user:
            return True
        text = message.text or message.caption or ""
        command = re.match(r"/\w+(@\w+)?", text) if any(
            e["type"] == "bot_command" and e["offset"] == 0 for e in message.entities) else None
        if command:  # "/pending", or "/pending@this_bot", not another bot's command
            return command.group(1) is None or command.group(1)[1:].lower() == self.bot_user.username.lower()
        return re.search(rf"(?<![\w@])@{re.escape(self.bot_user.username)}(?!\w)", text, re.IGNORECASE) is not None

    def now(self) -> int:
        """The date Telegram would stamp on a message, in Unix seconds."""
        return int(self.clock.now().timestamp()) if self.clock is not None else _now()

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
            self.callback_answers.setdefault(query_id, CallbackAnswer(query_id=query_id, sent_at=self.monotonic()))
        self._pending[update_id] = update
        self._wake()
        return update_id

    def continue_updates_after(self, update_id: int) -> None:
        """Number the next updates after ``update_id``, as Telegram would after the bot's restart
        (this double starts from 1 each time; the bot skips an update id it has already seen)."""
        self._next_update_id = max(self._next_update_id, update_id + 1)

    def new_query_id(self) -> str:
        return str(4_000_000_000_000_000_000 + next(self._ids))

    def acknowledged(self, update_id: int) -> asyncio.Future:
        """A future resolved once the bot called getUpdates with offset > update_id."""
        future = asyncio.get_running_loop().create_future()
        if (update_id < self._confirmed and update_id not in self._again) or update_id in self._acked:
            future.set_result(update_id)
        else:
            self._ack_waiters.setdefault(update_id, []).append(future)
        return future

    async def deliver(self, update: dict, timeout: float | None = None) -> int:
        """Inject an update and return once the bot fetched and (via ``settle``) handled it."""
        update_id = self.inject(update)
        await self.deliver_injected([update_id], timeout)
        return update_id

    async def deliver_again(self, update: dict, timeout: float | None = None) -> int:
        """Send ``update`` again with its own update_id, as Telegram does when the bot did not confirm
        it (a crash before the offset moved on, a webhook answered with an error); return once the bot
        fetched and handled it."""
        update_id = update["update_id"]
        self._again.add(update_id)
        self._acked.discard(update_id)
        self._pending[update_id] = dict(update)
        self._wake()
        await self.deliver_injected([update_id], timeout)
        return update_id

    async def deliver_injected(self, update_ids: list[int], timeout: float | None = None) -> None:
        """Return once the bot fetched the updates injected as ``update_ids`` and (via ``settle``)
        handled them."""
        timeout = self.action_timeout if timeout is None else timeout
        try:
            await asyncio.wait_for(asyncio.gather(*map(self.acknowledged, update_ids)), timeout)
        except TimeoutError:
            raise AssertionError(
                f"bot did not fetch update {update_ids[-1]} within {timeout:g} s") from None
        if self.settle is not None:
            try:
                await asyncio.wait_for(self.settle(), timeout)
            except TimeoutError:
                raise AssertionError(
                    f"bot did not finish handling update {update_ids[-1]} within {timeout:g} s"
                ) from None

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
        for update_id in [u for u in self._pending if u < offset and u not in self._again]:
            del self._pending[update_id]
        for update_id in [u for u in self._ack_waiters if u < self._confirmed and u not in self._again]:
            self._resolve_waiters(update_id)

    def _ack_one(self, update_id: int) -> None:
        """The bot answered the webhook POST of ``update_id`` with 2xx."""
        self._acked.add(update_id)
        self._again.discard(update_id)
        self._pending.pop(update_id, None)
        self._resolve_waiters(update_id)

    def _resolve_waiters(self, update_id: int) -> None:
        for future in self._ack_waiters.pop(update_id, []):
            if not future.done():
                future.set_result(update_id)

    async def _deliver_webhooks(self) -> None:
        """While a webhook is set, POST every pending update (concurrently, as Telegram does)."""
        while True:
            wakeup = self._wakeup
            if self.webhook["url"]:
                for update in list(self._pending.values()):
                    if update["update_id"] not in self._in_flight:
                        self._in_flight.add(update["update_id"])
                        asyncio.get_running_loop().create_task(self._post_update(update))
            await wakeup.wait()

    async def _post_update(self, update: dict) -> None:
        update_id = update["update_id"]
        try:
            while self.webhook["url"] and not self._closing:
                headers = {"Content-Type": "application/json"}
                if self.webhook["secret_token"]:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
                try:
                    async with self._connections:
                        server = self._webhook_server()
                        url = self.webhook["url"]
                        if server:
                            url = server.rstrip("/") + (urlsplit(url).path or "/")
                        self._posting[server] += 1
                        try:
                            async with self._http.post(url, data=json.dumps(update), headers=headers) as response:
                                status: int | str = response.status
                                await response.read()
                        finally:
                            self._posting[server] -= 1
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    status = type(exc).__name__
                self.webhook_posts.append((update_id, url, status))
                if isinstance(status, int) and 200 <= status < 300:
                    self._ack_one(update_id)
                    return
                await asyncio.sleep(self.webhook_retry)
        finally:
            self._in_flight.discard(update_id)

    def _webhook_server(self) -> str | None:
        """The server behind the load balancer that gets the next webhook POST (see webhook_balance)."""
        servers = self.webhook_targets
        if not servers:
            return None
        first = next(self._turn)
        in_turn = [servers[(first + i) % len(servers)] for i in range(len(servers))]
        if self.webhook_balance == "least":
            return min(in_turn, key=self._posting.__getitem__)
        return in_turn[0]

    # ---- files ------------------------------------------------------------------------
    def store_file(self, kind: str, content: bytes | None, file_name: str | None = None,
                   mime_type: str | None = None, url: str | None = None,
                   file_id: str | None = None) -> StoredFile:
        """Keep a file as Telegram would; ``file_id`` fixes its id (one known before a restart)."""
        number = next(self._ids)
        suffix = PurePosixPath(file_name or "").suffix or (".jpg" if kind == "photo" else "")
        prefix = {"photo": "AgACAgUAAxkB", "document": "BQACAgUAAxkB"}.get(kind, "CAACAgUAAxkB")
        stored = StoredFile(file_id or f"{prefix}{number:08d}", f"AQAD{number:08d}",
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
        if self.refusing:  # a kept-alive connection from before refuse_connections()
            request.transport.close()
            raise web.HTTPServiceUnavailable()
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
            if self.latency and method.lower() in SENDING_METHODS:
                await asyncio.sleep(self.latency)
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as err:
            return self._error(err)
        except Exception:  # a bug in the double, not a Telegram answer: make it loud
            log.exception("Bot API double failed on %s", method)
            return self._error(ApiError(500, "Internal Server Error: Bot API double bug"))
        return web.json_response({"ok": True, "result": result})

    def pace_time(self) -> float:
        """Seconds on people's time: real time, plus ``think_time`` for each action a person took,
        plus however far the test moved ``limits_clock`` (a test's clock: a day later is a day later
        for Telegram too)."""
        moved = 0.0
        if self.limits_clock is not None:
            now = self.limits_clock.now()
            if self._limits_clock_start is None:
                self._limits_clock_start = now
            moved = (now - self._limits_clock_start).total_seconds()
        return self.monotonic() + self._people_time + moved

    def person_acted(self) -> None:
        self._people_time += self.think_time

    def _check_chat_limits(self, chat: Chat) -> None:
        """A new message to ``chat``: refused with a 429 and ``retry_after`` above its limits."""
        if not self.chat_limits:
            return
        now = self.pace_time()
        tokens, then = self._buckets.get(chat.id, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - then) * self.chat_rate)
        wait = 0.0
        if tokens < 1:
            wait = (1 - tokens) / self.chat_rate
        window = None
        if chat.type != "private":
            window = self._group_sends.setdefault(chat.id, collections.deque())
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= self.group_per_minute:
                wait = max(wait, 60 - (now - window[0]))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self._buckets[chat.id] = (tokens, now)
            self.chat_limit_refusals.append((chat.id, retry_after))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        self._buckets[chat.id] = (tokens - 1, now)
        if window is not None:
            window.append(now)

    def _check_faults(self, method: str, params: Params) -> None:
        """Fault switches: ``failure_rate`` of calls answer 502 (not getUpdates: a bot that polls
        still gets its updates; ``refuse_connections`` takes those away too); ``throttle_next``
        sending calls get a 429 burst; ``send_limit`` messages a second, as Telegram enforces; above it, a 429
        with ``retry_after``."""
        if self.failure_rate and method.lower() != "getupdates" and self._random.random() < self.failure_rate:
            self.faults_answered += 1
            raise ApiError(502, "Bad Gateway")
        sending = method.lower() in SENDING_METHODS
        if sending and self.throttle_next > 0:
            self.throttle_next -= 1
            self.faults_answered += 1
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if self.send_limit is None or not sending:
            return
        now = time.monotonic()
        while self._recent_sends and now - self._recent_sends[0] >= 1.0:
            self._recent_sends.popleft()
        if len(self._recent_sends) >= self.send_limit:
            self.too_many_requests += 1
            self.too_many_times.append(now)
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self._recent_sends.append(now)

    @staticmethod
    def _error(err: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": err.code,
                                "description": err.description}
        if err.retry_after is not None:
            body["parameters"] = {"retry_after": err.retry_after}
        if isinstance(err, ChatUpgraded):
            body["parameters"] = {"migrate_to_chat_id": err.migrate_to_chat_id}
        return web.json_response(body, status=err.code)

    @staticmethod
    async def _read_params(request: web.Request) -> Params:
        params = Params(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = parse_json(await request.read())
                except BadJson:
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
                    params[key] = parse_json(params[key].encode())
                except BadJson:
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
        if getattr(chat, "migrated_to", None) is not None:
            raise ChatUpgraded(chat.migrated_to)
        if writing and chat.user is not None and getattr(chat.user, "blocked", False):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if writing and chat.user is None and chat.bot_status not in ("member", "administrator"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        return chat

    # ---- Bot API methods (api_<methodName>) ---------------------------------------------
    def api_getMe(self, params: Params) -> dict:
        return {**self.bot_user.to_dict(), "can_join_groups": True,
                "can_read_all_group_messages": not self.privacy_mode, "supports_inline_queries": self.inline_mode,
                "can_connect_to_business": False, "has_main_web_app": False}

    async def api_getUpdates(self, params: Params) -> list[dict]:
        if self.webhook["url"]:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"])
        offset = params.integer("offset")
        if offset is not None:
            self._confirm(offset)
        limit = min(max(params.integer("limit", 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(float(params.get("timeout") or 0), 0)
        while not self._pending and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        updates = sorted(self._pending.values(), key=lambda u: u["update_id"])[:limit]
        self._again.difference_update(u["update_id"] for u in updates)  # confirmed by the next offset
        return updates

    def api_setWebhook(self, params: Params) -> bool:
        self.webhook = {"url": params.text("url", ""), "secret_token": params.text("secret_token")}
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"])
        self._connections = asyncio.Semaphore(min(max(params.integer("max_connections", 40), 1), 100))
        self._wake()
        return True

    def api_deleteWebhook(self, params: Params) -> bool:
        self.webhook = {"url": "", "secret_token": None}
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        return True

    def api_getWebhookInfo(self, params: Params) -> dict:
        return {"url": self.webhook["url"], "has_custom_certificate": False,
                "pending_update_count": len(self._pending)}

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
