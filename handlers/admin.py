"""County staff and admins (ADMIN_IDS), in a private chat:

    /partner add CG-01 @li | 123456     make someone a partner of a center
    /partner remove CG-01 @li | 123456
    /partner list [CG-01]
    /ship [CG-01]      all confirmed orders of a center leave for the county center
    /county [CG-01]    all orders of a center on the way have reached the county center

Without a center code, /ship and /county offer the centers that have such orders as buttons.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from handlers.context import RuralContext
from handlers.notices import status_text
from handlers.start import name_in
from handlers.ui import alert, button, esc, keyboard, on_tap, say, show
from services import parcels, partners
from services.errors import NotFound
from services.orders import OrderStatus
from services.partners import Actor, UnknownPerson

PRIVATE = filters.ChatType.PRIVATE
S = OrderStatus
# /command -> (from, to, button prefix)
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


async def partner_command(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    actor = admin_actor(update, context)
    if actor is None:
        await only_admins(update, context)
        return
    args = context.args or []
    action = args[0].lower() if args else ""
    try:
        if action == "list":
            await list_partners(update, context, args[1] if len(args) > 1 else None)
        elif action in ("add", "remove") and len(args) == 3:
            telegram_id = await partners.resolve_person(rt.store, args[2])
            if action == "add":
                desk = await partners.add_partner(rt.store, rt.clock, actor, args[1], telegram_id)
                await say(update, context, t("✅ {who} is now a partner of {center} ({code}).", who=esc(args[2]),
                                             center=esc(name_in(desk.names, t)), code=esc(desk.code)))
            elif await partners.remove_partner(rt.store, actor, args[1], telegram_id):
                await say(update, context, t("✅ {who} is no longer a partner of {code}.", who=esc(args[2]),
                                             code=esc(args[1].upper())))
            else:
                await say(update, context, t("ℹ️ {who} was not a partner of {code}.", who=esc(args[2]),
                                             code=esc(args[1].upper())))
        else:
            await say(update, context, t("Usage: /partner add CENTER-CODE @username or user id · /partner remove "
                                         "CENTER-CODE @username or user id · /partner list [CENTER-CODE]"))
    except NotFound:
        await say(update, context, t("😔 There is no service center with the code {code}.", code=esc(args[1])))
    except UnknownPerson as exc:
        await say(update, context, t("😔 I don't know {who} yet. Ask them to send /start to me, or use their "
                                     "numeric user id.", who=esc(exc.who)))


async def list_partners(update: Update, context: RuralContext, center_code: str | None) -> None:
    t = context.t
    found = await partners.list_partners(context.rt.store, center_code)
    if not found:
        await say(update, context, t("ℹ️ No partners yet."))
        return
    lines = [t("🤝 <b>Partners</b>")]
    for p in found:
        who = esc(p.first_name or str(p.telegram_id)) + (f" @{esc(p.username)}" if p.username else "")
        lines.append(f"• {esc(p.center_code)} {esc(name_in(p.center_names, t))}: {who} ({p.telegram_id})")
    await say(update, context, "\n".join(lines))


async def batch_command(update: Update, context: RuralContext) -> None:
    command = update.effective_message.text.split()[0].lstrip("/").split("@")[0].lower()
    actor = admin_actor(update, context)
    if actor is None:
        await only_admins(update, context)
        return
    if context.args:
        await move_batch(update, context, actor, command, context.args[0])
    else:
        await batch_choices(update, context, command)


async def batch_choices(update: Update, context: RuralContext, command: str) -> None:
    t = context.t
    source, _ = BATCHES[command]
    found = await parcels.centers_with(context.rt.store, source)
    if not found:
        await show(update, context, t("✅ No center has orders that are {status}.",
                                      status=status_text(t, source)))
        return
    rows = [[button(f"{code} {name_in(names, t)} · {n}", f"adm:{command}:{code}")] for code, names, n in found]
    question = t("🚚 Which center's confirmed orders are shipped?") if command == "ship" else \
        t("🏢 Which center's parcels have reached the county center?")
    await show(update, context, question, keyboard(*rows))


@on_tap
async def batch_tapped(update: Update, context: RuralContext) -> None:
    actor = admin_actor(update, context)
    if actor is None:
        await only_admins(update, context)
        return
    await move_batch(update, context, actor, context.match.group(1), context.match.group(2))


async def move_batch(update: Update, context: RuralContext, actor: Actor, command: str, center_code: str) -> None:
    t, rt = context.t, context.rt
    source, to = BATCHES[command]
    try:
        moved = await parcels.move_center_batch(rt.store, rt.clock, actor, center_code, source, to)
    except NotFound:
        await say(update, context, t("😔 There is no service center with the code {code}.", code=esc(center_code)))
        return
    rt.kick()
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
    app.add_handler(CallbackQueryHandler(batch_tapped, pattern=r"^adm:(ship|county):([A-Za-z0-9._-]{1,32})$"))
