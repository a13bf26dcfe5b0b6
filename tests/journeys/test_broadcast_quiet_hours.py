"""📣 Promotions and quiet hours (21:00–08:00 by default): a promotion sent in them waits, for each
villager, until their quiet hours end in their own center's time zone; unless the admin taps
"🔔 Send anyway" on the preview, which says which applies."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from chat import last_text
from store.models import ServiceCenter
from support.promotions import compose, crowd, promotions_in

ADMIN = 900
SHANGHAI_22_16 = datetime.fromisoformat("2026-11-11T22:16:00+08:00")


async def at_local(bot, when: datetime) -> None:
    """Move the bot's clock to ``when`` (later than now), then let the promotions pump work."""
    bot.clock.advance(when - bot.clock.now())
    runtime = bot.app.bot_data["runtime"]
    runtime.kick_promotions()
    await runtime.promotions.idle()


async def people_in_three_time_zones(bot):
    """Villagers of CG-01 (Shanghai), CG-02 (moved to Tokyo, an hour ahead) and CG-03 (moved to
    Urumqi, two hours behind), and the admin (no center: the bot's time zone, Shanghai)."""
    async with bot.store.write() as session:
        await session.execute(update(ServiceCenter).where(ServiceCenter.code == "CG-02").values(timezone="Asia/Tokyo"))
        await session.execute(update(ServiceCenter).where(ServiceCenter.code == "CG-03").values(timezone="Asia/Urumqi"))
    shanghai = await crowd(bot, 2, first=3000, center="CG-01")
    tokyo = await crowd(bot, 2, first=3100, center="CG-02")
    urumqi = await crowd(bot, 1, first=3200, center="CG-03")
    admin = bot.person(ADMIN, "Zhou", language_code="en")
    await at_local(bot, SHANGHAI_22_16)
    await compose(admin)
    await admin.tap("👥 Everyone")
    return admin, shanghai, tokyo, urumqi


def got(people) -> list[int]:
    return [len(promotions_in(p)) for p in people]


async def test_a_promotion_sent_in_quiet_hours_waits_for_each_villagers_own_morning(bot):
    admin, shanghai, tokyo, urumqi = await people_in_three_time_zones(bot)
    preview, previews = last_text(admin), len(promotions_in(admin))  # the preview shows it in each language
    # Shanghai (22:16) and Tokyo (23:16) are quiet; Urumqi (20:16) is not. 4 villagers and the admin.
    assert "It is quiet hours (21:00–08:00) for 5 of them" in preview and "wait until 08:00" in preview
    await admin.tap("🚀 Send now")
    await at_local(bot, SHANGHAI_22_16 + timedelta(minutes=5))
    assert got(urumqi) == [1]
    assert got(shanghai) == [0, 0] and got(tokyo) == [0, 0] and got([admin]) == [previews]

    await at_local(bot, datetime.fromisoformat("2026-11-12T06:59:00+08:00"))
    assert got(shanghai + tokyo) == [0, 0, 0, 0]
    await at_local(bot, datetime.fromisoformat("2026-11-12T07:00:00+08:00"))  # 08:00 in Tokyo
    assert got(tokyo) == [1, 1] and got(shanghai) == [0, 0] and got([admin]) == [previews]
    await at_local(bot, datetime.fromisoformat("2026-11-12T08:00:00+08:00"))
    assert got(shanghai) == [1, 1] and got(tokyo) == [1, 1] and got(urumqi) == [1]
    assert got([admin]) == [previews + 1]
    assert "Promotion #1 finished" in last_text(admin) and "Sent: 6" in last_text(admin)


async def test_send_anyway_goes_at_once_in_quiet_hours(bot):
    admin, shanghai, tokyo, urumqi = await people_in_three_time_zones(bot)
    previews = len(promotions_in(admin))
    await admin.tap("🔔 Send anyway")
    assert "is on its way" in last_text(admin)
    await at_local(bot, SHANGHAI_22_16 + timedelta(minutes=1))
    assert got(shanghai + tokyo + urumqi) == [1] * 5 and got([admin]) == [previews + 1]


async def test_outside_quiet_hours_the_preview_says_it_goes_at_once(bot):
    admin = bot.person(ADMIN, "Zhou", language_code="en")
    people = await crowd(bot, 2)
    await compose(admin)  # at 10:00 in Shanghai
    await admin.tap("👥 Everyone")
    assert "Nobody is in quiet hours (21:00–08:00) now" in last_text(admin)
    assert "🔔 Send anyway" not in [b.text for row in admin.chat.last_bot_message().buttons for b in row]
    await admin.tap("🚀 Send now")
    await at_local(bot, bot.clock.now() + timedelta(minutes=1))
    assert got(people) == [1, 1]
