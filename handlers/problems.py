"""⚠️ Problem on a picked-up order (My orders, for PROBLEM_DAYS after the pickup), one step at a time:

    ⚠️ Problem ──> 1. which lines, how many (➖ / ➕; a line's name: all of it or none) ──➡️ Next──>
    2. why (damaged, wrong item, missing, spoiled or poor quality, other) ──>
    3. 📷 a photo, or ⏭ Skip ──> sent: a card on the desk of the center where it was picked up

Each step has ⬅️ Back and ✖️ Cancel. The report is a draft in the store until it is sent, so a
restart loses nothing; the partner's decision comes back as a notice (handlers.problem_desk).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from handlers import forms
from handlers.callbacks import (
    OrderDetail,
    ProblemCancel,
    ProblemQuantity,
    ProblemReason,
    ProblemSkipPhoto,
    ProblemStart,
    ProblemStep,
    on,
)
from handlers.context import RuralContext
from handlers.forms import Form
from handlers.problem_cards import REASONS, line_list, quantity
from handlers.ui import alert, button, keyboard, on_tap, say, show
from services import problems
from services.errors import InvalidQuantity, NotAllowed, NotFound
from services.problems import NothingChosen, NothingLeft, ProblemOpen, ProblemView, Step, TooLate

PHOTO = Form("pbph")  # the problem's photo, or ⏭ Skip


def head(context: RuralContext, problem: ProblemView, step: int) -> str:
    return context.t("⚠️ <b>Problem with order {number}</b> · step {step} of 3", number=problem.order_number,
                     step=step)


def nav(context: RuralContext, problem: ProblemView, back: Step | None) -> list:
    t = context.t
    row = [button(t("⬅️ Back"), ProblemStep(problem.id, back) if back else OrderDetail(problem.order_id))]
    return row + [button(t("✖️ Cancel"), ProblemCancel(problem.id))]


async def lines_screen(update: Update, context: RuralContext, problem: ProblemView) -> None:
    t = context.t
    text = [head(context, problem, 1), t("Which items, and how many? Tap ➖ and ➕, or an item's name for all of it.")]
    text += line_list(t, problem)
    rows = []
    for line in problem.lines:
        if not line.most:
            continue
        name = line.name(t.language)[:24]
        rows.append([button("➖", ProblemQuantity(problem.id, line.line_id, max(0, line.chosen - line.step))),
                     button(f"{name} · {quantity(t, line, line.chosen)}",
                            ProblemQuantity(problem.id, line.line_id, 0 if line.chosen else line.most)),
                     button("➕", ProblemQuantity(problem.id, line.line_id, min(line.most, line.chosen + line.step)))])
    if problem.chosen:
        rows.append([button(t("➡️ Next"), ProblemStep(problem.id, Step.REASON))])
    rows.append(nav(context, problem, None))
    await show(update, context, "\n".join(text), keyboard(*rows))


async def reason_screen(update: Update, context: RuralContext, problem: ProblemView) -> None:
    t = context.t
    text = [head(context, problem, 2), *line_list(t, problem), "", t("What is wrong?")]
    rows = [[button(t(words), ProblemReason(problem.id, code))] for code, words in REASONS.items()]
    rows.append(nav(context, problem, Step.LINES))
    await show(update, context, "\n".join(text), keyboard(*rows))


async def photo_screen(update: Update, context: RuralContext, problem: ProblemView) -> None:
    t = context.t
    await forms.wait_for(context, PHOTO(problem.id))
    text = [head(context, problem, 3), *line_list(t, problem), t("Reason: {reason}", reason=t(REASONS[problem.reason])),
            "", t("📷 Send a photo of the problem: it helps the partner decide. Or tap ⏭ Skip.")]
    await show(update, context, "\n".join(text),
               keyboard([button(t("⏭ Skip"), ProblemSkipPhoto(problem.id))], nav(context, problem, Step.REASON)))


SCREENS = {Step.LINES: lines_screen, Step.REASON: reason_screen, Step.PHOTO: photo_screen}


async def refused(update: Update, context: RuralContext, exc: Exception) -> None:
    t = context.t
    if isinstance(exc, TooLate):
        text = t("⌛ A problem can be reported only within {days} days of receiving the order.",
                 days=problems.PROBLEM_DAYS)
    elif isinstance(exc, ProblemOpen):
        text = t("⏳ A problem with this order is already with the center. Please wait for their answer.")
    elif isinstance(exc, NothingLeft):
        text = t("ℹ️ Everything in this order has been refunded or replaced already.")
    elif isinstance(exc, NothingChosen):
        text = t("👆 Please choose at least one item first.")
    elif isinstance(exc, InvalidQuantity):
        text = t("⚠️ That is more than you bought.")
    elif isinstance(exc, NotAllowed):
        text = t("ℹ️ This report was already sent or cancelled.")
    else:
        text = t("😔 This order was not found.")
    await alert(update, context, text)


async def step(update: Update, context: RuralContext, call) -> None:
    """Do a step's change and show the screen the report is at; or say why not."""
    try:
        problem = await call()
    except (NotFound, TooLate, ProblemOpen, NothingLeft, NothingChosen, InvalidQuantity, NotAllowed) as exc:
        await refused(update, context, exc)
        return
    if problem.step != Step.PHOTO:
        await forms.stop_waiting(context, PHOTO)
    await SCREENS[Step(problem.step)](update, context, problem)


