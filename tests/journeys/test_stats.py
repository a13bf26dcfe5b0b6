"""/stats, the admins' figures: orders and sales by local day, county and center, produce sold,
villagers, parcels waiting for pickup, searches that found nothing, and the chart of daily orders.

The services on SQLite and PostgreSQL (local days around midnight in Asia/Shanghai, the top
places and the rest), then an admin reading the figures of a month of orders through chat, and
a villager who is refused."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from chat import center_id, settle_in, texts, villager_id
from handlers.stats import MAX_TEXT, report_text, utf16_len
from locales import translator
from services import cart, desks, market, orders, parcels, produce, reviews, stats, villagers
from services.caps import Caps
from services.clock import ManualClock
from services.produce import Step
from services.stats import Figure, Place, Places, Report, VillagerFigures, Waiting, Windows
from store.models import Product
from support.desk import ADMIN

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
EN = translator("en")


def local(text: str) -> datetime:
    """"2026-11-27 23:50" in Asia/Shanghai, as an aware time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def product_id(store, sku: str) -> int:
    async with store.read() as session:
        return await session.scalar(select(Product.id).where(Product.sku == sku))


async def customer(store, clock, telegram_id: int, center: str) -> int:
    found = await villagers.enter(store, clock, telegram_id=telegram_id, first_name=f"Villager {telegram_id}",
                                  username=None, locale="en")
    await villagers.set_center(store, found.id, await center_id(store, center))
    return found.id


async def order_at(store, when: datetime, buyer: int, sku: str, quantity: int = 1) -> orders.OrderView:
    """``buyer`` orders ``quantity`` of ``sku`` through the cart, at ``when``; the orders of a month
    stay pending, so the cap on them (MAX_PENDING_ORDERS) is set above what a story places."""
    await cart.add_to_cart(store, buyer, await product_id(store, sku), quantity)
    token = (await cart.get_cart(store, buyer)).checkout_token
    return (await orders.place_order(store, ManualClock(when), buyer, token, caps=Caps(pending_orders=100))).order


async def approved_apples(store, clock, seller: int) -> int:
    """10 jin of apples at ¥6.00 a jin, approved by an admin."""
    draft = await produce.start_draft(store, clock, seller)
    await produce.choose_common(store, clock, seller, draft.id, "Apples", "fruit")
    for step, value in ((Step.PHOTO, None), (Step.UNIT, "jin"), (Step.QUANTITY, 10_000), (Step.PRICE, 600),
                        (Step.AVAILABLE, clock.now().astimezone(SHANGHAI).date()), (Step.NOTE, "")):
        await produce.fill(store, clock, seller, draft.id, step, value)
    await produce.publish(store, clock, seller, draft.id)
    await reviews.review(store, clock, ADMIN, draft.id, approve=True)
    return draft.id


# ---- the services -------------------------------------------------------------------------------

async def test_daily_orders_are_counted_by_local_day_with_empty_days_filled(demo_store):
    buyer = await customer(demo_store, ManualClock(), 1, "CG-01")
    now = local("2026-11-11 10:00")
    await order_at(demo_store, local("2026-10-12 23:59"), buyer, "FT-003")  # the day before the 30
    await order_at(demo_store, local("2026-10-13 00:00"), buyer, "FT-003")  # the first of the 30
    await order_at(demo_store, local("2026-11-10 23:59"), buyer, "FT-003")  # 15:59 UTC on 11-10
    await order_at(demo_store, local("2026-11-11 00:00"), buyer, "FT-003")  # 16:00 UTC on 11-10, local today
    await order_at(demo_store, local("2026-11-11 00:01"), buyer, "FT-003", 2)
    rejected = await order_at(demo_store, local("2026-11-11 09:00"), buyer, "FT-003")
    await desks.decide(demo_store, ManualClock(now), ADMIN, rejected.id, confirm=False, reason="out_of_stock")

    series = await stats.daily_orders(demo_store, now, TZ)
    assert len(series) == 30
    assert [day for day, _ in series] == [date(2026, 10, 13) + timedelta(days=i) for i in range(30)]
    counted = {day: n for day, n in series if n}
    assert counted == {date(2026, 10, 13): 1, date(2026, 11, 10): 1, date(2026, 11, 11): 2}

    figures = await stats.orders_and_sales(demo_store, now, TZ)
    assert figures.today == Figure(2, 3 * 1500)  # ¥15.00 each, the rejected one left out
    assert figures.week == Figure(3, 4 * 1500)
    assert figures.month == Figure(4, 5 * 1500)

    assert stats.daily_orders_png(series).startswith(b"\x89PNG\r\n\x1a\n")


