"""🧾 Services: a villager asks their center for a phone top-up, a bill paid, or a ticket.

    🧾 Services ──> 📱 top-up | 💡 electricity | 🚰 water | 🚆 train | 🚌 bus
      top-up: phone number ──> amount (¥10/20/50/100, or typed)
      bill:   account number ──> amount (typed; spoken amounts too: "一百二")
      ticket: route (from - to) ──> date ──> people (1–5, or typed up to 9)
    ──> the summary, with the center's fee ──> ✅ Send: the card goes to the center's desk

Each question is answered by the next text (a form) or a button, and has ⬅️ Back and ✖️ Cancel.
A wrong answer is told why, and asked again. What has been said so far is the draft, in the
store (services.service_requests); the desk's side is handlers.service_desk.
"""

from __future__ import annotations

import functools

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application

from handlers import forms
from handlers.callbacks import ServiceAmount, ServiceBack, ServiceCancel, ServicePeople, ServiceSend, ServiceStart, on
from handlers.context import RuralContext
from handlers.forms import Form
from handlers.service_cards import WHAT, bad_input, detail_lines, summary_text, what_text
from handlers.start import ask_county
from handlers.ui import alert, button, esc, home_row, keyboard, name_in, not_yours, on_tap, say, show
from locales import N_
from services import service_requests as requests
from services.errors import NoCenterChosen, NotAllowed, NotFound
from services.service_input import CONFIRM, MAX_PEOPLE, PEOPLE_BUTTONS, TOPUP_AMOUNTS, BadService
from services.service_requests import RequestView

ANSWER = Form("svc")  # the answer to the draft's question


def in_private(callback):
    """A villager's button, taken only in their private chat (a forged one elsewhere, say on a
    desk's card in a group, changes nothing there)."""

    @functools.wraps(callback)
    async def handle(update: Update, context: RuralContext, *data):
        if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
            await not_yours(update, context)
            return
        await callback(update, context, *data)

    return handle


async def services_screen(update: Update, context: RuralContext) -> None:
    """What can be done at the center; a villager without a center chooses one first."""
    t, villager = context.t, context.villager
    if villager.center_id is None:
        await alert(update, context, t("📍 First choose your service center."))
        await ask_county(update, context, fresh=True)
        return
    rows = [[button(t(WHAT["topup"]), ServiceStart("topup"))],
            [button(t(WHAT["electricity"]), ServiceStart("electricity")),
             button(t(WHAT["water"]), ServiceStart("water"))],
            [button(t(WHAT["train"]), ServiceStart("train")), button(t(WHAT["bus"]), ServiceStart("bus"))],
            home_row(t)]
    await show(update, context, t("🧾 <b>Services at your center</b>\nWhat can we do for you? The partner does it "
                                  "at the counter, and you pay there in cash."), keyboard(*rows))


@on_tap
@in_private
async def start_tapped(update: Update, context: RuralContext, data: ServiceStart) -> None:
    rt = context.rt
    try:
        view = await requests.start(rt.store, rt.clock, context.villager.id, data.what)
    except NoCenterChosen:
        await services_screen(update, context)
        return
    await ask(update, context, view)


QUESTIONS = {
    "phone": N_("📱 Which phone number shall we top up? Please type its 11 digits."),
    "account": N_("🔢 Please type the account number on the bill."),
    "route": N_("🛤 From where to where? Please type it as from - to, e.g. 苍溪-成都."),
    "date": N_("📅 On which day? Please type the date, e.g. 2026-12-20 or 12-20."),
    "people": N_("👥 For how many people? Tap or type a number up to 9."),
}


def question(context: RuralContext, view: RequestView) -> str:
    t = context.t
    if view.step == "amount" and view.what == "topup":
        return t("💰 How much? Tap an amount or type another, up to ¥5,000.")
    if view.step == "amount":
        return t("💰 How much is the bill? Please type the amount, up to ¥5,000.")
    return t(QUESTIONS[view.step])


