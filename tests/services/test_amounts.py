"""Amounts as people say them (issue 22): quantities, prices and dates in Chinese and English
words, read by services.amounts (and services.spoken), and the cart's whole quantities."""

from datetime import date

import pytest

from services import cart as carts
from services.amounts import BadAmount, BadDate, UnsureDate, parse_date, parse_price, parse_quantity
from services.errors import InvalidQuantity, OtherUnit
from services.spoken import chinese_number


@pytest.mark.parametrize("said, value", [
    ("一", 1), ("两", 2), ("俩", 2), ("十", 10), ("十二", 12), ("二十", 20), ("二十五", 25), ("一百", 100),
    ("一百零五", 105), ("一百五", 150), ("一百五十", 150), ("一千二", 1200), ("两千零八", 2008),
    ("一万", 10_000), ("两万五", 25_000), ("三十万", 300_000), ("零", 0),
])
def test_chinese_numbers_are_read(said, value):
    assert chinese_number(said) == value


@pytest.mark.parametrize("said", ["一二", "十百", "三四五"])
def test_digits_in_a_row_are_not_a_chinese_number(said):
    assert chinese_number(said) is None


@pytest.mark.parametrize("typed, unit, expected", [
    ("两袋", "bag", (2000, "bag")), ("2袋", "bag", (2000, "bag")), ("两", "bag", (2000, None)),
    ("十二", "piece", (12000, None)), ("二十五", "kg", (25000, None)), ("一百", "jin", (100_000, None)),
    ("半斤", "jin", (500, "jin")), ("三斤半", "jin", (3500, "jin")), ("1.5斤", "jin", (1500, "jin")),
    ("２", "kg", (2000, None)), ("  2 袋  ", "bag", (2000, "bag")), ("三点五", "kg", (3500, None)),
    ("两个", "bag", (2000, "bag")),  # a counting word of a product counted by the bag: two bags
    ("2个", "jin", (2000, "piece")),  # ... but of something weighed it names another unit
    ("2 bags", "bag", (2000, "bag")), ("3 bags", "bag", (3000, "bag")), ("half a jin", "jin", (500, "jin")),
    ("12 pieces", "piece", (12000, "piece")), ("3 kg", "jin", (3000, "kg")), ("十二箱", "box", (12000, "box")),
])
def test_quantities_are_read_as_people_say_them(typed, unit, expected):
    assert parse_quantity(typed, unit) == expected


@pytest.mark.parametrize("typed, unit, reason", [
    ("一二", "kg", "not_a_number"), ("三半", "kg", "not_a_number"), ("半打", "dozen", "whole_only"),
    ("两块", "jin", "not_a_number"),  # money is not a quantity
    ("一个半", "piece", "whole_only"), ("半个", "piece", "whole_only"), ("2.5 dozen", "dozen", "whole_only"),
    ("两升", "kg", "not_a_number"), ("-两", "kg", "not_positive"), ("零", "kg", "not_positive"),
    ("两百万", "kg", "too_big"),
])
def test_quantities_said_wrong_say_why(typed, unit, reason):
    with pytest.raises(BadAmount) as refused:
        parse_quantity(typed, unit)
    assert refused.value.reason == reason


@pytest.mark.parametrize("typed, fen", [
    ("1块2", 120), ("一块五", 150), ("¥6.5", 650), ("￥6.5", 650), ("6块", 600), ("6元", 600),
    ("六块五毛", 650), ("六块五", 650), ("五毛", 50), ("1块2毛5", 125), ("十块钱", 1000), ("两块半", 250),
    ("两块五一斤", 250), ("六块一斤", 600), ("6块1", 610), ("六块一", 610), ("6元/斤", 600), ("6元每斤", 600), ("６.５元", 650), (" 6 块 ", 600),
    ("6.5 yuan", 650), ("6.5 yuan per jin", 650), ("2 yuan a jin", 200), ("二十", 2000), ("一百二", 12000),
])
def test_prices_are_read_as_people_say_them(typed, fen):
    assert parse_price(typed, "jin") == fen


def test_a_price_per_counting_word_is_per_the_products_own_unit():
    assert parse_price("6块一个", "bag") == 600
    assert parse_price("50元/袋", "bag") == 5000
    with pytest.raises(BadAmount) as refused:
        parse_price("6块一个", "jin")
    assert refused.value.reason == "other_unit"


@pytest.mark.parametrize("typed, reason", [
    ("6块/公斤", "other_unit"), ("六块一袋", "other_unit"), ("cheap", "not_a_number"), ("fifty", "not_a_number"),
    ("6块钱多", "not_a_number"),
    ("零块", "not_positive"), ("1块2毛5分3", "not_a_number"), ("十万零一块", "too_big"),
])
def test_prices_said_wrong_say_why(typed, reason):
    with pytest.raises(BadAmount) as refused:
        parse_price(typed, "jin")
    assert refused.value.reason == reason


@pytest.mark.parametrize("typed, expected", [
    ("两袋", 2), ("2袋", 2), ("两", 2), ("十二", 12), ("二十五", 25), ("一百", 100), ("２", 2), (" 3 ", 3),
    ("两个", 2), ("2 bags", 2),
])
def test_cart_quantities_are_read_as_people_say_them(typed, expected):
    assert carts.parse_quantity(typed, unit="bag") == expected


def test_a_cart_quantity_in_another_unit_names_the_products_unit():
    with pytest.raises(OtherUnit) as refused:
        carts.parse_quantity("2斤", unit="bag")
    assert refused.value.unit == "bag"
    with pytest.raises(InvalidQuantity):  # half a bag cannot be bought
        carts.parse_quantity("半袋", unit="bag")
    with pytest.raises(InvalidQuantity):
        carts.parse_quantity("一千", unit="bag")
    assert carts.parse_quantity("零", minimum=0, unit="bag") == 0


def test_a_yearless_date_more_than_six_months_ahead_is_asked():
    today = date(2026, 12, 7)
    assert parse_date("12-20", today) == date(2026, 12, 20)
    assert parse_date("3月1日", today) == date(2027, 3, 1)
    assert parse_date("06-07", today) == date(2027, 6, 7)  # six months to the day: not asked
    for typed, meant in (("11-01", date(2027, 11, 1)), ("11月1日", date(2027, 11, 1)), ("12-01", date(2027, 12, 1)),
                         ("06-08", date(2027, 6, 8))):
        with pytest.raises(UnsureDate) as asked:
            parse_date(typed, today)
        assert asked.value.day == meant
    assert parse_date("2027-11-01", today) == date(2027, 11, 1)  # the year was typed: taken as typed
    in_february = date(2027, 2, 1)
    with pytest.raises(UnsureDate) as asked:
        parse_date("11-01", in_february)  # this year's, but nine months on
    assert asked.value.day == date(2027, 11, 1)
    with pytest.raises(BadDate) as refused:
        parse_date("02-29", in_february)
    assert refused.value.reason == "not_a_date"