async def test_the_top_places_and_the_rest_add_up(demo_store):
    now = local("2026-11-11 10:00")
    here = await customer(demo_store, ManualClock(), 1, "CG-01")
    there = await customer(demo_store, ManualClock(), 2, "CG-02")
    far = await customer(demo_store, ManualClock(), 3, "SC-01")
    await order_at(demo_store, local("2026-11-11 08:00"), here, "SF-005")  # ¥38.00
    await order_at(demo_store, local("2026-11-08 08:00"), there, "FT-003")  # ¥15.00
    await order_at(demo_store, local("2026-10-20 08:00"), far, "FT-003", 2)  # ¥30.00
    await order_at(demo_store, local("2026-10-01 08:00"), far, "SF-005")  # too old

    centers = await stats.by_center(demo_store, now, TZ, limit=1)
    assert [(p.code, p.figures) for p in centers.top] == [
        ("CG-01", Windows(Figure(1, 3800), Figure(1, 3800), Figure(1, 3800)))]
    assert centers.others == 2
    assert centers.rest == Windows(Figure(0, 0), Figure(1, 1500), Figure(2, 4500))

    counties = await stats.by_county(demo_store, now, TZ)
    assert [(p.names["en"], p.code, p.figures.month) for p in counties.top] == [
        ("Chenggu County", None, Figure(2, 5300)), ("Suichang County", None, Figure(1, 3000))]
    assert (counties.others, counties.rest) == (0, Windows())

    misses = await stats.search_misses(demo_store, now, TZ)
    assert misses.top == [] and misses.others == 0
    assert (await stats.produce_sold(demo_store, now, TZ)).top == []
    assert (await stats.waiting_parcels(demo_store)).count == 0


def test_a_long_report_is_cut_to_one_message_and_sums_up_what_it_leaves_out():
    figures = Windows(Figure(1, 100), Figure(2, 200), Figure(3, 300))
    names = {"en": "A Village Service Center With A Remarkably Long Name Indeed " * 2}
    places = Places([Place(i, names, f"LONG-{i:02d}", figures) for i in range(10)], others=5,
                    rest=Windows(Figure(0, 0), Figure(1, 50), Figure(9, 900)))
    report = Report(now=local("2026-11-11 10:00"), timezone=TZ, orders=figures, counties=places, centers=places,
                    produce=stats.ProduceSales([]), villagers=VillagerFigures(1, 2, 3, []), waiting=Waiting(0, []),
                    misses=stats.Misses([]), daily=[])
    text = report_text(EN, report)
    assert utf16_len(text) <= MAX_TEXT
    for head, other in (("🏘 By county", "other counties"), ("📍 By center", "other centers")):
        section = text.split(head)[1].split("\n\n")[0].splitlines()[1:]
        shown = [line for line in section if "Long Name" in line]
        assert 0 < len(shown) < 10
        # What was cut is summed up with the 5 places beyond the top 10.
        dropped = 10 - len(shown)
        assert section[-1] == (f"• {5 + dropped} {other}: today {dropped} · ¥{dropped}.00 | "
                               f"7 days {1 + 2 * dropped} · ¥{2 * dropped}.50 | "
                               f"30 days {9 + 3 * dropped} · ¥{9 + 3 * dropped}.00")


# ---- through chat ---------------------------------------------------------------------------

