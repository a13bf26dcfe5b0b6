"""The Bot API double's Telegram Payments: ``sendInvoice``, the payment sheet a person fills in, and
the bot's answers to its shipping and pre-checkout queries.

``PaymentMethods`` is a mixin of :class:`~bot.sandbox.botapi.BotApiDouble`, which provides
``bot_user``, ``allowed_updates``, ``action_timeout``, ``monotonic``, ``_chat()``, ``_send()``,
``_markup()``, ``inject()``, ``deliver_injected()``, ``new_query_id()``, ``now()`` and ``notify()``.
The person's side is ``Person.pay`` (model.py), which plays a ``PaymentSheet`` (checkout.py, its
names re-exported here); the demo's web chat plays the same sheet in two steps (bot/demo/paysheet.py).

As Telegram (core.telegram.org/bots/api#payments): an invoice is checked when it is sent (title 1-32
characters, description 1-255, payload 1-128 bytes, a 3-letter currency, a non-empty list of
integer prices, a provider token unless the currency is Telegram Stars, an inline keyboard whose
first button is a Pay button); a flexible invoice asks the bot for shipping options once the person
gave an address; the bot must answer the pre-checkout query within 10 seconds, or the payment fails
and its late answer is refused; a card is charged only after the bot said yes, and a declined card is
never told to the bot; a paid invoice comes to the bot as the person's ``successful_payment`` message.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from .checkout import (DECLINED_CARD, PAYING_CARD, TOWN_ADDRESS, Invoice, Invoices, PaymentOutcome, PaymentSheet,
                       QueryAnswer)
from .model import Message, Params, User, bad

__all__ = ["DECLINED_CARD", "PAYING_CARD", "TOWN_ADDRESS", "Invoice", "Invoices", "PaymentMethods",
           "PaymentOutcome", "PaymentSheet", "QueryAnswer"]

TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_LIMITS = {"title": 32, "description": 255}
_FLAGS = ("need_name", "need_phone_number", "need_email", "need_shipping_address", "is_flexible")


class PaymentMethods:
    """``sendInvoice``, ``answerShippingQuery``, ``answerPreCheckoutQuery`` and the payment sheet."""

    # Set by BotApiDouble.__init__.
    invoices: Invoices
    shipping_answers: dict[str, QueryAnswer]
    pre_checkout_answers: dict[str, QueryAnswer]
    shipping_limit: float
    shipping_delay: float
    pre_checkout_limit: float
    pre_checkout_delay: float
    _charges: itertools.count

    def payment_sheet(self, person: User, message: Message) -> PaymentSheet:
        """The payment sheet ``person`` opens with the Pay button of the invoice ``message``."""
        invoice = dict.get(self.invoices, (message.chat.id, message.message_id))
        if invoice is None:
            raise AssertionError(f"message {message.message_id} in chat {message.chat.id} is not an invoice")
        if message.chat.id != person.id:
            raise AssertionError(f"{person.first_name} can only pay an invoice in their own chat with the bot")
        return PaymentSheet(self, person, invoice)

    # ---- the Bot API methods ----------------------------------------------------------------------
    def api_sendInvoice(self, params: Params) -> dict:
        chat = self._chat(params)
        for name in ("title", "description", "payload", "currency"):
            if not params.text(name):
                raise bad(f'parameter "{name}" is required')
        title, description, payload = params.text("title"), params.text("description"), params.text("payload")
        for name, value in (("title", title), ("description", description)):
            if len(value) > _LIMITS[name]:
                raise bad(f"{name.upper()}_INVALID")
        if len(payload.encode()) > 128:
            raise bad("INVOICE_PAYLOAD_INVALID")
        currency = params.text("currency")
        if len(currency) != 3 or not currency.isascii() or not currency.isupper():
            raise bad("CURRENCY_INVALID")
        prices = self._prices(params.get("prices"))
        if currency == "XTR" and len(prices) != 1:
            raise bad("STARS_INVOICE_INVALID")
        token = params.text("provider_token", "")
        if currency != "XTR" and not token:
            raise bad("PAYMENT_PROVIDER_INVALID")
        if sum(p["amount"] for p in prices) <= 0:
            raise bad("CURRENCY_TOTAL_AMOUNT_INVALID")
        markup = self._markup(params, inline_only=True) if params.get("reply_markup") is not None else None
        if markup is not None:
            rows = markup["inline_keyboard"]
            if not rows or not rows[0] or rows[0][0].get("pay") is not True:
                raise bad("the first button in the inline keyboard must be a Pay button")
        flags = {name: params.flag(name) for name in _FLAGS}
        if flags["is_flexible"] and not flags["need_shipping_address"]:
            raise bad("FLEXIBLE_INVOICE_NEEDS_SHIPPING_ADDRESS")
        start = params.text("start_parameter", "")
        summary = {"title": title, "description": description, "start_parameter": start,
                   "currency": currency, "total_amount": sum(p["amount"] for p in prices)}
        # Kept before it is sent, so that whoever watches the chat (the web chat) sees it as an invoice.
        key = (chat.id, chat.messages[-1].message_id + 1 if chat.messages else chat.first_message_id)
        invoice = self.invoices[key] = Invoice(None, title, description, payload, currency, prices, token, start,
                                               **flags)
        try:
            sent = self._send(chat, params, media={"invoice": summary})
        except Exception:
            del self.invoices[key]
            raise
        invoice.message = chat.message(sent["message_id"])
        return sent

    @staticmethod
    def _prices(prices: Any, what: str = "prices") -> list[dict]:
        if prices is None:
            raise bad(f'parameter "{what}" is required')
        if not isinstance(prices, list):
            raise bad(f"can't parse {what} JSON object")
        if not prices:
            raise bad("there must be at least one price part")
        for price in prices:
            if not isinstance(price, dict) or not isinstance(price.get("label"), str) or not price["label"]:
                raise bad('can\'t parse LabeledPrice: Field "label" must be a non-empty String')
            if not isinstance(price.get("amount"), int) or isinstance(price["amount"], bool):
                raise bad('can\'t parse LabeledPrice: Field "amount" must be a valid Number')
        return [{"label": p["label"], "amount": p["amount"]} for p in prices]

    def api_answerShippingQuery(self, params: Params) -> bool:
        answer = self._answer_to(self.shipping_answers, params.text("shipping_query_id", ""),
                                 self.shipping_limit, self.shipping_delay)
        ok = params.flag("ok")
        options: list[dict] = []
        if ok:
            options = params.get("shipping_options")
            if not options:
                raise bad("shipping options are not specified")
            if not isinstance(options, list):
                raise bad("can't parse shipping_options JSON object")
            seen: set[str] = set()
            for option in options:
                if not isinstance(option, dict) or not option.get("id") or not option.get("title"):
                    raise bad('can\'t parse ShippingOption: Field "id" and "title" must be non-empty')
                if option["id"] in seen:
                    raise bad("SHIPPING_ID_DUPLICATE")
                seen.add(option["id"])
                option["prices"] = self._prices(option.get("prices"))
        return self._record(answer, ok, params, options)

    def api_answerPreCheckoutQuery(self, params: Params) -> bool:
        answer = self._answer_to(self.pre_checkout_answers, params.text("pre_checkout_query_id", ""),
                                 self.pre_checkout_limit, self.pre_checkout_delay)
        return self._record(answer, params.flag("ok"), params, [])

    def _answer_to(self, answers: dict[str, QueryAnswer], query_id: str, limit: float, delay: float) -> QueryAnswer:
        answer = answers.get(query_id)
        if answer is None or answer.answered:
            raise bad(TOO_OLD)
        if answer.expired or self.monotonic() - answer.sent_at + delay > limit:
            answer.expired = True
            answer.late_answers += 1
            answer.event.set()
            raise bad(TOO_OLD)
        return answer

    def _record(self, answer: QueryAnswer, ok: bool, params: Params, options: list[dict]) -> bool:
        error = params.text("error_message")
        if not ok and not error:
            raise bad('parameter "error_message" is required')
        answer.ok, answer.shipping_options, answer.error_message = ok, options, None if ok else error
        answer.answered, answer.answered_at = True, self.monotonic()
        answer.event.set()
        return True

    # ---- asking the bot ---------------------------------------------------------------------------
    async def ask_bot(self, kind: str, query: dict, answers: dict[str, QueryAnswer], limit: float,
                      delay: float) -> QueryAnswer:
        """Send the bot a ``kind`` query and wait for its answer, at most ``limit`` seconds (less
        ``delay``, the seconds a test adds to the time it took); returns once the bot handled the update."""
        answer = QueryAnswer(query["id"], kind, self.monotonic())
        answers[answer.query_id] = answer
        if self.allowed_updates and kind not in self.allowed_updates:  # Telegram does not send it
            answer.expired = True
            return answer
        update_id = self.inject({kind: query})
        delivery = asyncio.ensure_future(self.deliver_injected([update_id], max(self.action_timeout, limit + 1)))
        try:
            await asyncio.wait_for(answer.event.wait(), max(limit - delay, 0.0))
        except TimeoutError:
            pass
        if not answer.answered:
            answer.expired = True
        await delivery
        return answer

    def successful_payment(self, person: User, invoice: Invoice, total: int, option: dict | None,
                           order_info: dict) -> tuple[Message, dict]:
        """The person's service message saying the invoice was paid, and the update for the bot."""
        number = next(self._charges)
        paid: dict[str, Any] = {"currency": invoice.currency, "total_amount": total,
                                "invoice_payload": invoice.payload}
        if option is not None:
            paid["shipping_option_id"] = option["id"]
        if order_info:
            paid["order_info"] = order_info
        paid.update(telegram_payment_charge_id=f"tg-charge-{number}", provider_payment_charge_id=f"prov-{number}")
        invoice.charge_id = paid["telegram_payment_charge_id"]
        self.notify("edit", invoice.message)  # its Pay button shows the receipt now
        message = invoice.message.chat._new_message(person, self.now(), media={"successful_payment": paid})
        self.notify("new", message)
        return message, {"message": message.to_dict()}
