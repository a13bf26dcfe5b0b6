"""A webhook bot in this process for the tests, and raw updates to post to it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from bot.webhook import SECRET_HEADER
from support.processes import PUBLIC_URL, SECRET

PATH = urlsplit(PUBLIC_URL).path


@dataclass
class Served:
    port: int
    task: asyncio.Task
    stop: asyncio.Event
    http: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def get(self, path: str, headers: dict | None = None) -> tuple[int, str]:
        async with self.http.get(self.base + path, headers=headers) as response:
            return response.status, await response.text()

    async def post_update(self, body, secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        data = body if isinstance(body, bytes) else None
        async with self.http.post(self.base + PATH, data=data, json=None if data else body,
                                  headers=headers) as response:
            return response.status

    async def metric(self, name: str) -> float:
        """The value of one sample line of /metrics, e.g. ``rural_updates_total{type="message"}``."""
        _, text = await self.get("/metrics")
        values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")]
        return values[0] if values else 0.0


def message_update(update_id: int, person, command: str) -> dict:
    """A raw update: ``person`` sends ``/command``."""
    return {"update_id": update_id, "message": {
        "message_id": 10_000 + update_id, "date": int(time.time()), "text": command,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        "chat": {"id": person.id, "type": "private", "first_name": person.first_name},
        "from": person.to_dict()}}
