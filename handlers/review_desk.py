"""A buyer's review with a text, on the seller's center's desk (services/ratings.py):

    card (⭐⭐⭐⭐ “text” — buyer, [🙈 Hide]) ──🙈──> the reasons, ✏️ Type a reason, ⬅️ Back
        ──> hidden: it no longer shows to buyers or counts in the stars; it stays in the store

The card is a ``DecisionCard`` (``REVIEW``: its reject is 🙈 Hide), so a reason's button, a typed
reason (a ForceReply in the group), ⬅️ Back and ✖️ Cancel go through the desk's one flow
(handlers.desk, handlers.desk_prompts): only the center's partners and admins hide; once.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application

from handlers import desk_prompts, forms
from handlers.callbacks import HideReview, HideReviewReason, ReviewCard, TypeHideReason, on
from handlers.cards import DecisionCard, order_refusal
from handlers.context import RuralContext
from handlers.desk import card_t, card_tapped, on_card, reason_tapped, refuse
from handlers.desk_prompts import Question, answered_privately, reason_typed
from handlers.forms import Form
from handlers.listings import stars_text
from handlers.ui import button, esc, keyboard, local_time, show
from locales import N_, Translator
from services import ratings
from services.errors import AlreadyDone, NotAllowed, NotFound
from services.partners import NotPartner
from services.ratings import ReviewCard as CardView

log = logging.getLogger(__name__)

HIDE_REASON = Form("rvh")  # why a review is hidden, typed
REASONS = {  # services.ratings.HIDE_REASONS
    "abusive": N_("Abusive or rude"),
    "personal": N_("Personal details"),
    "off_topic": N_("Not about the produce"),
}


def reason_text(t: Translator, reason: str) -> str:
    return t(REASONS[reason]) if reason in REASONS else esc(reason)


def card_text(t: Translator, card: CardView) -> str:
    lines = [t("⭐ <b>Buyer's review</b> · {title} · order {number}", title=esc(card.title) or t("(deleted)"),
               number=card.number),
             t("🌾 Seller: {seller}", seller=esc(card.seller_name) or t("(name deleted)")),
             t("{stars} “{text}” — {buyer}", stars=stars_text(card.stars), text=esc(card.text) or t("(text deleted)"),
               buyer=esc(card.buyer_name) or t("(name deleted)")),
             ""]
    if card.status == ratings.HIDDEN:
        lines.append(t("🙈 Hidden by {who} at {when}", who=esc(card.hidden_by) or t("(name deleted)"),
                       when=local_time(card.hidden_at, card.timezone)))
        if card.hidden_reason:
            lines.append(t("Reason: {reason}", reason=reason_text(t, card.hidden_reason)))
    else:
        lines.append(t("👀 Buyers see it on the listing and the seller's page."))
    return "\n".join(lines)


def card_keyboard(t: Translator, card: CardView) -> InlineKeyboardMarkup | None:
    if card.status == ratings.HIDDEN:
        return None
    return keyboard([button(t("🙈 Hide"), HideReview(card.id))])


def status_text(t: Translator, status: str) -> str:
    return t("🙈 Hidden") if status == ratings.HIDDEN else t("👀 Shown")


def refusal(t: Translator, exc: Exception) -> str:
    if isinstance(exc, AlreadyDone | NotAllowed):
        return t("ℹ️ Already hidden.")
    if isinstance(exc, NotFound):
        return t("😔 This review was not found.")
    return order_refusal(t, exc)


async def _decide(store, clock, actor, review_id: int, yes: bool, reason: str) -> str:
    return await ratings.hide(store, clock, actor, review_id, reason)


REVIEW = DecisionCard(
    seen=ratings.card_for, view=ratings.card_view, decide=_decide, record=ratings.record_card,
    refused=(NotPartner, AlreadyDone, NotAllowed, NotFound),
    subject=lambda card: card.id, deciding_center=lambda card: card.center_id,
    photo=lambda card: None, text=card_text, keyboard=lambda t, card, center: card_keyboard(t, card),
    status=status_text, refusal=refusal,
    reasons=REASONS, max_reason=ratings.MAX_REASON,
    rejected=N_("🙈 Hidden. Buyers no longer see it."), prompt=HIDE_REASON.kind,
    id_field="review_id", approve=HideReview, reject=HideReview, reason=HideReviewReason,
    type_reason=TypeHideReason, back=ReviewCard, show=ReviewCard,
)


async def hide_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    """🙈 Hide: the reasons appear on the card, for the partner who tapped to choose."""
    desk_t = card_t(update, context, card)
    if card.status == ratings.HIDDEN:
        await card_tapped(update, context, kind, card, data)
        await refuse(update, context, AlreadyDone(ratings.HIDDEN), kind)
        return
    await show(update, context, kind.text(desk_t, card) + "\n\n" + desk_t("Why hide it?"),
               kind.reject_keyboard(desk_t, card.id))


desk_prompts.QUESTIONS[HIDE_REASON.kind] = Question(
    N_("✏️ {name}, please type the reason for hiding this review."), N_("Reason for hiding"), REVIEW,
    reason_typed(REVIEW))


def register(app: Application) -> None:
    app.add_handler(on(HideReview, on_card(REVIEW, hide_tapped, acting=True)))
    app.add_handler(on(HideReviewReason, on_card(REVIEW, reason_tapped)))
    app.add_handler(on(TypeHideReason, on_card(REVIEW, desk_prompts.typed_reason_tapped, acting=True)))
    app.add_handler(on(ReviewCard, on_card(REVIEW, card_tapped)))
    forms.on_text(app, HIDE_REASON, answered_privately(HIDE_REASON))
