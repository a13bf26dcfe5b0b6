"""Telegram Payments in the Bot API double, driven by a real PTB Bot and a small PTB Application:
invoices checked as Telegram checks them, the payment sheet's shipping and pre-checkout queries, a
late answer, a declined card, and a successful payment the bot parses and may get twice."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice
from telegram.error import BadRequest

from bot.sandbox.botapi import BotApiDouble
from bot.sandbox.payments import DECLINED_CARD
from support.shop import GOODS, NO_DELIVERY, PROVIDER, SOLD_OUT, TOKEN, running_shop

TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


@pytest.fixture
async def double():
    server = BotApiDouble()
    server.chat_limits = False
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


@pytest.fixture
async def app(double):
    """The shop bot (tests/support/shop.py): /buy sends a flexible invoice for apples."""
    async with running_shop(double) as application:
        yield application


async def _invoice(alice):
    await alice.send("/buy")
    return alice.chat.last_bot_message()


# ---- sendInvoice -----------------------------------------------------------------------------
async def _refused(send) -> str:
    with pytest.raises(BadRequest) as refused:
        await send()
    return refused.value.message


async def test_an_invoice_is_checked_as_telegram_checks_it(double, bot, alice):
    def send(**changes):
        fields = {"chat_id": alice.id, "title": "Apples", "description": "5 jin", "payload": "o:1:tok",
                  "currency": "CNY", "prices": GOODS, "provider_token": PROVIDER, **changes}
        return lambda: bot.send_invoice(**fields)

    assert await _refused(send(title="x" * 33)) == "Title_invalid"
    assert await _refused(send(description="d" * 256)) == "Description_invalid"
    assert await _refused(send(payload="p" * 129)) == "Invoice_payload_invalid"
    assert await _refused(send(provider_token=None)) == "Payment_provider_invalid"
    assert await _refused(send(prices=[])) == "There must be at least one price part"
    assert await _refused(send(currency="cny")) == "Currency_invalid"
    assert await _refused(send(prices=[LabeledPrice("free", 0)])) == "Currency_total_amount_invalid"
    not_pay = InlineKeyboardMarkup([[InlineKeyboardButton("Buy", callback_data="buy")]])
    assert "must be a pay button" in await _refused(send(reply_markup=not_pay))
    assert await _refused(send(is_flexible=True)) == "Flexible_invoice_needs_shipping_address"
    fractional = {"chat_id": alice.id, "title": "Apples", "description": "5 jin", "payload": "p", "currency": "CNY",
                  "provider_token": PROVIDER, "prices": [{"label": "Apples", "amount": 25.5}]}
    async with aiohttp.ClientSession() as http, http.post(f"{double.base_url}{TOKEN}/sendInvoice",
                                                          json=fractional) as response:
        assert response.status == 400
        assert "must be a valid Number" in (await response.json())["description"]
    assert alice.chat.messages == []

    message = await send(title="x" * 32, need_shipping_address=True)()
    invoice = message.invoice  # PTB parsed what the double answered
    assert (invoice.title, invoice.currency, invoice.total_amount) == ("x" * 32, "CNY", 2500)
    kept = double.invoices[message.message_id]
    assert (kept.payload, kept.prices, kept.need_shipping_address, kept.is_flexible) == (
        "o:1:tok", [{"label": "苹果 5 斤", "amount": 2500}], True, False)
    assert double.invoices[(alice.id, message.message_id)] is kept


# ---- the payment sheet -----------------------------------------------------------------------
async def test_a_flexible_invoice_paid_with_a_shipping_option(double, app, alice):
    message = await _invoice(alice)
    assert [[(b.text, b.pay) for b in row] for row in message.buttons] == [[("💳 Pay ¥25.00", True)]]

    outcome = await alice.pay(message, option_id="province", name="Alice Wang", phone="+8613900000001")

    assert outcome.status == "paid"
    assert (outcome.option["id"], outcome.total_amount, outcome.currency) == ("province", 3700, "CNY")
    shipping = app.bot_data["shipping"][0].shipping_address
    assert (shipping.state, shipping.city, shipping.street_line1) == ("陕西省", "西安市", "雁塔区科技路 10 号")
    query = app.bot_data["pre_checkout"][0]
    assert (query.total_amount, query.shipping_option_id, query.order_info.name) == (3700, "province", "Alice Wang")
    [(update_id, paid)] = app.bot_data["paid"]
    assert update_id == outcome.update["update_id"]
    assert (paid.total_amount, paid.invoice_payload, paid.shipping_option_id) == (3700, "o:1:tok", "province")
    assert paid.order_info.phone_number == "+8613900000001"
    assert paid.order_info.shipping_address.state == "陕西省"
    assert (paid.telegram_payment_charge_id, paid.provider_payment_charge_id) == (
        outcome.telegram_payment_charge_id, outcome.provider_payment_charge_id)
    assert alice.chat.last_bot_message().text == "Paid ¥37.00, thank you!"
    answer = double.pre_checkout_answers[query.id]
    assert answer.ok is True
    # How long the bot took, from the query sent to its answer (Telegram's 10 s count this).
    assert answer.sent_at <= answer.answered_at and 0 <= answer.took < 5
    shipped = double.shipping_answers[app.bot_data["shipping"][0].id]
    assert 0 <= shipped.took <= answer.sent_at - shipped.sent_at


async def test_each_payment_has_its_own_charge_ids(double, app, alice):
    invoice = await _invoice(alice)
    first = await alice.pay(invoice)
    with pytest.raises(AssertionError, match="paid already"):  # its Pay button now shows the receipt
        await alice.pay(invoice)
    second = await alice.pay(await _invoice(alice), option_id="county")
    assert (first.total_amount, second.total_amount) == (3100, 3100)
    assert first.telegram_payment_charge_id != second.telegram_payment_charge_id
    assert first.provider_payment_charge_id != second.provider_payment_charge_id


async def test_the_bot_refuses_the_shipping_address(double, app, alice):
    address = {"state": "西藏自治区", "city": "拉萨市", "street_line1": "北京中路 1 号"}
    outcome = await alice.pay(await _invoice(alice), address=address)
    assert (outcome.status, outcome.error_message) == ("shipping_refused", NO_DELIVERY)
    assert "pre_checkout" not in app.bot_data and "paid" not in app.bot_data


async def test_the_bot_refuses_the_pre_checkout(double, app, alice):
    app.bot_data["mode"] = "refuse"
    outcome = await alice.pay(await _invoice(alice))
    assert (outcome.status, outcome.error_message) == ("refused", SOLD_OUT)
    assert "paid" not in app.bot_data


async def test_a_late_pre_checkout_answer_fails_the_payment_and_is_refused(double, app, alice):
    double.pre_checkout_delay = 10.5  # the bot's answer came 10.5 s later than it did
    outcome = await alice.pay(await _invoice(alice))
    assert outcome.status == "timed_out"
    assert app.bot_data["refused_answers"] == [TOO_OLD.capitalize()]
    assert "paid" not in app.bot_data
    answer = double.pre_checkout_answers[app.bot_data["pre_checkout"][0].id]
    assert (answer.answered, answer.late_answers, answer.took) == (False, 1, None)


async def test_no_pre_checkout_answer_within_the_limit_times_out(double, app, alice):
    app.bot_data["mode"] = "silent"
    double.pre_checkout_limit = 0.05
    outcome = await alice.pay(await _invoice(alice))
    assert outcome.status == "timed_out"
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_pre_checkout_query(app.bot_data["pre_checkout"][0].id, ok=True)


async def test_an_answer_is_checked_and_given_once(double, app, alice):
    app.bot_data["mode"] = "no options"
    assert (await alice.pay(await _invoice(alice))).status == "paid"
    assert app.bot_data["refused_answers"] == ["Shipping options are not specified"]
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_pre_checkout_query(app.bot_data["pre_checkout"][0].id, ok=True)
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_shipping_query(app.bot_data["shipping"][0].id, ok=False, error_message="no")


async def test_a_declined_card_is_never_told_to_the_bot(double, app, alice):
    outcome = await alice.pay(await _invoice(alice), card=DECLINED_CARD)
    assert outcome.status == "declined"
    assert (outcome.update, outcome.telegram_payment_charge_id) == (None, None)
    assert len(app.bot_data["pre_checkout"]) == 1 and "paid" not in app.bot_data
    assert not any("successful_payment" in m.media for m in alice.chat.messages)


async def test_a_successful_payment_can_reach_the_bot_twice(double, app, alice):
    outcome = await alice.pay(await _invoice(alice))
    await double.deliver_again(outcome.update)  # the same update_id: as if the bot never confirmed it
    again = {k: v for k, v in outcome.update.items() if k != "update_id"}
    other_id = await double.deliver(again)  # another update, the same payment
    paid = app.bot_data["paid"]
    first_id = outcome.update["update_id"]
    assert [update_id for update_id, _ in paid] == [first_id, first_id, other_id]
    assert len({p.telegram_payment_charge_id for _, p in paid}) == 1
    await alice.send("/buy")  # and the updates go on as before
    assert alice.chat.last_bot_message().media["invoice"]["total_amount"] == 2500


async def test_a_bot_that_did_not_ask_for_pre_checkout_queries_never_gets_one(double, app, alice):
    message = await _invoice(alice)
    double.allowed_updates = ["message", "shipping_query"]
    outcome = await alice.pay(message)
    assert outcome.status == "timed_out"
    assert "pre_checkout" not in app.bot_data


async def test_an_update_sent_again_by_webhook_is_posted_again(double):
    """deliver_again under a webhook: Telegram posts the same update once more."""
    posted: list[int] = []

    async def receive(request: web.Request) -> web.Response:
        posted.append((await request.json())["update_id"])
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with aiohttp.ClientSession() as http, http.post(f"{double.base_url}{TOKEN}/setWebhook", json={
                "url": f"http://127.0.0.1:{runner.addresses[0][1]}/hook"}) as response:
            assert response.status == 200
        update_id = await double.deliver({"message": {"message_id": 1, "text": "hi"}})
        await double.deliver_again({"update_id": update_id, "message": {"message_id": 1, "text": "hi"}})
        assert posted == [update_id, update_id]
    finally:
        await runner.cleanup()
