"""Figures for admins and county staff, in a private chat:

    /stats      orders and sales (today, 7 days, 30 days; overall, by county, by center), produce
                sold by sellers, villagers, parcels waiting for pickup and searches that found
                nothing (each with a ready-to-copy ``/synonym <miss> <word>`` when a fuzzy guess
                picks a product, for admins); then a chart of daily orders over 30 days, with 🔄 Refresh.
    /stats 城固县  the same, of one county only

County staff see only their own county's figures (``counties.figures_scope``); an admin sees
everything, or the county named.

The figures come from services.stats; the chart is drawn in a worker thread, so the bot keeps
serving others while it renders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import InputFile, Update
from telegram.error import BadRequest
from telegram.ext import Application, CommandHandler, filters

from handlers.admin import for_supervisors, not_your_county, only_admins
from handlers.callbacks import RefreshCountyStats, RefreshStats, on
from handlers.context import RuralContext
from handlers.listings import quantity
from handlers.ui import alert, button, esc, keyboard, local_time, money, name_in, on_tap, say
from locales import Translator
from services import cash, counties, problems, returns, service_requests, stats, synonyms
from services.counties import NotYourCounty, Scope
from services.errors import NotAdmin, NotFound
from services.partners import Actor
from services.stats import Place, Places, Report, Windows

log = logging.getLogger(__name__)
PRIVATE = filters.ChatType.PRIVATE
MAX_TEXT = 4096  # Telegram's limit for a message, in UTF-16 code units


# ---- the text ---------------------------------------------------------------------------------

@dataclass
class Section:
    """A block of the report. When the whole is too long, its list loses items from the end;
    ``tail`` is told which ones, so that it can still sum them up."""

    head: list[str]
    items: Sequence[Any] = ()
    line: Callable[[Any], str] = str
    tail: Callable[[Sequence[Any]], list[str]] = lambda dropped: []
    empty: str | None = None

    def render(self, shown: int) -> str:
        lines = list(self.head)
        lines += [self.line(item) for item in self.items[:shown]]
        lines += self.tail(self.items[shown:])
        if not self.items and self.empty:
            lines.append(self.empty)
        return "\n".join(lines)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(sections: list[Section], limit: int = MAX_TEXT) -> str:
    """The sections, with the longest lists shortened until the text fits in one message."""
    shown = [len(s.items) for s in sections]
    while True:
        text = "\n\n".join(s.render(n) for s, n in zip(sections, shown, strict=True))
        if utf16_len(text) <= limit or not any(shown):
            return text
        longest = max(range(len(shown)), key=lambda i: shown[i])
        shown[longest] -= 1


def title(text: str) -> str:
    return f"<b>{esc(text)}</b>"


def note(text: str) -> str:
    return f"<i>{esc(text)}</i>"


def figure(n: int, fen: int) -> str:
    return f"{n} · {money(fen)}"


def orders_figure(t: Translator, n: int, fen: int) -> str:
    return t.plural("{n} order · {amount}", "{n} orders · {amount}", n, amount=money(fen))


def windows_line(t: Translator, place: str, w: Windows) -> str:
    return t("• {place}: today {today} | 7 days {week} | 30 days {month}", place=place,
             today=figure(w.today.orders, w.today.sales_fen), week=figure(w.week.orders, w.week.sales_fen),
             month=figure(w.month.orders, w.month.sales_fen))


def places_section(t: Translator, head: str, places: Places, name: Callable[[Place], str],
                   others: Callable[[int], str]) -> Section:
    def tail(dropped: Sequence[Place]) -> list[str]:
        n = places.others + len(dropped)
        if not n:
            return []
        rest = sum((p.figures for p in dropped), places.rest)
        return [windows_line(t, others(n), rest)]

    return Section([title(head)], places.top, lambda p: windows_line(t, name(p), p.figures), tail,
                   t("• No orders yet."))


def report_text(t: Translator, r: Report, suggested: dict[str, str] | None = None) -> str:
    """The report; ``suggested``: miss -> a word to teach it as (a ``/synonym`` line under it)."""
    suggested = suggested or {}
    o = r.orders
    orders = Section([
        title(t("📦 Orders & sales")),
        t("📅 Today: {figure}", figure=orders_figure(t, o.today.orders, o.today.sales_fen)),
        t("🗓 7 days: {figure}", figure=orders_figure(t, o.week.orders, o.week.sales_fen)),
        t("🗓 30 days: {figure}", figure=orders_figure(t, o.month.orders, o.month.sales_fen)),
        note(t("Rejected and cancelled orders are not counted.")),
    ])
    counties = places_section(
        t, t("🏘 By county"), r.counties, lambda p: esc(name_in(p.names, t)),
        lambda n: t.plural("{n} other county", "{n} other counties", n))
    centers = places_section(
        t, t("📍 By center"), r.centers, lambda p: f"{esc(name_in(p.names, t))} ({esc(p.code)})",
        lambda n: t.plural("{n} other center", "{n} other centers", n))

    def seller_line(s: stats.SellerSales) -> str:
        sold = " + ".join(quantity(t, milli, unit) for unit, milli in s.quantities)
        return t("• {seller} ({village}): {quantity} · {sold} sold, {paid} paid", seller=esc(s.first_name),
                 village=esc(name_in(s.center_names, t)), quantity=esc(sold), sold=money(s.sold_fen),
                 paid=money(s.paid_fen))

    def more(known: int, line: Callable[[int], str]) -> Callable[[Sequence[Any]], list[str]]:
        def tail(dropped: Sequence[Any]) -> list[str]:
            n = known + len(dropped)
            return [line(n)] if n else []
        return tail

    produce = Section(
        [title(t("🌾 Produce sold, 30 days"))], r.produce.top, seller_line,
        more(r.produce.others, lambda n: t.plural("• … and {n} more seller", "• … and {n} more sellers", n)),
        t("• Nothing sold yet."))

    v = r.villagers
    new = " · ".join(f"{day:%m-%d}: {n}" for day, n in v.new_per_day)
    villagers = Section([
        title(t("👥 Villagers")),
        t("🟢 Active: {week} in 7 days · {month} in 30 days", week=v.active_week, month=v.active_month),
        t("👤 All: {n}", n=v.total),
        t("🆕 New per day: {days}", days=new),
    ])

    w = r.waiting
    head = [title(t("📬 Waiting for pickup")),
            t.plural("📦 {n} parcel waiting", "📦 {n} parcels waiting", w.count) if w.count
            else t("✅ No parcels waiting.")]
    if w.oldest:
        head.append(t("⏳ Waiting longest:"))
    waiting = Section(head, w.oldest, lambda p: t(
        "• {number} · {center} ({code}) · since {since}", number=esc(p.number),
        center=esc(name_in(p.center_names, t)), code=esc(p.center_code),
        since=local_time(p.arrived_at, r.timezone)))

    def suggestion(term: str) -> str:
        word = suggested.get(term)
        return f"\n   <code>/synonym {esc(term)} {esc(word)}</code>" if word else ""

    misses = Section(
        [title(t("🔍 Not found, 30 days")),
         note(t("Demand the catalog does not meet yet, most searched first.")),
         *([note(t("💡 Meant a product we have? Copy a /synonym line and send it."))] if suggested else [])],
        r.misses.top,
        lambda m: t.plural("• “{term}” × {count} ({n} person)", "• “{term}” × {count} ({n} people)", m.people,
                           term=esc(m.term), count=m.count) + suggestion(m.term),
        more(r.misses.others, lambda n: t.plural("• … and {n} more term", "• … and {n} more terms", n)),
        t("• None yet."))

    only = "、".join(esc(name_in(names, t)) for names in r.scope)
    top = Section([title(t("📊 Figures")) + f" · {local_time(r.now, r.timezone)} ({esc(r.timezone)})",
                   *([t("🏛 Only {counties}", counties=only)] if only else [])])
    return fit([top, orders, counties, centers, produce, villagers, waiting, misses])


# ---- the handlers -----------------------------------------------------------------------------

async def scope_of(update: Update, context: RuralContext, actor: Actor, county: str | int | None) -> Scope | None:
    """Which counties ``actor`` reads the figures of (``county``: the one asked for); None after
    answering someone who may not read them."""
    t = context.t
    try:
        return await counties.figures_scope(context.rt.store, actor, county)
    except NotFound:
        await alert(update, context, t("😔 There is no county named {name}.", name=esc(str(county))))
    except NotYourCounty as exc:
        await alert(update, context, not_your_county(t, exc))
    except NotAdmin:
        await only_admins(update, context)
    return None


async def send_report(update: Update, context: RuralContext, actor: Actor, scope: Scope, one: bool) -> None:
    """The figures of ``scope``; ``one``: a county asked for by name, refreshed as that county."""
    t, rt = context.t, context.rt
    report = await stats.report(rt.store, rt.clock.now(), rt.timezone, scope.county_ids, scope.names)
    suggested = {}
    if actor.is_admin:  # a /synonym line is for those who may send it
        suggested = await synonyms.suggestions([m.term for m in report.misses.top], rt.search.guess)
    text, business = report_text(t, report, suggested), await business_text(context, scope)
    if utf16_len(text + business) <= MAX_TEXT:
        await say(update, context, text + business)
    else:  # a report filled to Telegram's limit: the center's business comes on its own
        await say(update, context, text)
        await say(update, context, business.strip())
    png = await asyncio.to_thread(stats.daily_orders_png, report.daily)
    refresh = RefreshCountyStats(next(iter(scope.county_ids))) if one else RefreshStats()
    await context.bot.send_photo(
        update.effective_chat.id, photo=InputFile(png, filename="daily-orders.png"),
        caption=t("📈 Daily orders, last 30 days"), reply_markup=keyboard([button(t("🔄 Refresh"), refresh)]))


@for_supervisors
async def stats_command(update: Update, context: RuralContext, actor: Actor) -> None:
    county = " ".join(context.args or []) or None
    scope = await scope_of(update, context, actor, county)
    if scope is not None:
        await send_report(update, context, actor, scope, one=county is not None)


@on_tap
@for_supervisors
async def refresh_tapped(update: Update, context: RuralContext, actor: Actor,
                         data: RefreshCountyStats | None = None) -> None:
    scope = await scope_of(update, context, actor, data.county_id if data else None)
    if scope is None:
        return
    try:  # the fresh report comes below, with its own button
        await update.callback_query.edit_message_reply_markup(None)
    except BadRequest as exc:
        log.info("could not remove the refresh button: %s", exc)
    await send_report(update, context, actor, scope, one=data is not None)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("stats", stats_command, filters=PRIVATE))
    app.add_handler(on(RefreshStats, refresh_tapped))
    app.add_handler(on(RefreshCountyStats, refresh_tapped))


async def business_text(context: RuralContext, scope: Scope) -> str:
    """The centers' business after the parcel in the last 30 days, below the report: one line each
    for problems and refunds, the parcels returned uncollected, the services, and the cash."""
    t, rt = context.t, context.rt
    since = stats.window_start(rt.clock.now(), rt.timezone, stats.WINDOWS[-1])
    found = await problems.figures(rt.store, since, scope.county_ids)
    lines = [t("⚠️ Problems reported, 30 days: {n} · 💰 refunds: {refunds}, {amount}", n=found.reported,
               refunds=found.refunds, amount=money(found.refunded_fen))]
    money_now = await cash.figures(rt.store, rt.clock.now(), rt.timezone, scope.county_ids)
    return ("\n\n" + "\n".join(lines) + await returned_figures(context, scope)
            + await services_section(context, scope) + "\n\n" + cash_text(t, money_now))


def cash_text(t: Translator, f: cash.CashFigures) -> str:
    """The cash book's figures, under the report: fees, cash in the tills, cash handed over."""
    lines = [title(t("💰 Cash")),
             t("🪙 Partners' fees this month: {amount}", amount=money(f.fees_month)),
             t("💵 Cash on hand at the centers: {amount}", amount=money(f.on_hand)),
             t("📤 Handed to the counties this month: {amount}", amount=money(f.handed_over_month))]
    if f.waiting_fen:
        lines.append(t("⏳ Waiting for the county to confirm: {amount}", amount=money(f.waiting_fen)))
    if f.disputed:
        lines.append(t.plural("⚠️ {n} handover not received this month", "⚠️ {n} handovers not received this month",
                              f.disputed))
    return "\n".join(lines)


