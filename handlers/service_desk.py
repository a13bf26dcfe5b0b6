"""A service on the center's desk: the request's card, Done and Decline, and /service.

    card (✅ Done, ❌ Decline) ──✅──> "what was charged?" (a ForceReply to the partner in the
                                     group; the next text in a private chat); the card shows
                                     [✅ As asked ¥50] and ✖️ Cancel
                                       ├── the amount typed ──> done: one cash entry, the villager told
                                       └── ✅ As asked ──────> the same, charged what was asked
                              ──❌──> the reasons, ✏️ Type a reason, ⬅️ Back ──> declined, the villager told

    /service topup 13800001234 50                 a walk-in villager's service, done at once, with
    /service bill 0512345678 120.5                its cash entry (the fee from the center's
    /service ticket 苍溪-成都 2026-12-20 2 380      schedule); also electricity, water, train, bus,
                                                  and in Chinese: 充值, 电费, 水费, 火车, 汽车

The card is a ``DecisionCard`` (``SERVICE``), so Decline, its reasons, a typed reason, ⬅️ Back and
✖️ Cancel go through the desk's one flow (handlers.desk, handlers.desk_prompts), checked as an
order's: only the center's partners and admins act; a decision is taken once.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, filters

from handlers import desk_prompts, forms
from handlers.callbacks import (
    CancelPrompt,
    ServiceAsAsked,
    ServiceCard,
    ServiceDecline,
    ServiceDeclineReason,
    ServiceDone,
    ShowService,
    TypeServiceReason,
    on,
)
from handlers.cards import DecisionCard, order_refusal
from handlers.context import RuralContext
from handlers.desk import (
    actor_of,
    card_t,
    card_tapped,
    desk_or_explain,
    on_card,
    reason_tapped,
    refuse,
    reject_tapped,
    show_tapped,
)
from handlers.desk_prompts import Question, Settled, answered_privately, reason_typed
from handlers.forms import Form
from handlers.service_cards import (
    DECLINE_REASONS,
    bad_input,
    card_keyboard,
    card_text,
    detail_lines,
    fee_line,
    status_text,
    what_text,
)
from handlers.ui import alert, button, esc, keyboard, local_time, money, say, show
from locales import N_, Translator
from services import partners, prompts, service_input
from services import service_requests as requests
from services.errors import AlreadyDone, NotAllowed, NotFound
from services.partners import NotPartner
from services.service_input import WHATS, BadService

CHARGED = Form("svch")  # what a service charged
DECLINE_REASON = Form("svrj")  # why a service is declined
# /service's first word: what it was, in English or in Chinese
WORDS = {"topup": "topup", "bill": "electricity", "electricity": "electricity", "water": "water",
         "ticket": "train", "train": "train", "bus": "bus",
         "充值": "topup", "话费": "topup", "电费": "electricity", "水费": "water", "车票": "train", "火车": "train",
         "火车票": "train", "汽车": "bus", "汽车票": "bus"}


def refusal(t: Translator, exc: Exception) -> str:
    if isinstance(exc, AlreadyDone | NotAllowed):
        return t("ℹ️ Already decided: {status}", status=status_text(t, exc.status))
    if isinstance(exc, NotFound):
        return t("😔 This request was not found.")
    if isinstance(exc, BadService):
        return bad_input(t, exc.reason)
    return order_refusal(t, exc)


async def _decide(store, clock, actor, request_id: int, yes: bool, reason: str) -> str:
    return (await requests.decide(store, clock, actor, request_id, done=yes, reason=reason)).status


SERVICE = DecisionCard(
    seen=requests.card_for, view=requests.card_view, decide=_decide, record=requests.record_card,
    refused=(NotPartner, AlreadyDone, NotAllowed, NotFound, BadService),
    subject=lambda card: card.id, deciding_center=lambda card: card.center_id,
    photo=lambda card: None, text=card_text, keyboard=lambda t, card, center: card_keyboard(t, card),
    status=status_text, refusal=refusal,
    reasons=DECLINE_REASONS, max_reason=requests.MAX_REASON,
    rejected=N_("❌ Declined. The villager has been told why."), prompt=DECLINE_REASON.kind,
    id_field="request_id", approve=ServiceDone, reject=ServiceDecline, reason=ServiceDeclineReason,
    type_reason=TypeServiceReason, back=ServiceCard, show=ShowService,
)


# ---- ✅ Done --------------------------------------------------------------------------------------

async def done_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    """✅ Done: asks the partner what was charged; the card offers the amount asked, and ✖️ Cancel."""
    if card.status != requests.REQUESTED:
        await alert(update, context, refusal(context.t, AlreadyDone(card.status)))
        return
    desk_t = card_t(update, context, card)
    message = update.callback_query.message
    await desk_prompts.ask(update, context, CHARGED.kind, card.id, card_message_id=message.message_id)
    rows = []
    if card.amount_fen is not None:
        rows.append([button(desk_t("✅ As asked: {amount}", amount=money(card.amount_fen)), ServiceAsAsked(card.id))])
    rows.append([button(desk_t("✖️ Cancel"), CancelPrompt(CHARGED.kind, card.id))])
    waiting = desk_t(N_("⏳ Waiting for {name} to reply."), name=esc(update.effective_user.first_name or ""))
    await show(update, context, f"{card_text(desk_t, card)}\n\n{waiting}", keyboard(*rows))


async def as_asked_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data) -> None:
    """✅ As asked: done, charged the amount the villager asked for; the question is closed."""
    if await charge(update, context, card.id, None):
        rt, chat_id, desk_t = context.rt, update.effective_chat.id, card_t(update, context, card)
        for prompt in await prompts.cancel(rt.store, rt.clock, chat_id, CHARGED.kind, card.id):
            await desk_prompts.mark_question(context, prompt, desk_t("✅ Done."))
        await forms.stop_waiting(context, CHARGED)


async def charge(update: Update, context: RuralContext, request_id: int, charged_fen: int | None) -> bool:
    rt = context.rt
    try:
        view = await requests.decide(rt.store, rt.clock, actor_of(update, context), request_id, done=True,
                                     charged_fen=charged_fen)
    except SERVICE.refused as exc:
        await refuse(update, context, exc, SERVICE)
        return False
    said = context.t("✅ Done: charged {charged} and the fee {fee}. Collect {total}.",
                     charged=money(view.charged_fen), fee=money(view.fee_fen),
                     total=money(view.charged_fen + view.fee_fen))
    if update.callback_query:
        context.answered = True
        await update.callback_query.answer(said)
    else:
        await say(update, context, said)
    return True


async def charged_typed(update: Update, context: RuralContext, request_id: int, text: str) -> tuple[Settled, str]:
    """The partner's answer to "what was charged?"."""
    try:
        charged = service_input.amount(text)
    except BadService as exc:
        return Settled.AGAIN, bad_input(context.t, exc.reason)
    if await charge(update, context, request_id, charged):
        return Settled.DONE, ""
    return Settled.REFUSED, ""


