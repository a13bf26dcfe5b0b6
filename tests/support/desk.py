"""The county staff's admin and a partner's order desk: the partner's group, the order cards in it."""

from __future__ import annotations

from chat import settle_in
from services.partners import Actor, add_partner
from support.orders import order_rice

ADMIN = Actor(900, "Admin", is_admin=True)
GROUP_ID = -100123


async def desk(bot, *, bind: bool = True):
    """A partner of CG-01 (Shangyuan) with its group, a bystander in the group, and a villager."""
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 501)
    partner = bot.person(501, "Lao Zhang", language_code="en", username="laozhang")
    bystander = bot.person(502, "Xiao Li", language_code="en")
    villager = bot.person(1001, "Wang", language_code="en")
    group = bot.double.group(GROUP_ID, "Shangyuan desk")
    group.add_member(bystander)
    await bot.double.add_bot_to_group(group, by=partner)
    if bind:
        await partner.send("/bind CG-01", chat=group)
    await settle_in(villager)
    return partner, bystander, villager, group


def card_of(group, number: str):
    cards = [m for m in group.bot_messages() if (m.text or "").startswith(f"🧾 Order {number}")]
    assert len(cards) == 1, f"expected one card for {number}, found {len(cards)}"
    return cards[0]


async def confirmed_order(bot, partner, villager, group) -> tuple[str, object]:
    """A villager's order, confirmed by the partner; and the county staff's admin."""
    number = await order_rice(villager)
    await partner.tap("✅ Confirm", message=card_of(group, number))
    return number, bot.person(900, "County", language_code="en")


async def shipped_orders(bot, count: int = 1):
    """The CG-01 desk (``desk``) and ``count`` rice orders of its villager, each confirmed as it
    comes (a villager has at most 5 pending, MAX_PENDING_ORDERS), then shipped by the county:
    (partner, bystander, villager, group, order numbers)."""
    partner, bystander, villager, group = await desk(bot)
    admin = bot.person(900, "County", language_code="en")
    numbers = []
    for _ in range(count):
        numbers.append(await order_rice(villager))
        await partner.tap("✅ Confirm", message=card_of(group, numbers[-1]))
    await admin.send("/ship CG-01")
    return partner, bystander, villager, group, numbers
