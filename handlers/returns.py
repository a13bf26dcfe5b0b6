"""Parcels nobody collected, on the desk (services/returns.py has the rules).

    RETURN_AFTER_DAYS after arrival ──> one list for the desk: each parcel with
                                        ↩️ Return and ⏳ Keep 3 more days
    ↩️ Return  ──> the order is returned: stock back, the villager (and a seller) told, its card
                   updated; the list shows it
    ⏳ Keep    ──> the parcel comes back on a later list, which says who kept it

The outbox sends the list (handlers.notices); a tap edits the tapped list in place, as it stands
now. Anyone in the desk's group sees the list; only the center's partners and admins act on it.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import Application

from handlers.callbacks import KeepParcel, ReturnParcel, on
from handlers.cards import order_refusal
from handlers.context import RuralContext
from handlers.desk import actor_of
from handlers.ui import alert, button, esc, keyboard, local_time, not_yours, on_tap, show, status_text
from locales import Translator
from services import partners, returns
from services.errors import AlreadyDone, NotAllowed, NotFound, NotYours
from services.partners import NotPartner
from services.returns import AlreadyKept, ListedParcel, ReturnList
from services.states import OrderStatus

REFUSED = (NotPartner, AlreadyDone, NotAllowed, NotFound)
# Refusals that say the parcel moved on since the list was drawn: the list is shown again as it is.
MOVED_ON = (AlreadyDone, NotAllowed, AlreadyKept)


# ---- the list -------------------------------------------------------------------------------------

def list_text(t: Translator, listed: ReturnList) -> str:
    tz = listed.timezone
    lines = [t("↩️ <b>Parcels to send back</b>: not collected in time. Send each back to the county, or keep it "
               "3 more days.")]
    for parcel in listed.parcels:
        lines.append(_parcel_line(t, parcel, tz))
        if parcel.round and parcel.kept_at is not None:
            lines.append("   " + t("⏳ Kept 3 more days by {who} on {when}", who=_who(t, parcel.kept_by),
                                   when=local_time(parcel.kept_at, tz)))
    return "\n".join(lines)


def _parcel_line(t: Translator, parcel: ListedParcel, tz: str) -> str:
    if parcel.status != OrderStatus.READY_FOR_PICKUP:
        return f"• {parcel.number} · {status_text(t, parcel.status)}"
    if parcel.kept_until is not None:
        return "• " + t("{number} · ⏳ kept until {when} by {who}", number=parcel.number,
                        when=local_time(parcel.kept_until, tz), who=_who(t, parcel.kept_again_by))
    if parcel.arrived_at is None:
        return f"• {parcel.number}"
    return t("• {number} · arrived {when}", number=parcel.number, when=local_time(parcel.arrived_at, tz))


def _who(t: Translator, name: str | None) -> str:
    return esc(name) or t("(name deleted)")  # a partner who used /forget


def list_keyboard(t: Translator, listed: ReturnList) -> InlineKeyboardMarkup | None:
    """↩️ Return and ⏳ Keep for each parcel still waiting for the desk's decision."""
    rows = [[button(t("↩️ Return {number}", number=parcel.number), ReturnParcel(listed.id, parcel.order_id)),
             button(t("⏳ Keep {number} 3 more days", number=parcel.number), KeepParcel(listed.id, parcel.order_id))]
            for parcel in listed.parcels if parcel.waiting]
    return keyboard(*rows) if rows else None


# ---- the taps ---------------------------------------------------------------------------------

async def _answer(update: Update, context: RuralContext, text: str) -> None:
    """What the tap did, as a short note that goes by itself."""
    context.answered = True
    await update.callback_query.answer(text)


async def _seen(update: Update, context: RuralContext, list_id: int) -> ReturnList | None:
    """The list, if the person may see it in this chat; else the one refusal."""
    try:
        return await returns.list_for(context.rt.store, list_id, actor_of(update, context), update.effective_chat.id)
    except NotYours:
        await not_yours(update, context)
        return None


async def _show_again(update: Update, context: RuralContext, list_id: int) -> None:
    """The tapped list as it stands now, in the desk's language (a private chat: the reader's)."""
    listed = await returns.list_for(context.rt.store, list_id, actor_of(update, context), update.effective_chat.id)
    t = context.t
    if update.effective_chat.type != ChatType.PRIVATE:
        desk = await partners.desk_of_center(context.rt.store, listed.center_id)
        t = context.desk_t(desk.locale if desk else None)
    await show(update, context, list_text(t, listed), list_keyboard(t, listed))


@on_tap
async def return_tapped(update: Update, context: RuralContext, data: ReturnParcel) -> None:
    rt = context.rt
    if await _seen(update, context, data.list_id) is None:
        return
    try:
        moved = await returns.return_parcel(rt.store, rt.clock, actor_of(update, context), data.list_id, data.order_id)
    except REFUSED as exc:
        await alert(update, context, order_refusal(context.t, exc))
        if not isinstance(exc, MOVED_ON):
            return
    else:
        await _answer(update, context, context.t("↩️ {number} goes back. The villager has been told.",
                                                 number=moved.number))
    await _show_again(update, context, data.list_id)


@on_tap
async def keep_tapped(update: Update, context: RuralContext, data: KeepParcel) -> None:
    rt = context.rt
    listed = await _seen(update, context, data.list_id)
    if listed is None:
        return
    try:
        kept = await returns.keep_parcel(rt.store, rt.clock, actor_of(update, context), data.list_id, data.order_id)
    except AlreadyKept as exc:
        await alert(update, context, context.t("ℹ️ Already kept by {who}, until {when}.", who=_who(context.t, exc.by),
                                               when=local_time(exc.until, listed.timezone)))
    except REFUSED as exc:
        await alert(update, context, order_refusal(context.t, exc))
        if not isinstance(exc, MOVED_ON):
            return
    else:
        await _answer(update, context, context.t("⏳ {number} stays until {when}, then it is on the list again.",
                                                 number=kept.number, when=local_time(kept.until, listed.timezone)))
    await _show_again(update, context, data.list_id)


def register(app: Application) -> None:
    app.add_handler(on(ReturnParcel, return_tapped))
    app.add_handler(on(KeepParcel, keep_tapped))