desk_prompts.QUESTIONS[CHARGED.kind] = Question(
    N_("💰 {name}, please type what was charged for this service, e.g. 50 or 120.5 (the fee is added)."),
    N_("Amount charged"), SERVICE, charged_typed)
desk_prompts.QUESTIONS[DECLINE_REASON.kind] = Question(
    N_("✏️ {name}, please type the reason for declining this service."), N_("Reason for declining"), SERVICE,
    reason_typed(SERVICE))


# ---- /service, for a walk-in villager -----------------------------------------------------------

USAGE = N_("Usage, with what you charged (the center's fee is added):\n"
           "/service topup 13800001234 50\n"
           "/service bill 0512345678 120.5 (or electricity, water)\n"
           "/service ticket 苍溪-成都 2026-12-20 2 380 (route, date, people, price; or train, bus)")


async def center_for_command(update: Update, context: RuralContext) -> int | None:
    """The center /service is for: the desk's, in its group; the partner's only one, in private."""
    t, rt, user = context.t, context.rt, update.effective_user
    if update.effective_chat.type != ChatType.PRIVATE:
        desk = await partners.desk_of_group(rt.store, update.effective_chat.id)
        if desk is None:
            await say(update, context, t("ℹ️ This group is not an order desk yet. A partner can send "
                                         "/bind CENTER-CODE here."))
        return desk.id if desk else None
    centers = await partners.centers_of_partner(rt.store, user.id)
    if len(centers) == 1:
        return centers[0].id
    if centers or user.id in rt.admin_ids:
        await say(update, context, t("ℹ️ Please send /service in the desk group of the center it is for."))
    else:
        await say(update, context, t("🔒 Only a center's partners can record a service."))
    return None


