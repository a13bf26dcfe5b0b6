"""County staff and admins (ADMIN_IDS), in a private chat:

    /partner add CG-01 @li | 123456     make someone a partner of a center
    /partner remove CG-01 @li | 123456  (both show who was found and ask ✅ Confirm / ✖️ Cancel)
    /partner list [CG-01]
    /ship [CG-01]      all confirmed orders of a center leave for the county center
    /county [CG-01]    all orders of a center on the way have reached the county center

Without a center code, /ship and /county offer the centers that have such orders as buttons.
County staff (handlers/staff.py) may use /ship and /county for the centers of their own county
only: ``for_supervisors`` lets them in, and the service refuses another county's center.

``for_admins`` is the one check that an admin is asking, for these handlers and those of
catalog_admin, stats and broadcast: it refuses anyone else and hands the admin's ``Actor`` on.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import forms
from handlers.callbacks import Batch, PartnerChangeCancelled, on
from handlers.callbacks import PartnerChange as PartnerChangeButton
from handlers.context import RuralContext
from handlers.ui import alert, button, esc, keyboard, name_in, on_tap, say, show, status_text
from locales import Translator
from services import counties, parcels, partners
from services.counties import NotYourCounty
from services.errors import NotFound
from services.partners import (
    Actor,
    AmbiguousPerson,
    ConfirmationLapsed,
    PartnerChange,
    Person,
    PersonChanged,
    UnknownPerson,
)
from services.states import OrderStatus

PRIVATE = filters.ChatType.PRIVATE
S = OrderStatus
# /command -> (from, to)
BATCHES = {
    "ship": (S.CONFIRMED, S.IN_TRANSIT),
    "county": (S.IN_TRANSIT, S.AT_COUNTY),
}


def admin_actor(update: Update, context: RuralContext) -> Actor | None:
    user = update.effective_user
    if user.id not in context.rt.admin_ids:
        return None
    return Actor(user.id, user.first_name or "", True)


async def only_admins(update: Update, context: RuralContext) -> None:
    await alert(update, context, context.t("🔒 Only admins can do this."))


def guarded(find_actor):
    """A decorator for handlers only some may use: ``find_actor(update, context)`` (awaited) gives
    the acting ``Actor``, or None for anyone else, who is told "🔒 Only admins can do this." and
    nothing happens. The handler is handed the actor after ``(update, context)``, before anything
    else it is handed (a button's data, a form's ref and text). ``answers_form``: the handler takes
    a typed answer, which a refused person then no longer owes."""
    def decorator(handler=None, *, answers_form: bool = False):
        if handler is None:
            return functools.partial(decorator, answers_form=answers_form)

        @functools.wraps(handler)
        async def checked(update: Update, context: RuralContext, *args):
            actor = await find_actor(update, context)
            if actor is None:
                if answers_form:
                    await forms.stop_waiting(context)
                await only_admins(update, context)
                return None
            return await handler(update, context, actor, *args)

        return checked
    return decorator


async def _admin(update: Update, context: RuralContext) -> Actor | None:
    return admin_actor(update, context)


async def supervisor_actor(update: Update, context: RuralContext) -> Actor | None:
    """The admin, or someone who is county staff (of any county: the services check which), as
    the ``Actor``; None for anyone else."""
    actor = admin_actor(update, context)
    if actor is not None:
        return actor
    user = update.effective_user
    if await counties.is_staff(context.rt.store, user.id):
        return Actor(user.id, user.first_name or "", False)
    return None


for_admins = guarded(_admin)  # admins only
for_supervisors = guarded(supervisor_actor)  # admins and county staff; the services check which county


def not_your_county(t: Translator, exc: NotYourCounty) -> str:
    if exc.code:
        return t("🔒 {code} is not in your county.", code=esc(exc.code))
    return t("🔒 {county} is not your county.", county=esc(name_in(exc.names, t)))


@for_admins
async def partner_command(update: Update, context: RuralContext, actor: Actor) -> None:
    t, rt = context.t, context.rt
    args = context.args or []
    action = args[0].lower() if args else ""
    try:
        if action == "list":
            await list_partners(update, context, args[1] if len(args) > 1 else None)
        elif action in ("add", "remove") and len(args) == 3:
            change = await partners.preview_partner_change(rt.store, actor, args[1], args[2], action == "add")
            await ask_to_confirm(update, context, change)
        else:
            await say(update, context, t("Usage: /partner add CENTER-CODE @username or user id · /partner remove "
                                         "CENTER-CODE @username or user id · /partner list [CENTER-CODE]"))
    except NotFound:
        await say(update, context, t("😔 There is no service center with the code {code}.", code=esc(args[1])))
    except UnknownPerson as exc:
        await say(update, context, t("😔 I don't know {who} yet. Ask them to send /start to me, or use their "
                                     "numeric user id.", who=esc(exc.who)))
    except AmbiguousPerson as exc:
        lines = [t("😔 More than one person has had the username {who}, so I changed nothing. Send the command "
                   "again with the numeric id of the right one:", who=esc(exc.who))]
        lines += [f"• {who_is(t, person)}" for person in exc.candidates]
        await say(update, context, "\n".join(lines))


def who_is(t: Translator, person: Person) -> str:
    """A person as an admin must see them before giving rights: name, @username and Telegram id."""
    if not person.known:
        return t("id {id} (has not written to the bot yet)", id=person.telegram_id)
    name = esc(person.first_name) + (f" @{esc(person.username)}" if person.username else "")
    return t("{name} (id {id})", name=name.strip() or "—", id=person.telegram_id)


def outcome(t: Translator, change: PartnerChange) -> str:
    who, center, code = who_is(t, change.person), esc(name_in(change.center_names, t)), esc(change.center_code)
    if change.adding:
        if change.needed:
            return t("✅ {who} is now a partner of {center} ({code}).", who=who, center=center, code=code)
        return t("ℹ️ {who} is already a partner of {center} ({code}).", who=who, center=center, code=code)
    if change.needed:
        return t("✅ {who} is no longer a partner of {code}.", who=who, code=code)
    return t("ℹ️ {who} was not a partner of {code}.", who=who, code=code)


async def ask_to_confirm(update: Update, context: RuralContext, change: PartnerChange) -> None:
    """Show the person found and what would change; nothing changes before ✅ Confirm."""
    t, person = context.t, change.person
    if not change.needed:
        await say(update, context, outcome(t, change))
        return
    center, code = esc(name_in(change.center_names, t)), esc(change.center_code)
    if change.adding:
        question = t("🤝 Make this person a partner of {center} ({code})?", center=center, code=code)
    else:
        question = t("🚪 Remove this partner of {center} ({code})?", center=center, code=code)
    # The button names the person by id and by what the admin saw of them (the fingerprint):
    # a tap after they changed their name or username, or after the question lapsed, does nothing.
    asked = int(context.rt.clock.now().timestamp())
    data = PartnerChangeButton("a" if change.adding else "r", change.center_id, person.telegram_id,
                               person.fingerprint, asked)
    await say(update, context, f"{question}\n👤 {who_is(t, person)}",
              keyboard([button(t("✅ Confirm"), data), button(t("✖️ Cancel"), PartnerChangeCancelled())]))


@on_tap
@for_admins
async def partner_change_confirmed(update: Update, context: RuralContext, actor: Actor,
                                   data: PartnerChangeButton) -> None:
    t, rt = context.t, context.rt
    asked_at = datetime.fromtimestamp(data.asked, timezone.utc)
    await show_confirmed(update, context, partners.confirm_partner_change(
        rt.store, rt.clock, actor, data.center_id, data.telegram_id, data.fingerprint, asked_at,
        adding=data.action == "a"), outcome, t("😔 This service center no longer exists. Nothing changed."))


async def show_confirmed(update: Update, context: RuralContext, confirming, outcome, gone: str) -> None:
    """The answer to ✅ Confirm on a change of people (a partner, county staff): ``confirming``
    makes the change; then ``outcome(t, change)`` says what changed, or the answer says why
    nothing did (the question lapsed, the person changed, or the place is ``gone``)."""
    t = context.t
    try:
        change = await confirming
    except ConfirmationLapsed:
        await show(update, context, t("⌛ This question has expired, so nothing changed. Send the command again."))
        return
    except PersonChanged as exc:
        await show(update, context, t("⚠️ This person changed since I asked: now {who}. Nothing changed; send the "
                                      "command again if it is still the right person.", who=who_is(t, exc.person)))
        return
    except NotFound:
        await show(update, context, gone)
        return
    await show(update, context, outcome(t, change))


@on_tap
@for_admins
async def partner_change_cancelled(update: Update, context: RuralContext, actor: Actor) -> None:
    await show(update, context, context.t("✖️ Cancelled. Nothing changed."))


async def list_partners(update: Update, context: RuralContext, center_code: str | None) -> None:
    t = context.t
    found = await partners.list_partners(context.rt.store, center_code)
    if not found:
        await say(update, context, t("ℹ️ No partners yet."))
        return
    lines = [t("🤝 <b>Partners</b>")]
    for p in found:
        lines.append(f"• {esc(p.center_code)} {esc(name_in(p.center_names, t))}: {listed(p)}")
    await say(update, context, "\n".join(lines))


def listed(person) -> str:
    """A line's person in /partner list and /staff list: name, @username if any, and their id."""
    who = esc(person.first_name or str(person.telegram_id)) + (f" @{esc(person.username)}" if person.username else "")
    return f"{who} ({person.telegram_id})"


