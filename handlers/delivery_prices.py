"""A center's delivery prices, for admins (every center) and county staff (their county's), in a
private chat:

    /delivery                      pick a county, then a center, with buttons (only one's own)
    /delivery CG-01                the center's table: 本县 / 本省 / 省外, "up to 5 kg: ¥6.00"
    /delivery CG-01 county 5 8     set a band: zone, up to kg, yuan (本县 5 8, province 20 25, 省外 5 18)
    /delivery CG-01 county 5 -     remove the band
    /delivery CG-01                several bands, one a line after the first: all or none
    county 5 6
    county 20 15

services/delivery_prices.py decides who may change which center's prices and checks every band;
services/delivery_words.py reads the typed words.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers.admin import for_supervisors, not_your_county
from handlers.callbacks import DeliveryCounties, DeliveryCounty, DeliveryTable, on
from handlers.context import RuralContext
from handlers.ui import alert, button, esc, keyboard, local_time, money, name_in, on_tap, say, show
from locales import N_, Translator
from services import delivery_prices as prices
from services.amounts import format_milli
from services.counties import NotYourCounty
from services.delivery_prices import BadBand, CenterTable, Edit, Zone
from services.delivery_words import read_band
from services.errors import NotAdmin, NotFound
from services.partners import Actor

ZONES = {Zone.COUNTY: N_("Same county"), Zone.PROVINCE: N_("Same province"), Zone.ELSEWHERE: N_("Elsewhere")}


def usage(t: Translator) -> str:
    return t("Usage: /delivery CENTER-CODE · /delivery CENTER-CODE ZONE KG YUAN, e.g. /delivery CG-01 county 5 8 "
             "(zone: county, province or elsewhere; 本县, 本省, 省外) · YUAN - removes the band")


def band_text(t: Translator, zone: Zone, grams: int) -> str:
    return t("{zone}, up to {kg} kg", zone=t(ZONES[zone]), kg=format_milli(grams))


def table_text(t: Translator, table: CenterTable) -> str:
    where = esc(name_in(table.county_names, t)) + (f" · {esc(table.province)}" if table.province else "")
    lines = [t("🚛 <b>Delivery prices · {center} ({code})</b>", center=esc(name_in(table.names, t)),
               code=esc(table.code)), f"📍 {where}"]
    for zone, label in ZONES.items():
        lines += ["", f"<b>{t(label)}</b>"]
        rows = [row for row in table.rows if row.zone == zone]
        lines += [t("• up to {kg} kg: {price}", kg=format_milli(row.up_to_grams), price=money(row.price_fen))
                  for row in rows] or [t("• no delivery")]
    if table.updated_at is not None:
        when = local_time(table.updated_at, table.timezone, with_year=True)
        who = esc(table.updated_by_name) or (str(table.updated_by) if table.updated_by is not None else "—")
        lines += ["", t("🕓 Last changed {when} by {who}.", when=when, who=who)]
    lines += ["", t("✏️ Change a band: /delivery {code} county 5 8 (zone, up to kg, yuan); remove it: "
                    "/delivery {code} county 5 -", code=esc(table.code))]
    return "\n".join(lines)


def edit_text(t: Translator, edit: Edit) -> str:
    band = band_text(t, edit.zone, edit.up_to_grams)
    if edit.after is None:
        if edit.before is None:
            return t("ℹ️ {band}: there was no such band.", band=band)
        return t("🗑 {band}: removed (was {price}).", band=band, price=money(edit.before))
    if edit.before is None:
        return t("✅ {band}: {price} (new).", band=band, price=money(edit.after))
    if edit.changed:
        return t("✅ {band}: {before} → {price}.", band=band, before=money(edit.before), price=money(edit.after))
    return t("ℹ️ {band}: already {price}.", band=band, price=money(edit.after))


def bad_band_text(t: Translator, exc: BadBand) -> str:
    value = esc(exc.value)
    if exc.what == "zone":
        return t("😔 {value} is not a zone: say county, province or elsewhere (本县, 本省, 省外).", value=value)
    if exc.what == "weight":
        return t("😔 {value} is not a weight: up to how many kg, more than 0 and at most 100.", value=value)
    if exc.what == "price":
        return t("😔 {value} is not a price: yuan from 0 to 1000, or - to remove the band.", value=value)
    if exc.what == "count":
        return t("😔 At most {n} bands in each zone.", n=prices.MAX_BANDS)
    return t("😔 I could not read “{value}”.", value=value) + "\n" + usage(t)


def back_row(t: Translator, county_id: int) -> list:
    return [button(t("⬅️ Centers"), DeliveryCounty(county_id))]


@for_supervisors
async def delivery_command(update: Update, context: RuralContext, actor: Actor) -> None:
    t, rt = context.t, context.rt
    first, *more = (update.effective_message.text or "").splitlines() or [""]
    args = first.split()[1:]
    if not args:
        await choose_county(update, context, actor)
        return
    code = args[0]
    try:
        lines = [args[1:]] if args[1:] else []
        bands = [read_band(words) for words in lines + [line.split() for line in more if line.strip()]]
    except BadBand as exc:
        await say(update, context, bad_band_text(t, exc) + "\n" + t("Nothing changed."))
        return
    try:
        if bands:
            edits = await prices.edit_bands(rt.store, rt.clock, actor, code, bands)
            table, said = edits[0].table, [edit_text(t, edit) for edit in edits] + [""]
        else:
            table, said = await prices.center_table(rt.store, actor, code), []
    except BadBand as exc:
        await say(update, context, bad_band_text(t, exc) + "\n" + t("Nothing changed."))
        return
    except NotFound:
        await say(update, context, t("😔 There is no service center with the code {code}.", code=esc(code)))
        return
    except (NotYourCounty, NotAdmin) as exc:
        await refuse(update, context, exc)
        return
    await say(update, context, "\n".join([*said, table_text(t, table)]), keyboard(back_row(t, table.county_id)))


async def refuse(update: Update, context: RuralContext, exc: Exception) -> None:
    t = context.t
    await alert(update, context, not_your_county(t, exc) if isinstance(exc, NotYourCounty)
                else t("🔒 Only admins can do this."))


async def choose_county(update: Update, context: RuralContext, actor: Actor) -> None:
    t = context.t
    found = await prices.counties_to_price(context.rt.store, actor)
    if len(found) == 1:
        await choose_center(update, context, actor, found[0].id)
        return
    if not found:
        await show(update, context, t("😔 No service centers are set up yet. Please ask your county office."))
        return
    rows = [[button(f"{name_in(county.names, t)} · {county.count}", DeliveryCounty(county.id))] for county in found]
    await show(update, context, t("🚛 Whose delivery prices? Pick a county:") + "\n" + usage(t), keyboard(*rows))


async def choose_center(update: Update, context: RuralContext, actor: Actor, county_id: int) -> None:
    t = context.t
    found = await prices.centers_to_price(context.rt.store, actor, county_id)
    rows = [[button(f"{center.code} {name_in(center.names, t)}" + ("" if center.count else " · " + t("no prices")),
                    DeliveryTable(center.code))] for center in found]
    if not actor.is_admin and len(await prices.counties_to_price(context.rt.store, actor)) == 1:
        back = None
    else:
        back = [button(t("⬅️ Counties"), DeliveryCounties())]
    await show(update, context, t("🚛 Whose delivery prices? Pick a center:"), keyboard(*rows, back))


@on_tap
@for_supervisors
async def counties_tapped(update: Update, context: RuralContext, actor: Actor) -> None:
    try:
        await choose_county(update, context, actor)
    except NotAdmin as exc:
        await refuse(update, context, exc)


@on_tap
@for_supervisors
async def county_tapped(update: Update, context: RuralContext, actor: Actor, data: DeliveryCounty) -> None:
    try:
        await choose_center(update, context, actor, data.county_id)
    except NotFound:  # gone since the button was sent: the counties as they are now
        await choose_county(update, context, actor)
    except (NotYourCounty, NotAdmin) as exc:
        await refuse(update, context, exc)


@on_tap
@for_supervisors
async def table_tapped(update: Update, context: RuralContext, actor: Actor, data: DeliveryTable) -> None:
    t = context.t
    try:
        table = await prices.center_table(context.rt.store, actor, data.code)
    except NotFound:
        await alert(update, context, t("😔 There is no service center with the code {code}.", code=esc(data.code)))
        return
    except (NotYourCounty, NotAdmin) as exc:
        await refuse(update, context, exc)
        return
    await show(update, context, table_text(t, table), keyboard(back_row(t, table.county_id)))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("delivery", delivery_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(DeliveryCounties, counties_tapped))
    app.add_handler(on(DeliveryCounty, county_tapped))
    app.add_handler(on(DeliveryTable, table_tapped))
