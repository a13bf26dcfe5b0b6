"""The Bot API double's model: the people, chats and messages a test drives and inspects.

Also the plain records the double's server shares with it (calls, request parameters, uploads,
stored files, buttons, callback answers) and the Telegram error type its method handlers raise.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from .html import utf16_len

__all__ = ["ApiCall", "ApiError", "Button", "CallbackAnswer", "Chat", "ChatUpgraded", "Group",
           "KeyboardButton", "Message", "Params", "Person", "StoredFile", "Telegram", "Upload", "User",
           "bad"]

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


class ChatUpgraded(ApiError):
    """Telegram's answer to a call on a group that became a supergroup: the new chat's id is in
    the reply's ``parameters``."""

    def __init__(self, migrate_to_chat_id: int) -> None:
        super().__init__(400, "Bad Request: group chat was upgraded to a supergroup chat")
        self.migrate_to_chat_id = migrate_to_chat_id


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
    switch_inline_query: str | None = None  # "share in a chat": the person picks a chat, then types @bot <this>
    pay: bool = False  # an invoice's Pay button: it opens the payment sheet (Person.pay)


@dataclass
class KeyboardButton:
    text: str
    request_location: bool = False
    request_contact: bool = False


@dataclass
class CallbackAnswer:
    """The bot's answerCallbackQuery for one tap (``answered`` False if it never answered).
    ``took``: the seconds from the tap reaching the double to the bot's answer."""

    text: str | None = None
    show_alert: bool = False
    answered: bool = False
    url: str | None = None
    query_id: str = ""
    sent_at: float | None = None  # monotonic seconds
    answered_at: float | None = None

    @property
    def took(self) -> float | None:
        return None if self.answered_at is None or self.sent_at is None else self.answered_at - self.sent_at


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
        return [[Button(b["text"], b.get("callback_data"), b.get("url"), b.get("switch_inline_query"),
                        b.get("pay") is True) for b in row] for row in rows]

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
    first_message_id: int = 1  # a chat that existed before (the demo's, after a restart) goes on from here

    def to_dict(self) -> dict:
        if self.user is None:
            return {"id": self.id, "type": self.type, "title": self.title}
        data = self.user.to_dict()
        data.pop("is_bot"), data.pop("language_code", None)
        return {**data, "id": self.id, "type": self.type}

    def message(self, message_id: int) -> Message | None:
        # Messages are numbered one after another and never removed (a deletion only marks them),
        # so the id gives the position: a group's chat may hold thousands.
        if not self.messages:
            return None
        position = message_id - self.messages[0].message_id
        if 0 <= position < len(self.messages):
            return self.messages[position]
        return None

    def bot_messages(self) -> list[Message]:
        return [m for m in self.messages if m.from_bot and not m.deleted]

    def last_bot_message(self) -> Message | None:
        messages = self.bot_messages()
        return messages[-1] if messages else None

    def _new_message(self, sender: User, date: int, **fields: Any) -> Message:
        number = self.messages[-1].message_id + 1 if self.messages else self.first_message_id
        message = Message(number, self, sender, date, **fields)
        self.messages.append(message)
        return message


@dataclass(eq=False)
class Group(Chat):
    bot_status: str = "left"
    migrated_to: int | None = None  # the supergroup it became (then nobody can post here)

    def add_member(self, person: User) -> None:
        """Make ``person`` a member (no update is sent, as for an existing member)."""
        self.members[person.id] = person


class Telegram(Protocol):
    """What a simulated person uses of the Bot API double (``BotApiDouble`` provides it)."""

    bot_user: User
    callback_answers: dict[str, CallbackAnswer]
    chats: dict[int, Chat]

    def member_update(self, chat: Chat, by: User, old: str, new: str) -> dict: ...
    def hears(self, message: Message) -> bool: ...
    def now(self) -> int: ...
    def notify(self, event: str, message: Message) -> None: ...
    def inject(self, update: dict) -> int: ...
    def new_query_id(self) -> str: ...
    async def deliver(self, update: dict, timeout: float | None = None) -> int: ...
    async def deliver_injected(self, update_ids: list[int], timeout: float | None = None) -> None: ...
    def store_file(self, kind: str, content: bytes | None, file_name: str | None = None,
                   mime_type: str | None = None, url: str | None = None,
                   file_id: str | None = None) -> StoredFile: ...
    @staticmethod
    def photo_sizes(file: StoredFile) -> list[dict]: ...
    @staticmethod
    def document_dict(file: StoredFile) -> dict: ...
    def person_acted(self) -> None: ...
    def inline_query_update(self, person: User, query: str, offset: str, chat_type: str | None) -> dict: ...
    def post_inline_result(self, person: User, answer: Any, result_id: str, chat: Chat) -> Message: ...
    def payment_sheet(self, person: User, message: Message) -> Any: ...


