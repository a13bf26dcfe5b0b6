"""The web chat's payment sheet: an invoice shows as a card with a 💳 Pay button, and the sheet plays
the Bot API double's own payment sheet (bot/demo/paysheet.py) against a small shop bot
(tests/support/shop.py): the address and the bot's delivery options, a declined card, a refused
address, a pre-checkout nobody answers, and a paid invoice that then shows its receipt. Once through
the web chat's JSON API, as its page uses it, and once in a real browser."""

from __future__ import annotations

import pytest

from bot.demo.webchat import WebChat
from bot.demo.world import DemoWorld, Role
from bot.sandbox.botapi import BotApiDouble
from bot.sandbox.payments import DECLINED_CARD, PAYING_CARD
from services.centers import CenterView
from services.clock import OffsetClock
from support.browser import WAIT, be, bot_message, phone_page, shot
from support.demo_web import WebChatClient, session_for, until
from support.shop import NO_DELIVERY, ShopInThread, running_shop

BUYER = 1001
ROLE = Role(BUYER, "王芳", "villager", "zh-hans", 0, "+8613800001001")
CENTER = CenterView(1, "CG-01", {"zh": "石门村服务站", "en": "Shimen"}, 1, {"zh": "周至县"}, "石门村", 34.16, 108.2,
                    "Mo-Su 08:00-18:00", "Asia/Shanghai")


async def web_chat(double: BotApiDouble) -> WebChat:
    """The web chat for one town buyer, serving ``double`` on a free port."""
    world = DemoWorld(double, roles=[ROLE], centers=[CENTER])
    world.person(ROLE)  # their chat with the bot
    chat = WebChat(double, world, OffsetClock(), wake=lambda: None)
    await chat.start(port=0)
    return chat


@pytest.fixture
async def shop():
    double = BotApiDouble()
    double.chat_limits = False
    await double.start()
    async with running_shop(double) as application:
        chat = await web_chat(double)
        async with session_for(chat.url) as session:
            yield double, application, WebChatClient(session, chat.url)
        await chat.stop()
    await double.stop()


async def _invoice(web: WebChatClient) -> dict:
    await web.send(BUYER, "/buy")

    async def newest():
        found = [m for m in await web.messages(BUYER) if m["invoice"] and not m["invoice"]["paid"]]
        return found[-1] if found else None
    return await until(newest, "no invoice")


async def test_an_invoice_is_paid_through_the_web_chats_sheet(shop):
    _, application, web = shop
    invoice = await _invoice(web)
    assert (invoice["invoice"]["title"], invoice["invoice"]["total_amount"]) == ("Apples", 2500)
    assert invoice["buttons"] == [[{"text": "💳 Pay ¥25.00", "pay": True}]]
    at = {"as": BUYER, "chat_id": BUYER, "message_id": invoice["message_id"]}

    sheet = await web.get(f"/api/pay/sheet?as={BUYER}&chat_id={BUYER}&message_id={invoice['message_id']}")
    prefill = sheet["prefill"]
    assert (prefill["address"]["state"], prefill["address"]["city"], prefill["phone"]) == (
        "陕西省", "西安市", "+8613800001001")
    lhasa = {"state": "西藏自治区", "city": "拉萨市", "street_line1": "北京中路 1 号"}
    refused = await web.post("/api/pay/shipping", {**at, "address": lhasa})
    assert refused["shipping"] == {"answered": True, "ok": False, "error_message": NO_DELIVERY, "options": []}
    shipping = await web.post("/api/pay/shipping", {**at, "address": prefill["address"]})
    assert [(o["id"], o["amount"]) for o in shipping["shipping"]["options"]] == [("county", 600), ("province", 1200)]

    paying = {**at, "address": prefill["address"], "option_id": "province", "name": "王芳", "phone": prefill["phone"]}
    declined = await web.post("/api/pay", {**paying, "card": DECLINED_CARD})
    assert declined["outcome"]["status"] == "declined"
    assert "paid" not in application.bot_data
    paid = await web.post("/api/pay", {**paying, "card": PAYING_CARD})
    assert paid["outcome"] == {"status": "paid", "error_message": None, "currency": "CNY", "total_amount": 3700,
                               "option_id": "province"}
    assert len(application.bot_data["shipping"]) == 2  # the same address was not asked again
    [(_, payment)] = application.bot_data["paid"]
    assert (payment.total_amount, payment.order_info.name) == (3700, "王芳")
    messages = await web.messages(BUYER)
    assert [m["payment"] for m in messages if m["payment"]] == [{"currency": "CNY", "total_amount": 3700}]
    assert next(m for m in messages if m["message_id"] == invoice["message_id"])["invoice"]["paid"] is True
    assert messages[-1]["text"] == "Paid ¥37.00, thank you!"
    again = await web.post("/api/pay", {**paying, "card": PAYING_CARD}, status=409)
    assert again["key"] == "invoice.paid"


async def test_a_pre_checkout_nobody_answers_times_out_in_the_sheet(shop):
    double, application, web = shop
    application.bot_data["mode"] = "silent"
    double.pre_checkout_limit = 0.05
    invoice = await _invoice(web)
    body = {"as": BUYER, "chat_id": BUYER, "message_id": invoice["message_id"], "card": PAYING_CARD,
            "address": {"state": "陕西省", "city": "西安市", "street_line1": "雁塔区科技路 10 号"}}
    assert (await web.post("/api/pay", body))["outcome"]["status"] == "timed_out"
    missing = await web.post("/api/pay", {**body, "address": {"state": "陕西省"}}, status=400)
    assert missing["key"] == "address.missing"


def test_a_town_buyer_pays_an_invoice_in_the_browser():
    from playwright.sync_api import expect

    shop = ShopInThread(web_chat)
    try:
        with phone_page(shop.url, locale="zh-CN") as page:
            be(page, BUYER)
            page.fill("#composer-input", "/buy")
            page.press("#composer-input", "Enter")
            card = page.locator(".msg.bot .card.invoice").last
            expect(card).to_contain_text("Apples", timeout=WAIT)
            expect(card).to_contain_text("合计：¥25.00")
            page.locator(".msg.bot button.ikb", has_text="Pay").last.click()

            sheet = page.locator("#pay-dialog")
            expect(sheet).to_be_visible()
            expect(page.locator("#pay-state")).to_have_value("陕西省")
            options = page.locator(".pay-option")
            expect(options).to_have_count(2, timeout=WAIT)
            options.nth(1).click()  # 📦 Delivery to province
            expect(page.locator("#pay-total")).to_have_text("合计：¥37.00")
            page.fill("#pay-card", DECLINED_CARD)
            page.locator("#pay-submit").click()
            expect(page.locator("#pay-result")).to_contain_text("银行卡被拒绝", timeout=WAIT)
            shot(page, "24-payment-declined")

            page.fill("#pay-card", PAYING_CARD)
            page.locator("#pay-submit").click()
            expect(page.locator("#pay-result")).to_have_text("✅ 已付款 ¥37.00", timeout=WAIT)
            shot(page, "24-payment-paid")
            page.locator("#pay-done").click()
            expect(sheet).to_be_hidden()
            expect(bot_message(page, "Paid ¥37.00, thank you!")).to_be_visible(timeout=WAIT)
            expect(page.locator(".msg.own .card.payment")).to_have_text("✅ 你已付款 ¥37.00")
            expect(page.locator(".msg.bot button.ikb", has_text="收据")).to_be_disabled()
    finally:
        shop.close()
