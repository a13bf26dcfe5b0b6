"""Reading prices, quantities and dates the way villagers type them.

``12.5``, ``12,5``, ``１２``, ``3斤``, ``¥12.5``, ``12.5元``, ``1,200`` all mean what a person
would mean by them. Anything that is not a positive amount within sane bounds is refused with
the reason, so the bot can say why and ask again.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal

from services.errors import DomainError
from services.spoken import HALF, Spoken, Unreadable, read, unit_and_half

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
# The catalog's own units (catalog.labels), said in Chinese and English.
UNIT_WORDS |= {
    "袋": "bag", "bag": "bag", "包": "pack", "pack": "pack", "瓶": "bottle", "bottle": "bottle",
    "桶": "barrel", "barrel": "barrel", "盒": "box", "罐": "can", "can": "can", "米": "metre",
    "metre": "metre", "meter": "metre", "m": "metre", "双": "pair", "pair": "pair", "卷": "roll",
    "roll": "roll", "套": "set", "set": "set", "张": "sheet", "sheet": "sheet", "支": "tube", "tube": "tube",
}
# Units that are a measure, not a count: "2个" of something sold by the 斤 names another unit, but
# "2个" of something sold by the bag means two bags.
MEASURES = frozenset({"jin", "kg", "ton", "metre"})
COUNTING_WORDS = frozenset({"piece"})
_PER = ("/", "每", "per", "一", "a")
MONTHS_AHEAD_UNASKED = 6

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


def _read(text: str) -> Spoken:
    try:
        return read(text)
    except Unreadable as exc:
        raise BadAmount("not_positive" if exc.negative else "not_a_number") from None


def _unit(rest: str) -> tuple[str | None, bool]:
    """The unit code ``rest`` names (None for none) and whether it ends in "半"; BadAmount
    ("not_a_number") for words that are no unit ("3 litres")."""
    code, half, left = unit_and_half(rest, UNIT_WORDS)
    if left:
        raise BadAmount("not_a_number")
    return code, half


def read_quantity(text: str, unit: str | None) -> tuple[Decimal, str | None]:
    """The amount in ``text`` and the unit it names: "两袋" -> (2, "bag"), "三斤半" -> (3.5, "jin"),
    "半斤" -> (0.5, "jin"). A counting word ("2个") of a product counted in its own unit (bags)
    names that unit."""
    spoken = _read(text)
    if spoken.money:
        raise BadAmount("not_a_number")
    named, half = _unit(spoken.rest)
    amount = spoken.amount + (HALF if half else 0)
    if named in COUNTING_WORDS and unit and unit not in MEASURES:
        named = unit
    return amount, named


def parse_quantity(text: str, unit: str | None) -> tuple[int, str | None]:
    """(thousandths, the unit the text names, if any) from "300", "3斤", "12,5 kg", "三斤半"."""
    amount, named = read_quantity(text, unit)
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
    """Fen per unit from "12.5", "12,5", "¥12.5", "12.5元/斤", "6块", "1块2", "一块五", "六块五毛"."""
    spoken = _read(text)
    rest = spoken.rest
    for per in _PER:
        if rest.startswith(per) and len(rest) > len(per):
            rest = rest[len(per):]
            break
    named, half = _unit(rest) if rest else (None, False)
    if named in COUNTING_WORDS and unit and unit not in MEASURES:  # "6块一个" of a bag: per bag
        named = unit
    if rest and (named != unit or half):
        raise BadAmount("other_unit")
    amount = spoken.amount
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


class UnsureDate(DomainError):
    """A date typed without a year that would be more than six months ahead ("11-01" typed in
    December): ``day`` is what it would mean, to be asked before it is taken."""

    def __init__(self, day: date, typed: str):
        super().__init__(f"{typed} means {day}?")
        self.day = day
        self.typed = typed


def months_later(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    year, month = divmod(day.month - 1 + months, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(day.year + year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has 28 days")


def parse_date(text: str, today: date) -> date:
    """"2026-12-01", "12-01", "12/1", "12月1日". A date without a year is the next such day; when
    that is more than six months ahead (a day that passed lately, "11-01" typed in December, or
    one far on this year) it raises UnsureDate, to be asked ("11-01 means 2027-11-01?"): the
    seller may mean next year's harvest, or may have mistyped."""
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
        except ValueError:  # 13-45, or 02-29 in a year without it
            raise BadDate("not_a_date") from None
        day = check_date(day, today)
        if parts.get("y") is None and day > months_later(today, MONTHS_AHEAD_UNASKED):
            raise UnsureDate(day, text)
        return day
    raise BadDate("not_a_date")


def check_date(day: date, today: date) -> date:
    if day < today:
        raise BadDate("past")
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise BadDate("too_far")
    return day
