"""📣 Promotions: an admin composes one (/broadcast), sees it as villagers will, and sends it now or
later; /broadcast cancel stops it. Villagers opt out with the button on every promotion or
/promotions off (and back with /promotions on): handlers/promotions.py.

    /broadcast ──> text (default language) ──> the other languages (or skip) ──> photo (or skip)
        ──> a button to a product or category (or skip) ──> audience, with its size
        ──> preview, exactly as sent ──> 🚀 now / 🕒 at a time ──> progress, edited in place ──> report

Copies wait for the end of their readers' quiet hours (each in their center's time zone); the
preview says how many are in them now, and offers 🔔 Send anyway when any are.

County staff may compose promotions too, to their own county or one of its centers only (the
service checks the audience: ``counties.check_audience``).

Typed answers come back through the forms DRAFT ("bc:<id>": the step the draft is at, typed or a
photo) and SEND_AT ("bct:<id>": the time to send it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, filters

from handlers import forms
from handlers.admin import admin_actor, for_supervisors
from handlers.callbacks import (
    PromotionAudience,
    PromotionAudienceAgain,
    PromotionAudienceValue,
    PromotionCancel,
    PromotionSendAnyway,
    PromotionSendLater,
    PromotionSendNow,
    PromotionSkip,
    on,
)
from handlers.cards import promotion_keyboard
from handlers.context import RuralContext
from handlers.ui import alert, button, esc, keyboard, name_in, on_tap, say, show
from locales import N_, Translator, available_locales, translator
from services import broadcast, deliveries
from services.broadcast import AUDIENCES, BadHtml, BroadcastView, Delivery, Status, Step
from services.counties import NotYourCounty
from services.errors import NotAllowed, NotFound
from services.partners import Actor

PRIVATE = filters.ChatType.PRIVATE
AUDIENCE_NAMES = {
    "all": N_("👥 Everyone"),
    "county": N_("🗺 One county"),
    "center": N_("📍 One center"),
    "language": N_("🌐 One language"),
    "category": N_("🛒 Bought from a category"),
}
DRAFT = forms.Form("bc")  # the answer to the step the draft is at: a text, or its photo
SEND_AT = forms.Form("bct")  # the date and time to send it


def language_name(locale: str, t: Translator) -> str:
    """A language's name as the admin reads it: "English" is "英语" to a Chinese admin."""
    return t.name_of(locale)


def kinds(update: Update, context: RuralContext) -> tuple[str, ...]:
    """The audiences this person may choose: county staff, their own county or one of its centers."""
    return AUDIENCES if admin_actor(update, context) else ("county", "center")


def only_own_county(t: Translator) -> str:
    return t("🔒 County staff send promotions only to their own county or one of its centers.")


def locales_in_order(default: str) -> list[str]:
    return [default] + sorted(locale for locale in available_locales() if locale != default)


# ---- composing ------------------------------------------------------------------------------

@for_supervisors
async def broadcast_command(update: Update, context: RuralContext, actor: Actor) -> None:
    t, rt = context.t, context.rt
    if context.args and context.args[0].lower() == "cancel":
        stopped = await broadcast.cancel(rt.store, rt.clock.now(), update.effective_user.id)
        if stopped is None:
            await say(update, context, t("ℹ️ No promotion is waiting or being sent."))
            return
        await say(update, context, t("🛑 Promotion #{id} stopped. {sent} were sent; the other {left} will not be.",
                                     id=stopped.id, sent=stopped.counts.get(Delivery.SENT, 0),
                                     left=stopped.counts.get(Delivery.CANCELLED, 0)))
        return
    draft = await broadcast.start_draft(rt.store, rt.clock.now(), update.effective_user.id)
    await show_step(update, context, draft)


def next_language(promotion: BroadcastView, default: str) -> str | None:
    """The next language without a version, after those that have one (None: all asked)."""
    for locale in locales_in_order(default):
        if locale not in promotion.texts:
            return locale
    return None


