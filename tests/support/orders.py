"""A person's way through the shop's screens: rice into the cart, and a whole rice order."""

from __future__ import annotations

import re

from chat import last_text


async def rice_in_cart(person, quantity_taps: int = 0) -> None:
    """The person finds rice, taps ➕ `quantity_taps` times and adds it to the cart."""
    await person.send("/search rice")
    await person.tap("Rice")
    for _ in range(quantity_taps):
        await person.tap("➕")
    await person.tap("Add")


async def order_rice(person, quantity_taps: int = 0) -> str:
    """The person orders rice through the usual screens; returns the order number."""
    await rice_in_cart(person, quantity_taps)
    await person.send("/cart")
    await person.tap("Checkout")
    await person.tap("Confirm order")
    return re.search(r"RT-[0-9A-Z]{5}", last_text(person)).group(0)
