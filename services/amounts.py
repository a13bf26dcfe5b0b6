"""Reading prices, quantities and dates the way villagers type them.

``12.5``, ``12,5``, ``１２``, ``3斤``, ``¥12.5``, ``12.5元``, ``1,200`` all mean what a person
would mean by them. Anything that is not a positive amount within sane bounds is refused with
the reason, so the bot can say why and ask again.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from services.errors import DomainError

MILLI = 1000  # quantities are kept in thousandths of their unit
MAX_PRICE_FEN = 10_000_000  # ¥100,000 per unit
MAX_QUANTITY = 1_000_000  # units in one listing
MAX_DAYS_AHEAD = 366

# The local units produce is sold in. Whole units cannot be split (half an egg, half a box).
UNITS = ("jin", "kg", "piece", "dozen", "box", "ton")
WHOLE_UNITS = frozenset({"piece", "dozen", "box"})
UNIT_WORDS = {
    "斤": "jin", "jin": "jin", "市斤": "jin",
    "kg": "kg", "公斤": "kg", "千克": "kg", "kilo": "kg", "kilos": "kg", "kgs": "kg",
    "个": "piece", "只": "piece", "枚": "piece", "颗": "piece", "piece": "piece", "pieces": "piece",
    "pcs": "piece", "pc": "piece",
    "打": "dozen", "dozen": "dozen", "dozens": "dozen",
    "箱": "box", "box": "box", "boxes": "box",
    "吨": "ton", "ton": "ton", "tons": "ton", "t": "ton",
}
_CURRENCY_BEFORE = re.compile(r"^(?:¥|rmb|cny)")
_AFTER_NUMBER = re.compile(r"^(?:元|块钱|块|yuan|rmb|cny)?(?:/|每|per)?")
_NUMBER = re.compile(r"^(\d[\d,]*(?:\.\d+)?|\.\d+)(.*)$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


class BadAmount(DomainError):
    """Why a typed amount was refused: ``not_a_number``, ``not_positive``, ``too_big``,
    ``too_precise`` (more decimals than fen or thousandths), ``whole_only`` (a unit that
    cannot be split), ``other_unit`` (a price per another unit)."""

    def __init__(self, reason: str, limit: object = None):
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


class BadDate(DomainError):
    """``not_a_date``, ``past`` or ``too_far``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _split(text: str) -> tuple[Decimal, str]:
    """A number and what follows it ("3斤" -> 3, "斤"). Commas are decimal commas unless they
    group thousands ("12,5" -> 12.5; "1,200" -> 1200)."""
    text = unicodedata.normalize("NFKC", text).strip().casefold().replace(" ", "")
    text = text.replace("，", ",").replace("。", ".")
    text = _CURRENCY_BEFORE.sub("", text)
    match = _NUMBER.match(text)
    if match is None:
        if text.startswith("-"):
            raise BadAmount("not_positive")
        raise BadAmount("not_a_number")
    number, rest = match.groups()
    if "," in number:
        if "." in number or _THOUSANDS.match(number):
            number = number.replace(",", "")
        elif number.count(",") == 1:
            number = number.replace(",", ".")
        else:
            raise BadAmount("not_a_number")
    try:
        return Decimal(number), _AFTER_NUMBER.sub("", rest, count=1)
    except InvalidOperation:
        raise BadAmount("not_a_number") from None


def parse_quantity(text: str, unit: str | None) -> tuple[int, str | None]:
    """(thousandths, the unit the text names, if any) from "300", "3斤", "12,5 kg"."""
    amount, rest = _split(text)
    named = None
    if rest:
        named = UNIT_WORDS.get(rest)
        if named is None:
            raise BadAmount("not_a_number")
    return quantity_milli(amount, named or unit), named


def quantity_milli(amount: Decimal, unit: str | None) -> int:
    if amount <= 0:
        raise BadAmount("not_positive")
    if amount > MAX_QUANTITY:
        raise BadAmount("too_big", MAX_QUANTITY)
    milli = amount * MILLI
    check_whole(unit, milli)
    if milli != milli.to_integral_value():
        raise BadAmount("too_precise")
    return int(milli)


def check_whole(unit: str | None, milli: int | Decimal) -> None:
    """BadAmount("whole_only") for a part of a unit that cannot be split (half an egg)."""
    if unit in WHOLE_UNITS and milli % MILLI:
        raise BadAmount("whole_only")


def parse_price(text: str, unit: str | None = None) -> int:
    """Fen per unit from "12.5", "12,5", "¥12.5", "12.5元/斤"."""
    amount, rest = _split(text)
    if rest and UNIT_WORDS.get(rest) != unit:
        raise BadAmount("other_unit" if rest in UNIT_WORDS else "not_a_number")
    if amount <= 0:
        raise BadAmount("not_positive")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise BadAmount("too_precise")
    if fen > MAX_PRICE_FEN:
        raise BadAmount("too_big", MAX_PRICE_FEN)
    return int(fen)


def format_milli(milli: int) -> str:
    """3000 -> "3", 2500 -> "2.5", 1250 -> "1.25"."""
    whole, part = divmod(milli, MILLI)
    return f"{whole}" if not part else f"{whole}.{part:03d}".rstrip("0")


def line_total_fen(price_fen: int, milli: int) -> int:
    """Price times quantity, rounded half up to the fen."""
    return (price_fen * milli + MILLI // 2) // MILLI


_DATE_FORMS = (
    re.compile(r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?$"),
)


def parse_date(text: str, today: date) -> date:
    """"2026-12-01", "12-01", "12/1", "12月1日"; a date without a year is the next such day."""
    text = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    for form in _DATE_FORMS:
        match = form.match(text)
        if match is None:
            continue
        parts = match.groupdict()
        try:
            day = date(int(parts.get("y") or today.year), int(parts["m"]), int(parts["d"]))
            if parts.get("y") is None and day < today:
                day = day.replace(year=today.year + 1)
        except ValueError:
            raise BadDate("not_a_date") from None
        return check_date(day, today)
    raise BadDate("not_a_date")


def check_date(day: date, today: date) -> date:
    if day < today:
        raise BadDate("past")
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise BadDate("too_far")
    return day
