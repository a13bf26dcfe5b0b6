"""Reading what a villager (or a partner, with ``/service``) types for a service at the center:
a phone number, an account number, an amount, a route, a date, a number of people.

Each reader returns the value as it is kept, or raises ``BadService`` with the reason, so that
the bot can say why and ask again. Amounts are read as prices are (services/amounts.py), so
"50", "¥50", "50元" and "五十块" are all ¥50.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from services import amounts
from services.errors import DomainError
from services.spoken import Unreadable, read

# What a villager may ask for, and the service it is (the center's fees are by either name).
WHATS = ("topup", "electricity", "water", "train", "bus")
KIND_OF = {"topup": "topup", "electricity": "bill", "water": "bill", "train": "ticket", "bus": "ticket"}
# The questions, in the order asked, for each service; then the summary ("confirm").
STEPS = {"topup": ("phone", "amount"), "bill": ("account", "amount"), "ticket": ("route", "date", "people")}
CONFIRM = "confirm"
TOPUP_AMOUNTS = (10, 20, 50, 100)  # yuan, as buttons
MAX_AMOUNT_FEN = 500_000  # ¥5,000
MAX_PEOPLE = 9
PEOPLE_BUTTONS = 5
MAX_PLACE = 30  # characters of a place name in a route
_ACCOUNT = re.compile(r"^[A-Za-z0-9-]{4,30}$")
_ROUTE_SPLIT = re.compile(r"\s*(?:->|→|—|–|－|-|>|到|至|\bto\b)\s*")


class BadService(DomainError):
    """Why an answer was refused: ``phone`` (not 11 digits), ``account``, ``amount`` (not an
    amount), ``amount_zero``, ``amount_too_big``, ``amount_precise``, ``route``, ``date``
    (not a date), ``date_past``, ``date_far``, ``people``, ``amount_needed`` (a ticket's price
    was not said)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def phone(text: str) -> str:
    """11 digits; spaces and dashes between them are allowed."""
    digits = re.sub(r"[\s\-]", "", _plain(text))
    if not (digits.isascii() and digits.isdigit() and len(digits) == 11):
        raise BadService("phone")
    return digits


def account(text: str) -> str:
    value = re.sub(r"\s", "", _plain(text))
    if not _ACCOUNT.match(value):
        raise BadService("account")
    return value


def amount(text: str) -> int:
    """Fen, more than 0 and at most ¥5,000."""
    try:
        fen = amounts.parse_price(text)
    except amounts.BadAmount as exc:
        reason = {"not_positive": "amount_zero", "too_big": "amount_too_big",
                  "too_precise": "amount_precise"}.get(exc.reason, "amount")
        raise BadService(reason) from None
    if fen > MAX_AMOUNT_FEN:
        raise BadService("amount_too_big")
    return fen


def route(text: str) -> tuple[str, str]:
    """"苍溪-成都", "苍溪 → 成都", "苍溪到成都", "Cangxi to Chengdu": (from, to)."""
    parts = [part.strip() for part in _ROUTE_SPLIT.split(_plain(text), maxsplit=1)]
    if len(parts) != 2 or not all(parts) or any(len(part) > MAX_PLACE for part in parts) or parts[0] == parts[1]:
        raise BadService("route")
    return parts[0], parts[1]


def travel_date(text: str, today: date) -> date:
    try:
        return amounts.parse_date(text, today)
    except amounts.UnsureDate as exc:  # "11-01" typed in December: next year's, as said
        return exc.day
    except amounts.BadDate as exc:
        raise BadService({"past": "date_past", "too_far": "date_far"}.get(exc.reason, "date")) from None


def people(text: str) -> int:
    try:
        spoken = read(_plain(text))
    except Unreadable:
        raise BadService("people") from None
    rest = spoken.rest.strip().lower()
    if rest not in ("", "人", "个人", "位", "people", "person", "persons"):
        raise BadService("people")
    if spoken.amount != spoken.amount.to_integral_value() or not 1 <= spoken.amount <= MAX_PEOPLE:
        raise BadService("people")
    return int(spoken.amount)


def fee_for(service_fees: dict | None, what: str) -> int:
    """The center's fee for ``what`` (e.g. "water"), else for its service ("bill"), else none."""
    fees = service_fees or {}
    fee = fees.get(what, fees.get(KIND_OF[what], 0))
    try:
        return max(0, int(fee))
    except (TypeError, ValueError):
        return 0