@for_supervisors
async def batch_command(update: Update, context: RuralContext, actor: Actor) -> None:
    command = update.effective_message.text.split()[0].lstrip("/").split("@")[0].lower()
    if context.args:
        await move_batch(update, context, actor, command, context.args[0])
    else:
        await batch_choices(update, context, actor, command)


async def batch_choices(update: Update, context: RuralContext, actor: Actor, command: str) -> None:
    t = context.t
    source, _ = BATCHES[command]
    found = await parcels.centers_with(context.rt.store, actor, source)
    if not found:
        await show(update, context, t("✅ No center has orders that are {status}.",
                                      status=status_text(t, source)))
        return
    rows = [[button(f"{code} {name_in(names, t)} · {n}", Batch(command, code))] for code, names, n in found]
    question = t("🚚 Which center's confirmed orders are shipped?") if command == "ship" else \
        t("🏢 Which center's parcels have reached the county center?")
    await show(update, context, question, keyboard(*rows))


@on_tap
@for_supervisors
async def batch_tapped(update: Update, context: RuralContext, actor: Actor, data: Batch) -> None:
    await move_batch(update, context, actor, data.command, data.code)


async def move_batch(update: Update, context: RuralContext, actor: Actor, command: str, center_code: str) -> None:
    t, rt = context.t, context.rt
    source, to = BATCHES[command]
    try:
        moved = await parcels.move_center_batch(rt.store, rt.clock, actor, center_code, source, to,
                                                return_after=rt.return_after)
    except NotFound:
        await say(update, context, t("😔 There is no service center with the code {code}.", code=esc(center_code)))
        return
    except NotYourCounty as exc:
        await alert(update, context, not_your_county(t, exc))
        return
    if not moved:
        text = t("ℹ️ {code}: no orders to move.", code=esc(center_code.upper()))
    elif command == "ship":
        text = t.plural("🚚 {code}: {n} order shipped: {numbers}", "🚚 {code}: {n} orders shipped: {numbers}",
                        len(moved), code=esc(center_code.upper()), numbers=", ".join(moved))
    else:
        text = t.plural("🏢 {code}: {n} order at the county center: {numbers}",
                        "🏢 {code}: {n} orders at the county center: {numbers}",
                        len(moved), code=esc(center_code.upper()), numbers=", ".join(moved))
    await show(update, context, text)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("partner", partner_command, filters=PRIVATE))
    app.add_handler(CommandHandler(list(BATCHES), batch_command, filters=PRIVATE))
    app.add_handler(on(Batch, batch_tapped))
    app.add_handler(on(PartnerChangeButton, partner_change_confirmed))
    app.add_handler(on(PartnerChangeCancelled, partner_change_cancelled))
