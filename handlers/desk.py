"""The partner's order desk: a center's group chat where order cards arrive with buttons.

    /bind CODE   this group becomes the desk of center CODE (partners and admins)
    /unbind      it stops being one; so does removing the bot from the group
    /pending     orders and produce listings still waiting for a decision
    /arrived RT-XXXXX   the parcel is at the village: a pickup code goes to the villager
    /pickup 123456      the villager collected it and paid

Villagers' produce listings arrive here too, as review cards: Approve puts them on the market,
Reject takes a reason the seller is told. Anyone in the group sees the cards; only the center's
partners and admins can act on them. A reason or a pickup code typed for a card is a reply to the
bot's question (handlers.desk_prompts).
"""

from __future__ import annotations

import functools
import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, ChatMemberHandler, CommandHandler, filters

from handlers.context import RuralContext
from handlers.listings import REJECT_REASONS as LISTING_REASONS
from handlers.listings import status_name
from handlers.notices import card_keyboard, card_text, reject_keyboard, review_card_text, review_keyboard, send_card
from handlers.ui import alert, button, esc, keyboard, money, name_in, not_yours, on_tap, pager, say, show, status_text
from locales import Translator
from services import desks, parcels, partners, reviews, villagers
from services.errors import AlreadyDone, NotAllowed, NotFound, NotYours
from services.parcels import WrongCode
from services.partners import Actor, GroupTaken, NotPartner
from services.reviews import OwnReview

GROUPS = filters.ChatType.GROUPS
PENDING_PAGE = 10  # orders and listings on one page of /pending
log = logging.getLogger(__name__)


def actor_of(update: Update, context: RuralContext) -> Actor:
    user = update.effective_user
    return Actor(user.id, user.first_name or "", user.id in context.rt.admin_ids)


async def refuse(update: Update, context: RuralContext, exc: Exception) -> None:
    """Why an action on the desk was refused, as a popup for a tap or a reply to a command."""
    t = context.t
    if isinstance(exc, NotPartner):
        text = t("🔒 Only the partners of {center} and admins can do this.",
                 center=name_in(exc.center_names, t))
    elif isinstance(exc, AlreadyDone):
        text = t("ℹ️ Already done: {status}", status=status_text(t, exc.status))
    elif isinstance(exc, NotAllowed):
        text = t("⚠️ Not possible now: the order is {status}.", status=status_text(t, exc.status))
    elif isinstance(exc, WrongCode):
        text = t("❌ Wrong pickup code. Please check it and try again.")
    elif isinstance(exc, NotFound):
        text = t("😔 This order was not found.")
    else:
        raise exc
    await alert(update, context, text)


async def order_card_for(update: Update, context: RuralContext, order_id: int) -> desks.CardView | None:
    """The order's card if the person may see it in this chat; else the one refusal, and None."""
    try:
        return await desks.card_for(context.rt.store, order_id, actor_of(update, context),
                                      update.effective_chat.id)
    except NotYours:
        await not_yours(update, context)
        return None


async def review_card_for(update: Update, context: RuralContext, listing_id: int) -> reviews.ReviewCard | None:
    """The listing's review card if the person may see it in this chat; else the one refusal."""
    try:
        return await reviews.review_card_for(context.rt.store, listing_id, actor_of(update, context),
                                             update.effective_chat.id)
    except NotYours:
        await not_yours(update, context)
        return None


def seen_first(card_for):
    """For a button naming an order or a listing (its id first in the data): the person must be
    allowed to see its card here before anything else happens; the callback gets the card."""

    def wrap(callback):
        @on_tap
        @functools.wraps(callback)
        async def handle(update: Update, context: RuralContext):
            card = await card_for(update, context, int(context.match.group(1)))
            if card is not None:
                await callback(update, context, card)

        return handle

    return wrap


order_card_tap = seen_first(order_card_for)  # dk:…:<order id>
review_card_tap = seen_first(review_card_for)  # lr:…:<listing id>


