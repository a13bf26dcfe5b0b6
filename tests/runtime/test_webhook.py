"""``rural-bot webhook`` (``runner.serve(webhook=True)``) in this process: Telegram (the double)
posts updates to it, bad requests are refused, an update sent twice has one effect, /healthz and
/metrics tell the truth, and a database that goes away and comes back is survived."""

from __future__ import annotations

import asyncio
import gc
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import func, select

from chat import last_text, settle_in, texts
from services.clock import ManualClock
from services.updates import CLAIM_FOR, UpdateLedger
from store.models import ProcessedUpdate
from support.processes import PUBLIC_URL, SECRET
from support.tcpproxy import TcpProxy
from support.webhook import message_update


async def test_the_webhook_is_set_with_the_secret_and_serves_people(demo_store, telegram, webhook_bot):
    bot = await webhook_bot(demo_store.url, telegram)
    assert telegram.webhook == {"url": PUBLIC_URL, "secret_token": SECRET}
    assert telegram.calls_to("getUpdates") == []
    assert gc.get_freeze_count() > 10_000  # started: the long-lived objects are out of the collector's walk

    wang = telegram.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    await wang.send("/search rice")
    await wang.tap("Rice")
    assert "per bag" in last_text(wang)
    assert all(post[2] == 200 for post in telegram.webhook_posts)

    assert await bot.metric('rural_updates_total{type="message"}') == 2  # /start, /search
    assert await bot.metric('rural_updates_total{type="callback_query"}') >= 3
    assert await bot.metric('rural_bot_api_calls_total{method="setWebhook",result="ok"}') == 1
    assert await bot.metric('rural_bot_api_calls_total{method="sendMessage",result="ok"}') >= 3
    assert await bot.metric('rural_handler_seconds_count{handler="search.search_command"}') == 1
    assert await bot.metric('rural_handler_seconds_bucket{handler="search.search_command",le="+Inf"}') == 1
    assert await bot.metric('rural_database_up') == 1
    _, text = await bot.get("/metrics")
    assert re.search(r'^rural_outbox_backlog\{queue="outbox"\} \d', text, re.M)
    assert re.search(r'^rural_outbox_backlog\{queue="promotions"\} 0\.0', text, re.M)
    assert await bot.get("/healthz") == (200, '{"status": "ok", "database": "ok"}')


async def test_requests_without_the_secret_or_not_updates_are_refused(demo_store, telegram, webhook_bot):
    bot = await webhook_bot(demo_store.url, telegram)
    wang = telegram.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    seen = len(wang.chat.bot_messages())

    # 401 before the body is read: a body that is not even JSON is not reported as 400.
    assert await bot.post_update(b"{not json", secret=None) == 401
    assert await bot.post_update(message_update(500, wang, "/cart"), secret=None) == 401
    assert await bot.post_update(message_update(501, wang, "/cart"), secret="wrong-secret") == 401
    assert await bot.post_update(message_update(502, wang, "/cart"), secret=SECRET + "x") == 401
    for body in (b"{not json", b"\xff\xfe", [1, 2], {"message": {"text": "/cart"}}, {"update_id": "7"},
                 {"update_id": True}, {"update_id": 503, "message": {"text": "no chat, no date"}}):
        assert await bot.post_update(body) == 400, body
    assert len(wang.chat.bot_messages()) == seen, "a refused request reached the bot"

    assert await bot.post_update(message_update(504, wang, "/cart")) == 200
    assert len(wang.chat.bot_messages()) == seen + 1
    assert not bot.task.done()


async def test_an_update_sent_again_has_one_effect_whichever_process_gets_it(postgres_only, demo_store, telegram,
                                                                             webhook_bot):
    first = await webhook_bot(demo_store.url, telegram)
    second = await webhook_bot(demo_store.url, telegram)
    wang = telegram.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    await wang.send("/search rice")
    await wang.tap("Rice")
    await wang.tap("Add")
    seen = len(wang.chat.bot_messages())

    again = message_update(700, wang, "/cart")
    statuses = await asyncio.gather(*(bot.post_update(again) for bot in (first, second, first, second)))
    # One delivery handles it; one that comes while it is being handled gets 503 (Telegram sends
    # it again later), one that comes after it is done gets 200 and has no effect.
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 503}, statuses
    assert await asyncio.gather(first.post_update(again), second.post_update(again)) == [200, 200]
    assert len(wang.chat.bot_messages()) == seen + 1
    assert "Rice" in last_text(wang)
    duplicates = [await bot.metric("rural_duplicate_updates_total") for bot in (first, second)]
    assert sum(duplicates) == statuses.count(200) - 1 + 2
    async with demo_store.read() as session:
        assert await session.scalar(select(func.count()).where(ProcessedUpdate.update_id == 700)) == 1
    # Both processes took part in serving Wang's earlier updates.
    assert {urlsplit(post[1]).port for post in telegram.webhook_posts} == {first.port, second.port}


