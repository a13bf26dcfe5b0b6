"""Tests for the Telegram Bot API double, driven by a real PTB Bot / Application."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from aiohttp import web
from telegram import (Bot, BotCommand, BotCommandScopeAllGroupChats, InlineKeyboardButton,
                      InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup,
                      ReplyKeyboardRemove, Update)
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter
from telegram.ext import (ApplicationBuilder, CallbackQueryHandler, ChatMemberHandler,
                          CommandHandler, ContextTypes, MessageHandler, filters)

from bot.sandbox.botapi import BotApiDouble

TOKEN = "123456:TEST-token-aaaaaaaaaaaaaaaaaaaaaaaa"
NOT_MODIFIED = "message is not modified"


@pytest.fixture
async def double():
    server = BotApiDouble()
    server.chat_limits = False  # these tests send at machine speed; the limits have their own below
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(double):
    async with Bot(TOKEN, base_url=double.base_url, base_file_url=double.base_file_url) as tg:
        yield tg


@pytest.fixture
def alice(double):
    return double.person(1001, "Alice", username="alice")


# ---- a small real PTB application ----------------------------------------------------------
async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("🥬 Vegetables", callback_data="cat:veg"),
                                      InlineKeyboardButton("Help", callback_data="help")]])
    await update.message.reply_html(
        f"<b>Welcome</b>, {update.effective_user.first_name}! Choose a category:",
        reply_markup=keyboard)


async def _button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query.data == "help":
        await query.answer("Call the village service center", show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(f"Category: {query.data}")


async def _where(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("📍 Send location", request_location=True)],
                                    ["Cancel"]], resize_keyboard=True)
    await update.message.reply_text("Where are you?", reply_markup=keyboard)


async def _location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    loc = update.message.location
    await update.message.reply_text(f"Pickup near {loc.latitude:.2f},{loc.longitude:.2f}",
                                    reply_markup=ReplyKeyboardRemove())


async def _document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    file = await update.message.document.get_file()
    data = await file.download_as_bytearray()
    await update.message.reply_text(f"{update.message.document.file_name}: {data.decode()}")


async def _media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    kinds = [k for k in ("sticker", "voice", "contact", "photo") if getattr(message, k)]
    await message.reply_text(f"got {kinds[0]} {message.caption or ''}".strip())


async def _added(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.my_chat_member.new_chat_member.status == "member":
        await context.bot.send_message(update.effective_chat.id, "Hello village!")


async def _record_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    context.bot_data.setdefault("errors", []).append(context.error)


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def app(double):
    application = (ApplicationBuilder().token(TOKEN).base_url(double.base_url)
                   .base_file_url(double.base_file_url).build())
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(CommandHandler("where", _where))
    application.add_handler(CallbackQueryHandler(_button))
    application.add_handler(MessageHandler(filters.LOCATION, _location))
    application.add_handler(MessageHandler(filters.Document.ALL, _document))
    application.add_handler(MessageHandler(
        filters.Sticker.ALL | filters.VOICE | filters.CONTACT | filters.PHOTO, _media))
    application.add_handler(ChatMemberHandler(_added, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(_record_error)
    double.settle = lambda: application.update_queue.join()
    error_log = _ErrorLog()
    logging.getLogger().addHandler(error_log)
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()
    logging.getLogger().removeHandler(error_log)
    assert application.bot_data.get("errors", []) == []
    assert [r.getMessage() for r in error_log.records] == []


# ---- plain Bot API behaviour ---------------------------------------------------------------
async def test_get_me_and_call_log(double, bot):
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        7000000001, "rural_test_bot", "Rural Bot", True)
    assert double.base_url == f"http://127.0.0.1:{double.port}/bot"
    assert double.token == TOKEN
    assert [c.method for c in double.calls] == ["getMe", "getMe"]  # initialize() + get_me()


async def test_send_message_records_plain_text_from_html(double, bot, alice):
    sent = await bot.send_message(alice.id, "<b>Eggs</b> &amp; <i>rice</i> &lt;fresh&gt;",
                                  parse_mode="HTML")
    record = alice.chat.last_bot_message()
    assert sent.text == record.text == "Eggs & rice <fresh>"
    assert record.html == "<b>Eggs</b> &amp; <i>rice</i> &lt;fresh&gt;"
    assert record.entities == [{"type": "bold", "offset": 0, "length": 4},
                               {"type": "italic", "offset": 7, "length": 4}]
    assert (record.message_id, record.chat_id, record.sender) == (
        sent.message_id, alice.id, double.bot_user)
    assert double.calls_to("sendMessage")[0]["parse_mode"] == "HTML"


async def test_callback_data_over_64_bytes_rejected(double, bot, alice):
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])
    await bot.send_message(alice.id, "64 bytes", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a" * 65)]])
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(alice.id, "65 bytes", reply_markup=too_long)
    assert [m.text for m in alice.chat.bot_messages()] == ["64 bytes"]


async def test_inline_button_needs_exactly_one_action(bot, alice):
    two = {"inline_keyboard": [[{"text": "x", "callback_data": "a", "url": "https://a.cn"}]]}
    with pytest.raises(BadRequest, match="(?i)exactly one"):
        await bot.send_message(alice.id, "hi", reply_markup=two)
    with pytest.raises(BadRequest, match="(?i)text buttons are unallowed"):
        await bot.send_message(alice.id, "hi", reply_markup={"inline_keyboard": [[{"text": "x"}]]})


async def test_text_length_limits(bot, alice):
    await bot.send_message(alice.id, "a" * 4096)
    with pytest.raises(BadRequest, match="(?i)^Message is too long$"):
        await bot.send_message(alice.id, "a" * 4097)
    with pytest.raises(BadRequest, match="(?i)too long"):  # 2049 emoji = 4098 UTF-16 units
        await bot.send_message(alice.id, "😀" * 2049)
    await bot.send_message(alice.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)text is empty"):
        await bot.send_message(alice.id, "<b></b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(alice.id, "https://example.com/egg.jpg", caption="c" * 1025)


async def test_edits_keep_the_length_and_button_limits(double, bot, alice):
    sent = await bot.send_message(alice.id, "short", parse_mode="HTML")
    with pytest.raises(BadRequest, match="^Message is too long$"):  # 4097 after "&amp;" is one "&"
        await bot.edit_message_text("&amp;" * 4097, alice.id, sent.message_id, parse_mode="HTML")
    await bot.edit_message_text("&amp;" * 4096, alice.id, sent.message_id, parse_mode="HTML")
    forged = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="数" * 22)]])  # 66 bytes
    with pytest.raises(BadRequest, match="^Button_data_invalid$"):
        await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=forged)
    photo = await bot.send_photo(alice.id, "https://example.com/egg.jpg", caption="egg")
    with pytest.raises(BadRequest, match="^Message caption is too long$"):
        await bot.edit_message_caption(alice.id, photo.message_id, caption="😀" * 513)  # 1026 units
    assert alice.chat.message(sent.message_id).text == "&" * 4096


def _buttons(n: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(str(i), callback_data=f"b:{i}")
                                  for i in range(row, min(row + 8, n))] for row in range(0, n, 8)])


async def test_more_than_100_inline_buttons_refused(double, bot, alice):
    sent = await bot.send_message(alice.id, "100 buttons", reply_markup=_buttons(100))
    with pytest.raises(BadRequest, match="^Reply markup is too long$"):
        await bot.send_message(alice.id, "101 buttons", reply_markup=_buttons(101))
    with pytest.raises(BadRequest, match="^Reply markup is too long$"):
        await bot.edit_message_text("more", alice.id, sent.message_id, reply_markup=_buttons(101))
    with pytest.raises(BadRequest, match="^Reply markup is too long$"):
        await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=_buttons(120))
    assert [len(sum(m.buttons, [])) for m in alice.chat.bot_messages()] == [100]


class _Seconds:
    """A monotonic clock for the double's limits that the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _refused_with(double, send) -> str:
    """Telegram's raw answer to a request the double refuses (the bot library reformats it)."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{double.base_url}{TOKEN}/sendMessage", json=send) as resp:
            body = await resp.json()
            assert resp.status == body["error_code"]
            return body


async def test_a_burst_to_one_chat_gets_429_with_retry_after(bot, alice):
    double = alice.double
    double.chat_limits, double.monotonic = True, _Seconds()
    for i in range(5):  # the burst allowance
        await bot.send_message(alice.id, f"burst {i}")
    assert await _refused_with(double, {"chat_id": alice.id, "text": "one more"}) == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1}}
    with pytest.raises(RetryAfter):
        await bot.send_message(alice.id, "and again")
    double.monotonic.now += 1  # one a second, sustained
    await bot.send_message(alice.id, "after a second")
    with pytest.raises(RetryAfter):
        await bot.send_message(alice.id, "too soon")
    other = double.person(1002, "Bob")  # the limit is per chat
    await bot.send_message(other.id, "to Bob")
    sent = alice.chat.last_bot_message()
    await bot.edit_message_text("edits are not new messages", alice.id, sent.message_id)
    await bot.edit_message_text("not limited", alice.id, sent.message_id)
    double.person_acted()  # a person takes a few seconds to read and tap: the bucket fills again
    await bot.send_message(alice.id, "a reply to the tap")
    assert [m.text for m in alice.chat.bot_messages()] == [
        "burst 0", "burst 1", "burst 2", "burst 3", "burst 4", "not limited", "a reply to the tap"]
    assert [r for _, r in double.chat_limit_refusals] == [1, 1, 1]


async def test_more_than_20_messages_a_minute_to_one_group_get_429(bot, alice):
    double = alice.double
    double.chat_limits, double.monotonic = True, _Seconds()
    group = double.group(-5001, "Village desk")
    group.bot_status = "member"
    for i in range(20):  # one a second: within the per-chat pace, not within the group's minute
        await bot.send_message(group.id, f"card {i}")
        double.monotonic.now += 1
    body = await _refused_with(double, {"chat_id": group.id, "text": "card 20"})
    assert body == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 40",
                    "parameters": {"retry_after": 40}}
    double.monotonic.now += 39
    with pytest.raises(RetryAfter):
        await bot.send_message(group.id, "card 20")
    double.monotonic.now += 1  # the first card left the minute
    await bot.send_message(group.id, "card 20")
    assert len(group.bot_messages()) == 21
    for i in range(3):  # a private chat has no minute limit, only the pace
        await bot.send_message(alice.id, f"hi {i}")
        double.monotonic.now += 1


@pytest.mark.parametrize("html, reason", [
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<x>y</x>", 'Unsupported start tag "x" at byte offset 0'),
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("ok&nbsp;", 'Unsupported HTML entity "&nbsp;" at byte offset 2'),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ('é<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 2'),
])
async def test_malformed_html_rejected(bot, alice, html, reason):
    with pytest.raises(BadRequest) as info:
        await bot.send_message(alice.id, html, parse_mode="HTML")
    assert info.value.message == f"Can't parse entities: {reason}".capitalize()
    assert alice.chat.messages == []


@pytest.mark.parametrize("html, text", [
    ("&lt;b&gt;", "<b>"),
    ("<b>bold <i>both <u>all</u></i></b>", "bold both all"),
    ('<a href="https://x.cn/?a=1&amp;b=2">shop</a> &#x1F600;&#65;', "shop 😀A"),
    ('<pre><code class="language-python">x = 1</code></pre>', "x = 1"),
    ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>'
     '<blockquote expandable>q</blockquote>', "stq"),
    ("Tom & Jerry", "Tom & Jerry"),
])
async def test_valid_html_accepted(bot, alice, html, text):
    sent = await bot.send_message(alice.id, html, parse_mode="HTML")
    assert sent.text == alice.chat.last_bot_message().text == text


async def test_plain_text_is_not_parsed(bot, alice):
    await bot.send_message(alice.id, "a < b &nbsp; <x>")
    assert alice.chat.last_bot_message().text == "a < b &nbsp; <x>"
    assert alice.chat.last_bot_message().html is None


async def test_edit_rules(double, bot, alice):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Buy", callback_data="buy:1")]])
    sent = await bot.send_message(alice.id, "<b>Rice</b> 5 kg", parse_mode="HTML",
                                  reply_markup=keyboard)
    with pytest.raises(BadRequest, match="(?i)" + NOT_MODIFIED):  # same rendering, same keyboard
        await bot.edit_message_text("<strong>Rice</strong> 5 kg", alice.id, sent.message_id,
                                    parse_mode="HTML", reply_markup=keyboard)
    await bot.edit_message_text("Rice 10 kg", alice.id, sent.message_id, reply_markup=keyboard)
    record = alice.chat.message(sent.message_id)
    assert (record.text, record.edited, record.edit_count) == ("Rice 10 kg", True, 1)
    assert record.buttons[0][0].callback_data == "buy:1"
    with pytest.raises(BadRequest, match="(?i)" + NOT_MODIFIED):
        await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=keyboard)
    await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=None)
    assert (record.buttons, record.edit_count) == ([], 2)
    with pytest.raises(BadRequest, match="(?i)^Message to edit not found$"):
        await bot.edit_message_text("x", alice.id, 999)
    photo = await bot.send_photo(alice.id, "https://example.com/rice.jpg", caption="Rice")
    with pytest.raises(BadRequest, match="(?i)there is no text in the message to edit"):
        await bot.edit_message_text("x", alice.id, photo.message_id)
    await bot.edit_message_caption(alice.id, photo.message_id, caption="Rice, new crop")
    assert alice.chat.message(photo.message_id).caption == "Rice, new crop"


async def test_delete_message(bot, alice):
    sent = await bot.send_message(alice.id, "temporary")
    assert await bot.delete_message(alice.id, sent.message_id) is True
    assert alice.chat.message(sent.message_id).deleted
    assert alice.chat.bot_messages() == []
    with pytest.raises(BadRequest, match="(?i)^Message to delete not found$"):
        await bot.delete_message(alice.id, sent.message_id)


async def test_unknown_chat_and_blocked_person(double, bot, alice):
    with pytest.raises(BadRequest, match="(?i)^Chat not found$"):
        await bot.send_message(424242, "hi")
    await bot.send_message(alice.id, "before")
    alice.blocks_bot()
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(alice.id, "after")
    assert [m.text for m in alice.chat.bot_messages()] == ["before"]
    kicked = double.pending_updates[-1]["my_chat_member"]["new_chat_member"]
    assert kicked["status"] == "kicked"


async def test_get_updates_long_poll_and_offset(double, bot, alice):
    loop = asyncio.get_running_loop()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await double.wait_for(lambda: double.calls_to("getUpdates"))
    assert not poll.done()  # held open: nothing to deliver yet
    started = loop.time()
    update_id = double.inject({"message": {
        "message_id": 1, "date": 0, "chat": alice.chat.to_dict(), "from": alice.to_dict(),
        "text": "hello"}})
    updates = await asyncio.wait_for(poll, 3)
    assert loop.time() - started < 3
    assert [(u.update_id, u.message.text) for u in updates] == [(update_id, "hello")]
    acked = double.acknowledged(update_id)
    again = await bot.get_updates(timeout=0)  # not acknowledged yet: delivered again
    assert [u.update_id for u in again] == [update_id] and not acked.done()
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert acked.done() and double.pending_updates == []


async def test_answer_callback_query_rules(double, bot, alice):
    sent = await bot.send_message(alice.id, "pick", reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("A", callback_data="a")]]))
    message = alice.chat.message(sent.message_id)
    now = [100.0]
    double.monotonic = lambda: now[0]
    double.inject({"callback_query": {"id": "q1", "from": alice.to_dict(), "chat_instance": "1",
                                      "message": message.to_dict(), "data": "a"}})
    with pytest.raises(BadRequest, match="(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query("q1", text="x" * 201)
    assert double.callback_answers["q1"].took is None  # not answered yet
    now[0] = 100.25
    assert await bot.answer_callback_query("q1", text="ok") is True
    assert double.callback_answers["q1"].took == 0.25  # from the tap reaching the double to its answer
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("q1", text="again")
    with pytest.raises(BadRequest, match="(?i)query ID is invalid"):
        await bot.answer_callback_query("nope")
    assert (double.callback_answers["q1"].text, double.callback_answers["q1"].answered) == (
        "ok", True)


async def test_my_commands_stored_per_language_and_scope(double, bot):
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("order", "Order")])
    await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh")
    await bot.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeAllGroupChats())
    assert [c.command for c in await bot.get_my_commands()] == ["start", "order"]
    assert [(c.command, c.description) for c in await bot.get_my_commands(
        language_code="zh")] == [("start", "开始")]
    assert await bot.get_my_commands(language_code="en") == ()
    assert double.commands[("all_group_chats", "")] == [{"command": "help", "description": "Help"}]
    await bot.delete_my_commands(language_code="zh")
    assert await bot.get_my_commands(language_code="zh") == ()
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start!", "bad")])


async def test_photo_upload_and_file_download(double, bot, alice):
    sent = await bot.send_photo(alice.id, photo=b"\x89PNG-fake", caption="<b>Fresh</b> eggs",
                                parse_mode="HTML")
    record = alice.chat.last_bot_message()
    assert (record.caption, record.caption_html) == ("Fresh eggs", "<b>Fresh</b> eggs")
    assert record.photo == sent.photo[-1].file_id
    file = await bot.get_file(sent.photo[-1].file_id)
    assert file.file_path.startswith(f"{double.base_file_url}{TOKEN}/photos/")
    assert await file.download_as_bytearray() == bytearray(b"\x89PNG-fake")
    await bot.send_photo(alice.id, "https://example.com/egg.jpg")
    assert alice.chat.last_bot_message().photo == "https://example.com/egg.jpg"
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_photo(alice.id, "not-a-file-id")


async def test_raw_http_formats(double):
    EMPTY = "Bad Request: message text is empty"  # noqa: N806
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{double.base_url}{TOKEN}/getMe") as resp:
            assert (await resp.json())["result"]["username"] == "rural_test_bot"
        double.person(5, "Eve")
        url = f"{double.base_url}{TOKEN}/sendMessage"
        async with http.post(url, json={"chat_id": 5, "text": "via json"}) as resp:
            body = await resp.json()
            assert (resp.status, body["ok"], body["result"]["text"]) == (200, True, "via json")
        async with http.post(url, data={"chat_id": "5", "text": ""}) as resp:
            assert (resp.status, await resp.json()) == (400, {"ok": False, "error_code": 400,
                                                              "description": EMPTY})
        async with http.post(f"{double.base_url}{TOKEN}/sendNothing") as resp:
            assert (resp.status, await resp.json()) == (
                404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_action_times_out_when_bot_does_not_poll(double, alice):
    double.action_timeout = 0.2
    with pytest.raises(AssertionError, match="bot did not fetch update 1 within 0.2 s"):
        await alice.send("/start")


# ---- a real Application driven by people ----------------------------------------------------
async def test_start_reply_visible_when_send_returns(double, app, alice):
    plain = await alice.send("rice please")  # no handler: still fetched and settled
    assert (plain.text, plain.entities, plain.message_id) == ("rice please", [], 1)
    sent = await alice.send("/start")
    assert sent.entities == [{"type": "bot_command", "offset": 0, "length": 6}]
    reply = alice.chat.last_bot_message()
    assert reply.text == "Welcome, Alice! Choose a category:"
    assert reply.html.startswith("<b>Welcome</b>")
    assert [[b.text for b in row] for row in reply.buttons] == [["🥬 Vegetables", "Help"]]


async def test_tap_inline_buttons(double, app, alice):
    await alice.send("/start")
    menu = alice.chat.last_bot_message()
    with pytest.raises(AssertionError, match=r"'Fruit'.*\['🥬 Vegetables', 'Help'\]"):
        await alice.tap("Fruit")
    answer = await alice.tap("Help")
    assert (answer.answered, answer.text, answer.show_alert) == (
        True, "Call the village service center", True)
    assert alice.alerts == ["Call the village service center"]
    answer = await alice.tap("Vegetables")  # partial match
    assert (answer.answered, answer.text, answer.show_alert) == (True, None, False)
    assert (menu.text, menu.edited, menu.buttons) == ("Category: cat:veg", True, [])
    with pytest.raises(AssertionError, match="no bot message with an inline keyboard"):
        await alice.tap("Help")


async def test_stale_tap_surfaces_bot_mistake(double, app, alice):
    await alice.send("/start")
    menu = alice.chat.last_bot_message()
    await alice.tap("Vegetables")
    answer = await alice.tap_data("cat:veg", menu)  # stale: the keyboard is already gone
    assert answer.answered
    errors = app.bot_data.pop("errors")  # the bot re-edits with identical text
    assert [type(e) for e in errors] == [BadRequest]
    assert "not modified" in errors[0].message


async def test_person_media_reach_the_bot(double, app, alice):
    await alice.send_sticker()
    assert alice.chat.last_bot_message().text == "got sticker"
    await alice.send_voice()
    assert alice.chat.last_bot_message().text == "got voice"
    await alice.share_contact("+8613900000000")
    assert alice.chat.last_bot_message().text == "got contact"
    sent = await alice.send_photo(caption="my eggs")
    assert alice.chat.last_bot_message().text == "got photo my eggs"
    assert sent.photo in double.files and sent.caption == "my eggs"


async def test_reply_keyboard_press_location(double, app, alice):
    await alice.send("/where")
    assert [[b.text for b in row] for row in alice.chat.reply_keyboard] == [
        ["📍 Send location"], ["Cancel"]]
    with pytest.raises(AssertionError, match=r"'Help'.*\['📍 Send location', 'Cancel'\]"):
        await alice.press("Help")
    shared = await alice.press("📍 Send location", latitude=30.123, longitude=104.456)
    assert shared.location == {"latitude": 30.123, "longitude": 104.456}
    assert alice.chat.last_bot_message().text == "Pickup near 30.12,104.46"
    assert alice.chat.reply_keyboard is None


async def test_person_document_downloaded_by_bot(double, app, alice):
    await alice.send_document("prices.csv", b"rice,5\n", mime_type="text/csv")
    assert alice.chat.last_bot_message().text == "prices.csv: rice,5\n"
    assert "getFile" in [c.method for c in double.calls]


async def test_group_membership_updates(double, app, alice):
    bob = double.person(1002, "Bob")
    group = double.group(-1001234567890, "Village")
    await double.add_bot_to_group(group, by=alice)
    assert group.last_bot_message().text == "Hello village!"
    group.add_member(bob)
    await bob.send("/start@rural_test_bot", chat=group)
    assert group.last_bot_message().text == "Welcome, Bob! Choose a category:"
    await double.remove_bot_from_group(group, by=alice)
    with pytest.raises(Forbidden, match="(?i)not a member"):
        await app.bot.send_message(group.id, "still here?")


async def test_group_becomes_a_supergroup_and_says_so_both_ways(double, app, alice):
    group = double.group(-4000123, "Village")
    await double.add_bot_to_group(group, by=alice)
    heard = []
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, lambda update, _: _heard(heard, update)), group=1)

    supergroup = await double.migrate_to_supergroup(group, by=alice)
    assert supergroup.type == "supergroup" and supergroup.id == -1000004000123
    assert alice.id in supergroup.members and supergroup.bot_status == "member"
    assert heard == [(group.id, supergroup.id, None), (supergroup.id, None, group.id)]

    with pytest.raises(ChatMigrated) as refused:
        await app.bot.send_message(group.id, "still there?")
    assert refused.value.new_chat_id == supergroup.id
    assert not isinstance(refused.value, BadRequest)  # PTB's ChatMigrated is no BadRequest
    with pytest.raises(ChatMigrated):
        await app.bot.edit_message_text("edited", group.id, group.bot_messages()[0].message_id)
    await app.bot.send_message(supergroup.id, "here now")
    assert supergroup.last_bot_message().text == "here now"
    with pytest.raises(AssertionError, match="became the supergroup"):
        await alice.send("hello", chat=group)


async def test_a_group_can_migrate_without_the_bot_hearing_it(double, app, alice):
    group = double.group(-4000124, "Village")
    await double.add_bot_to_group(group, by=alice)
    heard = []
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, lambda update, _: _heard(heard, update)), group=1)
    supergroup = await double.migrate_to_supergroup(group, by=alice, service_messages=False,
                                                    chat_id=-1009999999999)
    await alice.send("/start", chat=supergroup)  # updates still flow; no service message came first
    assert heard == [] and supergroup.id == -1009999999999
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{double.base_url}{TOKEN}/sendMessage",
                             json={"chat_id": group.id, "text": "hi"}) as response:
            assert response.status == 400
            assert await response.json() == {
                "ok": False, "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -1009999999999}}


async def _heard(heard: list, update: Update) -> None:
    message = update.effective_message
    heard.append((message.chat.id, message.migrate_to_chat_id, message.migrate_from_chat_id))


async def test_commands_links_mentions_and_hashtags_are_detected_as_telegram_does(bot, alice):
    text = "Try /cart or /search@rural_test_bot, see https://t.me/rural_test_bot?start=p1. Ask @laozhang #新米 a/b <code>/not</code>"
    await bot.send_message(alice.id, text, parse_mode="HTML")
    message = alice.chat.last_bot_message()
    found = [(e["type"], message.text[e["offset"]:e["offset"] + e["length"]]) for e in message.entities]
    assert found == [("bot_command", "/cart"), ("bot_command", "/search@rural_test_bot"),
                     ("url", "https://t.me/rural_test_bot?start=p1"), ("mention", "@laozhang"),
                     ("hashtag", "#新米"), ("code", "/not")]
    await bot.send_message(alice.id, "😀 /help")  # offsets count UTF-16 units: the emoji is two
    assert alice.chat.last_bot_message().entities == [{"type": "bot_command", "offset": 3, "length": 5}]


# ---- the load balancer in front of several webhook servers ---------------------------------
@pytest.mark.parametrize("balance, quick_server_gets", [("turns", [2, 4]), ("least", [2, 3, 4, 5])])
async def test_webhook_load_balancer(double, bot, balance, quick_server_gets):
    """One server holds the first update it gets; the other answers at once. In turns, every
    other update waits behind the held one; "least" sends the next ones to the free server."""
    release = asyncio.Event()
    received: dict[str, list[int]] = {"held": [], "quick": []}

    def server(name: str) -> web.Application:
        async def receive(request: web.Request) -> web.Response:
            received[name].append((await request.json())["update_id"])
            if name == "held":
                await release.wait()
            return web.Response()
        app = web.Application()
        app.router.add_post("/hook", receive)
        return app

    runners = [web.AppRunner(server(name)) for name in received]
    try:
        for runner in runners:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
        double.webhook_targets = [f"http://127.0.0.1:{runner.addresses[0][1]}" for runner in runners]
        double.webhook_balance = balance
        await bot.set_webhook("https://bot.example/hook")
        for text in "12345":
            update_id = double.inject({"message": {"text": text}})
            # posted, and answered unless held: the next one is balanced knowing that
            await double.wait_for(lambda: update_id in received["held"]
                                  or any(posted[0] == update_id for posted in double.webhook_posts))
        assert received == {"held": sorted(set(range(1, 6)) - set(quick_server_gets)), "quick": quick_server_gets}
    finally:
        release.set()
        for runner in runners:
            await runner.cleanup()


async def test_json_nested_too_deep_is_a_400_not_a_crash(bot, alice):
    """The double reads JSON as the bot's own endpoints do: nesting past a Bot API call's few
    levels is refused as bad JSON, in the body and in a field such as reply_markup."""
    deep = "[" * 5000 + "]" * 5000
    assert await _refused_with(alice.double, {"chat_id": alice.id, "text": "hi", "reply_markup": deep}) == {
        "ok": False, "error_code": 400, "description": "Bad Request: can't parse reply_markup JSON object"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{alice.double.base_url}{TOKEN}/sendMessage", data='{"a":' * 5000 + "1" + "}" * 5000,
                             headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 400
            assert (await resp.json())["description"] == "Bad Request: can't parse JSON request body"
    await bot.send_message(alice.id, "still here")
    assert alice.chat.last_bot_message().text == "still here"


# ---- inline mode -------------------------------------------------------------------------------
async def _answer(http, double, **params) -> tuple[int, dict]:
    async with http.post(f"{double.base_url}{TOKEN}/answerInlineQuery", json=params) as resp:
        return resp.status, await resp.json()


def _article(result_id: str, **extra) -> dict:
    return {"type": "article", "id": result_id, "title": "Eggs",
            "input_message_content": {"message_text": "<b>Eggs</b>", "parse_mode": "HTML"}, **extra}


async def test_inline_queries_answers_checked_and_a_result_posted_via_the_bot(double, bot, alice):
    me = await bot.get_me()
    assert me.supports_inline_queries and me.username == "rural_test_bot"
    group = double.group(-300, "Family")
    group.add_member(alice)
    photo = double.store_file("photo", b"\xff\xd8-eggs", "eggs.jpg", "image/jpeg").file_id
    update = double.inline_query_update(alice, "eggs", "", "group")
    query_id = update["inline_query"]["id"]
    assert update["inline_query"]["from"]["id"] == alice.id and update["inline_query"]["chat_type"] == "group"
    async with aiohttp.ClientSession() as http:
        refused = {
            "RESULTS_TOO_MUCH": [_article(str(n)) for n in range(51)],
            "RESULT_ID_DUPLICATE": [_article("1"), _article("1")],
            "RESULT_ID_INVALID": [_article("x" * 65)],
            "input_message_content required": [{"type": "article", "id": "1", "title": "Eggs"}],
            "photo_file_id or photo_url": [{"type": "photo", "id": "1"}],
            "wrong file identifier": [{"type": "photo", "id": "1", "photo_file_id": "nope"}],
            "can't parse entities": [_article("1", input_message_content={"message_text": "<b>x",
                                                                           "parse_mode": "HTML"})],
            "BUTTON_DATA_INVALID": [_article("1", reply_markup={"inline_keyboard": [[
                {"text": "x", "callback_data": "y" * 65}]]})],
        }
        for reason, results in refused.items():
            status, body = await _answer(http, double, inline_query_id=query_id, results=results)
            assert status == 400 and reason in body["description"], (reason, body)
        status, body = await _answer(http, double, inline_query_id=query_id, results=[],
                                     button={"text": "Open", "start_parameter": "bad payload!"})
        assert status == 400 and "START_PARAM_INVALID" in body["description"]
        buy = {"inline_keyboard": [[{"text": "🛒 Buy", "url": "https://t.me/rural_test_bot?start=l-1"}]]}
        results = [_article("a", reply_markup=buy),
                   {"type": "photo", "id": "p", "photo_file_id": photo, "caption": "<i>fresh</i>",
                    "parse_mode": "HTML", "reply_markup": buy}]
        status, _ = await _answer(http, double, inline_query_id=query_id, results=results, cache_time=5,
                                  next_offset="2", button={"text": "Open", "start_parameter": "mk"})
        assert status == 200
        status, body = await _answer(http, double, inline_query_id=query_id, results=[])  # twice
        assert status == 400 and "query is too old" in body["description"]
        status, body = await _answer(http, double, inline_query_id="123", results=[])  # unknown
        assert status == 400 and "query is too old" in body["description"]
    answer = double.inline_answers[query_id]
    assert (answer.answered, answer.cache_time, answer.next_offset, answer.is_personal) == (True, 5, "2", False)
    assert answer.titles == ["Eggs", "<i>fresh</i>"]
    posted = alice.choose_inline(answer, "p", group)
    assert posted.sender is alice and posted.media["via_bot"]["username"] == "rural_test_bot"
    assert posted.photo == photo and posted.caption == "fresh" and posted.buttons[0][0].url.endswith("l-1")
    text = alice.choose_inline(answer, "a", group)
    assert text.text == "Eggs" and text.entities[0]["type"] == "bold"
    with pytest.raises(AssertionError, match="no inline result"):
        alice.choose_inline(answer, "zz", group)


async def test_inline_queries_reach_only_a_bot_that_has_inline_mode_and_asked_for_them(double, alice):
    double.inline_mode = False
    with pytest.raises(AssertionError, match="/setinline"):
        await alice.ask_inline("eggs")
    async with Bot(TOKEN, base_url=double.base_url) as tg:
        assert (await tg.get_me()).supports_inline_queries is False
    double.inline_mode = True
    double.allowed_updates = ["message", "callback_query"]
    with pytest.raises(AssertionError, match="did not ask for inline queries"):
        await alice.ask_inline("eggs")
