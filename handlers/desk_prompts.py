"""Typed answers on the desk: a reason to reject an order or a listing, a pickup code.

In a group the bot hears only commands, button taps and replies to its own messages (privacy
mode), and it takes a typed answer only as a reply to its question from the person it asked:

    ✏️ / 🤝 tapped ──> the question, a ForceReply that mentions the person (their Telegram
                       opens the reply by itself); the card shows "waiting for X" and ✖️ Cancel
    X replies     ──> answered: the card moves on (or X is asked again: a wrong code)
    ✖️ Cancel     ──> the card as it was; a later reply is told the question expired
    10 minutes    ──> lapsed: the same, without anyone tapping

In a private chat (the cards go there when a center has no group) the next text answers, as any
form there does (``villager.awaiting``, read by handlers.menu).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from telegram import ForceReply, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, MessageHandler, filters

from handlers import forms
from handlers.callbacks import CancelPrompt, PickedUp, on
from handlers.cards import LISTING, ORDER, DecisionCard
from handlers.context import RuralContext
from handlers.desk import actor_of, card_t, decide, may_act_on, on_card, picked_up_reply, refuse
from handlers.forms import Form
from handlers.problem_cards import PROBLEM
from handlers.ui import button, esc, keyboard, on_tap, say, show
from locales import N_, Translator
from services import desks, parcels, partners, prompts
from services.errors import NotAllowed, NotFound
from services.parcels import WrongCode
from services.partners import NotPartner
from store.db import unless_unavailable

log = logging.getLogger(__name__)
LAPSE_EVERY = 60.0  # seconds between sweeps that close lapsed questions and restore their cards

# The questions, by their kind: a form's in a private chat, a prompt's in a group (and CancelPrompt's).
ORDER_REASON = Form(ORDER.prompt)  # "rjr": why an order is rejected
PICKUP_CODE = Form("pick")  # the code the villager shows when they pick their parcel up
LISTING_REASON = Form(LISTING.prompt)  # "lrjr": why a produce listing is rejected
PROBLEM_REASON = Form(PROBLEM.prompt)  # "pbr": why a problem after pickup is declined


class Settled(Enum):
    DONE = "done"  # answered: the order or listing moved on
    REFUSED = "refused"  # settled for good: the person was told why it cannot be done
    AGAIN = "again"  # not an answer (a wrong code): asked again, with the warning


Answer = Callable[[Update, RuralContext, int, str], Awaitable[tuple[Settled, str]]]


@dataclass(frozen=True)
class Question:
    """What a question asks (the {name} slot holds the person's name; in a group, a mention), about
    which kind of card, of whom (those who decide on it, or those who receive the order's parcel),
    and what takes its answer."""

    asks: str
    placeholder: str
    card: DecisionCard
    answer: Answer
    deciding: bool = True


# ---- asking -------------------------------------------------------------------------------------

async def ask(update: Update, context: RuralContext, kind: str, subject_id: int, warning: str = "",
              card_message_id: int | None = None) -> None:
    """Ask whoever tapped for ``kind`` about the order or listing ``subject_id``."""
    t, user, chat, question = context.t, update.effective_user, update.effective_chat, QUESTIONS[kind]
    if chat.type == ChatType.PRIVATE:
        await forms.wait_for(context, Form(kind)(subject_id))
        await say(update, context, t(question.asks, name=esc(user.first_name or "")))
        return
    # ForceReply(selective) opens the reply only for the people the message mentions.
    mention = f'<a href="tg://user?id={user.id}">{esc(user.first_name or user.id)}</a>'
    asked = t(question.asks, name=mention)
    sent = await context.bot.send_message(
        chat.id, f"{warning}\n{asked}" if warning else asked, parse_mode=ParseMode.HTML,
        reply_markup=ForceReply(selective=True, input_field_placeholder=t(question.placeholder)))
    await prompts.open_prompt(context.rt.store, context.rt.clock, chat_id=chat.id, message_id=sent.message_id,
                              villager_id=context.villager.id, telegram_id=user.id, kind=kind, subject_id=subject_id,
                              card_message_id=card_message_id)


async def ask_from_card(update: Update, context: RuralContext, kind: str, subject_id: int, desk_t: Translator,
                        text: str, photo: str | None = None) -> None:
    """Asked from a card's button: in a group the card says whose reply it waits for, with ✖️ Cancel
    (Telegram allows one keyboard a message: the question's is the ForceReply)."""
    card = update.callback_query.message
    await ask(update, context, kind, subject_id, card_message_id=card.message_id)
    if update.effective_chat.type != ChatType.PRIVATE:
        waiting = desk_t(N_("⏳ Waiting for {name} to reply."), name=esc(update.effective_user.first_name or ""))
        await show(update, context, f"{text}\n\n{waiting}",
                   keyboard([button(desk_t("✖️ Cancel"), CancelPrompt(kind, subject_id))]), photo=photo)


async def typed_reason_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    """✏️ Type a reason, among the reasons on a card (to those who may decide on it)."""
    await ask_about(update, context, kind.prompt, kind, card)


@on_tap
async def picked_up_tapped(update: Update, context: RuralContext, data: PickedUp) -> None:
    card = await may_act_on(update, context, ORDER, data.order_id, deciding=False)
    if card is not None:
        await ask_about(update, context, PICKUP_CODE.kind, ORDER, card)


async def ask_about(update: Update, context: RuralContext, prompt: str, kind: DecisionCard, card: Any) -> None:
    desk_t = card_t(update, context, card)
    await ask_from_card(update, context, prompt, kind.subject(card), desk_t, kind.text(desk_t, card),
                        photo=kind.photo(card))


# ---- the answers --------------------------------------------------------------------------------

def reason_typed(kind: DecisionCard) -> Answer:
    """A typed reason rejects the card's order or listing; then the person hears who was told why."""

    async def typed(update: Update, context: RuralContext, subject_id: int, text: str) -> tuple[Settled, str]:
        reason = text.strip()
        if not reason or len(reason) > kind.max_reason:
            return Settled.AGAIN, context.t("⚠️ Please type a reason of at most {n} characters.", n=kind.max_reason)
        if await decide(update, context, kind, subject_id, yes=False, reason=reason):
            await say(update, context, context.t(kind.rejected))
            return Settled.DONE, ""
        return Settled.REFUSED, ""

    return typed


async def code_typed(update: Update, context: RuralContext, order_id: int, text: str) -> tuple[Settled, str]:
    rt = context.rt
    try:
        card = await desks.card_view(rt.store, order_id)
        if card is None:
            raise NotFound("order")
        moved = await parcels.pickup(rt.store, rt.clock, actor_of(update, context), card.center_id, text,
                                     order_id=order_id)
    except WrongCode:
        return Settled.AGAIN, context.t("❌ Wrong pickup code. Please check it and try again.")
    except (NotPartner, NotFound, NotAllowed) as exc:
        await refuse(update, context, exc)
        return Settled.REFUSED, ""
    await picked_up_reply(update, context, moved)
    return Settled.DONE, ""


QUESTIONS = {
    ORDER_REASON.kind: Question(N_("✏️ {name}, please type the reason for rejecting this order."),
                                N_("Reason for rejecting"), ORDER, reason_typed(ORDER)),
    PICKUP_CODE.kind: Question(N_("🔑 {name}, please type the 6-digit pickup code the villager shows you."),
                               N_("6-digit pickup code"), ORDER, code_typed, deciding=False),
    LISTING_REASON.kind: Question(N_("✏️ {name}, please type the reason for rejecting this produce."),
                                  N_("Reason for rejecting"), LISTING, reason_typed(LISTING)),
    PROBLEM_REASON.kind: Question(N_("✏️ {name}, please type the reason for declining this problem."),
                                  N_("Reason for declining"), PROBLEM, reason_typed(PROBLEM)),
}


def answered_privately(form: Form) -> forms.TextAnswer:
    """A card in a partner's private chat: the next text there answers its question."""
    answer = QUESTIONS[form.kind].answer

    async def typed(update: Update, context: RuralContext, subject_id: int, text: str) -> None:
        settled, warning = await answer(update, context, subject_id, text)
        if settled is Settled.AGAIN:
            await say(update, context, warning)
        else:
            await forms.stop_waiting(context)

    return typed


async def replied(update: Update, context: RuralContext) -> None:
    """A reply to one of the bot's messages in a group: an answer if it is the asked person's
    reply to an open question. Anyone else's reply is the group's conversation: no answer."""
    message, rt = update.effective_message, context.rt
    to = message.reply_to_message
    if to is None or to.from_user is None or to.from_user.id != context.bot.id:
        return
    taken = await prompts.take(rt.store, rt.clock, message.chat_id, to.message_id, update.effective_user.id)
    if taken is None or taken.reply is prompts.Reply.NOT_ASKED:
        return
    prompt = taken.prompt
    if taken.reply is prompts.Reply.EXPIRED:
        await message.reply_text(context.t("⌛ This question has expired. Please tap the button on the card again."))
        if taken.lapsed_now:
            await restore_card(context, prompt.kind, prompt.subject_id, prompt.chat_id, prompt.card_message_id)
        return
    settled, warning = await QUESTIONS[prompt.kind].answer(update, context, prompt.subject_id, message.text or "")
    if settled is Settled.AGAIN:  # the new question replaces this one
        await ask(update, context, prompt.kind, prompt.subject_id, warning, card_message_id=prompt.card_message_id)
        return
    await prompts.close(rt.store, rt.clock, prompt.id)
    if settled is Settled.REFUSED:  # nothing moved, so nothing else will redraw the card
        await restore_card(context, prompt.kind, prompt.subject_id, prompt.chat_id, prompt.card_message_id)


# ---- cancelling and lapsing ---------------------------------------------------------------------

@on_tap
async def cancel_tapped(update: Update, context: RuralContext, data: CancelPrompt) -> None:
    """✖️ Cancel on a card waiting for a reply: for the center's partners (and admins), who may act
    on the card, not only for the person asked, who may have gone."""
    question = QUESTIONS[data.kind]
    if await may_act_on(update, context, question.card, data.subject_id, deciding=question.deciding) is None:
        return
    rt = context.rt
    closed = await prompts.cancel(rt.store, rt.clock, update.effective_chat.id, data.kind, data.subject_id)
    for prompt in closed:
        await mark_question(context, prompt, context.t("✖️ Cancelled."))
    await restore_card(context, data.kind, data.subject_id, update.effective_chat.id,
                       update.callback_query.message.message_id)


async def lapse_prompts(context: RuralContext) -> None:
    """The scheduler's sweep: questions nobody answered in time close, and their cards come back."""
    rt = context.rt
    for prompt in await unless_unavailable(prompts.lapse(rt.store, rt.clock), "lapse desk questions", log) or ():
        desk = await partners.desk_of_group(rt.store, prompt.chat_id)
        desk_t = context.desk_t(desk.locale if desk else None)
        await mark_question(context, prompt, desk_t(
            "⌛ This question has expired. Please tap the button on the card again."))
        await restore_card(context, prompt.kind, prompt.subject_id, prompt.chat_id, prompt.card_message_id)


async def mark_question(context: RuralContext, prompt: prompts.Prompt, text: str) -> None:
    try:
        await context.bot.edit_message_text(text, prompt.chat_id, prompt.message_id)
    except BadRequest as exc:  # deleted by someone, or too old: it only stays as it was
        log.info("question %s not marked: %s", prompt.message_id, exc)


async def restore_card(context: RuralContext, kind: str, subject_id: int, chat_id: int,
                       card_message_id: int | None) -> None:
    """The card a question came from, as it is now, with its buttons again."""
    if card_message_id is None:
        return
    rt, kind_of_card = context.rt, QUESTIONS[kind].card
    card = await kind_of_card.view(rt.store, subject_id)
    if card is None:
        return
    desk = await partners.desk_of_group(rt.store, chat_id)
    desk_t = context.desk_t(card.desk_locale)
    await edit_card(context, chat_id, card_message_id, kind_of_card.text(desk_t, card),
                    kind_of_card.keyboard(desk_t, card, desk.id if desk else None), kind_of_card.photo(card))


async def edit_card(context: RuralContext, chat_id: int, message_id: int, text: str,
                    markup: InlineKeyboardMarkup | None, photo: str | None) -> None:
    try:
        if photo:
            await context.bot.edit_message_caption(chat_id, message_id, caption=text, parse_mode=ParseMode.HTML,
                                                   reply_markup=markup)
        else:
            await context.bot.edit_message_text(text, chat_id, message_id, parse_mode=ParseMode.HTML,
                                                reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("card %s not restored: %s", message_id, exc)


def register(app: Application) -> None:
    forms.on_text(app, ORDER_REASON, answered_privately(ORDER_REASON))
    forms.on_text(app, PICKUP_CODE, answered_privately(PICKUP_CODE))
    forms.on_text(app, LISTING_REASON, answered_privately(LISTING_REASON))
    for kind in (ORDER, LISTING):
        app.add_handler(on(kind.type_reason, on_card(kind, typed_reason_tapped, acting=True)))
    app.add_handler(on(PickedUp, picked_up_tapped))
    app.add_handler(on(CancelPrompt, cancel_tapped))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.REPLY & filters.TEXT & ~filters.COMMAND, replied))
    app.job_queue.run_repeating(lapse_prompts, interval=LAPSE_EVERY, first=LAPSE_EVERY, name="lapse desk prompts")
