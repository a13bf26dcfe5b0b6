"""Real ``rural-bot`` processes for tests and benchmarks: started with an environment, their log
lines collected, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

TOKEN = "123456789:TEST-token-aaaaaaaaaaaaaaaaaaaaaaaa"
SECRET = "hook-Secret_42-for-tests"
PUBLIC_URL = "https://bot.example.org/tg/updates"


RUNNING: list[asyncio.subprocess.Process] = []  # killed after each test (conftest) if still running


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    port: int
    lines: list[str] = field(default_factory=list)  # standard error, one log event a line
    _reader: asyncio.Task | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.lines if line.strip()]

    async def healthz(self) -> int:
        async with aiohttp.ClientSession() as http, http.get(self.base + "/healthz") as response:
            return response.status

    async def terminate(self, within: float = 10.0) -> tuple[int, float]:
        """SIGTERM; (exit status, seconds it took)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(self.process.wait(), within)
        await self._reader
        return status, time.monotonic() - started


async def start_bot(command: str, env: dict[str, str], cwd: Path, timeout: float = 20.0) -> BotProcess:
    """``rural-bot <command>`` with ``env`` on top of ours; returns once /healthz answers 200."""
    port = int(env.get("LISTEN_PORT") or free_port())
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", command, cwd=cwd, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "LISTEN_PORT": str(port), **env})
    RUNNING.append(process)
    bot = BotProcess(process, port)

    async def read() -> None:
        while line := await process.stderr.readline():
            bot.lines.append(line.decode())

    bot._reader = asyncio.create_task(read())

    def stopped() -> str | None:
        if process.returncode is None:
            return None
        return f"rural-bot {command} exited with {process.returncode}: {''.join(bot.lines)[-2000:]}"

    try:
        await until_healthy(bot.base, stopped, timeout)
    except AssertionError:
        if process.returncode is None:
            process.kill()
        await bot._reader
        raise AssertionError(stopped() or f"rural-bot {command} did not come up: {''.join(bot.lines)[-2000:]}") from None
    return bot


async def until_healthy(base: str, stopped: Callable[[], str | None], timeout: float) -> None:
    """Until ``base``/healthz answers 200. AssertionError if ``stopped()`` gives why the bot is
    gone, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            reason = stopped()
            assert reason is None, reason
            assert time.monotonic() < deadline, f"{base} did not come up within {timeout:g} s"
            try:
                async with http.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


def webhook_env(database_url: str, double, **extra: str) -> dict[str, str]:
    return {"BOT_TOKEN": TOKEN, "DATABASE_URL": database_url, "TELEGRAM_BASE_URL": double.base_url,
            "WEBHOOK_URL": PUBLIC_URL, "WEBHOOK_SECRET": SECRET, "LISTEN_HOST": "127.0.0.1",
            "ADMIN_IDS": "900", **extra}
