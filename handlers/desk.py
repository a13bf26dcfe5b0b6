"""The partner's order desk: a center's group chat where order cards arrive with buttons.

    /bind CODE   this group becomes the desk of center CODE (partners and admins)
    /unbind      it stops being one; so does removing the bot from the group
    /pending     orders and produce listings still waiting for a decision
    /arrived RT-XXXXX   the parcel is at the village: a pickup code goes to the villager
    /pickup 123456      the villager collected it and paid

Villagers' produce listings arrive here too, as review cards: Approve puts them on the market,
Reject takes a reason the seller is told. Anyone in the group sees the cards; only the center's
partners and admins can act on them. Both kinds of card go through one flow here (approve or
reject, a reason's button, the card again), told apart by their description in handlers.cards
(``ORDER``, ``LISTING``). A reason or a pickup code typed for a card is a reply to the bot's
question (handlers.desk_prompts).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ChatMemberHandler, CommandHandler, filters

from handlers.callbacks import Arrived, PendingPage, on
from handlers.card_posts import send_card
from handlers.cards import LISTING, ORDER, DecisionCard, pending_list
from handlers.context import RuralContext
from handlers.ui import alert, esc, money, name_in, not_yours, on_tap, say, show, status_text
from locales import Translator
from services import desks, parcels, partners, reviews, villagers
from services.errors import AlreadyDone, NotAllowed, NotFound, NotYours
from services.parcels import WrongCode
from services.partners import Actor, GroupTaken, NotPartner

GROUPS = filters.ChatType.GROUPS
log = logging.getLogger(__name__)


def actor_of(update: Update, context: RuralContext) -> Actor:
    user = update.effective_user
    return Actor(user.id, user.first_name or "", user.id in context.rt.admin_ids)


async def refuse(update: Update, context: RuralContext, exc: Exception, kind: DecisionCard = ORDER) -> None:
    """Why an action on the desk (on a card of ``kind``) was refused, as a popup for a tap or a
    reply to a command."""
    await alert(update, context, kind.refusal(context.t, exc))


async def card_seen(update: Update, context: RuralContext, kind: DecisionCard, subject_id: int) -> Any | None:
    """The card of ``kind`` if the person may see it in this chat; else the one refusal, and None."""
    try:
        return await kind.seen(context.rt.store, subject_id, actor_of(update, context), update.effective_chat.id)
    except NotYours:
        await not_yours(update, context)
        return None


async def may_act_on(update: Update, context: RuralContext, kind: DecisionCard, subject_id: int, *,
                     deciding: bool = True) -> Any | None:
    """The card if the person may see it here and act on it (decide on it, or receive an order's
    parcel); else they are told why, and None."""
    card = await card_seen(update, context, kind, subject_id)
    if card is None:
        return None
    center_id = kind.deciding_center(card) if deciding else card.center_id
    try:
        await desks.check_actor(context.rt.store, center_id, actor_of(update, context))
    except NotPartner as exc:
        await refuse(update, context, exc)
        return None
    return card


def on_card(kind: DecisionCard, step, *, acting: bool = False):
    """The handler for a tap on a button naming a card of ``kind``: the person must be allowed to
    see the card here (``acting``: and to decide on it) before anything else happens; then
    ``step(update, context, kind, card, data)``."""

    @on_tap
    @functools.wraps(step)
    async def handle(update: Update, context: RuralContext, data) -> None:
        subject_id = getattr(data, kind.id_field)
        card = await (may_act_on(update, context, kind, subject_id) if acting
                      else card_seen(update, context, kind, subject_id))
        if card is not None:
            await step(update, context, kind, card, data)

    return handle


async def desk_center_of(update: Update, context: RuralContext) -> int | None:
    """The center whose desk this group is; None in a private chat (or a group that is no desk)."""
    if update.effective_chat.type == ChatType.PRIVATE:
        return None
    desk = await partners.desk_of_group(context.rt.store, update.effective_chat.id)
    return desk.id if desk else None


def card_t(update: Update, context: RuralContext, card: Any) -> Translator:
    """A card in a group reads the desk's language, whoever taps; in a private chat, the reader's."""
    if update.effective_chat.type == ChatType.PRIVATE:
        return context.t
    return context.desk_t(card.desk_locale)


# ---- binding --------------------------------------------------------------------------------

async def bind(update: Update, context: RuralContext) -> None:
    t = context.t
    if not context.args:
        await say(update, context, t("Usage: /bind CENTER-CODE, for example /bind CG-01"))
        return
    try:
        desk = await partners.bind_group(context.rt.store, actor_of(update, context), context.args[0],
                                         update.effective_chat.id, context.t.locale)
    except NotFound:
        await say(update, context, t("😔 There is no service center with the code {code}.", code=esc(context.args[0])))
        return
    except NotPartner as exc:
        await say(update, context, t("🔒 Only the partners of {center} and admins can bind it to a group.",
                                     center=esc(name_in(exc.center_names, t))))
        return
    except GroupTaken as exc:
        await say(update, context, t("⚠️ This group is already the order desk of {center}. Send /unbind first.",
                                     center=esc(name_in(exc.center_names, t))))
        return
    await say(update, context, t("✅ This group is now the order desk of {center} ({code}). New orders will "
                                 "appear here.", center=esc(name_in(desk.names, t)), code=esc(desk.code)))


async def unbind(update: Update, context: RuralContext) -> None:
    t = context.t
    try:
        desk = await partners.unbind_group(context.rt.store, actor_of(update, context), update.effective_chat.id)
    except NotFound:
        await say(update, context, t("ℹ️ This group is not an order desk."))
        return
    except NotPartner as exc:
        await say(update, context, t("🔒 Only the partners of {center} and admins can do this.",
                                     center=esc(name_in(exc.center_names, t))))
        return
    await say(update, context, t("✅ This group is no longer the order desk of {center}. Its order cards will "
                                 "go to the partners privately.", center=esc(name_in(desk.names, t))))


async def membership_changed(update: Update, context: RuralContext) -> None:
    """The bot was removed from a group (or left it): the binding ends. In a private chat, the
    person blocked the bot (no messages are attempted) or unblocked it."""
    change = update.my_chat_member
    gone = change.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    if change.chat.type == ChatType.PRIVATE:
        await villagers.set_reachable(context.rt.store, change.chat.id, not gone)
    elif gone:
        await partners.group_gone(context.rt.store, change.chat.id)


# ---- the cards: one flow for orders and listings ----------------------------------------------

async def decide(update: Update, context: RuralContext, kind: DecisionCard, subject_id: int, *, yes: bool,
                 reason: str = "") -> bool:
    """Confirm (approve) or reject the card's order (listing); the tap's popup says its new status."""
    rt = context.rt
    try:
        status = await kind.decide(rt.store, rt.clock, actor_of(update, context), subject_id, yes, reason)
    except kind.refused as exc:
        await refuse(update, context, exc, kind)
        return False
    if update.callback_query:
        context.answered = True
        await update.callback_query.answer(kind.status(context.t, status))
    return True


async def approve_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    await decide(update, context, kind, kind.subject(card), yes=True)


async def reject_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    """❌ Reject: the reasons appear on the card, for the partner who tapped to choose."""
    desk_t = card_t(update, context, card)
    await show(update, context, kind.text(desk_t, card) + "\n\n" + desk_t("Why is it rejected?"),
               kind.reject_keyboard(desk_t, kind.subject(card), card), photo=kind.photo(card))


async def reason_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    await decide(update, context, kind, kind.subject(card), yes=False, reason=data.reason)


async def card_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    """⬅️ Back from the reasons: the card's current state on the tapped message (the outbox
    refreshes other copies)."""
    desk_t = card_t(update, context, card)
    await show(update, context, kind.text(desk_t, card),
               kind.keyboard(desk_t, card, await desk_center_of(update, context)), photo=kind.photo(card))


async def show_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    """From /pending: the card again, at the bottom of the chat, where it can be acted on. It
    replaces the old card, which may be far up the chat or gone (deleted, or never seen)."""
    desk_t, chat_id = card_t(update, context, card), update.effective_chat.id
    sent = await send_card(context.bot, chat_id, kind.text(desk_t, card),
                           kind.keyboard(desk_t, card, await desk_center_of(update, context)), kind.photo(card))
    await kind.record(context.rt.store, kind.subject(card), chat_id, sent.message_id)
    await delete_old_card(context, chat_id, card.cards.get(chat_id))


async def delete_old_card(context: RuralContext, chat_id: int, message_id: int | None) -> None:
    if message_id is None:
        return
    try:
        await context.bot.delete_message(chat_id, message_id)
    except TelegramError as exc:  # too old to delete, or already gone: it only stays as it is
        log.info("old card %s not deleted: %s", message_id, exc)


async def arrived_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    rt = context.rt
    try:
        moved = await parcels.arrive(rt.store, rt.clock, actor_of(update, context), card.order.id,
                                     return_after=rt.return_after)
    except (NotPartner, AlreadyDone, NotAllowed, NotFound) as exc:
        await refuse(update, context, exc)
        return
    context.answered = True
    await update.callback_query.answer(status_text(context.t, moved.status))


async def picked_up_reply(update: Update, context: RuralContext, moved: parcels.Moved) -> None:
    await say(update, context, context.t("🎉 {number} picked up. Collect {total} in cash.", number=moved.number,
                                         total=money(moved.total_fen)))


# ---- commands on the desk -------------------------------------------------------------------

async def desk_or_explain(update: Update, context: RuralContext) -> partners.DeskView | None:
    """The desk this group is (anyone in it sees what waits there); a command elsewhere is told
    how to make one, a button elsewhere (forged or old) gets the one refusal."""
    desk = await partners.desk_of_group(context.rt.store, update.effective_chat.id)
    if desk is None and update.callback_query:
        await not_yours(update, context)
    elif desk is None:
        await say(update, context, context.t("ℹ️ This group is not an order desk yet. A partner can send "
                                             "/bind CENTER-CODE here."))
    return desk


async def pending_command(update: Update, context: RuralContext) -> None:
    await pending_page(update, context, 0)


@on_tap
async def pending_page_tapped(update: Update, context: RuralContext, data: PendingPage) -> None:
    await pending_page(update, context, data.page)


async def pending_page(update: Update, context: RuralContext, page: int) -> None:
    """What waits for a decision, a page at a time (handlers.cards.pending_list)."""
    desk = await desk_or_explain(update, context)
    if desk is None:
        return
    waiting = await desks.pending(context.rt.store, desk.id)
    listings = await reviews.in_review(context.rt.store, desk.id)
    to_ship = await desks.to_ship(context.rt.store, desk.id)
    await show(update, context, *pending_list(context.t, waiting, listings, page, to_ship))


async def arrived_command(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    if not context.args:
        await say(update, context, t("Usage: /arrived ORDER-NUMBER, for example /arrived RT-7K3F9"))
        return
    try:
        moved = await parcels.arrive(rt.store, rt.clock, actor_of(update, context), number=context.args[0],
                                     return_after=rt.return_after)
    except (NotPartner, AlreadyDone, NotAllowed, NotFound) as exc:
        await refuse(update, context, exc)
        return
    await say(update, context, t("📬 {number} is ready for pickup. The villager has their code.",
                                 number=moved.number))


async def pickup_command(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    desk = await desk_or_explain(update, context)
    if desk is None:
        return
    if not context.args:
        await say(update, context, t("Usage: /pickup CODE, with the 6-digit code the villager shows you"))
        return
    try:
        # "/pickup 9257 89": Telegram splits the words; the code is all of them
        moved = await parcels.pickup(rt.store, rt.clock, actor_of(update, context), desk.id, " ".join(context.args))
    except (NotPartner, WrongCode) as exc:
        await refuse(update, context, exc)
        return
    await picked_up_reply(update, context, moved)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("bind", bind, filters=GROUPS))
    app.add_handler(CommandHandler("unbind", unbind, filters=GROUPS))
    app.add_handler(CommandHandler("pending", pending_command, filters=GROUPS))
    app.add_handler(CommandHandler("arrived", arrived_command))
    app.add_handler(CommandHandler("pickup", pickup_command, filters=GROUPS))
    app.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    for kind in (ORDER, LISTING):
        app.add_handler(on(kind.approve, on_card(kind, approve_tapped)))
        app.add_handler(on(kind.reject, on_card(kind, reject_tapped, acting=True)))
        app.add_handler(on(kind.reason, on_card(kind, reason_tapped)))
        app.add_handler(on(kind.back, on_card(kind, card_tapped)))
        app.add_handler(on(kind.show, on_card(kind, show_tapped, acting=True)))
    app.add_handler(on(PendingPage, pending_page_tapped))
    app.add_handler(on(Arrived, on_card(ORDER, arrived_tapped)))
