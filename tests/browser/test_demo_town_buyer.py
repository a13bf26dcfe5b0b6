"""The demo's town buyer, 周丽 of Xi'an, driven over HTTP as the web chat's page drives her: no
center, /start offers village produce, she orders apples from the market for delivery and pays the
invoice on the web chat's payment sheet with the pretend card; the order reaches the seller's
center's desk."""

from __future__ import annotations

import re

from bot.demo.world import group_id
from bot.sandbox.payments import PAYING_CARD
from support.demo_web import until

ZHOU, SHANGYUAN_PARTNER = 3001, 2001


async def test_the_demo_town_buyer_orders_for_delivery_and_pays_by_card(demo, web):
    await web.send(ZHOU, "/start")
    await web.tap(ZHOU, "🛍 我想买乡村农产品")
    await web.tap(ZHOU, "水果")
    await web.tap(ZHOU, "红富士苹果")
    await web.tap(ZHOU, "🛒 下单")
    await web.tap(ZHOU, "2 斤")
    await web.tap(ZHOU, "🚚 送货到我的地址")

    async def invoice():
        found = [m for m in await web.messages(ZHOU) if m["invoice"]]
        return found[-1] if found else None
    sent = await until(invoice, "no invoice")
    assert (sent["invoice"]["title"], sent["invoice"]["total_amount"]) == ("红富士苹果", 900)
    at = {"as": ZHOU, "chat_id": ZHOU, "message_id": sent["message_id"]}
    sheet = await web.get(f"/api/pay/sheet?as={ZHOU}&chat_id={ZHOU}&message_id={sent['message_id']}")
    address = sheet["prefill"]["address"]
    shipping = await web.post("/api/pay/shipping", {**at, "address": address})
    assert shipping["shipping"]["ok"], shipping
    [option] = shipping["shipping"]["options"]
    paid = await web.post("/api/pay", {**at, "address": address, "option_id": option["id"], "name": "周丽",
                                       "phone": sheet["prefill"]["phone"], "card": PAYING_CARD})
    assert paid["outcome"]["status"] == "paid", paid
    receipt = await web.bot_text(ZHOU, "付款成功")
    number = re.search(r"RT-[0-9A-Z]{5}", receipt).group(0)
    assert "/track" in receipt
    card = await web.bot_text(SHANGYUAN_PARTNER, number, chat=group_id(0))
    assert number in card
