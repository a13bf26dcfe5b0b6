"""What a text or a photo typed in a private chat answers: a main-menu button, or a form.

A form is a question the bot asked and waits to have answered by the next text (or photo): "How
many?", "What is the new price?". Which form a person owes an answer to is stored with them
(``villager.awaiting``) as a typed value, ``Awaiting``: the form and the id of what it is about
("qty:12": the quantity of product 12). Each journey declares its forms and, in its ``register()``,
what answers them::

    QUANTITY = Form("qty")
    ...
    forms.on_text(app, QUANTITY, quantity_typed)     # quantity_typed(update, context, product_id, text)
    await forms.wait_for(context, QUANTITY(product.id))

``handlers.menu`` looks the answer up here, and so imports no journey.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import Application

from handlers.context import RuralContext
from services import villagers

TextAnswer = Callable[[Update, RuralContext, int, str], Awaitable[None]]
PhotoAnswer = Callable[[Update, RuralContext, int, str], Awaitable[bool]]  # True: the photo was taken
Screen = Callable[[Update, RuralContext], Awaitable[None]]


@dataclass(frozen=True)
class Form:
    """A kind of question; ``QUANTITY(12)`` is that question about thing 12."""

    kind: str

    def __call__(self, ref: int = 0) -> Awaiting:
        return Awaiting(self, ref)


@dataclass(frozen=True)
class Awaiting:
    """The answer a person owes: to ``form``, about ``ref`` (0 where it is about nothing stored)."""

    form: Form
    ref: int

    def pack(self) -> str:
        return f"{self.form.kind}:{self.ref}"

    @classmethod
    def unpack(cls, stored: str | None) -> Awaiting | None:
        kind, _, ref = (stored or "").partition(":")
        return cls(Form(kind), int(ref)) if kind and ref.isdigit() else None


@dataclass
class Forms:
    """One application's registry: menu buttons, and what answers each form."""

    menu: dict[str, Screen] = field(default_factory=dict)
    text: dict[Form, TextAnswer] = field(default_factory=dict)
    photo: dict[Form, PhotoAnswer] = field(default_factory=dict)
    other_text: Callable[[Update, RuralContext, str], Awaitable[None]] | None = None


def registry(app: Application) -> Forms:
    return app.bot_data.setdefault("forms", Forms())


def _add(table: dict, key, answer, what: str) -> None:
    if table.get(key, answer) is not answer:
        raise ValueError(f"{what} {key!r} is answered twice")
    table[key] = answer


def on_menu(app: Application, action: str, screen: Screen) -> None:
    """The main-menu button ``action`` (a key of ``handlers.ui.MENU``) opens ``screen``."""
    _add(registry(app).menu, action, screen, "menu button")


def on_text(app: Application, form: Form, answer: TextAnswer) -> None:
    _add(registry(app).text, form, answer, "form")


def on_photo(app: Application, form: Form, answer: PhotoAnswer) -> None:
    _add(registry(app).photo, form, answer, "photo form")


def on_other_text(app: Application, answer: Callable[[Update, RuralContext, str], Awaitable[None]]) -> None:
    """What a text that is neither a menu button nor an awaited answer is taken for."""
    registry(app).other_text = answer


def awaiting(context: RuralContext) -> Awaiting | None:
    """The answer the person owed when this update arrived."""
    return Awaiting.unpack(context.villager.awaiting if context.villager else None)


def owes(context: RuralContext, *forms: Form) -> bool:
    """Whether the person owed an answer to one of ``forms`` when this update arrived."""
    owed = awaiting(context)
    return owed is not None and owed.form in forms


async def wait_for(context: RuralContext, owed: Awaiting) -> None:
    """Take the person's next text (or photo) as the answer to ``owed``."""
    await villagers.set_awaiting(context.rt.store, context.villager.id, owed.pack())


async def stop_waiting(context: RuralContext, *forms: Form) -> None:
    """The question is over (answered, cancelled, or its thing is gone). With ``forms``: only if
    the person owed one of them when this update arrived."""
    if forms and not owes(context, *forms):
        return
    await villagers.set_awaiting(context.rt.store, context.villager.id, None)
