"""Who is who: `/partner add CG-01 @name` gives a center's rights to the person an admin saw and
confirmed, never to whoever else the store remembers with that username."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from chat import last_text
from services import villagers
from store.models import Partner, ServiceCenter, Villager


async def partners_of(store, code: str = "CG-01") -> list[int]:
    async with store.read() as session:
        return list(await session.scalars(
            select(Partner.telegram_id).join(ServiceCenter, Partner.center_id == ServiceCenter.id)
            .where(ServiceCenter.code == code).order_by(Partner.telegram_id)))


async def usernames(store) -> dict[int, str | None]:
    async with store.read() as session:
        return dict((await session.execute(
            select(Villager.telegram_id, Villager.username).where(Villager.telegram_id.is_not(None)))).all())


def confirm_data(message) -> str:
    return next(b.callback_data for row in message.buttons for b in row if b.text == "✅ Confirm")


async def test_a_username_given_up_goes_to_its_new_owner_and_only_the_new_owner_is_made_partner(bot):
    admin = bot.person(900, "County", language_code="en")
    old_li = bot.person(501, "Old Li", language_code="en", username="li")
    await old_li.send("/start")
    # Old Li renames himself in Telegram and stays silent; New Li takes the name (any letter case).
    old_li.username = "li_senior"
    new_li = bot.person(502, "New Li", language_code="en", username="Li")
    await new_li.send("/start")
    assert (await usernames(bot.store))[501] is None
    assert (await usernames(bot.store))[502] == "Li"

    await admin.send("/partner add CG-01 @li")
    question = admin.chat.last_bot_message()
    assert "Make this person a partner of Shangyuan Village Service Center (CG-01)?" in question.text
    assert "New Li @Li (id 502)" in question.text
    assert [b.text for row in question.buttons for b in row] == ["✅ Confirm", "✖️ Cancel"]
    assert await partners_of(bot.store) == []  # nothing changes before the confirmation

    await admin.tap("✅ Confirm")
    assert "New Li @Li (id 502) is now a partner of Shangyuan Village Service Center (CG-01)" in last_text(admin)
    assert await partners_of(bot.store) == [502]

    # Old Li writes again under his new name: it is recorded, and nobody else loses theirs.
    await old_li.send("/start")
    assert await usernames(bot.store) == {900: None, 501: "li_senior", 502: "Li"}


async def test_an_unchanged_username_costs_no_write(bot):
    li = bot.person(502, "Li", language_code="en", username="li")
    await li.send("/start")
    async with bot.store.read() as session:
        seen = await session.scalar(select(Villager.last_seen_at).where(Villager.telegram_id == 502))
    bot.clock.advance(timedelta(minutes=1))
    await li.send("/help")
    async with bot.store.read() as session:
        assert await session.scalar(select(Villager.last_seen_at).where(Villager.telegram_id == 502)) == seen


async def test_an_ambiguous_username_is_refused_with_the_candidates(bot):
    admin = bot.person(900, "County", language_code="en")
    await admin.send("/start")
    # Rows from before usernames were cleared on arrival: two people remembered as @wang.
    async with bot.store.write() as session:
        for telegram_id, name in ((601, "Wang Fang"), (602, "Wang Wei")):
            session.add(Villager(telegram_id=telegram_id, first_name=name, username="wang", locale="en",
                                 created_at=bot.clock.now(), last_seen_at=bot.clock.now()))

    await admin.send("/partner add CG-01 @Wang")
    answer = admin.chat.last_bot_message()
    assert "More than one person has had the username @Wang, so I changed nothing" in answer.text
    assert "Wang Fang @wang (id 601)" in answer.text and "Wang Wei @wang (id 602)" in answer.text
    assert answer.buttons == []
    assert await partners_of(bot.store) == []

    await admin.send("/partner add CG-01 602")  # the numeric id is never ambiguous
    assert "Wang Wei @wang (id 602)" in last_text(admin)
    await admin.tap("✅ Confirm")
    assert await partners_of(bot.store) == [602]


async def test_a_stranger_cannot_confirm_and_a_second_tap_makes_one_partnership(bot):
    admin = bot.person(900, "County", language_code="en")
    li = bot.person(502, "Li", language_code="en", username="li")
    stranger = bot.person(777, "Stranger", language_code="en")
    await li.send("/start")
    await stranger.send("/start")
    await admin.send("/partner add CG-01 @li")
    question = admin.chat.last_bot_message()
    data = confirm_data(question)

    own = stranger.chat.last_bot_message()
    for forged in (data, data.replace(":502:", ":777:"), "pt:x"):
        answer = await stranger.tap_data(forged, own)
        assert answer.show_alert and "Only admins can do this" in answer.text
    assert await partners_of(bot.store) == []
    assert confirm_data(admin.chat.message(question.message_id)) == data  # the admin's question is untouched

    await admin.tap("✅ Confirm", message=question)
    await admin.tap_data(data, question)  # a double tap, or the same button tapped again later
    assert await partners_of(bot.store) == [502]
    assert "Li @li (id 502) is already a partner of Shangyuan Village Service Center (CG-01)" in last_text(admin)


async def test_a_confirmation_after_the_person_changed_or_too_late_changes_nothing(bot):
    admin = bot.person(900, "County", language_code="en")
    li = bot.person(502, "Li", language_code="en", username="li")
    await li.send("/start")

    await admin.send("/partner add CG-01 @li")
    li.username = "li_2026"  # renamed between the question and the answer
    await li.send("/start")
    await admin.tap("✅ Confirm")
    assert "This person changed since I asked: now Li @li_2026 (id 502). Nothing changed" in last_text(admin)
    assert await partners_of(bot.store) == []

    await admin.send("/partner add CG-01 502")
    bot.clock.advance(timedelta(minutes=16))
    await admin.tap("✅ Confirm")
    assert "This question has expired, so nothing changed" in last_text(admin)
    assert await partners_of(bot.store) == []

    await admin.send("/partner add CG-01 502")
    await admin.tap("✖️ Cancel")
    assert "Cancelled. Nothing changed." in last_text(admin)
    assert await partners_of(bot.store) == []


async def test_removing_a_partner_shows_them_and_asks_first(bot):
    admin = bot.person(900, "County", language_code="en")
    li = bot.person(502, "Li", language_code="en", username="li")
    await li.send("/start")
    await admin.send("/partner add CG-01 @li")
    await admin.tap("✅ Confirm")

    await admin.send("/partner remove CG-01 @li")
    assert "Remove this partner of Shangyuan Village Service Center (CG-01)?\n👤 Li @li (id 502)" in last_text(admin)
    assert await partners_of(bot.store) == [502]
    await admin.tap("✅ Confirm")
    assert "Li @li (id 502) is no longer a partner of CG-01" in last_text(admin)
    assert await partners_of(bot.store) == []

    await admin.send("/partner remove CG-01 @li")
    assert "Li @li (id 502) was not a partner of CG-01" in last_text(admin)
    assert admin.chat.last_bot_message().buttons == []


async def test_someone_who_never_wrote_is_shown_by_id(bot):
    admin = bot.person(900, "County", language_code="zh-hans")
    await admin.send("/partner add CG-01 123456789")
    question = admin.chat.last_bot_message()
    assert "123456789" in question.text and "✅" in [b.text[0] for row in question.buttons for b in row]
    await admin.tap("✅")
    assert await partners_of(bot.store) == [123456789]


async def test_two_people_swapping_usernames_at_once_each_end_with_their_new_one(store, clock):
    async def arrive(telegram_id: int, username: str):
        return await villagers.enter(store, clock, telegram_id=telegram_id, first_name=f"P{telegram_id}",
                                     username=username, locale="en")

    await arrive(501, "east")
    await arrive(502, "west")
    for swap in range(6):  # back and forth, both arriving at the same moment each time
        first, second = ("west", "east") if swap % 2 == 0 else ("east", "west")
        await asyncio.gather(arrive(501, first), arrive(502, second))
        assert await usernames(store) == {501: first, 502: second}
