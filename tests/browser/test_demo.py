"""``rural-bot demo`` and its web chat, driven over HTTP as the page drives them: the people on
offer, an order from a villager's chat to the desk and back, live events with edits in place, the
demo clock bringing the pickup reminder, refused requests, and a restart that keeps the store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import func, select

from bot.demo.runner import MARKET
from store.models import Listing, Order, Partner, ServiceCenter
from support.demo_web import (
    ADMIN,
    DESK_CG02,
    JSON,
    LI_MING,
    PARTNER_CG02,
    PNG,
    SVG,
    WebChatClient,
    photo_body,
    running,
    until,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the demo's centers' time zone


async def order_rice(web: WebChatClient, villager: int) -> str:
    await web.send(villager, "/search rice")
    await web.tap(villager, "Rice")
    await web.tap(villager, "Add")
    await web.send(villager, "/cart")
    await web.tap(villager, "Checkout")
    await web.tap(villager, "Confirm order")
    return re.search(r"RT-[0-9A-Z]{5}", await web.bot_text(villager, r"RT-[0-9A-Z]{5}")).group(0)


async def test_the_people_on_offer_and_their_chats(demo, web):
    state = await web.get("/api/state")
    featured = [(p["name"], p["role"], p["language_name"], [c["type"] for c in p["chats"]])
                for p in state["people"] if p["featured"]]
    assert featured == [
        ("王芳", "villager", "中文", ["private"]),
        ("Li Ming", "villager", "English", ["private"]),
        ("张伟", "partner", "中文", ["private", "supergroup"]),
        ("Chen Hao", "bystander", "English", ["private", "supergroup"]),
        ("Zhou Min", "admin", "English", ["private"]),
        ("周丽", "buyer", "中文", ["private"]),
    ]
    labels = {p["name"]: p["label"] for p in state["people"]}
    assert labels["王芳"] == "村民 · 上元村服务站" and labels["Li Ming"] == "Villager · Qinglong Village Service Center"
    assert labels["周丽"] == "城里买家 · 西安"  # a town buyer: no center
    async with demo.store.read() as session:
        centers = await session.scalar(select(func.count()).select_from(ServiceCenter))
        bound = await session.scalar(select(func.count()).where(ServiceCenter.group_chat_id.is_not(None)))
        partners = await session.scalar(select(func.count()).select_from(Partner))
    assert centers == bound == partners == len([p for p in state["people"] if p["role"] == "partner"])
    assert len(state["villages"]) == centers and state["clock"]["offset_seconds"] == 0

    await web.send(1001, "/start")
    assert "王芳，欢迎您" in await web.bot_text(1001, "欢迎")  # issue 22: the first /start is a welcome
    history = await web.get("/api/chats/1001?as=1001")
    assert [b["text"] for row in history["reply_keyboard"] for b in row][:2] == ["🛒 购物", "🔍 搜索"]


async def test_an_order_reaches_the_desk_and_the_card_changes_live(demo, web):
    events: list[dict] = []
    async with web.session.get(web.url + "/api/events") as stream:
        async def listen():
            kind = None
            async for raw in stream.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    events.append({"event": kind, **json.loads(line[6:])})

        listener = asyncio.create_task(listen())
        await web.send(LI_MING, "/start")
        number = await order_rice(web, LI_MING)
        card = await web.bot_text(PARTNER_CG02, re.escape(number), chat=DESK_CG02)
        assert "Li Ming" in card and "待确认" in card

        answer = await web.tap(PARTNER_CG02, "确认", chat=DESK_CG02)
        assert answer is None or not answer["show_alert"]
        assert f"Your order {number} is confirmed" in await web.bot_text(LI_MING, "is confirmed")
        edits = await until(lambda: ([e for e in events if e["event"] == "message" and e["kind"] == "edit"
                                            and e["message"]["chat_id"] == DESK_CG02
                                            and "李强" in (e["message"]["text"] or "")] or None),
                            "the card's edit did not reach the page")
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    assert number in edits[-1]["message"]["text"]
    assert edits[-1]["message"]["buttons"] == []  # the county ships it next
    typed = [e for e in events if e["event"] == "message" and e["kind"] == "new"
             and e["message"]["from"]["id"] == LI_MING]
    assert [e["message"]["text"] for e in typed] == ["/start", "/search rice", "/cart"]
    menu = next(e["reply_keyboard"] for e in events if e["event"] == "message" and e["reply_keyboard"])
    assert menu[0][0]["text"] == "🛒 Shop"


async def test_moving_the_clock_brings_the_pickup_reminder(demo, web):
    # The parcel arrives just after the desks open, so that a day later is not in the night's quiet
    # hours, whatever the time of day the test runs at (a reminder due then would wait for 08:00).
    morning = (await web.post("/api/clock", {"to": "opening"}))["offset_seconds"]
    number = await order_rice(web, LI_MING)
    await web.tap(PARTNER_CG02, "确认", chat=DESK_CG02)
    await web.send(ADMIN, "/ship CG-02")
    assert "1" in await web.bot_text(ADMIN, "CG-02|Qinglong")
    await web.send(PARTNER_CG02, f"/arrived {number}", chat=DESK_CG02)
    arrived = await web.bot_text(LI_MING, "has arrived")
    code = re.search(r"\b\d{6}\b", arrived).group(0)

    moved = await web.post("/api/clock", {"hours": 24})
    assert moved["offset_seconds"] == morning + 86400
    reminder = await web.bot_text(LI_MING, "Reminder")
    assert number in reminder and code in reminder
    stamped = next(m["date"] for m in await web.messages(LI_MING) if (m["text"] or "").startswith("⏰"))
    assert stamped >= time.time() + 23 * 3600  # the message carries the demo's time, a day ahead
    async with demo.store.read() as session:
        assert await session.scalar(select(Order.status).where(Order.number == number)) == "ready_for_pickup"


async def test_at_night_a_day_later_the_reminder_waits_for_the_morning_button(tmp_path):
    """The tour's reminder step at whatever hour the demo starts: started at 22:30, "+1 day" lands
    in the quiet hours, where the reminder waits; 🌅 Morning brings it."""
    now = datetime.now(SHANGHAI)
    night = now.replace(hour=22, minute=30, second=0, microsecond=0)
    night += timedelta(days=1) if night <= now else timedelta(0)
    async with running(tmp_path / "demo", later=night - now) as (_, web):
        number = await order_rice(web, LI_MING)
        await web.tap(PARTNER_CG02, "确认", chat=DESK_CG02)
        await web.send(ADMIN, "/ship CG-02")
        # The web chat answers a message once it is handed to the bot, not once the bot has handled it:
        # /arrived sent before the shipment is done is refused ("状态：✅ 已确认"), and nothing arrives.
        assert number in await web.bot_text(ADMIN, "CG-02")
        await web.send(PARTNER_CG02, f"/arrived {number}", chat=DESK_CG02)
        await web.bot_text(LI_MING, "has arrived")
        await web.post("/api/clock", {"hours": 24})
        await web.send(LI_MING, "/orders")  # the bot answers this after the pump's turn
        await web.bot_text(LI_MING, number)
        assert not any((m["text"] or "").startswith("⏰") for m in await web.messages(LI_MING))

        await web.post("/api/clock", {"to": "opening"})
        reminder = await web.bot_text(LI_MING, "Reminder")
        assert number in reminder
        sent = next(m["date"] for m in await web.messages(LI_MING) if (m["text"] or "").startswith("⏰"))
        assert datetime.fromtimestamp(sent, SHANGHAI).hour == 8  # at the end of the quiet hours


async def test_next_morning_brings_the_desks_digest(demo, web):
    number = await order_rice(web, LI_MING)
    moved = await web.post("/api/clock", {"to": "opening"})
    assert moved["now"][11:16] == "08:01" and moved["offset_seconds"] > 0  # just after 上元村 opens
    digest = await web.bot_text(PARTNER_CG02, "早上好", chat=DESK_CG02)  # 青龙村 opened at 07:30
    assert "待确认的订单：1" in digest and number in digest


async def test_bad_requests_get_a_reason_and_change_nothing(demo, web):
    assert (await web.post("/api/send", {"as": 4242, "chat_id": 4242, "text": "hi"}, status=404))["error"] == \
        "no such person in the demo"
    refused = await web.post("/api/send", {"as": LI_MING, "chat_id": DESK_CG02, "text": "hi"}, status=403)
    assert refused["error"] == "Li Ming is not in that chat"
    await web.post("/api/send", {"as": LI_MING, "chat_id": LI_MING, "text": "   "}, status=400)
    await web.post("/api/send", {"as": LI_MING, "chat_id": LI_MING, "text": "x" * 4097}, status=400)
    await web.post("/api/send", {"as": "me", "chat_id": LI_MING, "text": "hi"}, status=400)
    await web.post("/api/tap", {"as": LI_MING, "chat_id": LI_MING, "message_id": 99, "data": "x"}, status=404)
    await web.post("/api/location", {"as": LI_MING, "chat_id": LI_MING, "latitude": 95, "longitude": 0}, status=400)
    await web.post("/api/clock", {"hours": -24}, status=400)
    async with web.session.post(web.url + "/api/send", data=b"not json", headers=JSON) as response:
        assert response.status == 400 and (await response.json())["error"] == "the body is not valid JSON"
    nested = b'{"as": 1002, "chat_id": 1002, "text": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    async with web.session.post(web.url + "/api/send", data=nested, headers=JSON) as response:
        assert response.status == 400 and "nested" in (await response.json())["error"]
    async with web.session.get(web.url + "/api/chats/1001?as=1002") as response:
        assert response.status == 403
    assert await web.messages(LI_MING) == []
    assert (await web.get("/api/state"))["clock"]["offset_seconds"] == 0


async def test_a_shared_location_and_a_photo_reach_the_bot(demo, web):
    await web.send(1001, "/start")
    await web.post("/api/location", {"as": 1001, "chat_id": 1001, "latitude": 33.17842, "longitude": 107.45216})
    await web.post("/api/photo", photo_body(1001, PNG + b"-apples", caption="我家的苹果"))
    messages = await web.messages(1001)
    location = next(m for m in messages if m["location"])
    assert location["location"] == {"latitude": 33.17842, "longitude": 107.45216}
    photo = next(m for m in messages if m["photo"])
    assert photo["caption"] == "我家的苹果"
    async with web.session.get(web.url + photo["photo"]) as response:
        assert response.content_type == "image/png" and await response.read() == PNG + b"-apples"
    refused = await web.post("/api/photo", photo_body(1001, b"MZ"), status=400)
    assert refused["error"] == "only PNG, JPEG, WebP or GIF pictures can be sent as photos"


async def test_only_raster_pictures_are_photos_and_are_served_as_what_they_are(demo, web):
    await web.send(1001, "/start")
    for content in (SVG, b"<html><script>alert(1)</script></html>", b"\x00" * 16, b"RIFF\x00\x00\x00\x00WAVE"):
        refused = await web.post("/api/photo", photo_body(1001, content), status=400)
        assert refused["error"] == "only PNG, JPEG, WebP or GIF pictures can be sent as photos"
    await web.post("/api/photo", photo_body(1001, b"not base64!"), status=400)
    assert not any(m["photo"] for m in await web.messages(1001))

    sent = {"jpeg": b"\xff\xd8\xff\xe0-jpeg", "gif": b"GIF89a-gif", "webp": b"RIFF\x10\x00\x00\x00WEBPVP8 -webp",
            "png": PNG + b"-png"}
    for content in sent.values():
        await web.post("/api/photo", photo_body(1001, content))
    photos = [m["photo"] for m in await web.messages(1001) if m["photo"]]
    assert len(photos) == 4
    for url, (kind, content) in zip(photos, sent.items(), strict=True):
        async with web.session.get(web.url + url) as response:
            assert response.content_type == f"image/{kind}" and await response.read() == content
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in response.headers["Content-Security-Policy"]


async def test_every_answer_says_nosniff(demo, web):
    for path in ("/", "/static/app.js", "/api/state", "/api/chats/1001?as=1002", "/no/such/page"):
        async with web.session.get(web.url + path) as response:
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
    async with web.session.post(web.url + "/api/send", json={"as": 4242}) as response:
        assert response.status == 404 and response.headers["X-Content-Type-Options"] == "nosniff"


async def test_only_the_web_chats_own_page_may_use_it(demo, web):
    """Another site's page cannot post as a demo person (CSRF), nor read the chats through a name
    of its own pointed at this machine (DNS rebinding)."""
    port = demo.web.port
    text = {"as": LI_MING, "chat_id": LI_MING, "text": "/start"}
    for headers in ({"Origin": "http://evil.example"}, {"Origin": f"http://evil.example:{port}"},
                    {"Origin": "null"}, {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}):
        async with web.session.post(web.url + "/api/send", json=text, headers=headers) as response:
            assert response.status == 403, headers
    async with aiohttp.ClientSession() as no_origin:  # not a browser at the page: no Origin
        async with no_origin.post(web.url + "/api/send", json=text) as response:
            assert response.status == 403 and "Origin" in (await response.json())["error"]
    for host in (f"evil.example:{port}", "127.0.0.1:1", "localhost"):
        async with web.session.get(web.url + "/api/state", headers={"Host": host}) as response:
            assert response.status == 403 and "answers at" in (await response.json())["error"], host
    # A form, which any site can post: not JSON.
    form = {"as": "1002", "chat_id": "1002", "text": "hi"}
    async with web.session.post(web.url + "/api/send", data=form) as response:
        assert response.status == 415
    assert await web.messages(LI_MING) == []

    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):  # the page as opened by either name
        headers = {"Host": host, "Origin": f"http://{host}"}
        async with web.session.post(web.url + "/api/send", json=text, headers=headers) as response:
            assert response.status == 200, host
    assert len([m for m in await web.messages(LI_MING) if not m["from"]["is_bot"]]) == 2
    await web.bot_text(LI_MING, "(?i)welcome")


async def test_a_restart_keeps_the_orders_and_reset_starts_afresh(tmp_path):
    folder = tmp_path / "demo"
    async with running(folder) as (_, web):
        number = await order_rice(web, LI_MING)

    for reset, expected in ((False, [number]), (True, [])):
        async with running(folder, reset=reset) as (again, _):
            async with again.store.read() as session:
                assert list(await session.scalars(select(Order.number))) == expected
                assert await session.scalar(select(func.count()).select_from(Partner)) == len(again.web.world.centers)


async def test_product_cards_show_the_demos_drawn_pictures(demo, web):
    await web.send(LI_MING, "/search soy sauce")
    await web.tap(LI_MING, "soy sauce")
    card = await until(lambda: _card(web), "no product card with a photo")
    assert card["photo"] == "/api/files/demo-photo-FD-003"
    assert card["caption"].startswith("Haitian light soy sauce 500 ml")
    async with web.session.get(web.url + card["photo"]) as response:
        assert response.content_type == "image/svg+xml" and "海天 生抽 500毫升" in await response.text()


async def _card(web: WebChatClient) -> dict | None:
    return next((m for m in await web.messages(LI_MING) if m["photo"]), None)


async def test_after_a_restart_old_cards_are_never_confused_with_new_messages(tmp_path):
    """The double starts with empty chats, but the store still knows where the old cards were."""
    folder = tmp_path / "demo"
    async with running(folder) as (_, web):
        old = await order_rice(web, LI_MING)
        await web.tap(PARTNER_CG02, "确认", chat=DESK_CG02)
    async with running(folder, later=timedelta(seconds=5)) as (_, web):
        new = await order_rice(web, LI_MING)  # its card is the group's first message of this run
        await web.bot_text(PARTNER_CG02, new, chat=DESK_CG02)
        await web.send(ADMIN, "/ship CG-02")  # the old order's card is updated
        await web.bot_text(PARTNER_CG02, old, chat=DESK_CG02)
        cards = [m["text"] for m in await web.messages(PARTNER_CG02, DESK_CG02)]
    assert len(cards) == 2 and new in cards[0] and "待确认" in cards[0]  # not overwritten by the old card
    assert old in cards[1] and "运输中" in cards[1]


async def test_the_demo_market_has_produce_with_pictures_after_a_restart_too(tmp_path):
    folder = tmp_path / "demo"
    for _ in range(2):  # the second run draws the pictures again and adds no listings
        async with running(folder) as (again, web):
            await web.send(LI_MING, "/market")
            await web.tap(LI_MING, "Honey")
            await web.tap(LI_MING, "秦岭土蜂蜜")
            card = await until(lambda: _card(web), "no listing card with a photo")
            assert "¥68.00 / jin" in card["caption"] and "sold by 张兰" in card["caption"]
            async with web.session.get(web.url + card["photo"]) as response:
                assert response.content_type == "image/svg+xml" and "秦岭土蜂蜜" in await response.text()
            async with again.store.read() as session:
                assert await session.scalar(select(func.count()).select_from(Listing)) == len(MARKET)


async def test_a_partner_replies_to_the_question_in_the_group(demo, web):
    number = await order_rice(web, LI_MING)
    await web.tap(PARTNER_CG02, "拒绝", chat=DESK_CG02)
    await web.tap(PARTNER_CG02, "输入原因", chat=DESK_CG02)
    await web.bot_text(PARTNER_CG02, "请输入拒绝", chat=DESK_CG02)
    asked = [m for m in await web.messages(PARTNER_CG02, DESK_CG02) if m["force_reply"]][-1]
    assert asked["force_reply"]["for"] == [PARTNER_CG02]  # the page opens the reply for them only
    assert asked["force_reply"]["placeholder"] == "拒绝的原因"

    await web.send(PARTNER_CG02, "大家好，今天下午三点到货", chat=DESK_CG02)  # chatter, not a reply
    await web.post("/api/send", {"as": PARTNER_CG02, "chat_id": DESK_CG02, "text": "x", "reply_to": 999}, status=404)
    await web.post("/api/send", {"as": PARTNER_CG02, "chat_id": DESK_CG02, "text": "路被冲断了",
                                 "reply_to": asked["message_id"]})
    told = await web.bot_text(LI_MING, "was rejected")
    assert number in told and "路被冲断了" in told and "三点" not in told
    reply = next(m for m in await web.messages(PARTNER_CG02, DESK_CG02) if m["text"] == "路被冲断了")
    assert reply["reply_to"]["message_id"] == asked["message_id"]  # shown as a reply, with its quote
    assert reply["reply_to"]["text"].startswith("✏️")
