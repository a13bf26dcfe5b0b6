"""The person's side of Telegram Payments in the Bot API double: the payment sheet Telegram's app
shows for an invoice (the shipping address, the bot's shipping options, name and phone, the card,
Pay) and what it ends with. ``Person.pay`` plays it in one go, the demo's web chat in two steps.
The bot's side (sendInvoice and the answers to the queries) is in payments.py; the records both
sides share (an invoice as the double keeps it, the bot's answer to a query) are here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .model import Message, User

__all__ = ["DECLINED_CARD", "PAYING_CARD", "TOWN_ADDRESS", "Invoice", "Invoices", "PaymentOutcome", "PaymentSheet",
           "QueryAnswer"]

PAYING_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
# The pretend address a person's sheet is filled with (Telegram's ShippingAddress fields).
TOWN_ADDRESS = {"country_code": "CN", "state": "陕西省", "city": "西安市", "street_line1": "雁塔区科技路 10 号",
                "street_line2": "", "post_code": "710075"}


@dataclass
class Invoice:
    """An invoice the bot sent, as the double keeps it: what the sheet shows and what the bot asked."""

    message: Message | None = field(repr=False)  # None only while it is being sent
    title: str
    description: str
    payload: str
    currency: str
    prices: list[dict]
    provider_token: str = ""
    start_parameter: str = ""
    need_name: bool = False
    need_phone_number: bool = False
    need_email: bool = False
    need_shipping_address: bool = False
    is_flexible: bool = False
    charge_id: str | None = None  # Telegram's charge id once paid (the Pay button then shows the receipt)

    @property
    def total_amount(self) -> int:
        return sum(p["amount"] for p in self.prices)

    @property
    def paid(self) -> bool:
        return self.charge_id is not None


class Invoices(dict):
    """The invoices sent, by (chat id, message id); a message id alone finds the one invoice with it."""

    def __getitem__(self, key: Any) -> Invoice:
        if isinstance(key, int):
            found = [invoice for (_, message_id), invoice in self.items() if message_id == key]
            if len(found) != 1:
                raise KeyError(f"{len(found)} invoices with message id {key}: use (chat id, message id)")
            return found[0]
        return super().__getitem__(key)


@dataclass
class QueryAnswer:
    """The bot's answer to one shipping or pre-checkout query (``answered`` False: none in time).
    ``took``: the seconds from sending the query to the bot's answer, as Telegram counts its limit."""

    query_id: str
    kind: str  # "shipping_query" | "pre_checkout_query"
    sent_at: float  # monotonic seconds
    answered_at: float | None = None  # monotonic seconds, when an answer in time came
    ok: bool | None = None
    shipping_options: list[dict] = field(default_factory=list)
    error_message: str | None = None
    answered: bool = False
    expired: bool = False  # past the limit: any answer now is refused
    late_answers: int = 0  # answers refused as too late
    event: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def took(self) -> float | None:
        return None if self.answered_at is None else self.answered_at - self.sent_at


@dataclass
class PaymentOutcome:
    """What the payment sheet ended with. ``status``: "paid" | "declined" (the card; the bot is told
    nothing) | "refused" (the bot's pre-checkout answer) | "shipping_refused" (the bot's shipping
    answer) | "timed_out" (the bot answered neither in time)."""

    status: str
    error_message: str | None = None
    option: dict | None = None  # the shipping option chosen (id, title, prices)
    total_amount: int = 0  # goods and the option, in the currency's smallest unit
    currency: str = ""
    telegram_payment_charge_id: str | None = None
    provider_payment_charge_id: str | None = None
    update: dict | None = None  # the successful_payment update (with its update_id) when paid
    message: Message | None = field(default=None, repr=False)  # the successful_payment message

    @property
    def paid(self) -> bool:
        return self.status == "paid"


