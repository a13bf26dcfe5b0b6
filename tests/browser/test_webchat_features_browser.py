"""More of the web chat in a real browser (see test_webchat_browser.py): the admin sends a catalog
CSV, a long button is cut, a villager finds potatoes by a dialect word and uses the "/" menu, the
header's clock ticks, and a message landing below the fold shows a cue."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from support.browser import WAIT, be, bot_message, phone_page, shot


def test_the_admin_imports_a_csv_and_a_dialect_word_finds_produce_in_the_browser(demo_process):
    from playwright.sync_api import expect

    admin, villager = 9001, 1001
    catalog = ("sku,category,price,unit,stock,name:zh,name:en,keywords\n"
               "AM-901,agri_machinery,5200.00,set,2,摇蜜机,"
               "Honey extractor in stainless steel for three frames,蜂蜜;honey\n").encode()
    with phone_page(demo_process.url) as page:
        be(page, admin)
        page.locator("#start-button").click()

        def send_file(name: str, mime_type: str, content: bytes) -> None:
            page.set_input_files("#attach", files=[{"name": name, "mimeType": mime_type, "buffer": content}])
            expect(page.locator("#photo-dialog")).to_be_visible()
            expect(page.locator("#photo-title")).to_have_text("Send file")
            expect(page.locator("#photo-preview")).to_be_hidden()
            page.locator("#photo-send").click()

        # A web page is no catalog: refused before it reaches the bot, and the dialog stays open.
        send_file("products.html", "text/html", b"<script>alert(1)</script>")
        expect(page.locator("#toast")).to_contain_text("only CSV or plain-text files", timeout=WAIT)
        page.locator("#photo-cancel").click()

        send_file("products.csv", "text/csv", catalog)
        expect(page.locator("#doc-name")).to_be_hidden(timeout=WAIT)
        expect(page.locator(".msg.own .card.document", has_text="products.csv")).to_be_visible(timeout=WAIT)
        expect(bot_message(page, "Products imported")).to_have_text(
            re.compile("Products imported: 1 added, 0 updated"), timeout=WAIT)
        expect(page.locator(".msg.own", has_text="<script>")).to_have_count(0)
        expect(page.locator("#toast")).to_be_hidden(timeout=WAIT)  # the refusal's toast has gone
        shot(page, "12-admin-imported-a-csv")

        # Its long name is cut on its button as Telegram cuts it: one line, ending in "…".
        page.fill("#composer-input", "/search honey extractor")
        page.press("#composer-input", "Enter")
        button = page.locator("button.ikb", has_text="Honey extractor in stainless steel").last
        expect(button).to_be_visible(timeout=WAIT)
        cut = button.evaluate("b => ({cut: b.scrollWidth > b.clientWidth, style: getComputedStyle(b).textOverflow})")
        assert cut["cut"] and cut["style"] == "ellipsis"
        assert button.bounding_box()["height"] <= 48  # one line, as high as the other buttons
        shot(page, "12b-long-button-cut")

        # A villager asks for 洋芋, as they say it at home, and finds the seed potatoes (土豆).
        be(page, villager)
        page.fill("#composer-input", "洋芋")
        page.press("#composer-input", "Enter")
        results = page.locator(".msg.bot", has=page.locator("button.ikb", has_text="土豆")).last
        expect(results).to_be_visible(timeout=WAIT)
        shot(page, "13-dialect-word-finds-potatoes")

        # The "/" menu holds what the bot set with setMyCommands, in the villager's Chinese.
        page.locator("#commands-button").click()
        expect(page.locator("#command-menu .cmd-item")).to_have_count(13)
        expect(page.locator("#command-menu .cmd-item", has_text="/catalog")).to_contain_text("浏览商品")
        page.locator("#commands-button").click()
        expect(page.locator("#command-menu")).to_be_hidden()
        page.fill("#composer-input", "/ca")  # typing narrows it
        expect(page.locator("#command-menu .cmd-item")).to_have_text([re.compile("/catalog"), re.compile("/cart")])
        shot(page, "14-command-menu")
        page.locator("#command-menu .cmd-item", has_text="/cart").click()
        expect(page.locator("#command-menu")).to_be_hidden()
        expect(page.locator("#composer-input")).to_have_value("")
        expect(page.locator(".msg.own", has_text="/cart")).to_be_visible(timeout=WAIT)
        expect(page.locator(".msg.bot").last).to_contain_text("购物车", timeout=WAIT)

        # A voice note recorded in the browser (🎤, then ⏹ sends it); the bot answers it shortly.
        voice = page.locator("#voice-button")
        voice.click()
        expect(voice).to_have_attribute("aria-pressed", "true")
        expect(voice).to_have_attribute("title", "停止并发送语音")
        voice.click()
        expect(voice).to_have_attribute("aria-pressed", "false")
        expect(page.locator(".msg.own .card.voice audio")).to_have_count(1, timeout=WAIT)
        expect(page.locator(".msg.bot").last).to_contain_text("请点下面的按钮", timeout=WAIT)
        page.fill("#composer-input", "大米")  # with words typed, ➤ stands where 🎤 was
        expect(voice).to_be_hidden()
        expect(page.locator("#send")).to_be_enabled()
        page.fill("#composer-input", "")
        expect(voice).to_be_visible()
        shot(page, "16-voice-note")

    assert demo_process.interrupt() == 0


def test_the_clock_ticks_and_a_message_below_the_fold_shows_a_cue_in_the_browser(demo_process):
    from playwright.sync_api import expect

    partner, bystander, group, admin = 2001, 1003, -1_002_000_000_001, 9001
    with phone_page(demo_process.url, locale="zh-CN") as page:
        # Before a person is picked the page speaks the browser's language: here, Chinese.
        page.route("**/api/state", lambda route: route.abort())
        page.reload()
        expect(page.locator(".empty-hint.error")).to_contain_text("连不上演示", timeout=WAIT)
        page.unroute("**/api/state")
        page.clock.install()  # the page's own time, moved by the test; the demo's clock stays
        page.reload()
        # Then it speaks the language of the person it plays.
        be(page, admin)
        expect(page.locator("#composer-input")).to_have_attribute("placeholder", "Message")
        expect(page.locator("#clock-day")).to_have_text("+1 day")
        be(page, partner, group)
        expect(page.locator("#composer-input")).to_have_attribute("placeholder", "输入消息")
        expect(page.locator("#clock-day")).to_have_text("+1 天")
        expect(page.locator("#clock-bar .clock-hint")).to_contain_text("夜里的提醒等到 🌅 早上")
        shown = page.locator("#clock-now")
        expect(shown).to_have_text(re.compile(r"\d\d-\d\d \d\d:\d\d"), timeout=WAIT)
        before = datetime.strptime("2000-" + shown.inner_text(), "%Y-%m-%d %H:%M")
        page.clock.run_for("03:00")  # three minutes later, with nobody touching the page
        expect(shown).to_have_text(f"{before + timedelta(minutes=3):%m-%d %H:%M}")

        def chatter(text: str) -> None:
            """The bystander says something in the group, from their own phone."""
            page.evaluate("""([person, chat, text]) => fetch("/api/send", {method: "POST",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({as: person, chat_id: chat, text})})""", [bystander, group, text])
            expect(page.locator(".msg", has_text=text)).to_have_count(1, timeout=WAIT)

        for n in range(12):
            chatter(f"早上好 {n:02d}")
        expect(page.locator("#new-below")).to_be_hidden()  # the reader was at the bottom: it followed
        page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")
        chatter("三点到货")
        cue = page.locator("#new-below")
        expect(cue).to_be_visible()
        expect(cue).to_have_text("新消息 ↓")
        expect(page.locator(".msg", has_text="三点到货")).not_to_be_in_viewport()
        shot(page, "15-new-message-cue")
        cue.click()
        expect(page.locator(".msg", has_text="三点到货")).to_be_in_viewport()
        expect(cue).to_be_hidden()

        # In a group a command from the menu names the bot, as Telegram's app sends it.
        page.fill("#composer-input", "/hel")
        page.locator("#command-menu .cmd-item", has_text="/help").click()
        expect(page.locator(".msg.own", has_text=re.compile(r"^/help@\w+bot", re.I))).to_be_visible(timeout=WAIT)

    assert demo_process.interrupt() == 0