async def returned_figures(context: RuralContext, scope: Scope) -> str:
    """Parcels sent back because nobody collected them (services/returns.py), below the figures."""
    t, rt, now, counties = context.t, context.rt, context.rt.clock.now(), scope.county_ids
    week = await returns.returned_count(rt.store, stats.window_start(now, rt.timezone, 7), counties)
    month = await returns.returned_count(rt.store, stats.window_start(now, rt.timezone, 30), counties)
    total = await returns.returned_count(rt.store, None, counties)
    return "\n\n" + title(t("↩️ Returned uncollected")) + "\n" + t(
        "📦 {week} in 7 days · {month} in 30 days · {total} in all", week=week, month=month, total=total)


async def services_section(context: RuralContext, scope: Scope) -> str:
    """Services at the centers, last 30 days: done (how many, what was charged) and their fees."""
    t, rt = context.t, context.rt
    f = await service_requests.figures(rt.store, rt.clock.now(), counties=scope.county_ids)
    return "\n\n" + "\n".join([
        title(t("🧾 Services, 30 days")),
        t("• Done: {done} · charged {charged} · fees {fees}", done=f.done, charged=money(f.charged_fen),
          fees=money(f.fees_fen)),
        t("• Declined: {declined} · waiting now: {waiting}", declined=f.declined, waiting=f.waiting),
    ])