async def test_an_update_held_by_another_process_is_refused_until_done_or_its_claim_lapsed(
        demo_store, telegram, webhook_bot):
    bot = await webhook_bot(demo_store.url, telegram)
    wang = telegram.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    seen = len(wang.chat.bot_messages())
    now = datetime.now(timezone.utc)
    elsewhere = UpdateLedger(demo_store, ManualClock(now))  # another process, busy with 701 and 702
    assert await elsewhere.take(701) is True
    assert await elsewhere.take(702) is True

    assert await bot.post_update(message_update(701, wang, "/cart")) == 503  # not acknowledged: sent again later
    await elsewhere.done(701)
    assert await bot.post_update(message_update(701, wang, "/cart")) == 200  # done there: no effect here
    assert len(wang.chat.bot_messages()) == seen

    died = UpdateLedger(demo_store, ManualClock(now - CLAIM_FOR - timedelta(seconds=1)))  # a process that died
    assert await died.take(703) is True
    assert await bot.post_update(message_update(703, wang, "/cart")) == 200  # its claim lapsed: handled here
    assert len(wang.chat.bot_messages()) == seen + 1 and "cart" in last_text(wang).lower()
    assert await bot.post_update(message_update(702, wang, "/cart")) == 503
    assert await bot.metric("rural_duplicate_updates_total") == 1


async def test_a_database_outage_is_answered_reported_and_survived(postgres_only, demo_store, telegram, webhook_bot):
    url = demo_store.engine.url
    proxy = TcpProxy(url.host, url.port)
    await proxy.open()
    bot = await webhook_bot(url.set(port=proxy.port).render_as_string(hide_password=False), telegram)
    wang = telegram.person(1001, "王", language_code="zh-hans")
    li = telegram.person(1002, "Li", language_code="en")
    await settle_in(wang, "城固县", "上元")

    await proxy.close()
    await wang.send("/cart")
    assert last_text(wang) == "⏳ 服务暂时不可用，请一分钟后再试。"
    await li.send("/start")
    assert last_text(li) == "⏳ The service is temporarily unavailable. Please try again in a minute."
    answer = await wang.tap_data("noop", wang.chat.bot_messages()[-2])
    assert answer.show_alert and answer.text == "⏳ 服务暂时不可用，请一分钟后再试。"
    status, body = await bot.get("/healthz")
    assert (status, body) == (503, '{"status": "unavailable", "database": "unreachable"}')
    assert await bot.metric("rural_database_up") == 0
    assert await bot.metric('rural_errors_total{cause="database"}') >= 3
    assert not bot.task.done()

    await proxy.open()
    await wang.send("/cart")
    assert "购物车" in last_text(wang)
    await li.send("/start")
    assert "county" in last_text(li).lower()
    assert (await bot.get("/healthz"))[0] == 200
    assert "⏳" not in " ".join(texts(li.chat)[1:])
    await proxy.close()  # the fixture's stop must not hang on a database that is away
    await proxy.open()


def long_update(update_id: int, person) -> dict:
    """A real update over 64 KiB: a message of 4096 characters (Telegram's most), every other one bold."""
    text = "稻" * 4096
    entities = [{"type": "bold", "offset": i, "length": 1} for i in range(0, len(text), 2)]
    update = message_update(update_id, person, "/cart")
    update["message"].update(text=text, entities=entities)
    return update


async def test_an_update_up_to_a_mebibyte_is_taken_and_one_over_it_refused(demo_store, telegram, webhook_bot):
    bot = await webhook_bot(demo_store.url, telegram)
    wang = telegram.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    seen = len(wang.chat.bot_messages())

    big = long_update(600, wang)
    assert 64 * 1024 < len(json.dumps(big)) < 1024 * 1024
    assert await bot.post_update(big) == 200
    assert len(wang.chat.bot_messages()) == seen + 1  # answered, as any message is
    huge = json.dumps(message_update(601, wang, "/cart") | {"padding": "x" * 1024 * 1024}).encode()
    assert await bot.post_update(huge) == 413
    assert len(wang.chat.bot_messages()) == seen + 1


async def test_deeply_nested_json_is_a_bad_request(demo_store, telegram, webhook_bot):
    bot = await webhook_bot(demo_store.url, telegram)
    wang = telegram.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    seen = len(wang.chat.bot_messages())
    deep_reply = message_update(602, wang, "/cart")
    inner = deep_reply["message"]
    for _ in range(300):  # a reply to a reply to ...: PTB would recurse through every level
        inner["reply_to_message"] = dict(message_update(602, wang, "/cart")["message"])
        inner = inner["reply_to_message"]

    for body in (b'{"update_id": 603, "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
                 json.dumps(deep_reply).encode()):
        assert await bot.post_update(body) == 400
    assert len(wang.chat.bot_messages()) == seen
    assert (await bot.get("/healthz"))[0] == 200


async def test_with_a_metrics_token_only_prometheus_reads_the_metrics(demo_store, telegram, webhook_bot):
    token = "scrape-0123456789abcdef"
    bot = await webhook_bot(demo_store.url, telegram, metrics_token=token)

    for headers in (None, {"Authorization": "Bearer wrong-0123456789abcdef"}, {"Authorization": token},
                    {"Authorization": f"Bearer {token}x"}, {"Authorization": f"Basic {token}"}):
        status, body = await bot.get("/metrics", headers=headers)
        assert (status, body) == (401, '{"error": "missing or wrong bearer token"}'), headers
    status, body = await bot.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and "rural_database_up 1.0" in body
    assert await bot.get("/healthz") == (200, '{"status": "ok", "database": "ok"}')  # open to the load balancer
