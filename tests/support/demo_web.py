"""The demo's web chat driven over HTTP as its page drives it (tests/browser): the people, a client
that reads chats, types and taps, and a demo started in a folder."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import re
from datetime import timedelta

import aiohttp

from bot.demo.runner import Demo
from bot.demo.world import group_id

LI_MING, PARTNER_CG02 = 1002, 2002  # an English-speaking villager of CG-02, and that center's partner
DESK_CG02 = group_id(1)
ADMIN = 9001
PNG = b"\x89PNG\r\n\x1a\n"
JSON = {"Content-Type": "application/json"}
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>fetch("/api/send", {method: "POST"})</script></svg>'


def photo_body(person: int, content: bytes, caption: str | None = None) -> dict:
    """The body of the page's POST /api/photo."""
    return {"as": person, "chat_id": person, "photo": base64.b64encode(content).decode(), "caption": caption}


class WebChatClient:
    """What the page does: read a chat, type, tap a button by its label. Like the browser, it
    sends the page's Origin with each request (``session_for``)."""

    def __init__(self, session: aiohttp.ClientSession, url: str):
        self.session, self.url = session, url.rstrip("/")

    async def get(self, path: str) -> dict:
        async with self.session.get(self.url + path) as response:
            return await response.json()

    async def post(self, path: str, body: dict, status: int = 200) -> dict:
        async with self.session.post(self.url + path, json=body) as response:
            assert response.status == status, await response.text()
            return await response.json()

    async def messages(self, person: int, chat: int | None = None) -> list[dict]:
        return (await self.get(f"/api/chats/{chat or person}?as={person}"))["messages"]

    async def send(self, person: int, text: str, chat: int | None = None) -> None:
        await self.post("/api/send", {"as": person, "chat_id": chat or person, "text": text})

    async def tap(self, person: int, label: str, chat: int | None = None) -> dict | None:
        """Tap the newest button whose label contains ``label`` (waiting for it to appear)."""
        chat = chat or person

        async def find():
            for message in reversed(await self.messages(person, chat)):
                for button in (b for row in message["buttons"] for b in row):
                    if label in button["text"] and "callback_data" in button:
                        return message, button
            return None

        message, button = await until(find, f"no button {label!r} in chat {chat}")
        reply = await self.post("/api/tap", {"as": person, "chat_id": chat, "message_id": message["message_id"],
                                             "data": button["callback_data"]})
        return reply["answer"]

    async def bot_text(self, person: int, pattern: str, chat: int | None = None, timeout: float = 10.0) -> str:
        """The newest bot message matching ``pattern``, once it has arrived (within ``timeout`` s)."""
        async def find():
            found = [m["text"] or m["caption"] or "" for m in await self.messages(person, chat)
                     if m["from"]["is_bot"] and re.search(pattern, m["text"] or m["caption"] or "")]
            return found[-1] if found else None
        return await until(find, f"no bot message like {pattern!r} in chat {chat or person}", timeout)


async def until(probe, what: str, timeout: float = 10.0):
    """Poll ``probe`` (sync or async) until it returns something other than None."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = probe()
        if inspect.isawaitable(found):
            found = await found
        if found is not None:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(what)
        await asyncio.sleep(0.02)


def session_for(url: str) -> aiohttp.ClientSession:
    """A client as the web chat's own page is one: its requests carry the page's Origin."""
    return aiohttp.ClientSession(headers={"Origin": url.rstrip("/")})


@contextlib.asynccontextmanager
async def running(folder, reset: bool = False, later: timedelta = timedelta(0)):
    """A demo started in ``folder`` (its clock ``later`` than now), and a web chat client for it."""
    demo = Demo(folder, port=0, reset=reset)
    demo.clock.advance(later)
    await demo.start()
    try:
        async with session_for(demo.url) as session:
            yield demo, WebChatClient(session, demo.url)
    finally:
        await demo.stop()


def document_body(person: int, file_name: str, content: bytes) -> dict:
    """The body of the page's POST /api/document."""
    return {"as": person, "chat_id": person, "file_name": file_name, "document": base64.b64encode(content).decode()}
