"""PTB's HTTP transport on aiohttp.

PTB talks HTTP through httpx by default. aiohttp does the same job with much less CPU per request
(measured by bench/updates.py), and a village center's bot sends two or three Bot API calls for
every tap, so the transport is a large part of what a busy bot spends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.logs import redact


class AiohttpRequest(BaseRequest):
    def __init__(self, connection_limit: int = 64, read_timeout: float | None = 5.0,
                 connect_timeout: float | None = 5.0, write_timeout: float | None = 20.0,
                 observer: Callable[[str, str], None] | None = None):
        """``observer(method, result)`` hears of every call: result "ok", the HTTP status
        ("429", "502"), "timeout" or "network"."""
        self._observer = observer or (lambda method, result: None)
        self._limit = connection_limit
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._write_timeout = write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._limit))

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(self, url, method, request_data: RequestData | None = None,
                         read_timeout=BaseRequest.DEFAULT_NONE, write_timeout=BaseRequest.DEFAULT_NONE,
                         connect_timeout=BaseRequest.DEFAULT_NONE, pool_timeout=BaseRequest.DEFAULT_NONE):
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        write = self._write_timeout if isinstance(write_timeout, DefaultValue) else write_timeout
        body = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                body = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    body.add_field(name, value)
                for name, (filename, content, mime_type) in files.items():
                    body.add_field(name, content, filename=filename, content_type=mime_type)
            else:
                body = request_data.json_parameters
        # aiohttp has no separate write timeout; an upload may take the write budget on top.
        timeout = aiohttp.ClientTimeout(
            total=None, connect=connect, sock_read=None if read is None else read + (write or 0) * bool(body)
        )
        api_method = url.rpartition("/")[2]
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as response:
                answer = response.status, await response.read()
        except asyncio.TimeoutError as exc:
            self._observer(api_method, "timeout")
            raise TimedOut() from exc
        except aiohttp.ClientError as exc:
            self._observer(api_method, "network")
            # The URL holds the bot token: never let it into an error (and so a log line).
            raise NetworkError(f"aiohttp: {type(exc).__name__}: {redact(str(exc))}") from None
        self._observer(api_method, "ok" if answer[0] == 200 else str(answer[0]))
        return answer
