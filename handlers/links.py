"""Deep links: what ``/start <payload>`` opens, when someone opens ``https://t.me/<bot>?start=<payload>``.

A payload is ``<prefix>-<rest>`` (Telegram allows 1 to 64 letters, digits, ``_`` and ``-``), and
each journey registers what its prefix opens, with ``@opens("l")``::

    p-FD-001, c-food_drink   a promotion's product or category (handlers.start)
    l-12                     a market listing someone shared (handlers.sharing)
    mk                       the market (inline mode's "Open the market", handlers.sharing)
    s-7                      a seller's page (handlers.sellers)

An opener takes ``(update, context, rest)`` and returns True when it answered; False lets the usual
``/start`` follow (it may have said a short word first, e.g. that the listing is gone). A payload
whose prefix nobody registered is the usual ``/start``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from handlers.context import RuralContext

Opener = Callable[[Update, RuralContext, str], Awaitable[bool]]
# prefix -> what it opens; filled in by the journeys' modules as they are imported.
OPENERS: dict[str, Opener] = {}
MAX_PAYLOAD = 64  # Telegram's limit for a start parameter


def opens(prefix: str) -> Callable[[Opener], Opener]:
    """Register what ``/start <prefix>-...`` opens (see the module's docstring)."""

    def register(opener: Opener) -> Opener:
        OPENERS[prefix] = opener
        return opener

    return register


async def open_payload(update: Update, context: RuralContext, payload: str) -> bool:
    """Open what ``payload`` names; False: the usual /start follows."""
    prefix, _, rest = payload[:MAX_PAYLOAD].partition("-")
    opener = OPENERS.get(prefix)
    return opener is not None and await opener(update, context, rest)


def link(bot_username: str, payload: str) -> str:
    """The t.me link that opens the bot with ``/start payload``."""
    return f"https://t.me/{bot_username}?start={payload}"
