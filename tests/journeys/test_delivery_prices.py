"""A center's delivery prices through the Bot API double: the admin sees Shangyuan's (CG-01) empty
table, sets bands with /delivery (one a command, several a message), changes one, removes one, and
finds a center with the buttons; Xiao Chen, county staff of Chenggu in Chinese, prices Qinglong
(CG-02) with 本县 and 省外; Suichang's staff and a villager are refused, by command and by a forged
button, and nothing is written."""

from __future__ import annotations

from sqlalchemy import select

from chat import center_id, labels, last_text, settle_in
from services import counties
from store.models import DeliveryPrice
from support.desk import ADMIN

CHEN, SUN = 700, 710  # county staff of Chenggu (城固县), of Suichang (遂昌县)


async def make_staff(bot, telegram_id: int, county: str) -> None:
    change = await counties.preview_staff_change(bot.store, ADMIN, county, str(telegram_id), True)
    await counties.confirm_staff_change(bot.store, bot.clock, ADMIN, change.county_id, telegram_id,
                                        change.person.fingerprint, bot.clock.now(), True)


async def bands(store) -> list[tuple]:
    async with store.read() as session:
        return [tuple(row) for row in await session.execute(
            select(DeliveryPrice.center_id, DeliveryPrice.zone, DeliveryPrice.up_to_grams, DeliveryPrice.price_fen,
                   DeliveryPrice.updated_by).order_by(DeliveryPrice.center_id, DeliveryPrice.zone,
                                                      DeliveryPrice.up_to_grams))]


async def test_an_admin_sets_changes_and_removes_bands_and_sees_the_table(bot):
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/start")
    cg01 = await center_id(bot.store, "CG-01")

    await admin.send("/delivery CG-01")
    assert last_text(admin).splitlines()[:10] == [
        "🚛 Delivery prices · Shangyuan Village Service Center (CG-01)", "📍 Chenggu County · 陕西省", "",
        "Same county", "• no delivery", "", "Same province", "• no delivery", "", "Elsewhere"]

    await admin.send("/delivery CG-01 county 5 8")
    shown = last_text(admin)
    assert shown.startswith("✅ Same county, up to 5 kg: ¥8.00 (new).\n\n🚛 Delivery prices · Shangyuan")
    assert "Same county\n• up to 5 kg: ¥8.00\n\nSame province\n• no delivery" in shown
    assert "🕓 Last changed 2026-11-11 10:00 by Admin." in shown  # the center's time (Asia/Shanghai)
    assert await bands(bot.store) == [(cg01, "county", 5000, 800, 900)]

    await admin.send("/delivery cg-01 county 5 6.5")
    assert last_text(admin).startswith("✅ Same county, up to 5 kg: ¥8.00 → ¥6.50.")
    await admin.send("/delivery CG-01\ncounty 20 15\nprovince 5 10\n省外 20公斤 ¥45")
    shown = last_text(admin)
    assert shown.startswith("✅ Same county, up to 20 kg: ¥15.00 (new).\n✅ Same province, up to 5 kg: ¥10.00 (new).\n"
                            "✅ Elsewhere, up to 20 kg: ¥45.00 (new).\n")
    assert "Same county\n• up to 5 kg: ¥6.50\n• up to 20 kg: ¥15.00\n\nSame province\n• up to 5 kg: ¥10.00\n\n" \
           "Elsewhere\n• up to 20 kg: ¥45.00" in shown

    await admin.send("/delivery CG-01 county 5 -")
    assert last_text(admin).startswith("🗑 Same county, up to 5 kg: removed (was ¥6.50).")
    await admin.send("/delivery CG-01 county 5 -")
    assert last_text(admin).startswith("ℹ️ Same county, up to 5 kg: there was no such band.")
    assert await bands(bot.store) == [(cg01, "county", 20_000, 1500, 900), (cg01, "elsewhere", 20_000, 4500, 900),
                                      (cg01, "province", 5000, 1000, 900)]

    # Bad lines change nothing, not even the good lines before them.
    for typed, said in (("/delivery CG-01 moon 5 8", "😔 moon is not a zone: say county, province or elsewhere"),
                        ("/delivery CG-01 county 0 8", "😔 0 is not a weight"),
                        ("/delivery CG-01 county 500 8", "😔 500 is not a weight"),
                        ("/delivery CG-01 county 5 -3", "😔 -3 is not a price"),
                        ("/delivery CG-01 county 5 2000", "😔 2000 is not a price"),
                        ("/delivery CG-01\ncounty 5 8\nprovince 5",
                         "😔 I could not read “province 5”.\nUsage: /delivery"),
                        ("/delivery CG-01\n" + "\n".join(f"county {kg} {kg}" for kg in range(30, 40)),
                         "😔 At most 10 bands in each zone.")):
        await admin.send(typed)
        assert last_text(admin).startswith(said), typed
        assert last_text(admin).endswith("Nothing changed.")
    await admin.send("/delivery XX-99 county 5 8")
    assert last_text(admin) == "😔 There is no service center with the code XX-99."
    assert len(await bands(bot.store)) == 3

    # Without a code: a county, then a center, with buttons; back again.
    await admin.send("/delivery")
    assert last_text(admin).startswith("🚛 Whose delivery prices? Pick a county:")
    assert sorted(labels(admin.chat.last_bot_message())) == ["Cangxi County · 6", "Chenggu County · 5",
                                                             "Suichang County · 5"]
    await admin.tap("Chenggu County · 5")
    assert labels(admin.chat.last_bot_message()) == [
        "CG-01 Shangyuan Village Service Center", "CG-02 Qinglong Village Service Center · no prices",
        "CG-03 Liujiaying Village Service Center · no prices", "CG-04 Shaba Village Service Center · no prices",
        "CG-05 Baoshan Village Service Center · no prices", "⬅️ Counties"]
    await admin.tap("CG-01 Shangyuan Village Service Center")
    assert last_text(admin).startswith("🚛 Delivery prices · Shangyuan Village Service Center (CG-01)")
    assert "• up to 20 kg: ¥15.00" in last_text(admin)
    await admin.tap("⬅️ Centers")
    await admin.tap("⬅️ Counties")
    assert last_text(admin).startswith("🚛 Whose delivery prices? Pick a county:")

    await admin.send("/help")
    assert "🚛 /delivery — A center's delivery prices: /delivery CG-01, /delivery CG-01 county 5 8" in last_text(admin)