async def show_step(update: Update, context: RuralContext, promotion: BroadcastView, note: str = "") -> None:
    t, rt = context.t, context.rt
    cancel = button(t("✖️ Cancel"), PromotionCancel(promotion.id))
    step = Step(promotion.step)
    if step in (Step.TEXT, Step.PHOTO, Step.LINK):
        await forms.wait_for(context, DRAFT(promotion.id))
    else:
        await forms.stop_waiting(context)
    rows: list = []
    if step == Step.TEXT:
        locale = next_language(promotion, rt.default_locale)
        if locale == rt.default_locale:
            text = t("📣 <b>New promotion.</b> Type its text in {language}. You may use &lt;b&gt;bold&lt;/b&gt;, "
                     "&lt;i&gt;italic&lt;/i&gt; and &lt;a href=\"…\"&gt;links&lt;/a&gt;.",
                     language=language_name(locale, t))
        else:
            text = t("🌐 Now the {language} version, or skip: people who read {language} then get the {default} one.",
                     language=language_name(locale, t), default=language_name(rt.default_locale, t))
            rows.append([button(t("⏭ Skip"), PromotionSkip(promotion.id))])
    elif step == Step.PHOTO:
        text = t("🖼 Send a photo for the promotion, or skip.")
        rows.append([button(t("⏭ Skip"), PromotionSkip(promotion.id))])
    elif step == Step.LINK:
        text = t("🔗 Add a button that opens a product or a category? Type its SKU or category code "
                 "(e.g. FD-001 or seeds_fertilizer), or skip.")
        rows.append([button(t("⏭ Skip"), PromotionSkip(promotion.id))])
    else:
        text = t("👥 Who should get it?")
        rows += [[button(t(AUDIENCE_NAMES[kind]), PromotionAudience(promotion.id, kind))]
                 for kind in kinds(update, context)]
    rows.append([cancel])
    await say(update, context, "\n\n".join(part for part in (note, text) if part), keyboard(*rows))


async def text_typed(update: Update, context: RuralContext, broadcast_id: int, text: str) -> None:
    """A typed answer to the step the draft is at."""
    t, rt = context.t, context.rt
    admin = update.effective_user.id
    try:
        promotion = await broadcast.view(rt.store, broadcast_id)
        if promotion is None or promotion.status != Status.DRAFT or promotion.admin_telegram_id != admin:
            raise NotFound("broadcast")
        step = Step(promotion.step)
        if step == Step.TEXT:
            locale = next_language(promotion, rt.default_locale)
            promotion = await broadcast.set_text(rt.store, admin, broadcast_id, locale, text)
            if next_language(promotion, rt.default_locale) is None:
                promotion = await broadcast.set_step(rt.store, admin, broadcast_id, Step.PHOTO)
        elif step == Step.LINK:
            link = await broadcast.find_link(rt.store, text)
            promotion = await broadcast.set_step(rt.store, admin, broadcast_id, Step.AUDIENCE, link=link)
        else:
            await show_step(update, context, promotion, t("👆 Please use the buttons, or send a photo."))
            return
    except BadHtml as exc:
        await show_step(update, context, promotion, t("⚠️ Telegram would refuse this text: {reason}. "
                                                      "Please fix it and send it again.", reason=esc(exc.reason)))
        return
    except NotFound as exc:
        if str(exc) == "link":
            await show_step(update, context, promotion, t("⚠️ There is no product or category “{code}”.",
                                                          code=esc(text.strip()[:64])))
            return
        await forms.stop_waiting(context)
        await say(update, context, t("⌛ This promotion is no longer being composed."))
        return
    await show_step(update, context, promotion)


async def photo_sent(update: Update, context: RuralContext, broadcast_id: int, file_id: str) -> bool:
    t, rt = context.t, context.rt
    promotion = await broadcast.view(rt.store, broadcast_id)
    if promotion is None or promotion.status != Status.DRAFT or promotion.step != Step.PHOTO:
        return False
    try:
        promotion = await broadcast.set_step(rt.store, update.effective_user.id, broadcast_id, Step.LINK,
                                             photo=file_id)
    except BadHtml:
        await show_step(update, context, promotion, t("⚠️ With a photo the text may have at most 1024 characters. "
                                                      "Skip the photo, or start again with a shorter text."))
        return True
    await show_step(update, context, promotion)
    return True


@on_tap
@for_supervisors
async def skip_tapped(update: Update, context: RuralContext, actor: Actor, data: PromotionSkip) -> None:
    rt, admin = context.rt, update.effective_user.id
    broadcast_id = data.promotion_id
    promotion = await _draft_or_say(update, context, broadcast_id)
    if promotion is None:
        return
    step = Step(promotion.step)
    if step == Step.TEXT:
        # The remaining languages get the default version.
        promotion = await broadcast.set_step(rt.store, admin, broadcast_id, Step.PHOTO)
    elif step == Step.PHOTO:
        promotion = await broadcast.set_step(rt.store, admin, broadcast_id, Step.LINK)
    elif step == Step.LINK:
        promotion = await broadcast.set_step(rt.store, admin, broadcast_id, Step.AUDIENCE, link=None)
    await show_step(update, context, promotion)


