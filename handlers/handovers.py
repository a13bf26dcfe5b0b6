"""Cash handed to the county, and the county staff's word on it:

    /handover 1200        (in the desk group, or privately by a partner of one center;
    /handover CG-01 1200   "¥1,200.50" and spoken amounts too) the cash leaves the book at once
    the card, to the county's staff (to admins if it has none): ✅ Received / ⚠️ Not received
        Received      ──> confirmed; the partner is told
        Not received  ──> disputed: the cash is back on hand (a correction); the partner is told

Only the staff of the center's county and admins may decide, once; anyone else's tap is refused.
The card is rendered by ``handover_card`` for the outbox (handlers.cash_notices) and for a tap.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler

from handlers.callbacks import HandoverDecision, on
from handlers.cash import actor_of
from handlers.context import RuralContext
from handlers.ui import alert, button, esc, keyboard, local_time, money, name_in, not_yours, on_tap, say, show
from locales import Translator
from services import cash, handovers, partners
from services.amounts import BadAmount, parse_price
from services.cash import TooMuch
from services.errors import AlreadyDone, NotFound, NotYours
from services.handovers import CONFIRMED, PENDING, HandoverView, NoCash
from services.partners import NotPartner


def handover_card(t: Translator, h: HandoverView):
    """The card's text and buttons (buttons only while it waits for a decision)."""
    lines = [t("📤 <b>Cash handed to the county</b> · {center} ({code})", center=esc(name_in(h.names, t)),
               code=esc(h.code)),
             t("💴 {amount} from {name}, {at}", amount=money(h.amount_fen), name=esc(h.by_name),
               at=local_time(h.at, h.timezone))]
    if h.status == PENDING:
        lines.append(t("Did it reach you?"))
        return "\n".join(lines), keyboard([button(t("✅ Received"), HandoverDecision(h.id, "ok")),
                                           button(t("⚠️ Not received"), HandoverDecision(h.id, "no"))])
    when = local_time(h.decided_at, h.timezone)
    if h.status == CONFIRMED:
        lines.append(t("✅ Received, confirmed by {name} at {at}.", name=esc(h.decided_by), at=when))
    else:
        lines.append(t("⚠️ Not received, said {name} at {at}. The cash is back on the center's book.",
                       name=esc(h.decided_by), at=when))
    return "\n".join(lines), None


async def handover_command(update: Update, context: RuralContext) -> None:
    t, rt, args = context.t, context.rt, context.args or []
    usage = t("Usage: /handover AMOUNT, for example /handover 1200 (privately: /handover CENTER-CODE 1200)")
    center_id = None
    if len(args) >= 2:
        try:
            center_id, _ = await cash.center_of(rt.store, args[0])
            args = args[1:]
        except NotFound:
            pass
    if center_id is None and update.effective_chat.type != ChatType.PRIVATE:
        desk = await partners.desk_of_group(rt.store, update.effective_chat.id)
        center_id = desk.id if desk else None
    elif center_id is None:
        mine = await partners.centers_of_partner(rt.store, update.effective_user.id)
        center_id = mine[0].id if len(mine) == 1 else None
    if center_id is None or not args:
        await say(update, context, usage)
        return
    try:
        amount = parse_price(" ".join(args))
    except BadAmount:
        await say(update, context, t("⚠️ Please type an amount above ¥0, for example 20 or ¥12.50."))
        return
    try:
        h = await handovers.hand_over(rt.store, rt.clock, actor_of(update, context), center_id, amount, rt.admin_ids)
    except NotPartner:
        await say(update, context, t("🔒 Only the center's partners and admins can record a handover."))
        return
    except TooMuch as exc:
        await say(update, context, t("⚠️ Only {amount} is on hand, so {asked} cannot have been handed over. "
                                     "Nothing was recorded.", amount=money(exc.limit), asked=money(amount)))
        return
    except NoCash:
        await say(update, context, usage)
        return
    await say(update, context, t("📤 Recorded: {amount} handed to the county ({code}). The county staff will "
                                 "confirm it.", amount=money(h.amount_fen), code=esc(h.code)))


@on_tap
async def decision_tapped(update: Update, context: RuralContext, data: HandoverDecision) -> None:
    t, rt = context.t, context.rt
    actor = actor_of(update, context)
    if update.effective_chat.type != ChatType.PRIVATE:  # the card goes to people, never to a group
        await not_yours(update, context)
        return
    try:
        h = await handovers.decide(rt.store, rt.clock, actor, data.handover_id, data.received == "ok")
    except NotYours:
        await not_yours(update, context)
        return
    except AlreadyDone:
        h = await handovers.may_see(rt.store, actor, data.handover_id)
        await alert(update, context, t("ℹ️ This handover was already decided."))
    await show(update, context, *handover_card(t, h))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("handover", handover_command))
    app.add_handler(on(HandoverDecision, decision_tapped))
