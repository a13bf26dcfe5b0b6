"""What the web chat sends besides text, and its "/" menu, driven over HTTP as the page drives them:
the admin's catalog CSV reaching the catalog, files that are not text refused, and the commands
the bot set with setMyCommands, by scope and language."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from support.demo_web import ADMIN, DESK_CG02, LI_MING, PARTNER_CG02, PNG, document_body

CATALOG = ("sku,category,price,unit,stock,name:zh,name:en,keywords\n"
           "AM-901,agri_machinery,5200.00,set,2,摇蜜机,Honey extractor,蜂蜜;honey\n").encode()


async def test_the_admin_imports_a_csv_and_only_text_files_are_documents(demo, web):
    await web.send(ADMIN, "/start")
    await web.post("/api/document", document_body(ADMIN, "C:\\Users\\zhou\\products.csv", CATALOG))
    assert await web.bot_text(ADMIN, "Products imported") == "✅ Products imported: 1 added, 0 updated."
    sent = next(m for m in await web.messages(ADMIN) if m["document"])
    assert sent["document"]["name"] == "products.csv"  # the folders are not sent
    async with web.session.get(web.url + sent["document"]["url"]) as response:
        assert response.content_type == "text/csv" and await response.read() == CATALOG
        assert "sandbox" in response.headers["Content-Security-Policy"]
    await web.send(LI_MING, "/search honey extractor")
    await web.tap(LI_MING, "Honey extractor")  # the import reached the catalog: the product is found
    assert "5200" in await web.bot_text(LI_MING, "Honey extractor")

    refused = "only CSV or plain-text files (.csv, .txt) can be sent"
    for name, content in (("products.svg", b"<svg/>"), ("products.csv", b"sku\x00,\x01"), (".csv", b"sku\n"),
                          ("tool.exe", b"MZ"), ("products.csv", PNG + b"-png")):
        assert (await web.post("/api/document", document_body(ADMIN, name, content), status=400))["error"] == refused
    too_big = await web.post("/api/document", document_body(ADMIN, "big.csv", b"a," * (1024 * 1024 + 1)), status=413)
    assert too_big["error"] == "the file is larger than 2 MB"
    assert (too_big["key"], too_big["params"]) == ("too.large", {"mb": 2})  # the page says it in the person's words
    await web.post("/api/document", {"as": ADMIN, "chat_id": ADMIN, "file_name": "x.csv", "document": "!!"},
                   status=400)
    assert sum(1 for m in await web.messages(ADMIN) if m["document"]) == 1


async def test_the_command_menu_shows_what_the_bot_set_in_each_language(demo, web):
    menus = {person: (await web.get(f"/api/chats/{chat}?as={person}"))["commands"]
             for person, chat in ((1001, 1001), (LI_MING, LI_MING), (PARTNER_CG02, DESK_CG02))}
    assert menus[1001] == demo.double.commands[("default", "zh")]  # set by the bot at start
    assert {"command": "start", "description": "Start and choose your service center"} in menus[LI_MING]
    assert menus[LI_MING] == demo.double.commands[("default", "en")]
    assert [c["command"] for c in menus[1001]] == [c["command"] for c in menus[LI_MING]]
    assert menus[1001] != menus[LI_MING]  # the same commands, described in Chinese
    assert menus[PARTNER_CG02] == demo.double.commands[("default", "zh")]

    # A narrower scope wins: the private chats' list, then the list of one chat.
    demo.double.commands[("all_private_chats", "")] = [{"command": "help", "description": "Help"}]
    demo.double.commands[(f"chat:{DESK_CG02}", "zh")] = [{"command": "orders", "description": "订单"}]
    assert (await web.get(f"/api/chats/{LI_MING}?as={LI_MING}"))["commands"] == [
        {"command": "help", "description": "Help"}]
    assert (await web.get(f"/api/chats/{DESK_CG02}?as={PARTNER_CG02}"))["commands"] == [
        {"command": "orders", "description": "订单"}]


async def test_a_voice_note_reaches_the_bot_and_only_recordings_are_voice(demo, web):
    await web.send(LI_MING, "/start")
    webm = b"\x1a\x45\xdf\xa3-webm-opus"
    await web.post("/api/voice", {"as": LI_MING, "chat_id": LI_MING, "voice": base64.b64encode(webm).decode(),
                                  "duration": 3.4})
    assert "Please use the buttons below" in await web.bot_text(LI_MING, "buttons below")  # the bot's short answer
    sent = next(m for m in await web.messages(LI_MING) if m["voice"])
    assert sent["voice"]["duration"] == 3
    async with web.session.get(web.url + sent["voice"]["url"]) as response:
        assert response.content_type == "audio/webm" and await response.read() == webm
    for content in (PNG, b"<svg/>", b"ID3-mp3"):
        refused = await web.post("/api/voice", {"as": LI_MING, "chat_id": LI_MING,
                                                "voice": base64.b64encode(content).decode()}, status=400)
        assert refused["error"] == "a voice note must be an Ogg or WebM recording"
    too_long = base64.b64encode(b"OggS" + b"\x00" * (1024 * 1024)).decode()
    await web.post("/api/voice", {"as": LI_MING, "chat_id": LI_MING, "voice": too_long}, status=413)
    assert sum(1 for m in await web.messages(LI_MING) if m["voice"]) == 1


def test_every_refusal_a_person_can_meet_is_said_in_both_languages_of_the_page():
    """The page's own words include the server's refusals: each key the server gives is in i18n.js,
    in English and in Chinese."""
    root = Path(__file__).resolve().parents[2] / "bot" / "demo"
    keys = set()
    for source in ("uploads.py", "webchat.py", "webguard.py", "paysheet.py"):
        keys |= set(re.findall(r'Refused\(\d+, [^\n]*?, "([a-z.]+)"', (root / source).read_text()))
    assert len(keys) >= 10
    words = (root / "static" / "i18n.js").read_text()
    english, chinese = words.split("\n  zh: {", 1)
    for key in keys:
        assert f'"refused.{key}":' in english, key
        assert f'"refused.{key}":' in chinese, key