class PaymentSheet:
    """One person's payment sheet for one invoice, as Telegram's app shows it: the shipping address
    (a flexible invoice then shows the bot's shipping options), the name and phone if the bot asked,
    the card, and Pay."""

    def __init__(self, double: Any, person: User, invoice: Invoice):
        self.double, self.person, self.invoice = double, person, invoice
        self.address: dict | None = None
        self.shipping: QueryAnswer | None = None

    @staticmethod
    def full_address(address: dict | str | None) -> dict:
        """A ShippingAddress: the pretend town address, or the given fields over blanks (a string is
        the street line)."""
        if address is None:
            return dict(TOWN_ADDRESS)
        if isinstance(address, str):
            address = {"street_line1": address}
        blank = {"country_code": "CN", "state": "", "city": "", "street_line1": "", "street_line2": "", "post_code": ""}
        return {**blank, **{k: str(v) for k, v in address.items() if k in blank}}

    async def ship(self, address: dict | str | None = None) -> QueryAnswer:
        """The person gave a shipping address: a flexible invoice asks the bot for its options."""
        if not self.invoice.is_flexible:
            raise AssertionError("the invoice is not flexible: Telegram asks the bot nothing about shipping")
        double = self.double
        self.address = self.full_address(address)
        double.person_acted()
        query = {"id": double.new_query_id(), "from": self.person.to_dict(), "invoice_payload": self.invoice.payload,
                 "shipping_address": self.address}
        self.shipping = await double.ask_bot("shipping_query", query, double.shipping_answers,
                                             double.shipping_limit, double.shipping_delay)
        return self.shipping

    async def pay(self, card: str = PAYING_CARD, address: dict | str | None = None, option_id: str | None = None,
                  name: str | None = None, phone: str | None = None) -> PaymentOutcome:
        """Pay: ask the bot for shipping options first if not yet asked for this address, then the
        pre-checkout query, then charge the card."""
        invoice, double = self.invoice, self.double
        if invoice.paid:
            raise AssertionError(f"the invoice {invoice.title!r} is paid already: Telegram shows its receipt")
        if invoice.need_shipping_address and (self.address is None or address is not None):
            wanted = self.full_address(address)
            if invoice.is_flexible and (self.shipping is None or wanted != self.address):
                await self.ship(wanted)
            self.address = wanted
        outcome = PaymentOutcome("timed_out", currency=invoice.currency, total_amount=invoice.total_amount)
        option = None
        if invoice.is_flexible:
            shipping = self.shipping
            if not shipping.answered:
                outcome.error_message = "the bot did not answer the shipping query in time"
                return outcome
            if not shipping.ok:
                outcome.status, outcome.error_message = "shipping_refused", shipping.error_message
                return outcome
            option = self._option(shipping.shipping_options, option_id)
            outcome.option = option
            outcome.total_amount += sum(p["amount"] for p in option["prices"])
        order_info = self._order_info(name, phone)
        query: dict[str, Any] = {"id": double.new_query_id(), "from": self.person.to_dict(),
                                 "currency": invoice.currency, "total_amount": outcome.total_amount,
                                 "invoice_payload": invoice.payload}
        if option is not None:
            query["shipping_option_id"] = option["id"]
        if order_info:
            query["order_info"] = order_info
        double.person_acted()
        answer = await double.ask_bot("pre_checkout_query", query, double.pre_checkout_answers,
                                      double.pre_checkout_limit, double.pre_checkout_delay)
        if not answer.answered:
            outcome.error_message = "the bot did not answer the pre-checkout query in time"
            return outcome
        if not answer.ok:
            outcome.status, outcome.error_message = "refused", answer.error_message
            return outcome
        if _declined(card):
            outcome.status, outcome.error_message = "declined", "Your card was declined."
            return outcome
        message, update = double.successful_payment(self.person, invoice, outcome.total_amount, option, order_info)
        paid = message.media["successful_payment"]
        outcome.status, outcome.message = "paid", message
        outcome.telegram_payment_charge_id = paid["telegram_payment_charge_id"]
        outcome.provider_payment_charge_id = paid["provider_payment_charge_id"]
        update["update_id"] = double.inject(update)
        outcome.update = update
        await double.deliver_injected([update["update_id"]])
        return outcome

    @staticmethod
    def _option(options: list[dict], option_id: str | None) -> dict:
        if option_id is None:
            return options[0]
        found = next((o for o in options if o["id"] == option_id), None)
        if found is None:
            raise AssertionError(f"no shipping option {option_id!r}; the bot gave {[o['id'] for o in options]}")
        return found

    def _order_info(self, name: str | None, phone: str | None) -> dict:
        invoice, person = self.invoice, self.person
        info: dict[str, Any] = {}
        if invoice.need_name:
            info["name"] = name or " ".join(filter(None, (person.first_name, person.last_name)))
        if invoice.need_phone_number:
            info["phone_number"] = phone or "+8613800000000"
        if invoice.need_email:
            info["email"] = f"user{person.id}@example.com"
        if invoice.need_shipping_address:
            info["shipping_address"] = self.address
        return info


def _declined(card: str) -> bool:
    """The pretend card: 4000 0000 0000 0002 is declined, as is a number that is not a card's."""
    digits = "".join(c for c in card if not c.isspace())
    if not digits.isdigit() or not 13 <= len(digits) <= 19 or digits == DECLINED_CARD.replace(" ", ""):
        return True
    total = sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d)
                for i, d in enumerate(int(c) for c in reversed(digits)))
    return total % 10 != 0
