"""Reading an amount as people say it, before services.amounts checks it.

"两袋" is 2 and the word 袋, "十二" is 12, "一百五" is 150, "1块2" is 1.2 yuan, "六块五毛" is 6.5
yuan, "半斤" is 0.5 and 斤, "三斤半" is 3.5 and 斤, "12,5 kg" is 12.5 and kg, "2 bags" is 2 and
"bags", "half a jin" is 0.5 and "jin". Numbers in English words ("fifty") are not read: English
speakers type digits, and a word is more likely a search than an amount. What follows the number is handed back as typed (after the money words), so the caller
decides what a unit word means.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

HALF = Decimal("0.5")
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_POWERS = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一二两俩三四五六七八九十百千万"
_CN_DIGIT = "0-9零〇一二两三四五六七八九"
_CURRENCY_BEFORE = re.compile(r"^(?:¥|rmb|cny)")
_NUMBER = re.compile(
    rf"^(?:(?P<arabic>\d[\d,]*(?:\.\d+)?|\.\d+)|(?P<cn>[{_CN}]+(?:点[零〇一二三四五六七八九]+)?))"
)
_HALF_FIRST = re.compile(r"^(?:半|half(?:an?)?)")
_YUAN = re.compile(r"^(?:块钱|元钱|块|元|yuan|rmb|cny)")
# What may follow 块/元: tenths ("1块2", "六块五毛") and, after 毛, hundredths ("1块2毛5").
_TAIL = re.compile(rf"^(?P<jiao>[{_CN_DIGIT}])(?:(?:毛|角)(?:(?P<fen>[{_CN_DIGIT}])分?)?)?")
_JIAO = re.compile(r"^(?:毛钱|毛|角)")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


class Unreadable(ValueError):
    """Not an amount; ``negative`` when it starts with a minus sign."""

    def __init__(self, negative: bool = False):
        super().__init__("negative" if negative else "not a number")
        self.negative = negative


@dataclass(frozen=True, slots=True)
class Spoken:
    amount: Decimal
    rest: str  # what followed the number and its money words: "斤", "/斤", "bags", ""
    money: bool  # 块, 元, 毛, ¥ were said


def normalized(text: str) -> str:
    """Full-width to plain, lower case, no spaces, Chinese punctuation to plain."""
    text = unicodedata.normalize("NFKC", text).strip().casefold()
    return "".join(text.split()).replace("，", ",").replace("。", ".")


def chinese_number(word: str) -> int | None:
    """"十二" -> 12, "二十五" -> 25, "一百零五" -> 105, "一百五" -> 150, "两万五" -> 25000."""
    total = section = 0
    digit: int | None = None
    last = 1  # the power said last, for "一百五" (150) and "两万五" (25000)
    zero = False
    for char in word:
        if char in _DIGITS:
            if char in "零〇":  # "一百零五"
                zero = True
                continue
            if digit is not None:
                return None  # "一二": digits in a row are not how a number is said
            digit = _DIGITS[char]
        elif char in _POWERS:
            power = _POWERS[char]
            if power >= last and section:
                return None  # "十百"
            section += (digit if digit is not None else 1) * power
            digit, last, zero = None, power, False
        else:  # 万
            total = (total + section + (digit or 0)) * 10_000
            section, digit, last, zero = 0, None, 10_000, False
    if digit is not None:
        section += digit if zero or last == 1 else digit * last // 10
    value = total + section
    return value if word.strip("零〇") else 0


def _number(match: re.Match) -> Decimal:
    if match["arabic"]:
        number = match["arabic"]
        if "," in number:
            if "." in number or _THOUSANDS.match(number):
                number = number.replace(",", "")
            elif number.count(",") == 1:
                number = number.replace(",", ".")
            else:
                raise Unreadable
        try:
            return Decimal(number)
        except InvalidOperation:
            raise Unreadable from None
    whole, _, fraction = match["cn"].partition("点")
    value = chinese_number(whole)
    if value is None:
        raise Unreadable
    if fraction:
        return Decimal(f"{value}." + "".join(str(_DIGITS[char]) for char in fraction))
    return Decimal(value)


def _digit(char: str) -> int:
    return int(char) if char.isdigit() else _DIGITS[char]


def read(text: str) -> Spoken:
    """The amount at the start of ``text`` and what follows it; Unreadable if there is none."""
    text = normalized(text)
    money = bool(_CURRENCY_BEFORE.match(text))
    text = _CURRENCY_BEFORE.sub("", text)
    half = _HALF_FIRST.match(text)
    if half:  # "半斤", "half a jin"
        return Spoken(HALF, text[half.end():], money)
    match = _NUMBER.match(text)
    if match is None:
        raise Unreadable(negative=text.startswith("-"))
    amount, rest = _number(match), text[match.end():]
    if yuan := _YUAN.match(rest):  # "6块", "1块2", "六块五毛", "两块半"
        money, rest = True, rest[yuan.end():]
        tail = _TAIL.match(rest)
        if tail and tail.group() == "一" and rest[1:] and rest[1] not in "/每":
            tail = None  # "6块一斤", "6块一个": 一 is "per one", not one jiao
        if tail:
            amount += Decimal(_digit(tail["jiao"])) / 10 + Decimal(_digit(tail["fen"] or "0")) / 100
            rest = rest[tail.end():]
        elif rest.startswith("半"):
            amount, rest = amount + HALF, rest[1:]
    elif jiao := _JIAO.match(rest):  # "五毛"
        money, amount, rest = True, amount / 10, rest[jiao.end():]
    elif rest.startswith("半"):  # "三半": half of no unit is not a number ("三斤半" is read with its unit)
        raise Unreadable
    return Spoken(amount, rest, money)


def unit_and_half(rest: str, words: dict[str, str]) -> tuple[str | None, bool, str]:
    """The unit word ``rest`` starts with (its code), whether "半" follows it ("三斤半"), and
    what is left after them. A plural English word is its singular ("bags")."""
    for size in range(min(len(rest), 8), 0, -1):
        word = rest[:size]
        code = words.get(word) or (words.get(word[:-1]) if word.endswith("s") and size > 1 else None)
        if code is not None:
            after = rest[size:]
            if after.startswith("半"):
                return code, True, after[1:]
            return code, False, after
    return None, False, rest
