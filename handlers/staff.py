"""County staff, as admins (ADMIN_IDS) manage them in a private chat:

    /staff add 城固县 @li | 123456      make someone staff of a county (by its name in any language)
    /staff remove 城固县 @li | 123456   (both show who was found and ask ✅ Confirm / ✖️ Cancel)
    /staff list [城固县]

County staff then use /ship, /county (handlers/admin.py) and /stats (handlers/stats.py) for the
centers of their own county only; the services decide which (services/counties.py).
"""

from __future__ import annotations

from datetime import datetime, timezone

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers.admin import for_admins, listed, show_confirmed, who_is
from handlers.callbacks import PartnerChangeCancelled, StaffChange, on
from handlers.context import RuralContext
from handlers.ui import button, esc, keyboard, name_in, on_tap, say
from locales import Translator
from services import counties
from services.counties import StaffChange as Change
from services.errors import NotFound
from services.partners import Actor, AmbiguousPerson, UnknownPerson


def outcome(t: Translator, change: Change) -> str:
    who, county = who_is(t, change.person), esc(name_in(change.county_names, t))
    if change.adding:
        if change.needed:
            return t("✅ {who} is now county staff of {county}.", who=who, county=county)
        return t("ℹ️ {who} is already county staff of {county}.", who=who, county=county)
    if change.needed:
        return t("✅ {who} is no longer county staff of {county}.", who=who, county=county)
    return t("ℹ️ {who} was not county staff of {county}.", who=who, county=county)


@for_admins
async def staff_command(update: Update, context: RuralContext, actor: Actor) -> None:
    t, rt = context.t, context.rt
    args = context.args or []
    action = args[0].lower() if args else ""
    county = " ".join(args[1:-1]) if action in ("add", "remove") else " ".join(args[1:])
    try:
        if action == "list":
            await list_staff(update, context, county or None)
        elif action in ("add", "remove") and len(args) >= 3:
            change = await counties.preview_staff_change(rt.store, actor, county, args[-1], action == "add")
            await ask_to_confirm(update, context, change)
        else:
            await say(update, context, t("Usage: /staff add COUNTY @username or user id · /staff remove COUNTY "
                                         "@username or user id · /staff list [COUNTY]"))
    except NotFound:
        await say(update, context, t("😔 There is no county named {name}.", name=esc(county)))
    except UnknownPerson as exc:
        await say(update, context, t("😔 I don't know {who} yet. Ask them to send /start to me, or use their "
                                     "numeric user id.", who=esc(exc.who)))
    except AmbiguousPerson as exc:
        lines = [t("😔 More than one person has had the username {who}, so I changed nothing. Send the command "
                   "again with the numeric id of the right one:", who=esc(exc.who))]
        lines += [f"• {who_is(t, person)}" for person in exc.candidates]
        await say(update, context, "\n".join(lines))


async def ask_to_confirm(update: Update, context: RuralContext, change: Change) -> None:
    """Show the person found and what would change; nothing changes before ✅ Confirm."""
    t, person = context.t, change.person
    if not change.needed:
        await say(update, context, outcome(t, change))
        return
    county = esc(name_in(change.county_names, t))
    if change.adding:
        question = t("🏛 Make this person county staff of {county}?", county=county)
    else:
        question = t("🚪 Remove this person from the county staff of {county}?", county=county)
    # As for /partner: the button names the person by id and by what the admin saw of them.
    asked = int(context.rt.clock.now().timestamp())
    data = StaffChange("a" if change.adding else "r", change.county_id, person.telegram_id, person.fingerprint, asked)
    await say(update, context, f"{question}\n👤 {who_is(t, person)}",
              keyboard([button(t("✅ Confirm"), data), button(t("✖️ Cancel"), PartnerChangeCancelled())]))


@on_tap
@for_admins
async def staff_change_confirmed(update: Update, context: RuralContext, actor: Actor, data: StaffChange) -> None:
    t, rt = context.t, context.rt
    asked_at = datetime.fromtimestamp(data.asked, timezone.utc)
    await show_confirmed(update, context, counties.confirm_staff_change(
        rt.store, rt.clock, actor, data.county_id, data.telegram_id, data.fingerprint, asked_at,
        adding=data.action == "a"), outcome, t("😔 This county no longer exists. Nothing changed."))


async def list_staff(update: Update, context: RuralContext, county: str | None) -> None:
    t = context.t
    found = await counties.list_staff(context.rt.store, county)
    if not found:
        await say(update, context, t("ℹ️ No county staff yet."))
        return
    lines = [t("🏛 <b>County staff</b>")]
    for s in found:
        lines.append(f"• {esc(name_in(s.county_names, t))}: {listed(s)}")
    await say(update, context, "\n".join(lines))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("staff", staff_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(StaffChange, staff_change_confirmed))