async def test_county_staff_price_their_countys_centers_in_chinese(bot):
    chen = bot.person(CHEN, "小陈", language_code="zh-hans")
    await chen.send("/start")
    await make_staff(bot, CHEN, "城固县")
    cg02 = await center_id(bot.store, "CG-02")

    await chen.send("/delivery CG-02 本县 5 8")
    shown = last_text(chen)
    assert shown.startswith("✅ 本县，5 公斤以内：¥8.00（新增）。\n\n"
                            "🚛 运费 · 青龙村服务站（CG-02）\n📍 城固县 · 陕西省")
    assert "本县\n• 5 公斤以内：¥8.00\n\n本省\n• 不配送\n\n省外\n• 不配送" in shown
    assert "修改人 小陈。" in shown
    await chen.send("/delivery CG-02 省外 10斤 18元")
    assert last_text(chen).startswith("✅ 省外，5 公斤以内：¥18.00（新增）。")
    assert await bands(bot.store) == [(cg02, "county", 5000, 800, CHEN), (cg02, "elsewhere", 5000, 1800, CHEN)]

    # Staff of one county go straight to its centers.
    await chen.send("/delivery")
    assert last_text(chen) == "🚛 查看哪个服务站的运费？请选择："
    assert labels(chen.chat.last_bot_message())[:2] == ["CG-01 上元村服务站 · 未设运费", "CG-02 青龙村服务站"]
    await chen.tap("CG-02 青龙村服务站")
    assert last_text(chen).startswith("🚛 运费 · 青龙村服务站（CG-02）")

    await chen.send("/help")
    assert "🚛 /delivery — 本县服务站的运费：/delivery CG-01 本县 5 8" in last_text(chen)


async def test_other_countys_staff_and_villagers_are_refused(bot):
    sun = bot.person(SUN, "Sun", language_code="en")
    await sun.send("/start")
    await make_staff(bot, SUN, "遂昌县")
    wang = bot.person(1001, "Wang", language_code="en")
    await settle_in(wang)

    for typed in ("/delivery CG-01 county 5 8", "/delivery CG-01"):
        await sun.send(typed)
        assert last_text(sun) == "🔒 CG-01 is not in your county."
    answer = await sun.tap_data("dlv:t:CG-01", sun.chat.last_bot_message())
    assert answer.text == "🔒 CG-01 is not in your county." and answer.show_alert
    chenggu = await counties_id(bot, "城固县")
    answer = await sun.tap_data(f"dlv:c:{chenggu}", sun.chat.last_bot_message())
    assert answer.text == "🔒 Chenggu County is not your county." and answer.show_alert
    await sun.send("/delivery SC-01 county 5 8")  # her own county's center: yes
    assert last_text(sun).startswith("✅ Same county, up to 5 kg: ¥8.00 (new).")

    for typed in ("/delivery CG-01 county 5 8", "/delivery", "/delivery SC-01"):
        await wang.send(typed)
        assert last_text(wang) == "🔒 Only admins can do this."
    answer = await wang.tap_data("dlv:t:CG-01", wang.chat.last_bot_message())
    assert answer.text == "🔒 Only admins can do this." and answer.show_alert
    await wang.send("/help")
    assert "/delivery" not in last_text(wang)

    assert await bands(bot.store) == [(await center_id(bot.store, "SC-01"), "county", 5000, 800, SUN)]


async def counties_id(bot, name: str) -> int:
    county = await counties.figures_scope(bot.store, ADMIN, name)
    return next(iter(county.county_ids))
