"""A town buyer pays online with Telegram Payments, through the real Application and the Bot API
double's payment sheet, on both databases: a payment that goes through (the receipt, one payments
row, the card on the seller's center's desk), a declined card, a pre-checkout answered too late, an
address the seller's center does not deliver to, two buyers racing for the last apples while one
invoice is open (and its 15 minutes lapsing), a successful payment delivered twice, a payment that
comes after its produce was sold again (refunded), a check too slow for Telegram's 10 seconds; and
the setting, the updates asked of Telegram, and payments never held back by the rate limit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from telegram import Update

from bot.app import past_rate_limit
from bot.config import SettingsError, load_settings
from bot.runner import ALLOWED_UPDATES
from bot.sandbox.payments import DECLINED_CARD, TOWN_ADDRESS
from chat import body, labels, last_text, texts
from handlers import town_payments
from services.rate_limit import RateLimit, UserRate
from store.models import Order, Payment
from support.desk import card_of
from support.produce import desks
from support.town_buyer import apples, lapse, latest_order, left, priced, to_delivery

BEIJING = {"state": "北京市", "city": "北京市", "street_line1": "海淀区中关村大街 1 号"}


async def payments(bot) -> list[tuple[str, int, str | None]]:
    async with bot.store.read() as session:
        return [(p.kind, p.amount_fen, p.telegram_charge_id)
                for p in (await session.scalars(select(Payment).order_by(Payment.id))).all()]


async def invoiced(bot, buyer, listing_id: int, amount: str = "5 jin"):
    """The buyer orders ``amount`` for delivery: the order is held and the invoice sent."""
    await to_delivery(buyer, listing_id, amount)
    invoice = buyer.chat.last_bot_message()
    assert invoice.media.get("invoice"), "no invoice"
    return invoice


async def test_a_town_buyer_pays_online_and_the_order_reaches_the_sellers_desk(paying_bot):
    bot = paying_bot
    await priced(bot)
    _, _, _, seller_group, _ = await desks(bot)
    listing = await apples(bot)
    buyer = bot.person(3001, "Zhou", language_code="en")
    invoice = await invoiced(bot, buyer, listing, "5 jin")
    order = await latest_order(bot)
    said = texts(buyer.chat)[-2]
    assert said.startswith(f"🧾 Order {order.number}: 5 jin of 红富士苹果, ¥30.00.")
    assert "held for you for 15 minutes" in said
    sent = bot.double.invoices[(buyer.id, invoice.message_id)]
    assert (sent.title, sent.currency, sent.prices) == ("红富士苹果", "CNY", [{"label": "红富士苹果 × 5 jin",
                                                                             "amount": 3000}])
    assert sent.payload == f"o:{order.id}:{order.checkout_token}"
    assert sent.need_name and sent.need_phone_number and sent.need_shipping_address and sent.is_flexible
    assert "Delivery priced from your address" in sent.description
    assert (order.status, order.payment_method) == ("awaiting_payment", "online")
    assert await left(bot, listing) == 5_000

    outcome = await buyer.pay(invoice, name="周丽", phone="+8613900001111")
    assert outcome.status == "paid", outcome
    assert outcome.option["title"] == "📦 Delivery: same province" and outcome.total_amount == 4200
    receipt = last_text(buyer)
    for line in (f"✅ Paid, thank you! Order {order.number}", "🌾 红富士苹果 · 5 jin", "💰 Goods: ¥30.00",
                 "🚚 Delivery (same province): ¥12.00", "💳 Total paid: ¥42.00",
                 "📍 To: 周丽, +8613900001111, 陕西省 西安市 雁塔区科技路 10 号", "/track"):
        assert line in receipt, (line, receipt)
    order = await latest_order(bot)
    assert (order.status, order.delivery_fen, order.reserved_until) == ("pending", 1200, None)
    assert order.ship_to == {"name": "周丽", "phone": "+8613900001111", "address": "陕西省 西安市 雁塔区科技路 10 号",
                             "zone": "province"}
    assert await payments(bot) == [("payment", 4200, outcome.telegram_payment_charge_id)]
    await bot.pump()
    assert card_of(seller_group, order.number)
    receipt_message = next(m for m in reversed(buyer.chat.bot_messages()) if body(m).startswith("✅ Paid"))
    await buyer.tap("📦 Track", message=receipt_message)
    assert "Waiting for payment" in last_text(buyer) and f"Order {order.number}" in last_text(buyer)


async def test_a_declined_card_books_nothing_and_the_invoice_can_be_paid_again(paying_bot):
    bot = paying_bot
    await priced(bot)
    listing = await apples(bot)
    buyer = bot.person(3001, "周", language_code="zh-hans")
    await buyer.send(f"/start l-{listing}")
    await buyer.tap("🛒 下单")
    await buyer.tap("2 斤")
    await buyer.tap("🚚 送货到我的地址")
    invoice = buyer.chat.last_bot_message()
    before = len(buyer.chat.bot_messages())
    declined = await buyer.pay(invoice, card=DECLINED_CARD)
    assert declined.status == "declined"
    assert (await latest_order(bot)).status == "awaiting_payment" and await payments(bot) == []
    assert len(buyer.chat.bot_messages()) == before  # no receipt
    paid = await buyer.pay(invoice)
    assert paid.status == "paid" and last_text(buyer).startswith("✅ 付款成功，谢谢！")
    assert (await latest_order(bot)).status == "pending" and len(await payments(bot)) == 1


async def test_a_late_pre_checkout_takes_no_money(paying_bot):
    bot = paying_bot
    await priced(bot)
    listing = await apples(bot)
    buyer = bot.person(3001, "Zhou", language_code="en")
    invoice = await invoiced(bot, buyer, listing)
    bot.double.pre_checkout_limit = 0.0  # the bot's answer comes after Telegram gave up
    late = await buyer.pay(invoice)
    assert late.status == "timed_out" and late.update is None
    assert (await latest_order(bot)).status == "awaiting_payment" and await payments(bot) == []
    bot.double.pre_checkout_limit = 10.0
    assert (await buyer.pay(invoice)).status == "paid"
    assert (await latest_order(bot)).status == "pending"


async def test_an_address_the_center_does_not_serve_is_refused_on_the_sheet(paying_bot):
    bot = paying_bot
    await priced(bot)
    listing = await apples(bot)
    buyer = bot.person(3001, "Zhou", language_code="en")
    invoice = await invoiced(bot, buyer, listing)
    refused = await buyer.pay(invoice, address=BEIJING)
    assert refused.status == "shipping_refused"
    assert refused.error_message == "😔 The seller's center does not deliver to this address."
    assert (await latest_order(bot)).status == "awaiting_payment" and await payments(bot) == []

    chen = bot.person(3002, "陈", language_code="zh-hans")
    await chen.send(f"/start l-{listing}")
    await chen.tap("🛒 下单")
    await chen.tap("1 斤")
    await chen.tap("🚚 送货到我的地址")
    refused = await chen.pay(chen.chat.last_bot_message(), address=BEIJING)
    assert refused.error_message == "😔 卖家所在服务站不配送到这个地址。"


async def test_two_buyers_race_for_the_last_apples_while_an_invoice_is_open(paying_bot):
    bot = paying_bot
    await priced(bot)
    listing = await apples(bot, quantity_milli=4_000)
    first = bot.person(3001, "Zhou", language_code="en")
    second = bot.person(3002, "Chen", language_code="en")
    await second.send(f"/start l-{listing}")
    await second.tap("🛒 Order")  # sees 4 jin left
    stale = second.chat.last_bot_message()

    invoice = await invoiced(bot, first, listing, "All 4 jin")
    held = await latest_order(bot)
    assert await left(bot, listing) == 0
    # The second buyer's screen still offers all 4 jin: the produce is held for the open invoice.
    answer = await second.tap("All 4 jin", message=stale)
    assert answer.show_alert and answer.text == "😔 This produce is no longer for sale."
    # The first buyer opens the payment sheet and gives the address, but the 15 minutes pass unpaid.
    sheet = bot.double.payment_sheet(first, invoice)
    assert (await sheet.ship()).ok
    await lapse(bot)
    assert last_text(first).startswith(f"⌛ The invoice for order {held.number} was not paid within 15 minutes")
    assert await left(bot, listing) == 4_000
    late = await sheet.pay()  # the pre-checkout's last look refuses it
    assert late.status == "refused" and "can no longer be paid" in late.error_message
    again = await first.pay(invoice)  # a fresh sheet: the shipping query refuses already
    assert again.status == "shipping_refused" and "can no longer be paid" in again.error_message

    # The apples are back on sale: the second buyer takes 2 jin and pays; the first is told 2 are left.
    other = await invoiced(bot, second, listing, "2 jin")
    assert (await second.pay(other)).status == "paid"
    await first.send(f"/start l-{listing}")
    await first.tap("🛒 Order")
    assert "📦 2 jin left" in last_text(first)
    assert [kind for kind, _, _ in await payments(bot)] == ["payment"]


async def test_a_successful_payment_delivered_twice_is_booked_and_answered_once(paying_bot):
    bot = paying_bot
    await priced(bot)
    listing = await apples(bot)
    buyer = bot.person(3001, "Zhou", language_code="en")
    invoice = await invoiced(bot, buyer, listing)
    outcome = await buyer.pay(invoice)
    assert outcome.status == "paid"
    receipts = [text for text in texts(buyer.chat) if text.startswith("✅ Paid")]
    assert len(receipts) == 1

    await bot.double.deliver_again(outcome.update)  # Telegram sends the same update again
    again = {key: value for key, value in outcome.update.items() if key != "update_id"}
    await bot.double.deliver(again)  # another update with the same charge
    assert await payments(bot) == [("payment", outcome.total_amount, outcome.telegram_payment_charge_id)]
    assert [text for text in texts(buyer.chat) if text.startswith("✅ Paid")] == receipts
    async with bot.store.read() as session:
        assert len((await session.scalars(select(Order))).all()) == 1
    assert labels(buyer.chat.last_bot_message()) in (["📦 Track", "🧺 Market"], [])


def test_the_provider_token_is_a_setting_and_the_sheets_questions_reach_the_bot():
    assert load_settings({}, env_file="").payment_provider_token is None
    assert load_settings({"PAYMENT_PROVIDER_TOKEN": " "}, env_file="").payment_provider_token is None
    token = "284685063:TEST:Zm9vYmFy"
    assert load_settings({"PAYMENT_PROVIDER_TOKEN": token}, env_file="").payment_provider_token == token
    with pytest.raises(SettingsError, match="^PAYMENT_PROVIDER_TOKEN is invalid") as error:
        load_settings({"PAYMENT_PROVIDER_TOKEN": "sk_live_secret-value"}, env_file="")
    assert "secret-value" not in str(error.value)
    # Asked of Telegram by polling and by webhook: without them the payment sheet would wait in vain.
    assert {"shipping_query", "pre_checkout_query", "message"} <= set(ALLOWED_UPDATES)


async def test_a_payment_that_comes_after_the_produce_was_sold_again_is_refunded(paying_bot):
    bot = paying_bot
    await priced(bot)
    listing = await apples(bot, quantity_milli=4_000)
    first = bot.person(3001, "Zhou", language_code="en")
    second = bot.person(3002, "Chen", language_code="en")
    invoice = await invoiced(bot, first, listing, "All 4 jin")
    held = await latest_order(bot)
    await lapse(bot)
    assert (await second.pay(await invoiced(bot, second, listing, "All 4 jin"))).status == "paid"
    # The first buyer's money was taken as the 15 minutes ran out (the sheet had said yes): Telegram
    # tells the bot only now. The apples are gone, so it is refunded in full.
    sent = bot.double.invoices[(first.id, invoice.message_id)]
    option = {"id": "province", "title": "📦 Delivery: same province", "prices": [{"label": "🚚 Delivery",
                                                                                     "amount": 1200}]}
    _, paid = bot.double.successful_payment(first, sent, 3600, option, {"name": "周丽", "phone_number": "+8613900001111",
                                                                        "shipping_address": TOWN_ADDRESS})
    await bot.double.deliver(paid)
    await bot.pump()
    why, refund = sorted(texts(first.chat)[-2:], key=lambda text: not text.startswith("😔"))
    assert why.startswith(f"😔 Your payment for order {held.number} came after its 15 minutes")
    assert "the ¥36.00 you paid will be refunded in full" in why
    assert refund == f"💳 ¥36.00 you paid for order {held.number} will be refunded to your card within a few days."
    async with bot.store.read() as session:
        rows = (await session.scalars(select(Payment).where(Payment.order_id == held.id))).all()
        assert [(p.kind, p.amount_fen) for p in rows] == [("payment", 3600), ("refund", -3600)]
        assert (await session.get(Order, held.id)).status == "cancelled"


async def test_a_slow_check_is_answered_no_in_time_and_nothing_is_paid(paying_bot, monkeypatch):
    bot = paying_bot
    await priced(bot)
    listing = await apples(bot)
    buyer = bot.person(3001, "Zhou", language_code="en")
    sheet = bot.double.payment_sheet(buyer, await invoiced(bot, buyer, listing))
    assert (await sheet.ship()).ok
    monkeypatch.setattr(town_payments, "ANSWER_WITHIN", 0)  # the store takes longer than the bot may wait
    slow = await sheet.pay()
    assert slow.status == "refused" and slow.error_message == "⏳ We could not check your order in time. Please try again."
    assert (await latest_order(bot)).status == "awaiting_payment" and await payments(bot) == []
    monkeypatch.setattr(town_payments, "ANSWER_WITHIN", 7.0)
    assert (await sheet.pay()).status == "paid"


def test_a_payment_is_never_held_back_by_the_rate_limit():
    """Its money is taken: a successful payment is handled even from someone past USER_RATE, as are
    the payment sheet's questions (they come from no chat, and Telegram waits for their answers)."""
    limit = RateLimit(UserRate(1.0, 1), lambda: 0.0)
    zhou = {"id": 3001, "is_bot": False, "first_name": "Zhou"}
    chat = {"id": 3001, "type": "private"}

    def update(number: int, **body) -> Update:
        return Update.de_json({"update_id": number, **body}, None)

    text = update(1, message={"message_id": 1, "date": 0, "chat": chat, "from": zhou, "text": "hi"})
    assert past_rate_limit(text, limit, frozenset()) is False  # the one token
    assert past_rate_limit(text, limit, frozenset()) is True
    paid = {"currency": "CNY", "total_amount": 2400, "invoice_payload": "o:1:t", "telegram_payment_charge_id": "c",
            "provider_payment_charge_id": "p"}
    payment = update(2, message={"message_id": 2, "date": 0, "chat": chat, "from": zhou, "successful_payment": paid})
    assert past_rate_limit(payment, limit, frozenset()) is False
    query = update(3, pre_checkout_query={"id": "q", "from": zhou, "currency": "CNY", "total_amount": 2400,
                                          "invoice_payload": "o:1:t"})
    assert past_rate_limit(query, limit, frozenset()) is False


async def test_a_buyer_who_cancels_the_invoice_gives_the_produce_back_at_once(paying_bot):
    bot = paying_bot
    await priced(bot)
    listing = await apples(bot)
    buyer = bot.person(3001, "Zhou", language_code="en")
    invoice = await invoiced(bot, buyer, listing)
    assert await left(bot, listing) == 5_000
    await buyer.tap("✖️ Cancel")  # under "Order …: held for you for 15 minutes"
    assert texts(buyer.chat)[-2] == "✖️ Cancelled: the produce is back on sale."
    assert await left(bot, listing) == 10_000 and (await latest_order(bot)).status == "cancelled"
    refused = await buyer.pay(invoice)
    assert refused.status == "shipping_refused" and "can no longer be paid" in refused.error_message
    assert await payments(bot) == []
