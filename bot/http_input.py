"""Reading what an HTTP client sends, within limits: its body (how big, how slow) and its JSON
(how deep). Used by the bot's own server (the webhook, the carrier endpoint) and the demo's web
chat, so that no client can hold a connection or a handler for long, or make one fail with 500.

Slow request heads are cut off by aiohttp itself: ``runner_options`` makes its keep-alive timer
(which, from aiohttp 3.14.4, also runs from the moment a connection opens) the time a client has
to send a whole request head.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

# A Telegram update is never nested more than about 10 levels; Python's json gives up with
# RecursionError (a 500) at about 1000, and PTB's parsing of an update recurses further still.
MAX_DEPTH = 32


@dataclass(frozen=True)
class Timeouts:
    """Seconds a client has for each part of a request."""

    head: float = 10.0  # from connecting (or from the last answer, on a kept-alive connection) to a whole head
    body: float = 20.0  # from the head to the end of the body
    linger: float = 2.0  # after an answer, reading what is left of a body the handler did not read


def runner_options(timeouts: Timeouts) -> dict[str, float]:
    """Keyword arguments for ``web.AppRunner`` that apply ``timeouts`` to every connection."""
    return {"keepalive_timeout": timeouts.head, "lingering_time": timeouts.linger}


TIMEOUTS = web.AppKey("timeouts", Timeouts)  # an application's own, for its handlers and its runner


class BodyRefused(Exception):
    """A body that was not read: too large (413) or too slow (408); the message says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


async def read_body(request: web.BaseRequest, limit: int, timeout: float) -> bytes:
    """The whole body, at most ``limit`` bytes, read within ``timeout`` seconds; else BodyRefused.
    The route's own limit: the application's ``client_max_size`` does not apply here."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyRefused(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    raise BodyRefused(413, f"the body is larger than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyRefused(408, f"the body did not arrive within {timeout:g} s") from None
    return b"".join(chunks)


class BadJson(ValueError):
    """The body is not JSON this server reads; the message says why."""


def parse_json(body: bytes) -> Any:
    """The JSON value in ``body``, nested at most MAX_DEPTH deep; else BadJson."""
    too_deep = f"the body is nested more than {MAX_DEPTH} levels deep"
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadJson("the body is not valid JSON") from None
    except RecursionError:  # json's own limit, about 1000 levels: nothing else was hurt
        raise BadJson(too_deep) from None
    if _deeper_than(value, MAX_DEPTH):
        raise BadJson(too_deep)
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in ``value`` nest more than ``limit`` deep (walked level by
    level, without recursion)."""
    level = [value]
    for _ in range(limit + 1):
        containers = [v for v in level if isinstance(v, (dict, list))]
        if not containers:
            return False
        level = [child for c in containers for child in (c.values() if isinstance(c, dict) else c)]
    return True  # limit + 1 levels of arrays or objects
