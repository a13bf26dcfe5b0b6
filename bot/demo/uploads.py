"""What people send from the web chat as files: a photo (a raster picture), a document (a CSV or
plain-text file, such as the admin's catalog) or a voice note (Ogg or WebM). Both arrive base64 in the page's JSON; webguard.py
says what is let in."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from bot.demo.webguard import MAX_DOCUMENT, MAX_JSON, MAX_VOICE, Refused, raster_type, text_document, voice_type
from bot.sandbox.model import Chat, Person

MAX_PHOTO = 10 * 1024 * 1024  # Telegram's limit for photos
MAX_PHOTO_JSON = MAX_PHOTO * 4 // 3 + MAX_JSON  # a photo in base64, with its caption
MAX_DOCUMENT_JSON = MAX_DOCUMENT * 4 // 3 + MAX_JSON
MAX_VOICE_JSON = MAX_VOICE * 4 // 3 + MAX_JSON
MAX_VOICE_SECONDS = 600


def _content(body: dict, field: str, what: str, limit: int) -> bytes:
    """The bytes of ``body[field]`` (base64), at most ``limit``; else Refused."""
    if not isinstance(body.get(field), str) or not body[field]:
        raise Refused(400, f"choose a {what} to send", "empty.upload")
    try:
        content = base64.b64decode(body[field], validate=True)
    except (binascii.Error, ValueError):
        raise Refused(400, f"the {what} is not base64") from None
    if len(content) > limit:
        raise Refused(413, f"the {what} is larger than {limit // (1024 * 1024)} MB", "too.large",
                      mb=limit // (1024 * 1024))
    return content


def _caption(body: dict) -> str | None:
    caption = str(body.get("caption") or "").strip() or None
    if caption and len(caption) > 1024:
        raise Refused(400, "the caption is longer than 1024 characters", "caption.long")
    return caption


async def send_photo(body: dict, person: Person, chat: Chat) -> None:
    """``{"photo": base64, "caption"}``: a person sends a photo."""
    content = _content(body, "photo", "photo", MAX_PHOTO)
    kind = raster_type(content)
    if kind is None:
        raise Refused(400, "only PNG, JPEG, WebP or GIF pictures can be sent as photos", "not.picture")
    mime_type, extension = kind
    await acting(person.send_photo(_caption(body), chat=chat, content=content, file_name=f"photo.{extension}",
                                   mime_type=mime_type))


async def send_document(body: dict, person: Person, chat: Chat) -> None:
    """``{"document": base64, "file_name", "caption"}``: a person sends a CSV or text file."""
    content = _content(body, "document", "file", MAX_DOCUMENT)
    kind = text_document(str(body.get("file_name") or ""), content)
    if kind is None:
        raise Refused(400, "only CSV or plain-text files (.csv, .txt) can be sent", "not.text.file")
    file_name, mime_type = kind
    await acting(person.send_document(file_name, content, mime_type, caption=_caption(body), chat=chat))


async def send_voice(body: dict, person: Person, chat: Chat) -> None:
    """``{"voice": base64, "duration"}``: a person sends a voice note recorded in the browser."""
    content = _content(body, "voice", "voice note", MAX_VOICE)
    mime_type = voice_type(content)
    if mime_type is None:
        raise Refused(400, "a voice note must be an Ogg or WebM recording", "not.recording")
    try:
        duration = min(max(round(float(body.get("duration") or 1)), 1), MAX_VOICE_SECONDS)
    except (TypeError, ValueError):
        raise Refused(400, "duration must be a number of seconds") from None
    await acting(person.send_voice(duration, chat=chat, content=content, mime_type=mime_type))


async def acting(action: Any):
    """Run a person's action; the double raises AssertionError when the bot does not take it."""
    try:
        return await action
    except AssertionError as exc:
        raise Refused(409, str(exc)) from None