async def service_command(update: Update, context: RuralContext) -> None:
    t, rt, args = context.t, context.rt, list(context.args or [])
    what = WORDS.get(args[0].lower()) if args else None
    if what is None:
        await say(update, context, t(USAGE))
        return
    center_id = await center_for_command(update, context)
    if center_id is None:
        return
    try:
        view = await requests.walk_in(rt.store, rt.clock, actor_of(update, context), center_id, what, args[1:])
    except BadService as exc:
        words = t(USAGE) if exc.reason == "usage" else bad_input(t, exc.reason) + "\n\n" + t(USAGE)
        await say(update, context, words)
        return
    except NotPartner as exc:
        await refuse(update, context, exc, SERVICE)
        return
    await say(update, context, "\n".join([
        t("✅ Recorded #{id}: {what}", id=view.id, what=what_text(t, view.what)), *detail_lines(t, view),
        t("💰 Charged: {charged}", charged=money(view.charged_fen)), fee_line(t, view.fee_fen),
        t("💵 Collect <b>{total}</b> in cash.", total=money(view.charged_fen + view.fee_fen))]))


# ---- /services on the desk ----------------------------------------------------------------------

WAITING_SHOWN = 30  # buttons in the list; more are counted


async def waiting_command(update: Update, context: RuralContext) -> None:
    """The requests waiting for the partners, oldest first, each a button that brings its card down."""
    t = context.t
    desk = await desk_or_explain(update, context)
    if desk is None:
        return
    waiting = await requests.waiting(context.rt.store, desk.id)
    if not waiting:
        await say(update, context, t("✅ No service is waiting."))
        return
    rows = [[button(f"🧾 #{request_id} · {what_text(t, what)} · {local_time(at, timezone)}",
                    ShowService(request_id))] for request_id, what, at, timezone in waiting[:WAITING_SHOWN]]
    text = t("🧾 <b>Services waiting</b>: {n}", n=len(waiting))
    await say(update, context, text, keyboard(*rows))


def register(app: Application) -> None:
    assert set(WORDS.values()) == set(WHATS)
    app.add_handler(on(ServiceDone, on_card(SERVICE, done_tapped, acting=True)))
    app.add_handler(on(ServiceAsAsked, on_card(SERVICE, as_asked_tapped, acting=True)))
    app.add_handler(on(ServiceDecline, on_card(SERVICE, reject_tapped, acting=True)))
    app.add_handler(on(ServiceDeclineReason, on_card(SERVICE, reason_tapped)))
    app.add_handler(on(TypeServiceReason, on_card(SERVICE, desk_prompts.typed_reason_tapped, acting=True)))
    app.add_handler(on(ServiceCard, on_card(SERVICE, card_tapped)))
    forms.on_text(app, CHARGED, answered_privately(CHARGED))
    forms.on_text(app, DECLINE_REASON, answered_privately(DECLINE_REASON))
    app.add_handler(CommandHandler("service", service_command))
    app.add_handler(CommandHandler("services", waiting_command, filters=filters.ChatType.GROUPS))
    app.add_handler(on(ShowService, on_card(SERVICE, show_tapped, acting=True)))