async def desk_center_of(update: Update, context: RuralContext) -> int | None:
    """The center whose desk this group is; None in a private chat (or a group that is no desk)."""
    if update.effective_chat.type == ChatType.PRIVATE:
        return None
    desk = await partners.desk_of_group(context.rt.store, update.effective_chat.id)
    return desk.id if desk else None


def card_t(update: Update, context: RuralContext, card: desks.CardView) -> Translator:
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


# ---- the cards ------------------------------------------------------------------------------

@order_card_tap
async def confirm_tapped(update: Update, context: RuralContext, card: desks.CardView) -> None:
    await decide(update, context, card.order.id, confirm=True)


async def decide(update: Update, context: RuralContext, order_id: int, *, confirm: bool, reason: str = "") -> bool:
    rt = context.rt
    try:
        moved = await desks.decide(rt.store, rt.clock, actor_of(update, context), order_id,
                                     confirm=confirm, reason=reason)
    except (NotPartner, AlreadyDone, NotAllowed, NotFound) as exc:
        await refuse(update, context, exc)
        return False
    if update.callback_query:
        context.answered = True
        await update.callback_query.answer(status_text(context.t, moved.status))
    return True


@on_tap
async def reject_tapped(update: Update, context: RuralContext) -> None:
    """❌ Reject: the reasons appear on the card, for the partner who tapped to choose."""
    order_id = int(context.match.group(1))
    card = await may_act_on(update, context, order_id, deciding=True)
    if card is None:
        return
    desk_t = card_t(update, context, card)
    await show(update, context, card_text(desk_t, card) + "\n\n" + desk_t("Why is it rejected?"),
               reject_keyboard(desk_t, order_id))


async def may_act_on(update: Update, context: RuralContext, order_id: int, *, deciding: bool
                     ) -> desks.CardView | None:
    """The order's card if the person may see it here and act on it (decide on it, or receive
    its parcel); else they are told why, and None."""
    card = await order_card_for(update, context, order_id)
    if card is None:
        return None
    center_id = card.order.deciding_center_id if deciding else card.center_id
    try:
        await desks.check_actor(context.rt.store, center_id, actor_of(update, context))
    except NotPartner as exc:
        await refuse(update, context, exc)
        return None
    return card


@order_card_tap
async def reason_tapped(update: Update, context: RuralContext, card: desks.CardView) -> None:
    await decide(update, context, card.order.id, confirm=False, reason=context.match.group(2))


@order_card_tap
async def card_tapped(update: Update, context: RuralContext, card: desks.CardView) -> None:
    """⬅️ Back from the reasons: the card's current state on the tapped message (the outbox
    refreshes other copies)."""
    desk_t = card_t(update, context, card)
    await show(update, context, card_text(desk_t, card),
               card_keyboard(desk_t, card.order, await desk_center_of(update, context)))


@order_card_tap
async def arrived_tapped(update: Update, context: RuralContext, card: desks.CardView) -> None:
    rt = context.rt
    try:
        moved = await parcels.arrive(rt.store, rt.clock, actor_of(update, context), card.order.id)
    except (NotPartner, AlreadyDone, NotAllowed, NotFound) as exc:
        await refuse(update, context, exc)
        return
    context.answered = True
    await update.callback_query.answer(status_text(context.t, moved.status))


async def picked_up_reply(update: Update, context: RuralContext, moved: parcels.Moved) -> None:
    await say(update, context, context.t("🎉 {number} picked up. Collect {total} in cash.", number=moved.number,
                                         total=money(moved.total_fen)))


# ---- produce listings to review ------------------------------------------------------------

async def review(update: Update, context: RuralContext, listing_id: int, *, approve: bool, reason: str = "") -> bool:
    rt = context.rt
    try:
        listing = await reviews.review(rt.store, rt.clock, actor_of(update, context), listing_id,
                                       approve=approve, reason=reason)
    except (NotPartner, AlreadyDone, NotAllowed, NotFound, OwnReview) as exc:
        await refuse_listing(update, context, exc)
        return False
    if update.callback_query:
        context.answered = True
        await update.callback_query.answer(status_name(context.t, listing.status))
    return True