@on_tap
async def start_tapped(update: Update, context: RuralContext, data: ProblemStart) -> None:
    rt = context.rt
    await step(update, context, lambda: problems.start(rt.store, rt.clock, context.villager.id, data.order_id))


@on_tap
async def quantity_tapped(update: Update, context: RuralContext, data: ProblemQuantity) -> None:
    rt = context.rt
    await step(update, context, lambda: problems.set_quantity(rt.store, rt.clock, context.villager.id,
                                                              data.problem_id, data.line_id, data.quantity))


@on_tap
async def step_tapped(update: Update, context: RuralContext, data: ProblemStep) -> None:
    rt = context.rt
    await step(update, context, lambda: problems.to_step(rt.store, rt.clock, context.villager.id, data.problem_id,
                                                         Step(data.step)))


@on_tap
async def reason_tapped(update: Update, context: RuralContext, data: ProblemReason) -> None:
    rt = context.rt
    await step(update, context, lambda: problems.set_reason(rt.store, rt.clock, context.villager.id,
                                                            data.problem_id, data.reason))


async def send(update: Update, context: RuralContext, problem_id: int, photo: str | None) -> bool:
    rt, t = context.rt, context.t
    try:
        problem = await problems.submit(rt.store, rt.clock, context.villager.id, problem_id, photo)
    except (NotFound, TooLate, ProblemOpen, NothingChosen, InvalidQuantity, NotAllowed) as exc:
        await forms.stop_waiting(context, PHOTO)
        await refused(update, context, exc)
        return False
    await forms.stop_waiting(context, PHOTO)
    text = t("✅ Your problem with order <b>{number}</b> is sent to the service center. We will tell you what they "
             "decide.", number=problem.order_number)
    markup = keyboard([button(t("📦 Track"), OrderDetail(problem.order_id))])
    if update.callback_query:
        await show(update, context, text, markup)
    else:
        await say(update, context, text, markup)
    return True


@on_tap
async def skip_tapped(update: Update, context: RuralContext, data: ProblemSkipPhoto) -> None:
    await send(update, context, data.problem_id, None)


async def photo_sent(update: Update, context: RuralContext, problem_id: int, file_id: str) -> bool:
    await send(update, context, problem_id, file_id)
    return True


async def text_instead_of_photo(update: Update, context: RuralContext, problem_id: int, text: str) -> None:
    t = context.t
    await say(update, context, t("📷 Please send a photo, or tap ⏭ Skip."),
              keyboard([button(t("⏭ Skip"), ProblemSkipPhoto(problem_id))],
                       [button(t("✖️ Cancel"), ProblemCancel(problem_id))]))


@on_tap
async def cancel_tapped(update: Update, context: RuralContext, data: ProblemCancel) -> None:
    rt, t = context.rt, context.t
    try:
        problem = await problems.cancel(rt.store, rt.clock, context.villager.id, data.problem_id)
    except (NotFound, NotAllowed) as exc:
        await refused(update, context, exc)
        return
    await forms.stop_waiting(context, PHOTO)
    await show(update, context, t("✖️ The problem report is cancelled. Nothing was sent."),
               keyboard([button(t("📦 Back to the order"), OrderDetail(problem.order_id))]))


def register(app: Application) -> None:
    forms.on_photo(app, PHOTO, photo_sent)
    forms.on_text(app, PHOTO, text_instead_of_photo)
    app.add_handler(on(ProblemStart, start_tapped))
    app.add_handler(on(ProblemQuantity, quantity_tapped))
    app.add_handler(on(ProblemStep, step_tapped))
    app.add_handler(on(ProblemReason, reason_tapped))
    app.add_handler(on(ProblemSkipPhoto, skip_tapped))
    app.add_handler(on(ProblemCancel, cancel_tapped))
