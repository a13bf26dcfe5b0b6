"""Typed callback data (handlers/callbacks.py) and the registry of forms (handlers/forms.py).

A button's data is written by one class and read back by the same class, and by no other: a tap
reaches exactly the handler that built the button. Data Telegram would refuse (over 64 bytes) or
that the class's own pattern would not match is refused when the button is built, not when it is
tapped. A form's stored state ("qty:12") reads back as the same form, and a form has one answer.
"""

from __future__ import annotations

import enum
import re
import typing
from types import SimpleNamespace
from typing import Annotated, Literal

import pytest

from bot.app import build_application
from bot.config import Settings
from handlers import assist, browse, callbacks, cart, forms
from handlers.callbacks import (
    MAX_BYTES,
    CallbackData,
    Cart,
    CartLine,
    Center,
    Chars,
    Digits,
    Language,
    LanguageList,
    MarketCategory,
    MarketCounties,
    MarketCounty,
    MarketHome,
    MarketListing,
    OneOf,
    OrderCard,
    OrderRejectReason,
    PlaceOrder,
    SellDay,
    SellStep,
    WithdrawListing,
    WithdrawListingConfirmed,
    parse,
)
from handlers.forms import Awaiting, Form
from handlers.ui import MENU
from services.produce import Step

# A value for a free-text field (Chars): the first that its regex takes.
TEXTS = ("en", "0123abcd", "0123456789", "0123456789ab", "home")