async def refuse_listing(update: Update, context: RuralContext, exc: Exception) -> None:
    t = context.t
    if isinstance(exc, AlreadyDone | NotAllowed):
        await alert(update, context, t("ℹ️ Not waiting for review any more: {status}",
                                       status=status_name(t, exc.status)))
    elif isinstance(exc, NotFound):
        await alert(update, context, t("😔 This listing was not found."))
    elif isinstance(exc, OwnReview):
        await alert(update, context, t("🙅 You cannot approve your own produce. Another partner of {center}, or an "
                                       "admin, must approve it.", center=name_in(exc.center_names, t)))
    else:
        await refuse(update, context, exc)


async def listing_card_of(update: Update, context: RuralContext, listing_id: int) -> reviews.ReviewCard | None:
    """The listing's review card if the person may see it here and review it; else they are told
    why, and None."""
    card = await review_card_for(update, context, listing_id)
    if card is None:
        return None
    try:
        await desks.check_actor(context.rt.store, card.listing.center_id, actor_of(update, context))
    except NotPartner as exc:
        await refuse(update, context, exc)
        return None
    return card


def review_t(update: Update, context: RuralContext, card: reviews.ReviewCard) -> Translator:
    if update.effective_chat.type == ChatType.PRIVATE:
        return context.t
    return context.desk_t(card.desk_locale)


@review_card_tap
async def approve_tapped(update: Update, context: RuralContext, card: reviews.ReviewCard) -> None:
    await review(update, context, card.listing.id, approve=True)


@on_tap
async def reject_listing_tapped(update: Update, context: RuralContext) -> None:
    """❌ Reject: the reasons appear on the card, for the partner who tapped to choose."""
    listing_id = int(context.match.group(1))
    card = await listing_card_of(update, context, listing_id)
    if card is None:
        return
    desk_t = review_t(update, context, card)
    rows = [[button(desk_t(LISTING_REASONS[code]), f"lr:rj:{listing_id}:{code}")] for code in reviews.REJECT_REASONS]
    rows.append([button(desk_t("✏️ Type a reason"), f"lr:rt:{listing_id}"),
                 button(desk_t("⬅️ Back"), f"lr:card:{listing_id}")])
    await show(update, context, review_card_text(desk_t, card) + "\n\n" + desk_t("Why is it rejected?"),
               keyboard(*rows), photo=card.listing.photo)


@review_card_tap
async def listing_reason_tapped(update: Update, context: RuralContext, card: reviews.ReviewCard) -> None:
    await review(update, context, card.listing.id, approve=False, reason=context.match.group(2))


@review_card_tap
async def listing_card_tapped(update: Update, context: RuralContext, card: reviews.ReviewCard) -> None:
    """⬅️ Back from the reasons: the card as it is now."""
    desk_t = review_t(update, context, card)
    await show(update, context, review_card_text(desk_t, card), review_keyboard(desk_t, card.listing),
               photo=card.listing.photo)


@on_tap
async def show_listing_tapped(update: Update, context: RuralContext) -> None:
    """From /pending: the listing's review card again, at the bottom of the chat."""
    card = await listing_card_of(update, context, int(context.match.group(1)))
    if card is None:
        return
    desk_t = review_t(update, context, card)
    chat_id = update.effective_chat.id
    sent = await send_card(context.bot, chat_id, review_card_text(desk_t, card), review_keyboard(desk_t, card.listing),
                           card.listing.photo)
    await reviews.record_card(context.rt.store, card.listing.id, chat_id, sent.message_id)
    await delete_old_card(context, chat_id, card.cards.get(chat_id))


async def delete_old_card(context: RuralContext, chat_id: int, message_id: int | None) -> None:
    if message_id is None:
        return
    try:
        await context.bot.delete_message(chat_id, message_id)
    except TelegramError as exc:  # too old to delete, or already gone: it only stays as it is
        log.info("old card %s not deleted: %s", message_id, exc)


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
async def pending_page_tapped(update: Update, context: RuralContext) -> None:
    await pending_page(update, context, int(context.match.group(1)))