@dataclass(eq=False)
class Person(User):
    """A simulated Telegram user.  Actions return after the bot handled the update."""

    double: Telegram | None = field(default=None, repr=False)
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
        return await self._post(chat, **self._text_fields(text))

    async def reply(self, text: str, to: Message) -> Message:
        """Reply to ``to`` (swipe, or tap it and ↩), in its chat."""
        match = _COMMAND_RE.match(text)
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
                    ] if match else []
        return await self._post(to.chat, text=text, entities=entities, reply_to=to)

    async def send_sticker(self, emoji: str = "👍", chat: Chat | None = None) -> Message:
        file = self.double.store_file("sticker", b"RIFF-sticker", "sticker.webp", "image/webp")
        sticker = {"file_id": file.file_id, "file_unique_id": file.file_unique_id,
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        return await self._post(chat, media={"sticker": sticker})

    async def send_voice(self, duration: int = 2, chat: Chat | None = None, content: bytes = b"OggS-voice",
                         mime_type: str = "audio/ogg") -> Message:
        file = self.double.store_file("voice", content, "voice." + mime_type.split("/")[-1], mime_type)
        voice = {"file_id": file.file_id, "file_unique_id": file.file_unique_id,
                 "duration": duration, "mime_type": mime_type, "file_size": len(content)}
        return await self._post(chat, media={"voice": voice})

    async def send_video(self, duration: int = 3, chat: Chat | None = None) -> Message:
        file = self.double.store_file("video", b"\x00\x00\x00\x18ftypmp42", "video.mp4", "video/mp4")
        video = {"file_id": file.file_id, "file_unique_id": file.file_unique_id, "width": 640,
                 "height": 360, "duration": duration, "mime_type": "video/mp4", "file_size": 12}
        return await self._post(chat, media={"video": video})

    async def send_photo(self, caption: str | None = None, chat: Chat | None = None,
                         content: bytes = b"\xff\xd8\xff\xe0-jpeg", file_name: str = "photo.jpg",
                         mime_type: str = "image/jpeg") -> Message:
        file = self.double.store_file("photo", content, file_name, mime_type)
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
        double.person_acted()
        await double.deliver({"callback_query": {
            "id": query_id, "from": self.to_dict(), "message": message.to_dict(),
            "chat_instance": str(abs(hash((message.chat.id, double.bot_user.id)))),
            "data": data}})
        answer = double.callback_answers[query_id]
        self.answers.append(answer)
        return answer

    async def ask_inline(self, query: str, offset: str = "", chat_type: str | None = "sender") -> Any:
        """Type ``@bot query`` in a chat's input field (``chat_type``: where, as Telegram says it:
        "sender" is the private chat with the bot, "private", "group", "supergroup"; ``offset``: the
        bot's ``next_offset``, as when the person scrolls to the end of the results). Returns the
        bot's answer (``bot.sandbox.inline.InlineAnswer``; ``answered`` False if it gave none)."""
        double = self.double
        update = double.inline_query_update(self, query, offset, chat_type)
        double.person_acted()
        await double.deliver(update)
        return double.inline_answers[update["inline_query"]["id"]]

    def choose_inline(self, answer: Any, result_id: str, chat: Chat) -> Message:
        """Tap one of the results of ``ask_inline``: it is posted in ``chat`` as this person's
        message, "via @bot". Telegram does not send the bot that message (its inline feedback,
        ``chosen_inline_result``, is off unless turned on in BotFather)."""
        if chat.type != "private" and self.id not in chat.members:
            raise AssertionError(f"{self.first_name} is not a member of chat {chat.id}")
        return self.double.post_inline_result(self, answer, result_id, chat)

    async def pay(self, message: Message, card: str = "4242 4242 4242 4242", address: dict | str | None = None,
                  option_id: str | None = None, name: str | None = None, phone: str | None = None) -> Any:
        """Tap the invoice ``message``'s Pay button and fill in the sheet: the shipping address (None:
        a pretend town address; a flexible invoice then asks the bot for its options), the option
        (None: the first), name and phone if asked, and the card ("4000 0000 0000 0002" is declined).
        Returns a ``bot.sandbox.payments.PaymentOutcome`` once the bot handled what it was sent."""
        return await self.double.payment_sheet(self, message).pay(card, address, option_id, name, phone)

    async def send_all(self, texts: list[str], chat: Chat | None = None) -> list[Message]:
        """Send several messages at once, as a script or a pasted list does: one action of the
        person's time, and every one of them reaches the bot before it handles the first.
        Returns once the bot fetched and (via ``settle``) handled them all."""
        messages = [self._compose(chat, **self._text_fields(text)) for text in texts]
        self.double.person_acted()
        heard = [self.double.inject({"message": m.to_dict()}) for m in messages if self.double.hears(m)]
        if heard:
            await self.double.deliver_injected(heard)
        return messages

    @staticmethod
    def _text_fields(text: str) -> dict[str, Any]:
        match = _COMMAND_RE.match(text)
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
                    ] if match else []
        return {"text": text, "entities": entities}

    def _compose(self, chat: Chat | None, **fields: Any) -> Message:
        chat = chat or self.chat
        if chat.type == "private" and self.blocked:
            raise AssertionError(f"{self.first_name} blocked the bot; call unblocks_bot() first")
        if chat.type != "private" and self.id not in chat.members:
            raise AssertionError(f"{self.first_name} is not a member of chat {chat.id}")
        if getattr(chat, "migrated_to", None) is not None:
            raise AssertionError(f"chat {chat.id} became the supergroup {chat.migrated_to}; post there")
        message = chat._new_message(self, self.double.now(), **fields)
        self.double.notify("new", message)
        return message

    async def _post(self, chat: Chat | None, **fields: Any) -> Message:
        message = self._compose(chat, **fields)
        self.double.person_acted()
        if self.double.hears(message):
            await self.double.deliver({"message": message.to_dict()})
        return message
