"""A desk's group becomes a supergroup, which has a new chat id. Telegram says so with a service
message in each chat, and with a 400 to a send to the old id; either may come first, or both, or
one twice. The desk moves, the cards still waiting for a tap are posted again in the supergroup,
and the partner goes on working there: nothing lost, nothing retried to the old chat."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chat import body, texts
from store.models import OrderCard, OutboxMessage, ServiceCenter
from support.desk import GROUP_ID, card_of, confirmed_order, desk
from support.orders import order_rice
from support.produce import published_listing, review_card, review_cards
from support.store import status_of

SUPERGROUP_ID = -1_000_000_000_000 - abs(GROUP_ID)  # the id the double gives the supergroup


async def desk_chat(store) -> int | None:
    async with store.read() as session:
        return await session.scalar(select(ServiceCenter.group_chat_id).where(ServiceCenter.code == "CG-01"))


async def busy_desk(bot):
    """A desk whose cards wait for the partner: an order to decide on, a parcel to hand over, the
    villager's honey to review; and an order decided already, whose card waits for nobody."""
    partner, bystander, villager, group = await desk(bot)
    ready, admin = await confirmed_order(bot, partner, villager, group)
    await admin.send("/ship CG-01")
    await partner.tap("📬 Arrived at the village", message=card_of(group, ready))
    rejected = await order_rice(villager)
    await partner.tap("❌ Reject", message=card_of(group, rejected))
    await partner.tap("Out of stock", message=card_of(group, rejected))
    pending = await order_rice(villager)
    await published_listing(bot, villager)
    assert review_card(group, "Mountain honey")
    return partner, villager, group, {"pending": pending, "ready": ready, "rejected": rejected}


def calls_to_chat(bot, chat_id: int, since: int) -> list[str]:
    return [c.method for c in bot.double.calls[since:] if str(c.params.get("chat_id")) == str(chat_id)]


async def outbox_health(bot) -> tuple[int, int, int]:
    """(rows due and not sent, rows that failed, the most attempts any row took)."""
    async with bot.store.read() as session:
        due = OutboxMessage.is_open & (OutboxMessage.due_at <= bot.clock.now())
        return tuple((await session.execute(select(
            func.count().filter(due), func.count().filter(OutboxMessage.failed_at.is_not(None)),
            func.coalesce(func.max(OutboxMessage.attempts), 0)))).one())


@pytest.mark.parametrize("told", ["by service messages", "by a refused send"])
async def test_a_desk_that_becomes_a_supergroup_keeps_working_there(bot, told):
    partner, villager, group, orders = await busy_desk(bot)
    since = len(bot.double.calls)

    supergroup = await bot.double.migrate_to_supergroup(group, by=partner,
                                                        service_messages=told == "by service messages")
    assert supergroup.id == SUPERGROUP_ID
    if told == "by service messages":  # the desk moved at once, before anything was sent
        assert await desk_chat(bot.store) == SUPERGROUP_ID
        assert card_of(supergroup, orders["pending"])
    else:  # the bot has not heard yet: the desk moves on the first send that Telegram refuses
        assert await desk_chat(bot.store) == GROUP_ID and supergroup.bot_messages() == []

    new = await order_rice(villager)
    assert await desk_chat(bot.store) == SUPERGROUP_ID
    pending, ready, new_card = (card_of(supergroup, orders["pending"]), card_of(supergroup, orders["ready"]),
                                card_of(supergroup, new))
    assert [b.text for row in pending.buttons for b in row] == ["✅ Confirm", "❌ Reject"]
    assert [b.text for row in ready.buttons for b in row] == ["🤝 Picked up"]
    assert "Waiting for confirmation" in new_card.text
    honey = review_card(supergroup, "Mountain honey")
    assert len(review_cards(supergroup, "Mountain honey")) == 1
    assert not any(orders["rejected"] in (m.text or "") for m in supergroup.bot_messages()), "it waits for nobody"

    await partner.tap("✅ Confirm", message=pending)
    assert "Confirmed by Lao Zhang" in card_of(supergroup, orders["pending"]).text
    assert card_of(supergroup, orders["pending"]).message_id == pending.message_id, "edited in place"
    await partner.tap("✅ Approve", message=honey)
    assert "On the market" in body(review_card(supergroup, "Mountain honey"))
    code = (await status_of(bot.store, orders["ready"])).pickup_code
    await partner.send(f"/pickup {code}", chat=supergroup)
    assert (await status_of(bot.store, orders["ready"])).status == "picked_up"
    assert "Picked up by Lao Zhang" in card_of(supergroup, orders["ready"]).text
    await partner.send("/pending", chat=supergroup)
    assert "Waiting for a decision: 1" in texts(supergroup)[-1] and new in texts(supergroup)[-1]

    refused = calls_to_chat(bot, GROUP_ID, since)
    assert refused == ([] if told == "by service messages" else ["sendMessage"]), "one refused send, not twelve"
    assert await outbox_health(bot) == (0, 0, 0), "every message went out, first time, none failed"
    async with bot.store.read() as session:
        assert await session.scalar(select(func.count()).select_from(OrderCard)
                                    .where(OrderCard.chat_id == GROUP_ID)) == 0


@pytest.mark.parametrize("first", ["service messages", "refused send", "refused reply"])
async def test_every_signal_in_any_order_and_twice_moves_the_desk_once(bot, first):
    partner, _, villager, group = await desk(bot)
    pending = await order_rice(villager)
    supergroup = await bot.double.migrate_to_supergroup(group, by=partner,
                                                        service_messages=first == "service messages")
    service_messages = [group.messages[-1], supergroup.messages[0]]
    assert service_messages[0].to_dict()["migrate_to_chat_id"] == SUPERGROUP_ID

    if first == "refused reply":  # a tap on an old card, whose answer edits it in the old group
        await partner.tap("❌ Reject", message=card_of(group, pending))
        assert await desk_chat(bot.store) == SUPERGROUP_ID
    new = await order_rice(villager)  # a refused send, unless the desk moved already
    for _ in range(2):  # the service messages late (or again), each twice, in both orders
        for message in (service_messages, service_messages[::-1]):
            for told in message:
                await bot.double.deliver({"message": told.to_dict()})

    assert await desk_chat(bot.store) == SUPERGROUP_ID
    assert card_of(supergroup, pending) and card_of(supergroup, new)  # each exactly once
    async with bot.store.read() as session:
        cards = (await session.execute(select(OrderCard.chat_id, func.count()).group_by(OrderCard.chat_id))).all()
    assert cards == [(SUPERGROUP_ID, 2)]
    assert await outbox_health(bot) == (0, 0, 0)
    await partner.tap("✅ Confirm", message=card_of(supergroup, pending))
    assert "Confirmed by Lao Zhang" in card_of(supergroup, pending).text