async def pending_page(update: Update, context: RuralContext, page: int) -> None:
    """What waits for a decision, a page at a time (a message holds 4096 characters and 100
    buttons, and a busy desk can have hundreds waiting): orders, oldest first, as they have waited
    longest, then produce listings; each a button that brings its card back down the chat."""
    t = context.t
    desk = await desk_or_explain(update, context)
    if desk is None:
        return
    waiting = await desks.pending(context.rt.store, desk.id)
    listings = await reviews.in_review(context.rt.store, desk.id)
    if not waiting and not listings:
        await show(update, context, t("✅ No orders are waiting for a decision."))
        return
    items = ([(f"• {number} · {money(total)}", button(f"🧾 {number}", f"dk:show:{order_id}"))
              for order_id, number, total, _ in waiting]
             + [(f"• 🌾 {esc(title)}", button(f"🌾 {title}", f"lr:show:{listing_id}")) for listing_id, title in listings])
    pages = -(-len(items) // PENDING_PAGE)
    page = min(page, pages - 1)
    shown = items[page * PENDING_PAGE:(page + 1) * PENDING_PAGE]
    lines = [t("⏳ <b>Waiting for a decision</b>: {n}", n=len(waiting))]
    if listings:
        lines.append(t("🌾 <b>Produce waiting for review</b>: {n}", n=len(listings)))
    if pages > 1:
        lines.append(t("Page {page} of {pages}", page=page + 1, pages=pages))
    lines += [line for line, _ in shown]
    rows = [[tap] for _, tap in shown]
    rows.append(pager(t, page, pages, "dk:pg:{page}"))
    await show(update, context, "\n".join(lines), keyboard(*rows))


@on_tap
async def show_tapped(update: Update, context: RuralContext) -> None:
    """From /pending: the order's card again, at the bottom of the chat, where it can be acted on.
    It replaces the old card, which may be far up the chat or gone (deleted, or never seen)."""
    rt, chat_id = context.rt, update.effective_chat.id
    card = await order_card_for(update, context, int(context.match.group(1)))
    if card is None:
        return
    try:
        await desks.check_actor(rt.store, card.order.deciding_center_id, actor_of(update, context))
    except NotPartner as exc:
        await refuse(update, context, exc)
        return
    desk_t = card_t(update, context, card)
    sent = await say(update, context, card_text(desk_t, card),
                     card_keyboard(desk_t, card.order, await desk_center_of(update, context)))
    await desks.record_card(rt.store, card.order.id, chat_id, sent.message_id)
    await delete_old_card(context, chat_id, card.cards.get(chat_id))


async def arrived_command(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    if not context.args:
        await say(update, context, t("Usage: /arrived ORDER-NUMBER, for example /arrived RT-7K3F9"))
        return
    try:
        moved = await parcels.arrive(rt.store, rt.clock, actor_of(update, context), number=context.args[0])
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
    app.add_handler(CallbackQueryHandler(confirm_tapped, pattern=r"^dk:ok:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(reject_tapped, pattern=r"^dk:no:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(reason_tapped, pattern=r"^dk:rj:(\d{1,12}):(" + "|".join(desks.REJECT_REASONS) + ")$"))
    app.add_handler(CallbackQueryHandler(card_tapped, pattern=r"^dk:card:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(show_tapped, pattern=r"^dk:show:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(pending_page_tapped, pattern=r"^dk:pg:(\d{1,5})$"))
    app.add_handler(CallbackQueryHandler(arrived_tapped, pattern=r"^dk:arr:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(approve_tapped, pattern=r"^lr:ok:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(reject_listing_tapped, pattern=r"^lr:no:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(
        listing_reason_tapped, pattern=r"^lr:rj:(\d{1,12}):(" + "|".join(reviews.REJECT_REASONS) + ")$"))
    app.add_handler(CallbackQueryHandler(listing_card_tapped, pattern=r"^lr:card:(\d{1,12})$"))
    app.add_handler(CallbackQueryHandler(show_listing_tapped, pattern=r"^lr:show:(\d{1,12})$"))
