"""The demo in a real browser: ``rural-bot demo`` runs as its own process, and Debian's Chromium,
driven by Playwright, plays a villager, the partner and a bystander in the web chat.

Screenshots of each step are saved under ``var/screenshots/``. Without Chromium the test is
skipped with the reason, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import re
import struct
import zlib

from support.browser import WAIT, be, bot_message, phone_page, shot, tap


def test_order_confirm_and_refused_tap_in_the_browser(demo_process):
    from playwright.sync_api import expect

    villager, partner, bystander, group = 1001, 2001, 1003, -1_002_000_000_001
    with phone_page(demo_process.url) as page:
        expect(page.locator("#persona")).to_be_visible()

        # 1. The villager (Chinese) orders rice and eggs, and reads the order number.
        be(page, villager)
        page.locator("#start-button").click()
        expect(bot_message(page, "欢迎您")).to_be_visible(timeout=WAIT)  # issue 22: the first /start is a welcome
        expect(page.locator("#reply-keyboard button.rkb", has_text="🛒 购物")).to_be_visible()
        for added, (query, product) in enumerate((("大米", "大米 10公斤"), ("鸡蛋", "新鲜鸡蛋")), start=1):
            page.fill("#composer-input", query)
            page.press("#composer-input", "Enter")
            results = page.locator(".msg.bot", has=page.locator("button.ikb", has_text=product)).last
            expect(results).to_be_visible(timeout=WAIT)
            tap(page, results, product)
            card = page.locator(".msg.bot", has_text=product,
                                has=page.locator("button.ikb", has_text="加入购物车")).last
            expect(card).to_be_visible(timeout=WAIT)
            tap(page, card, "加入购物车")
            expect(page.locator(".msg.bot", has_text="已加入购物车")).to_have_count(added, timeout=WAIT)
        page.locator("#reply-keyboard button.rkb", has_text="🛍 购物车").click()
        cart = page.locator(".msg.bot", has=page.locator("button.ikb", has_text="去结算")).last
        expect(cart).to_contain_text("新鲜鸡蛋", timeout=WAIT)
        tap(page, cart, "去结算")
        checkout = page.locator(".msg.bot", has=page.locator("button.ikb", has_text="确认下单")).last
        expect(checkout).to_be_visible(timeout=WAIT)
        tap(page, checkout, "确认下单")
        placed = bot_message(page, "下单成功")
        expect(placed).to_be_visible(timeout=WAIT)
        number = re.search(r"RT-[0-9A-Z]{5}", placed.inner_text()).group(0)
        shot(page, "1-villager-placed-order")

        # 2. The partner sees the card in the center's group.
        be(page, partner, group)
        card = bot_message(page, f"订单 {number}")
        expect(card).to_contain_text("王芳", timeout=WAIT)
        expect(card).to_contain_text("大米 10公斤")
        expect(card).to_contain_text("新鲜鸡蛋")
        shot(page, "2-partner-sees-card")

        # 3. A bystander in the group taps ✅ on the same card: refused, with an alert.
        be(page, bystander, group)
        card = bot_message(page, f"订单 {number}")  # the desk reads its partner's language
        tap(page, card, "确认")
        expect(page.locator("#alert")).to_be_visible(timeout=WAIT)
        expect(page.locator("#alert-text")).to_contain_text("Only the partners of Shangyuan Village Service Center")
        shot(page, "3-bystander-refused")
        page.locator("#alert-ok").click()
        expect(page.locator("#alert")).to_be_hidden()

        # 4. The partner confirms; the card changes in place, for the bystander too.
        be(page, partner, group)
        card = bot_message(page, f"订单 {number}")
        tap(page, card, "确认")
        expect(card).to_contain_text("已确认（张伟", timeout=WAIT)
        expect(card.locator("button.ikb")).to_have_count(0)
        shot(page, "4-partner-confirmed")
        be(page, bystander, group)
        expect(bot_message(page, f"订单 {number}")).to_contain_text("已确认（张伟")

        # 5. Back to the villager: the confirmation has arrived.
        be(page, villager)
        expect(bot_message(page, f"您的订单 {number} 已确认")).to_be_visible(timeout=WAIT)
        shot(page, "5-villager-confirmed")

        # The demo clock jumps to just after the desk opens, for the morning digest.
        page.locator("#clock-morning").click()
        expect(page.locator("#clock-now")).to_contain_text("08:01", timeout=WAIT)

        # The same page on a desktop screen.
        page.set_viewport_size({"width": 1280, "height": 800})
        shot(page, "6-desktop")

    assert demo_process.interrupt() == 0


def test_a_buyer_finds_produce_in_the_market_and_orders_it_in_the_browser(demo_process):
    from playwright.sync_api import expect

    buyer = 1002  # Li Ming, English, at Qinglong
    with phone_page(demo_process.url) as page:
        be(page, buyer)
        page.locator("#start-button").click()
        # One search box: the word typed as for the shop also finds the neighbours' honey in the market.
        page.fill("#composer-input", "蜂蜜")
        page.press("#composer-input", "Enter")
        both = page.locator(".msg.bot", has=page.locator("button.ikb", has_text="🧺 秦岭土蜂蜜")).last
        expect(both).to_contain_text("From your neighbours, in the market", timeout=WAIT)
        shot(page, "6b-search-finds-the-market")
        page.locator("#reply-keyboard button.rkb", has_text="🧺 Market").click()
        front = page.locator(".msg.bot", has=page.locator("button.ikb", has_text="Honey")).last
        expect(front).to_contain_text("produce from the villages", timeout=WAIT)
        tap(page, front, "Honey")
        listings = page.locator(".msg.bot", has=page.locator("button.ikb", has_text="秦岭土蜂蜜")).last
        expect(listings).to_be_visible(timeout=WAIT)
        tap(page, listings, "秦岭土蜂蜜")
        found = page.locator(".msg.bot", has=page.locator("button.ikb", has_text="🛒 Order")).last
        expect(found).to_contain_text("¥68.00 / jin", timeout=WAIT)
        # The next steps change this card's caption in place: follow the message itself.
        card = page.locator(f'.msg[data-message-id="{found.get_attribute("data-message-id")}"]')
        expect(card).to_contain_text("sold by 张兰")
        picture = card.locator("img.photo")
        expect(picture).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
        shot(page, "7-market-listing")

        tap(page, card, "🛒 Order")
        expect(card).to_contain_text("How much", timeout=WAIT)
        tap(page, card, "2 jin")
        expect(card).to_contain_text("Total: ¥136.00", timeout=WAIT)
        tap(page, card, "Confirm order")
        expect(card).to_contain_text("placed!", timeout=WAIT)
        shot(page, "8-market-ordered")

    assert demo_process.interrupt() == 0


def test_the_partner_answers_the_bots_question_with_a_reply_in_the_browser(demo_process):
    from playwright.sync_api import expect

    villager, partner, group = 1001, 2001, -1_002_000_000_001
    with phone_page(demo_process.url) as page:
        def tap_latest(label: str) -> None:
            message = page.locator(".msg.bot", has=page.locator("button.ikb", has_text=label)).last
            expect(message).to_be_visible(timeout=WAIT)
            tap(page, message, label)

        def write(text: str) -> None:
            page.fill("#composer-input", text)
            page.press("#composer-input", "Enter")

        be(page, villager)
        write("大米")
        tap_latest("大米 10公斤")
        tap_latest("加入购物车")
        expect(bot_message(page, "已加入购物车")).to_be_visible(timeout=WAIT)
        write("/cart")
        tap_latest("去结算")
        tap_latest("确认下单")
        number = re.search(r"RT-[0-9A-Z]{5}", bot_message(page, "下单成功").inner_text(timeout=WAIT)).group(0)

        # ✏️ in the group: the question opens the reply by itself, with its placeholder.
        be(page, partner, group)
        card = bot_message(page, f"订单 {number}")
        tap(page, card, "拒绝")
        tap(page, card, "输入原因")
        expect(page.locator("#reply-bar")).to_be_visible(timeout=WAIT)
        expect(page.locator("#reply-text")).to_contain_text("请输入拒绝这个订单的原因")
        expect(page.locator("#composer-input")).to_have_attribute("placeholder", "拒绝的原因")
        expect(card).to_contain_text("等待 张伟 回复")
        shot(page, "9-partner-asked-for-a-reason")
        write("路被冲断了")
        expect(page.locator("#reply-bar")).to_be_hidden()
        expect(page.locator(".msg.own .quote")).to_contain_text("请输入拒绝", timeout=WAIT)
        expect(card).to_contain_text("原因：路被冲断了", timeout=WAIT)
        shot(page, "10-partner-replied")

        # Any message can be answered: tap it, then ↩.
        mine = page.locator(".msg.own", has_text="路被冲断了").last
        mine.locator(".bubble").click()
        mine.locator(".reply-btn").click()
        expect(page.locator("#reply-name")).to_have_text("张伟")
        page.locator("#reply-cancel").click()
        expect(page.locator("#reply-bar")).to_be_hidden()

    assert demo_process.interrupt() == 0


def tiny_png() -> bytes:
    """A real 2×2 green PNG, made here."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x20\xa0\x40" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_villager_sends_a_photo_and_a_picture_with_script_is_refused_in_the_browser(demo_process):
    from playwright.sync_api import expect

    villager = 1001
    with phone_page(demo_process.url) as page:
        be(page, villager)

        def send_file(name: str, mime_type: str, content: bytes, caption: str) -> None:
            page.set_input_files("#attach", files=[{"name": name, "mimeType": mime_type, "buffer": content}])
            expect(page.locator("#photo-dialog")).to_be_visible()
            page.fill("#photo-caption", caption)
            page.locator("#photo-send").click()

        # An SVG named and typed as a PNG: its first bytes say what it is, and it is refused.
        send_file("cat.png", "image/png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                  "not a photo")
        # The page says why in the villager's Chinese (its own words, static/i18n.js).
        expect(page.locator("#toast")).to_contain_text("只能发送 PNG、JPEG、WebP 或 GIF 图片", timeout=WAIT)
        expect(page.locator("#photo-dialog")).to_be_visible()  # still open: choose another
        page.locator("#photo-cancel").click()
        expect(page.locator(".msg.own", has_text="not a photo")).to_have_count(0)

        send_file("field.png", "image/png", tiny_png(), "我家的稻田")
        expect(page.locator("#photo-dialog")).to_be_hidden(timeout=WAIT)
        sent = page.locator(".msg.own", has_text="我家的稻田").last
        picture = sent.locator("img.photo")
        expect(picture).to_be_visible(timeout=WAIT)
        page.wait_for_function("img => img.complete && img.naturalWidth === 2", arg=picture.element_handle())
        shot(page, "11-villager-sent-a-photo")

    assert demo_process.interrupt() == 0
