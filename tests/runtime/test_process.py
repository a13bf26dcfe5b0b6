"""``rural-bot webhook`` as a real process: SIGTERM finishes what is in flight and exits 0 within
10 s; its logs are one JSON event a line, with the update, person, handler and duration, and
never the token, a phone number or what people typed."""

from __future__ import annotations

import asyncio
import io
import json
import logging

from sqlalchemy import select

from bot import logs
from chat import last_text, settle_in
from store.models import Villager
from support.processes import TOKEN, start_bot, webhook_env


async def test_sigterm_finishes_the_update_in_flight_and_exits_0(demo_store, telegram, tmp_path):
    bot = await start_bot("webhook", webhook_env(demo_store.url, telegram), tmp_path)
    telegram.webhook_targets = [bot.base]
    wang = telegram.person(1001, "Wang", language_code="en")
    await settle_in(wang)

    telegram.latency = 1.5  # the reply to this /cart is still on its way when SIGTERM comes
    sending = asyncio.create_task(wang.send("/cart"))
    await telegram.wait_for(lambda: any(c.params.get("chat_id") in (1001, "1001") for c in telegram.calls[-1:])
                            and telegram.calls[-1].method == "sendMessage", timeout=5)
    status, took = await bot.terminate()
    await sending  # the update was acknowledged: handled, not to be sent again
    assert status == 0 and took < 10
    assert "cart" in last_text(wang).lower()
    events = bot.events()
    assert events[-1]["event"] == "stopped"
    assert not [e for e in events if e["level"] in ("error", "critical")], events


async def test_logs_are_one_json_event_a_line_without_secrets_phones_or_texts(demo_store, telegram, tmp_path):
    bot = await start_bot("webhook", webhook_env(demo_store.url, telegram), tmp_path)
    telegram.webhook_targets = [bot.base]
    wang = telegram.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    await wang.send("/phone")
    await wang.share_contact("+86 138 0013 8000")
    await wang.send("my secret apple orchard")
    async with demo_store.read() as session:
        assert await session.scalar(select(Villager.phone).where(Villager.telegram_id == 1001)) == "13800138000"
    telegram.latency = 0
    status, _ = await bot.terminate()
    assert status == 0

    text = "".join(bot.lines)
    for secret in (TOKEN, TOKEN.split(":")[1], "13800138000", "138 0013 8000", "secret apple orchard", "Wang"):
        assert secret not in text, f"{secret!r} is in the logs"
    events = [json.loads(line) for line in bot.lines]  # every line is one JSON object
    handled = [e for e in events if e["event"] == "update handled"]
    assert len(handled) == 6  # /start, county, village, /phone, contact, text
    assert {e["user_id"] for e in handled} == {1001}
    assert len({e["update_id"] for e in handled}) == 6
    assert all(isinstance(e["duration_ms"], float) for e in handled)
    assert {"start.start", "assist.contact_shared"} <= {e["handler"] for e in handled}
    assert [e["update_type"] for e in handled].count("callback_query") == 2


def test_the_log_filter_blanks_secrets_however_a_logged_url_writes_them():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())  # what logs.configure() puts on every line
    log = logging.getLogger("aiohttp.client.test")
    log.addHandler(handler)
    log.propagate = False
    try:
        secret = TOKEN.split(":")[1]
        log.warning("GET https://api.telegram.org/bot%s/getMe failed", TOKEN.replace(":", "%3A"))
        log.warning("GET /bot%s/getMe", TOKEN.replace(":", "%3a"))
        log.warning("redirect to /login?next=%s", f"https%3A%2F%2Fapi.telegram.org%2Fbot{TOKEN.replace(':', '%253A')}")
        log.warning("form phone=%s&name=x", "%2B86%20138%200013%208000")
        log.warning("form phone=%s", "%2B8613800138000")
        log.warning("query ?p%%3D%s", "13800138000")
        log.warning("cannot connect to %s", "postgresql://rural:Hunter2-pass@db:5432/rural")
        log.warning("order RT-7K2QX: 3 items, update 734500001, user 1001")  # ids stay readable
    finally:
        log.removeHandler(handler)
    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    text = "\n".join(events)
    for leaked in (secret, "13800138000", "138%200013", "Hunter2"):
        assert leaked not in text, f"{leaked!r} is in the logs"
    assert events == [
        "GET https://api.telegram.org/bot[token]/getMe failed",
        "GET /bot[token]/getMe",
        "redirect to /login?next=https%3A%2F%2Fapi.telegram.org%2Fbot[token]",
        "form phone=[phone]&name=x",
        "form phone=[phone]",
        "query ?p%3D[phone]",
        "cannot connect to postgresql://rural:[password]@db:5432/rural",
        "order RT-7K2QX: 3 items, update 734500001, user 1001",
    ]