async def _draft_or_say(update: Update, context: RuralContext, broadcast_id: int) -> BroadcastView | None:
    promotion = await broadcast.draft_of(context.rt.store, update.effective_user.id, broadcast_id)
    if promotion is None:
        await alert(update, context, context.t("⌛ This promotion is no longer being composed."))
        return None
    return promotion


@on_tap
@for_supervisors
async def cancel_tapped(update: Update, context: RuralContext, actor: Actor, data: PromotionCancel) -> None:
    rt = context.rt
    promotion = await _draft_or_say(update, context, data.promotion_id)
    if promotion is None:
        return
    await broadcast.discard(rt.store, update.effective_user.id, promotion.id)
    await forms.stop_waiting(context)
    await show(update, context, context.t("🗑 The promotion was deleted. Nobody got it."))


@on_tap
@for_supervisors
async def audience_tapped(update: Update, context: RuralContext, actor: Actor, data: PromotionAudience) -> None:
    """An audience kind: "all" at once; the others first ask which county, center, language, category."""
    t, rt = context.t, context.rt
    broadcast_id, kind = data.promotion_id, data.audience
    if await _draft_or_say(update, context, broadcast_id) is None:
        return
    if kind not in kinds(update, context):
        await alert(update, context, only_own_county(t))
        return
    if kind == "all":
        await audience_chosen(update, context, actor, broadcast_id, {"kind": "all"})
        return
    choices = await broadcast.audience_choices(rt.store, kind, actor)
    rows = [[button(name_in(label, t) if isinstance(label, dict) else
                    (language_name(label, t) if kind == "language" else t(f"category:{label}")),
                    PromotionAudienceValue(broadcast_id, kind, value))] for value, label in choices[:40]]
    rows.append([button(t("⬅️ Back"), PromotionAudienceAgain(broadcast_id))])
    await show(update, context, t("👥 Which one?"), keyboard(*rows))


@on_tap
@for_supervisors
async def audience_value_tapped(update: Update, context: RuralContext, actor: Actor,
                                data: PromotionAudienceValue) -> None:
    if await _draft_or_say(update, context, data.promotion_id) is None:
        return
    await audience_chosen(update, context, actor, data.promotion_id, {"kind": data.audience, "value": data.value})


@on_tap
@for_supervisors
async def audience_again_tapped(update: Update, context: RuralContext, actor: Actor,
                                data: PromotionAudienceAgain) -> None:
    promotion = await _draft_or_say(update, context, data.promotion_id)
    if promotion is not None:
        await show_step(update, context, promotion)


async def audience_chosen(update: Update, context: RuralContext, actor: Actor, broadcast_id: int,
                          audience: dict) -> None:
    """Show how many people that is; then the preview, exactly as villagers will see it."""
    t, rt, admin = context.t, context.rt, update.effective_user.id
    try:
        promotion = await broadcast.set_step(rt.store, admin, broadcast_id, Step.PREVIEW, actor, audience=audience)
    except NotYourCounty:
        await alert(update, context, only_own_county(t))
        return
    size = await broadcast.audience_size(rt.store, audience)
    await show(update, context, t("👥 This reaches <b>{n}</b> people (those who opted out or blocked the bot are "
                                  "counted, and skipped).", n=size))
    for locale in locales_in_order(rt.default_locale):
        text = promotion.texts.get(locale) or promotion.texts.get(rt.default_locale)
        reader = translator(locale)
        await say(update, context, t("👀 As {language} readers will see it:", language=language_name(locale, t)))
        markup = promotion_keyboard(reader, promotion, context.bot.username)
        if promotion.photo:
            await context.bot.send_photo(update.effective_chat.id, promotion.photo, caption=text,
                                         parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            await context.bot.send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML,
                                           reply_markup=markup)
    quiet = rt.quiet_hours
    hours = dict(start=quiet.start.strftime("%H:%M"), end=quiet.end.strftime("%H:%M"))
    asleep = await deliveries.asleep_now(rt.store, audience, deliveries.Quiet(quiet, rt.clock.now(), rt.timezone))
    if asleep:
        note = t("🌙 It is quiet hours ({start}–{end}) for {n} of them: sent now, their copies wait until "
                 "{end}, their own time. “🔔 Send anyway” sends to everyone at once.", n=asleep, **hours)
    else:
        note = t("☀️ Nobody is in quiet hours ({start}–{end}) now: sent now, it goes out at once.", **hours)
    anyway = [button(t("🔔 Send anyway"), PromotionSendAnyway(broadcast_id))] if asleep else []
    await say(update, context, note + "\n\n" + t("📣 Send it?"), keyboard(
        [button(t("🚀 Send now"), PromotionSendNow(broadcast_id)),
         button(t("🕒 Later"), PromotionSendLater(broadcast_id))], anyway,
        [button(t("👥 Another audience"), PromotionAudienceAgain(broadcast_id)),
         button(t("✖️ Cancel"), PromotionCancel(broadcast_id))]))


