"""Slow clients (slowloris) against the bot's own server, over real sockets: 200 connections that
send their request head, or their body, a byte at a time do not keep a carrier or Prometheus
waiting, and each is closed soon after the server's timeout (short ones here)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.http_input import Timeouts
from bot.metrics import Metrics
from bot.server import EVENTS_PATH, bound_port, build_web_app, start_server, stop_server

TOKEN = "carrier-secret-0123456789"
TIMEOUTS = Timeouts(head=1.0, body=1.0, linger=0.5)
DRIP = 0.1  # seconds between the bytes of a slow client


@pytest.fixture
async def port(store, clock):
    app = build_web_app(store=store, clock=clock, logistics_token=TOKEN, wake=lambda: None, metrics=Metrics(),
                        timeouts=TIMEOUTS)
    runner = await start_server(app, "127.0.0.1", 0)
    yield bound_port(runner)
    await stop_server(runner)


async def slow_client(port: int, head: bytes, body: bytes = b"") -> tuple[float, bytes]:
    """Send ``head`` (a byte at a time unless a body follows) and then ``body`` a byte at a time;
    return how long the server kept the connection open, and what it answered."""
    loop = asyncio.get_running_loop()
    opened = loop.time()  # no later than the server's clock starts
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def drip() -> None:
        if body:
            writer.write(head)
        for byte in body or head:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(DRIP)

    dripping = asyncio.create_task(drip())
    answer = b""
    try:  # what comes as it comes: a reset (the server closed with our bytes unread) loses nothing read
        while chunk := await reader.read(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    closed = loop.time() - opened
    dripping.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
        await dripping
    writer.close()
    return closed, answer


async def ask(port: int, request: bytes) -> tuple[float, bytes]:
    """A prompt client's request; the time to its whole answer."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    answer = await reader.read()
    writer.close()
    return loop.time() - started, answer


async def test_two_hundred_slow_clients_do_not_hold_the_server_and_are_closed_after_the_timeouts(port):
    slow_head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 100
    body = b'{"order_no": "RT-AAAAA", "event": "in_transit", "at": "2026-11-11T10:00:00+08:00"}'
    slow_body_head = (f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    slow = [asyncio.create_task(slow_client(port, slow_head)) for _ in range(100)]
    slow += [asyncio.create_task(slow_client(port, slow_body_head, body)) for _ in range(100)]
    await asyncio.sleep(0.3)  # all 200 connected and dripping

    took, answer = await ask(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and took < 0.5, (took, answer[:40])
    took, answer = await ask(port, (f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}"
                                    f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
    assert answer.startswith(b"HTTP/1.1 404") and b"RT-AAAAA" in answer and took < 0.5, (took, answer[:40])
    assert not any(task.done() for task in slow), "a slow client was closed before its timeout"

    results = await asyncio.wait_for(asyncio.gather(*slow), 10)
    heads, bodies = results[:100], results[100:]
    # A head a byte every 0.1 s would take 7 s; the server closes it after 1 s, without an answer.
    assert all(TIMEOUTS.head <= closed < TIMEOUTS.head + 1.5 and answer == b"" for closed, answer in heads), heads[:3]
    # A body that would take 8 s: 408 after 1 s, the connection closed after the lingering 0.5 s.
    for closed, answer in bodies:
        assert TIMEOUTS.body <= closed < TIMEOUTS.body + TIMEOUTS.linger + 1.5, closed
        assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in answer, answer[:200]
