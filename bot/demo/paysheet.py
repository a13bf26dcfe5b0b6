"""The web chat's payment sheet: an invoice the bot sent shows as a card with a 💳 Pay button, which
opens a sheet (static/pay.js) as Telegram's app does: the shipping address, the bot's shipping
options once it answered the shipping query, name and phone, a pretend card, and Pay.

The sheet is the double's own ``PaymentSheet`` (bot/sandbox/payments.py), the one ``Person.pay``
plays in tests, in two steps: ``POST /api/pay/shipping`` (the address; the bot's options) and
``POST /api/pay`` (the card; the outcome). ``GET /api/pay/sheet`` gives what the sheet shows first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.demo.uploads import acting
from bot.demo.webguard import Refused, json_body
from bot.sandbox.botapi import BotApiDouble
from bot.sandbox.model import Chat, Message, Person
from bot.sandbox.payments import PAYING_CARD, TOWN_ADDRESS, PaymentSheet, QueryAnswer

ADDRESS_FIELDS = ("state", "city", "street_line1", "street_line2", "post_code")
MAX_FIELD = 200  # characters in one field of the sheet


def invoice_view(double: Any, message: Message) -> dict | None:
    """What an invoice card shows (None: the message is not an invoice)."""
    invoice = dict.get(double.invoices, (message.chat.id, message.message_id))
    if invoice is None:
        return None
    return {"title": invoice.title, "description": invoice.description, "currency": invoice.currency,
            "total_amount": invoice.total_amount, "prices": invoice.prices, "paid": invoice.paid,
            "need_shipping_address": invoice.need_shipping_address, "is_flexible": invoice.is_flexible,
            "need_name": invoice.need_name, "need_phone_number": invoice.need_phone_number}


def payment_view(message: Message) -> dict | None:
    """The service message of a successful payment: how much, in what currency."""
    paid = message.media.get("successful_payment")
    return {"currency": paid["currency"], "total_amount": paid["total_amount"]} if paid else None


def _shipping_view(answer: QueryAnswer | None) -> dict:
    if answer is None or not answer.answered:
        return {"answered": False, "ok": None, "error_message": None, "options": []}
    return {"answered": True, "ok": answer.ok, "error_message": answer.error_message,
            "options": [{"id": o["id"], "title": o["title"], "amount": sum(p["amount"] for p in o["prices"])}
                        for o in answer.shipping_options]}


class PaySheets:
    """The open payment sheets of the web chat's people, by (person, chat, invoice message)."""

    def __init__(self, double: BotApiDouble, speaker: Callable[[Any], tuple[Person, Chat]], phones: dict[int, str]):
        """``speaker``: who acts, in which of their chats, from a request's fields (``as``, ``chat_id``);
        ``phones``: each person's phone number, by Telegram id."""
        self.double, self.speaker, self.phones = double, speaker, phones
        self.sheets: dict[tuple[int, int, int], PaymentSheet] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/pay/sheet", self._sheet)
        app.router.add_post("/api/pay/shipping", self._shipping)
        app.router.add_post("/api/pay", self._pay)

    def _open(self, fields: Any, fresh: bool = False) -> tuple[Person, PaymentSheet]:
        person, chat = self.speaker(fields)
        try:
            message = chat.message(int(fields.get("message_id")))
        except (TypeError, ValueError):
            raise Refused(400, "message_id must be a number") from None
        if message is None or message.deleted or dict.get(self.double.invoices, (chat.id, message.message_id)) is None:
            raise Refused(404, "that invoice is gone", "invoice.gone")
        key = (person.id, chat.id, message.message_id)
        if fresh or key not in self.sheets:
            self.sheets[key] = self.double.payment_sheet(person, message)
        sheet = self.sheets[key]
        if sheet.invoice.paid:
            raise Refused(409, "that invoice is paid already", "invoice.paid")
        return person, sheet

    async def _sheet(self, request: web.Request) -> web.Response:
        person, sheet = self._open(request.query, fresh=True)
        return web.json_response({"ok": True, "invoice": invoice_view(self.double, sheet.invoice.message),
                                  "prefill": {"address": TOWN_ADDRESS, "name": person.first_name,
                                              "phone": self.phones.get(person.id, ""),
                                              "card": PAYING_CARD}})

    async def _shipping(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        _, sheet = self._open(body)
        if not sheet.invoice.is_flexible:
            raise Refused(400, "the invoice has no shipping options")
        answer = await acting(sheet.ship(_address(body.get("address"))))
        return web.json_response({"ok": True, "shipping": _shipping_view(answer)})

    async def _pay(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        _, sheet = self._open(body)
        address = _address(body.get("address")) if sheet.invoice.need_shipping_address else None
        option_id = body.get("option_id")
        if option_id is not None and (sheet.shipping is None or not any(
                o["id"] == option_id for o in sheet.shipping.shipping_options)):
            option_id = None  # the bot's options changed with the address: the first, as Telegram shows it
        outcome = await acting(sheet.pay(_text(body, "card") or "", address, option_id,
                                         _text(body, "name"), _text(body, "phone")))
        return web.json_response({"ok": True, "outcome": {
            "status": outcome.status, "error_message": outcome.error_message, "currency": outcome.currency,
            "total_amount": outcome.total_amount, "option_id": outcome.option["id"] if outcome.option else None}})


def _text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise Refused(400, f"{name} must be text of at most {MAX_FIELD} characters")
    return value.strip() or None


def _address(value: Any) -> dict:
    if not isinstance(value, dict):
        raise Refused(400, "the shipping address is missing", "address.missing")
    address = {name: _text(value, name) or "" for name in ADDRESS_FIELDS}
    if not (address["city"] and address["street_line1"]):
        raise Refused(400, "the shipping address needs a city and a street", "address.missing")
    return address
