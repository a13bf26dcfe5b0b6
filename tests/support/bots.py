"""What the tests' bots are made of: the test token, PostgreSQL's admin connection, the error
recorder every bot test ends with, and a second Application beside the fixture's. tests/conftest.py
builds its fixtures from these; test files import them from here, never from conftest (each test
folder may have a conftest of its own, and only one module can be called conftest).
"""

from __future__ import annotations

import logging
import os

from bot.app import build_application
from bot.config import Settings
from store.db import Store

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TOKEN = "123456789:TEST-token-aaaaaaaaaaaaaaaaaaaaaaaa"


async def pg_execute(sql: str) -> None:
    import asyncpg

    url = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


class ErrorRecorder(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def settle(app) -> None:
    """Until the bot has handled every update and sent everything its outbox had due."""
    pump = app.bot_data["runtime"].pump
    while True:
        await app.update_queue.join()
        await pump.idle()
        if app.update_queue.empty():
            return


def second_application(bot, store: Store):
    """Another Application like the fixture's, on ``store``, the same clock and the same double."""
    settings = Settings(bot_token=bot.app.bot.token, database_url=store.url,
                        telegram_base_url=bot.double.base_url, admin_ids=frozenset({900}))
    return build_application(settings, store, bot.clock, pace=bot.double.pace_time)
