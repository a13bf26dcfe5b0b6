"""A buyer reviews the produce they picked up (services/ratings.py):

    a day after pickup, through the outbox: "How was your honey from Wang?" [1⭐ … 5⭐]
        ──> ⭐ tapped (once) ──> "a few words for other buyers?" (typed, at most 300) or ⏭ Skip
        ──> a text goes on the seller's center's desk (handlers.review_desk)

Only the buyer of the order line rates it, once, with 1 to 5 stars: a forged button (another's
line, six stars) is refused, and a tap after a full refund is told why.
"""

from __future__ import annotations

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.ext import Application

from handlers import forms
from handlers.callbacks import RateSkip, RateStars, on
from handlers.context import Runtime, RuralContext
from handlers.forms import Form
from handlers.listings import stars_text
from handlers.ui import alert, button, esc, keyboard, not_yours, on_tap, say, show
from locales import Translator, translator
from services import desks, ratings
from services.errors import AlreadyDone, NotFound, NotYours
from services.outbox import Claimed
from services.ratings import BadStars, BadText, Refunded

REVIEW_TEXT = Form("rvtx")  # "rvtx:12": the typed text of review 12


def stars_keyboard(t: Translator, review_id: int):
    return keyboard([button(t("{n}⭐", n=n), RateStars(review_id, n)) for n in range(1, 6)])


async def ask_rating(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    """The outbox's ``rate`` row: the buyer's question, unless there is nothing to ask any more."""
    question = await ratings.take_question(rt.store, rt.clock, row.payload["line_id"])
    person = await desks.recipient(rt.store, row.villager_id)
    if question is None or person is None or not person.reachable or question.buyer_id != row.villager_id:
        return False
    t = translator(person.locale or rt.default_locale)
    text = "\n".join([
        t("⭐ How was your <b>{title}</b> from {seller} (order {number})?", title=esc(question.title),
          seller=esc(question.seller_name) or t("(name deleted)"), number=question.number),
        t("Tap the stars: 1 is poor, 5 is excellent. Other buyers will see them.")])
    await bot.send_message(person.telegram_id, text, parse_mode=ParseMode.HTML,
                           reply_markup=stars_keyboard(t, question.review_id))
    return True


async def refused(update: Update, context: RuralContext, exc: Exception) -> None:
    t = context.t
    if isinstance(exc, NotYours):
        await not_yours(update, context)
    elif isinstance(exc, BadStars):
        await alert(update, context, t("⚠️ Please tap from 1 to 5 stars."))
    elif isinstance(exc, AlreadyDone):
        await alert(update, context, t("ℹ️ You have already reviewed this. Thank you!"))
    elif isinstance(exc, Refunded):
        await alert(update, context, t("ℹ️ This purchase was refunded, so it cannot be reviewed."))
    else:
        await alert(update, context, t("ℹ️ There is nothing to add to this review any more."))


@on_tap
async def stars_tapped(update: Update, context: RuralContext, data: RateStars) -> None:
    t, rt = context.t, context.rt
    try:
        stars = await ratings.rate(rt.store, rt.clock, context.villager.id, data.review_id, data.stars)
    except (NotYours, BadStars, AlreadyDone, Refunded) as exc:
        await refused(update, context, exc)
        return
    await forms.wait_for(context, REVIEW_TEXT(data.review_id))
    await show(update, context, "\n".join([
        t("✅ Thank you: {stars}", stars=stars_text(stars)),
        t("✏️ Would you like to add a few words for other buyers? Type them (at most {n} characters), or "
          "tap ⏭ Skip.", n=ratings.MAX_TEXT)]),
        keyboard([button(t("⏭ Skip"), RateSkip(data.review_id))]))


@on_tap
async def skip_tapped(update: Update, context: RuralContext, data: RateSkip) -> None:
    try:
        await ratings.check_own(context.rt.store, context.villager.id, data.review_id)
    except (NotYours, Refunded) as exc:
        await refused(update, context, exc)
        return
    await forms.stop_waiting(context, REVIEW_TEXT)
    await show(update, context, context.t("🙏 Thank you for your stars!"))


async def text_typed(update: Update, context: RuralContext, review_id: int, text: str) -> None:
    t, rt = context.t, context.rt
    try:
        await ratings.add_text(rt.store, rt.clock, context.villager.id, review_id, text)
    except BadText as exc:
        if exc.reason == "too_long":
            await say(update, context, t("⚠️ That is too long. Please keep it to {n} characters, or tap ⏭ Skip.",
                                         n=ratings.MAX_TEXT), keyboard([button(t("⏭ Skip"), RateSkip(review_id))]))
        else:
            await say(update, context, t("⚠️ Please type a few words, or tap ⏭ Skip."),
                      keyboard([button(t("⏭ Skip"), RateSkip(review_id))]))
        return
    except (NotYours, AlreadyDone, Refunded, NotFound) as exc:
        await forms.stop_waiting(context)
        await refused(update, context, exc)
        return
    await forms.stop_waiting(context)
    await say(update, context, t("🙏 Thank you! Your review helps other buyers."))


def register(app: Application) -> None:
    app.add_handler(on(RateStars, stars_tapped))
    app.add_handler(on(RateSkip, skip_tapped))
    forms.on_text(app, REVIEW_TEXT, text_typed)