@on_tap
@for_supervisors
async def now_tapped(update: Update, context: RuralContext, actor: Actor, data: PromotionSendNow) -> None:
    await confirm(update, context, actor, data.promotion_id, None)


@on_tap
@for_supervisors
async def anyway_tapped(update: Update, context: RuralContext, actor: Actor, data: PromotionSendAnyway) -> None:
    await confirm(update, context, actor, data.promotion_id, None, anyway=True)


@on_tap
@for_supervisors
async def later_tapped(update: Update, context: RuralContext, actor: Actor, data: PromotionSendLater) -> None:
    broadcast_id = data.promotion_id
    if await _draft_or_say(update, context, broadcast_id) is None:
        return
    await forms.wait_for(context, SEND_AT(broadcast_id))
    await say(update, context, context.t("🕒 When? Type a date and time like 2026-12-01 09:00 ({timezone}).",
                                         timezone=context.rt.timezone))


@for_supervisors(answers_form=True)
async def time_typed(update: Update, context: RuralContext, actor: Actor, broadcast_id: int, text: str) -> None:
    rt = context.rt
    try:
        when = datetime.strptime(" ".join(text.split()), "%Y-%m-%d %H:%M").replace(tzinfo=rt.tz)
    except ValueError:
        await say(update, context, context.t("⚠️ Please type the date and time like 2026-12-01 09:00."))
        return
    if when < rt.clock.now() - timedelta(minutes=1):
        await say(update, context, context.t("⚠️ That time has passed. Please type a later one."))
        return
    await forms.stop_waiting(context)
    await confirm(update, context, actor, broadcast_id, when)


async def confirm(update: Update, context: RuralContext, actor: Actor, broadcast_id: int, when: datetime | None,
                  anyway: bool = False) -> None:
    t, rt = context.t, context.rt
    if await _draft_or_say(update, context, broadcast_id) is None:
        return
    try:
        promotion = await broadcast.confirm(rt.store, rt.clock.now(), update.effective_user.id, broadcast_id, when,
                                            anyway, actor)
    except NotYourCounty:
        await alert(update, context, only_own_county(t))
        return
    except (NotAllowed, NotFound):
        await alert(update, context, t("⌛ This promotion is no longer being composed."))
        return
    if when is None:
        await say(update, context, t("🚀 Promotion #{id} is on its way. Progress follows here; "
                                     "/broadcast cancel stops it.", id=promotion.id))
    else:
        text = t("🕒 Promotion #{id} will go out at {when}. /broadcast cancel stops it.",
                 id=promotion.id, when=when.strftime("%Y-%m-%d %H:%M"))
        quiet = rt.quiet_hours
        if quiet.contains(when.time()):
            text += "\n" + t("🌙 That is in quiet hours: each copy waits until {end}, its reader's own time.",
                              end=quiet.end.strftime("%H:%M"))
        await say(update, context, text)


def register(app: Application) -> None:
    forms.on_text(app, DRAFT, text_typed)
    forms.on_photo(app, DRAFT, photo_sent)
    forms.on_text(app, SEND_AT, time_typed)
    app.add_handler(CommandHandler("broadcast", broadcast_command, filters=PRIVATE))
    app.add_handler(on(PromotionSkip, skip_tapped))
    app.add_handler(on(PromotionCancel, cancel_tapped))
    app.add_handler(on(PromotionAudience, audience_tapped))
    app.add_handler(on(PromotionAudienceValue, audience_value_tapped))
    app.add_handler(on(PromotionAudienceAgain, audience_again_tapped))
    app.add_handler(on(PromotionSendNow, now_tapped))
    app.add_handler(on(PromotionSendLater, later_tapped))
    app.add_handler(on(PromotionSendAnyway, anyway_tapped))