async def ask(update: Update, context: RuralContext, view: RequestView, warning: str = "") -> None:
    """The draft's question (or, once all is said, its summary), with ⬅️ Back and ✖️ Cancel."""
    t = context.t
    ways = [button(t("⬅️ Back"), ServiceBack(view.id)), button(t("✖️ Cancel"), ServiceCancel(view.id))]
    if view.step == CONFIRM:
        await forms.stop_waiting(context, ANSWER)
        await show(update, context, summary_text(t, view),
                   keyboard([button(t("✅ Send to the center"), ServiceSend(view.id))], ways))
        return
    rows = []
    if view.step == "amount" and view.what == "topup":
        rows.append([button(f"¥{yuan}", ServiceAmount(view.id, yuan)) for yuan in TOPUP_AMOUNTS])
    if view.step == "people":
        rows.append([button(str(n), ServicePeople(view.id, n)) for n in range(1, PEOPLE_BUTTONS + 1)])
    lines = [f"<b>{what_text(t, view.what)}</b>", *detail_lines(t, view), "", question(context, view)]
    if warning:
        lines = [warning, "", *lines]
    await forms.wait_for(context, ANSWER(view.id))
    if update.callback_query:
        await show(update, context, "\n".join(lines), keyboard(*rows, ways))
    else:
        await say(update, context, "\n".join(lines), keyboard(*rows, ways))


async def take(update: Update, context: RuralContext, request_id: int, text: str, step: str | None = None) -> None:
    """An answer typed or tapped: the next question, or this one again with the reason."""
    rt, t = context.rt, context.t
    try:
        view = await requests.answer(rt.store, rt.clock, context.villager.id, request_id, text, step)
    except BadService as exc:
        view = await requests.draft(rt.store, context.villager.id, request_id)
        await ask(update, context, view, bad_input(t, exc.reason))
        return
    await ask(update, context, view)


async def answer_typed(update: Update, context: RuralContext, request_id: int, text: str) -> None:
    try:
        await take(update, context, request_id, text)
    except (NotFound, NotAllowed):
        await forms.stop_waiting(context)
        await say(update, context, context.t("⌛ This request is no longer open. Please start again from "
                                             "🧾 Services."))


async def tapped_answer(update: Update, context: RuralContext, request_id: int, text: str, step: str) -> None:
    try:
        await take(update, context, request_id, text, step)
    except (NotFound, NotAllowed):
        await stale(update, context)


async def stale(update: Update, context: RuralContext) -> None:
    await alert(update, context, context.t("⌛ This button is no longer valid. Please open the menu again."))


@on_tap
@in_private
async def amount_tapped(update: Update, context: RuralContext, data: ServiceAmount) -> None:
    if data.yuan not in TOPUP_AMOUNTS:
        await stale(update, context)
        return
    await tapped_answer(update, context, data.request_id, str(data.yuan), "amount")


@on_tap
@in_private
async def people_tapped(update: Update, context: RuralContext, data: ServicePeople) -> None:
    if not 1 <= data.people <= MAX_PEOPLE:
        await stale(update, context)
        return
    await tapped_answer(update, context, data.request_id, str(data.people), "people")


@on_tap
@in_private
async def back_tapped(update: Update, context: RuralContext, data: ServiceBack) -> None:
    rt = context.rt
    try:
        view = await requests.back(rt.store, rt.clock, context.villager.id, data.request_id)
    except NotFound:
        await stale(update, context)
        return
    if view is None:
        await forms.stop_waiting(context, ANSWER)
        await services_screen(update, context)
    else:
        await ask(update, context, view)


@on_tap
@in_private
async def cancel_tapped(update: Update, context: RuralContext, data: ServiceCancel) -> None:
    rt = context.rt
    try:
        await requests.draft(rt.store, context.villager.id, data.request_id)
    except NotFound:
        await stale(update, context)
        return
    await requests.cancel(rt.store, context.villager.id, data.request_id)
    await forms.stop_waiting(context, ANSWER)
    await show(update, context, context.t("✖️ Cancelled. Nothing was sent."), keyboard(home_row(context.t)))


@on_tap
@in_private
async def send_tapped(update: Update, context: RuralContext, data: ServiceSend) -> None:
    t, rt = context.t, context.rt
    try:
        view = await requests.send(rt.store, rt.clock, context.villager.id, data.request_id)
    except (NotFound, NotAllowed):
        await stale(update, context)
        return
    await show(update, context, "\n".join([
        t("✅ Sent to {center} as request #{id}.", center=esc(name_in(view.center_names, t)), id=view.id),
        t("The partner will do it and tell you here what was charged."),
    ]), keyboard(home_row(t)))


def register(app: Application) -> None:
    forms.on_menu(app, "services", services_screen)
    forms.on_text(app, ANSWER, answer_typed)
    app.add_handler(on(ServiceStart, start_tapped))
    app.add_handler(on(ServiceAmount, amount_tapped))
    app.add_handler(on(ServicePeople, people_tapped))
    app.add_handler(on(ServiceBack, back_tapped))
    app.add_handler(on(ServiceCancel, cancel_tapped))
    app.add_handler(on(ServiceSend, send_tapped))