async def test_an_admin_reads_the_figures_and_the_chart_and_a_villager_is_refused(bot):
    def to(when: str) -> None:
        bot.clock.advance(local(when) - bot.clock.now())

    store, clock = bot.store, bot.clock
    to("2026-11-11 10:00")
    wang = bot.person(1001, "Wang", language_code="en")
    zhao = bot.person(1002, "Zhao", language_code="en")
    await settle_in(wang)
    await settle_in(zhao, village="Qinglong")
    a, b = await villager_id(store, 1001), await villager_id(store, 1002)

    first = await order_at(store, clock.now(), a, "SF-005")  # ¥38.00 at Shangyuan, 16 days ago
    await desks.decide(store, clock, ADMIN, first.id, confirm=True)
    await parcels.move_center_batch(store, clock, ADMIN, "CG-01", parcels.S.CONFIRMED, parcels.S.IN_TRANSIT)
    to("2026-11-12 10:00")
    await parcels.arrive(store, clock, ADMIN, first.id)  # waiting since 11-12 10:00: the oldest

    to("2026-11-20 10:00")
    li = bot.person(1003, "Li Mei", language_code="en")
    await settle_in(li)  # last seen 7 days and 14 hours before the figures
    await order_at(store, clock.now(), b, "FT-003", 2)  # ¥30.00 at Qinglong, in the 30 days only

    to("2026-11-26 10:00")
    rejected = await order_at(store, clock.now(), b, "FT-003")
    await desks.decide(store, clock, ADMIN, rejected.id, confirm=False, reason="out_of_stock")  # not counted
    to("2026-11-26 23:30")  # 15:30 UTC
    yesterday = await order_at(store, clock.now(), a, "FT-003")  # ¥15.00, in the 7 days, not today
    to("2026-11-27 00:30")  # 16:30 UTC, the same UTC day: but today here
    await order_at(store, clock.now(), a, "SF-005", 2)  # ¥76.00 today

    to("2026-11-27 08:00")
    apples = await approved_apples(store, clock, await villager_id(store, 1003))
    await market.order_listing(store, clock, b, apples, 2500, await center_id(store, "CG-02"), "apples-1")  # ¥15.00
    await desks.decide(store, clock, ADMIN, yesterday.id, confirm=True)
    await parcels.move_center_batch(store, clock, ADMIN, "CG-01", parcels.S.CONFIRMED, parcels.S.IN_TRANSIT)
    await parcels.arrive(store, clock, ADMIN, yesterday.id)

    to("2026-11-27 12:00")
    await wang.send("Durian")
    await zhao.send("durian ")
    await wang.send("durian")  # the same miss from Wang the same day: recorded once (SEARCH_MISS_DAYS)
    assert "Nothing found for “durian”" in texts(wang.chat)[-1]

    to("2026-11-27 23:50")
    await wang.send("/stats")
    assert texts(wang.chat)[-1] == "🔒 Only admins can do this."
    assert not wang.chat.last_bot_message().photo

    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/stats")
    text, chart = admin.chat.bot_messages()[-2:]
    lines = text.text.splitlines()
    assert lines[0] == "📊 Figures · 11-27 23:50 (Asia/Shanghai)"
    assert "📅 Today: 2 orders · ¥91.00" in lines
    assert "🗓 7 days: 3 orders · ¥106.00" in lines
    assert "🗓 30 days: 5 orders · ¥174.00" in lines
    assert "• Chenggu County: today 2 · ¥91.00 | 7 days 3 · ¥106.00 | 30 days 5 · ¥174.00" in lines
    centers = lines[lines.index("📍 By center") + 1:][:2]
    assert centers == [
        "• Shangyuan Village Service Center (CG-01): today 1 · ¥76.00 | 7 days 2 · ¥91.00 | 30 days 3 · ¥129.00",
        "• Qinglong Village Service Center (CG-02): today 1 · ¥15.00 | 7 days 1 · ¥15.00 | 30 days 2 · ¥45.00",
    ]
    assert "• Li (Shangyuan Village Service Center): 2.5 jin · ¥15.00 sold, ¥0.00 paid" in lines
    assert "🟢 Active: 3 in 7 days · 4 in 30 days" in lines and "👤 All: 4" in lines
    assert ("🆕 New per day: 11-21: 0 · 11-22: 0 · 11-23: 0 · 11-24: 0 · 11-25: 0 · 11-26: 0 · 11-27: 1"
            in lines)  # the admin, just now
    assert "📦 2 parcels waiting" in lines
    waiting = lines[lines.index("⏳ Waiting longest:") + 1:][:2]
    assert waiting[0] == f"• {first.number} · Shangyuan Village Service Center (CG-01) · since 11-12 10:00"
    assert waiting[1].startswith(f"• {yesterday.number} ·")
    assert "• “durian” × 2 (2 people)" in lines
    assert "Rejected and cancelled orders are not counted" in text.text

    assert chart.caption == "📈 Daily orders, last 30 days"
    assert bot.double.files[chart.photo].content.startswith(b"\x89PNG\r\n\x1a\n")
    assert [b.text for row in chart.buttons for b in row] == ["🔄 Refresh"]

    answer = await wang.tap_data("st:refresh", chart)
    assert answer.show_alert and "Only admins" in answer.text

    to("2026-11-28 00:10")  # a new local day: today starts again
    await admin.tap("🔄 Refresh", message=chart)
    assert chart.buttons == []  # the fresh report has the button now
    fresh_text, fresh_chart = admin.chat.bot_messages()[-2:]
    assert fresh_chart is not chart and fresh_chart.photo and fresh_chart.buttons
    assert "📅 Today: 0 orders · ¥0.00" in fresh_text.text.splitlines()


async def test_the_figures_of_a_bot_without_orders(bot):
    admin = bot.person(900, "管理员")
    await admin.send("/stats")
    text, chart = admin.chat.bot_messages()[-2:]
    assert text.text.count("\n") > 10 and "¥0.00" in text.text
    assert bot.double.files[chart.photo].content.startswith(b"\x89PNG")
    assert (await stats.daily_orders(bot.store, datetime.now(timezone.utc), TZ))[-1][1] == 0