def field_texts(kind: type[CallbackData]) -> list[str]:
    """One written value per field of ``kind``, as a button of that kind would carry it."""
    hints = typing.get_type_hints(kind, globalns=vars(callbacks), include_extras=True)
    texts = []
    for name in kind.__dataclass_fields__:
        hint, rule = hints[name], None
        if typing.get_origin(hint) in (typing.Union, typing.get_origin(int | None)):
            (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if typing.get_origin(hint) is Annotated:
            hint, rule = typing.get_args(hint)[0], typing.get_args(hint)[1]
        if typing.get_origin(hint) is Literal:
            texts.append(str(typing.get_args(hint)[0]))
        elif isinstance(rule, OneOf):
            texts.append(str(rule.choices[0]))
        elif isinstance(hint, type) and issubclass(hint, enum.Enum):
            texts.append(str(next(iter(hint)).value))
        elif isinstance(rule, Chars):
            texts.append(next(text for text in TEXTS if re.fullmatch(rule.regex(), text)))
        else:
            texts.append("7")
    return texts


def samples(kind: type[CallbackData]) -> list[str]:
    """The data of a button of ``kind``; a class whose last field is optional gives it without
    that field too."""
    texts = field_texts(kind)
    data = [":".join([kind.prefix, *texts])]
    fields = list(kind.__dataclass_fields__.values())
    if fields and fields[-1].default is None:
        data.append(":".join([kind.prefix, *texts[:-1]]))
    return data


ALL = [(kind, data) for kind in CallbackData.kinds for data in samples(kind)]


def test_every_class_has_a_sample():
    assert len(CallbackData.kinds) > 80  # the whole bot's buttons are declared here
    assert len({kind for kind, _ in ALL}) == len(CallbackData.kinds)


@pytest.mark.parametrize(("kind", "data"), ALL, ids=[data for _, data in ALL])
def test_data_round_trips_through_its_class(kind, data):
    button = kind.unpack(data)
    assert type(button) is kind
    assert button.pack() == data
    assert kind.unpack(button.pack()) == button


@pytest.mark.parametrize(("kind", "data"), ALL, ids=[data for _, data in ALL])
def test_data_is_taken_by_its_own_class_only(kind, data):
    takers = [other.__name__ for other in CallbackData.kinds if other.pattern().match(data)]
    assert takers == [kind.__name__]
    assert parse(data) == kind.unpack(data)


def test_fields_are_read_as_what_they_hold():
    assert OrderCard.unpack("dk:card:5") == OrderCard(5)
    assert OrderCard.unpack("dk:card:5").order_id == 5
    assert SellStep.unpack("sl:to:7:title").step is Step.TITLE
    assert SellDay.unpack("sl:day:7:14").days == 14
    assert Language.unpack("lang:zh_Hans").locale == "zh_Hans"
    assert LanguageList().pack() == "lang:?"


def test_an_optional_last_field_is_written_only_when_set():
    assert Cart().pack() == "cart"
    assert Cart(0).pack() == "cart:0"  # page 0 is set
    assert Cart(3).pack() == "cart:3"
    assert Cart.unpack("cart") == Cart(None)
    assert CartLine(5, 2).pack() == "cl:5:2"
    assert CartLine(5, 2, 1).pack() == "cl:5:2:1"
    assert CartLine.unpack("cl:5:0") == CartLine(5, 0, None)
    assert MarketCounties().pack() == "mk:cties"
    assert MarketListing(7).pack() == "mk:l:7"


def test_a_default_that_is_not_none_is_always_written():
    assert WithdrawListingConfirmed(7).pack() == "ml:wd:7:ok"
    assert WithdrawListing(7).pack() == "ml:wd:7"


@pytest.mark.parametrize("button", [
    Center(-1),  # a negative id
    Center(10**9),  # more digits than a row id has
    Cart(10**4),
    OrderRejectReason(7, "because"),  # not one of the desk's reasons
    OrderRejectReason(7, "out_of_stock:x"),
    Language("e"),  # too short
    Language("en:zh"),  # a field may not carry the separator
    PlaceOrder("0123456789AB"),  # a token is lower-case hex
    PlaceOrder("0123"),
    MarketCategory("Honey", 0),
    SellDay(7, 3),  # not a day the seller may choose
], ids=repr)
def test_pack_refuses_what_its_pattern_would_not_take(button):
    with pytest.raises(ValueError, match="cannot carry"):
        button.pack()


def test_pack_refuses_more_than_64_bytes():
    class Note(CallbackData, prefix="test:note"):
        text: Annotated[str, Chars(r"[^:]{1,60}")]

    CallbackData.kinds.remove(Note)  # a class for this test only: no button of the bot
    prefix = len("test:note:")
    assert Note("a" * (MAX_BYTES - prefix)).pack() == "test:note:" + "a" * (MAX_BYTES - prefix)
    with pytest.raises(ValueError, match="64 bytes"):
        Note("a" * (MAX_BYTES - prefix + 1)).pack()
    with pytest.raises(ValueError, match="64 bytes"):  # bytes, not characters: 蜂 is three
        Note("蜂" * 20).pack()
    assert len(Note("蜂" * 18).pack().encode()) == MAX_BYTES


def test_a_field_must_say_what_it_may_hold():
    with pytest.raises(TypeError, match="say what it may hold"):
        class Loose(CallbackData, prefix="test:loose"):
            text: str
    with pytest.raises(TypeError, match="only the last field may be optional"):
        class Gappy(CallbackData, prefix="test:gappy"):
            first: Annotated[int, Digits(3)] | None
            second: Annotated[int, Digits(3)]
    assert all(kind.prefix not in ("test:loose", "test:gappy") for kind in CallbackData.kinds)


def test_parse_finds_the_class_or_nothing():
    assert parse("dk:card:5") == OrderCard(5)
    assert parse("ml:wd:7:ok") == WithdrawListingConfirmed(7)
    assert parse("ml:wd:7") == WithdrawListing(7)
    assert parse("cart") == Cart()
    assert parse("zz:nothing") is None
    assert parse("dk:card:-5") is None
    assert parse("dk:card:5:6") is None  # patterns are anchored at both ends
    assert parse("cart", (PlaceOrder,)) is None  # only among the kinds asked for
    assert parse("cart:2", (PlaceOrder, Cart)) == Cart(2)


@pytest.mark.parametrize("screen", [MarketHome(), MarketCategory("honey", 2), MarketCounty(3, 0)], ids=repr)
def test_a_listing_goes_back_to_the_screen_it_was_opened_from(screen):
    opened = MarketListing.opened_from(7, screen)
    assert opened.pack() == "mk:l:7:" + screen.pack().removeprefix("mk:")
    assert opened.back() == screen
    assert MarketListing.unpack(opened.pack()).back() == screen


def test_a_listing_opened_from_nowhere_has_no_way_back():
    opened = MarketListing.opened_from(7, None)
    assert opened.pack() == "mk:l:7"
    assert opened.back() is None


# ---- forms ----------------------------------------------------------------------------------------

QUANTITY, LINE = Form("qty"), Form("line")


def test_awaiting_round_trips():
    assert QUANTITY(12).pack() == "qty:12"
    assert Awaiting.unpack("qty:12") == QUANTITY(12)
    assert Awaiting.unpack("ofor:0") == Form("ofor")()
    assert Awaiting.unpack(LINE(3).pack()) == LINE(3)
    assert Awaiting.unpack("qty:12") != LINE(12)


@pytest.mark.parametrize("stored", [None, "", "qty", "qty:", "qty:x", ":5", "qty:-1", "qty:1.5"])
def test_awaiting_of_junk_is_none(stored):
    assert Awaiting.unpack(stored) is None


async def quantity_answer(update, context, ref, text):
    pass


async def other_answer(update, context, ref, text):
    pass


def test_a_form_has_one_answer():
    app = SimpleNamespace(bot_data={})
    forms.on_text(app, QUANTITY, quantity_answer)
    forms.on_text(app, Form("qty"), quantity_answer)  # the same answer again: nothing changes
    with pytest.raises(ValueError, match="answered twice"):
        forms.on_text(app, Form("qty"), other_answer)
    assert forms.registry(app).text == {QUANTITY: quantity_answer}
    forms.on_text(app, LINE, other_answer)  # another form may have another answer
    assert forms.registry(app).text[LINE] is other_answer


def test_a_menu_button_opens_one_screen():
    app = SimpleNamespace(bot_data={})
    forms.on_menu(app, "cart", quantity_answer)
    with pytest.raises(ValueError, match="answered twice"):
        forms.on_menu(app, "cart", other_answer)


def test_the_journeys_answer_the_forms_stored_today():
    """States already stored ("qty:12") keep reaching the same answers."""
    app = build_application(Settings(bot_token="1:x", database_url="sqlite+aiosqlite://"), store=None)
    known = forms.registry(app)
    assert known.text[Form("qty")] is browse.quantity_typed
    assert known.text[Form("line")] is cart.line_quantity_typed
    assert known.text[Form("ofor")] is assist.name_typed
    assert set(known.menu) == set(MENU)  # every main-menu button opens a screen


def person_owing(stored: str | None) -> SimpleNamespace:
    return SimpleNamespace(villager=SimpleNamespace(id=5, awaiting=stored), rt=SimpleNamespace(store="store"))


def test_owes_names_the_form_owed():
    context = person_owing("qty:12")
    assert forms.awaiting(context) == QUANTITY(12)
    assert forms.owes(context, QUANTITY)
    assert forms.owes(context, LINE, QUANTITY)
    assert not forms.owes(context, LINE)
    assert not forms.owes(person_owing(None), QUANTITY)


async def test_stop_waiting_for_a_form_leaves_another_wait_alone(monkeypatch):
    stored = []

    async def set_awaiting(store, villager_id, state):
        stored.append((villager_id, state))

    monkeypatch.setattr(forms.villagers, "set_awaiting", set_awaiting)
    context = person_owing("qty:12")
    await forms.stop_waiting(context, LINE)
    assert stored == []
    await forms.stop_waiting(context, QUANTITY)
    assert stored == [(5, None)]
    await forms.stop_waiting(person_owing("line:3"))
    assert stored == [(5, None), (5, None)]
    await forms.wait_for(context, LINE(3))
    assert stored[-1] == (5, "line:3")
