"""The questions of a listing being made (handlers.sell): what each step asks, its buttons, the
⬅️ Back and ✖️ Cancel row, the preview, and the list of steps to change from it. Only text and
buttons here; the flow that shows them and takes the answers is handlers.sell."""

from __future__ import annotations

from datetime import date

from handlers.callbacks import (
    AVAILABLE_IN_DAYS,
    SellCancel,
    SellCategory,
    SellClear,
    SellCommon,
    SellDate,
    SellDay,
    SellEdit,
    SellPreview,
    SellPublish,
    SellSkip,
    SellStep,
    SellUnit,
)
from handlers.listings import category_name, common_produce, listing_text, price, quantity, unit_name
from handlers.ui import button, esc, keyboard
from locales import N_, Translator
from services.amounts import UNITS
from services.produce import CATEGORIES, STEPS, ListingView, Step

UNIT_NAMES = (N_("unit:dozen"), N_("unit:ton"))  # "unit:<code>" entries the catalog does not use
STEP_NAMES = {
    Step.TITLE: N_("🏷 Name"),
    Step.CATEGORY: N_("📂 Kind of produce"),
    Step.PHOTO: N_("📷 Photo"),
    Step.UNIT: N_("⚖️ Unit"),
    Step.QUANTITY: N_("📦 Quantity"),
    Step.PRICE: N_("💰 Price"),
    Step.AVAILABLE: N_("📅 Available from"),
    Step.NOTE: N_("📝 Note"),
}
ANSWERED = tuple(STEP_NAMES)  # the steps a seller answers; the last one is the preview
# The days from today a seller may tap at the "available from" step (SellDay.days), with their labels.
DAYS = dict(zip(map(int, AVAILABLE_IN_DAYS), (N_("Now"), N_("In a week"), N_("In two weeks"), N_("In a month")),
                strict=True))


def rows_of(buttons: list, size: int) -> list[list]:
    return [buttons[i:i + size] for i in range(0, len(buttons), size)]


def missing_note(t: Translator, step: Step) -> str:
    return t("⚠️ Something is still missing: {step}", step=t(STEP_NAMES[step]))


def nav_row(t: Translator, view: ListingView, step: Step) -> list:
    """⬅️ Back (to the step before, or to the preview once it was seen) and ✖️ Cancel."""
    row = []
    if view.previewed:
        row.append(button(t("⬅️ Back to the preview"), SellPreview(view.id)))
    elif step != Step.TITLE:
        row.append(button(t("⬅️ Back"), SellStep(view.id, STEPS[STEPS.index(step) - 1])))
    row.append(button(t("✖️ Cancel"), SellCancel(view.id)))
    return row


def chosen(text: str, is_chosen: bool) -> str:
    return f"✅ {text}" if is_chosen else text


def step_screen(t: Translator, view: ListingView, step: Step) -> tuple[str, list[list]]:
    """The question of a step, and its buttons (the navigation row comes last)."""
    title = f"<b>{esc(view.title)}</b>"
    now = None
    rows: list[list] = []
    if step == Step.TITLE:
        text = t("🌾 What do you want to sell? Type its name, or tap one below.")
        now = esc(view.title) if view.title else None
        rows = rows_of([button(chosen(name, name == view.title), SellCommon(view.id, code))
                        for code, name, _ in common_produce(t)], 2)
    elif step == Step.CATEGORY:
        text = t("📂 What kind of produce is {title}?", title=title)
        rows = rows_of([button(chosen(category_name(t, code), code == view.category), SellCategory(view.id, code))
                        for code in CATEGORIES], 2)
    elif step == Step.PHOTO:
        text = t("📷 Send a photo of {title}. Listings with a photo sell faster!", title=title)
        if view.photo:
            text += "\n" + t("This is your photo now. Send another one to change it.")
            rows = [[button(t("✅ Keep this photo"), SellSkip(view.id, "photo")),
                     button(t("🗑 No photo"), SellClear(view.id, "photo"))]]
        else:
            rows = [[button(t("⏭ Skip"), SellSkip(view.id, "photo"))]]
    elif step == Step.UNIT:
        text = "\n".join([t("⚖️ How do you sell {title}? Choose the unit.", title=title),
                          t("1 {jin} = 0.5 kg", jin=esc(unit_name(t, "jin")))])
        rows = rows_of([button(chosen(unit_name(t, code), code == view.unit), SellUnit(view.id, code))
                        for code in UNITS], 3)
    elif step == Step.QUANTITY:
        text = t("📦 How many {unit} of {title} do you have for sale? Type a number, for example 300.",
                 unit=esc(unit_name(t, view.unit)), title=title)
        now = quantity(t, view.left_milli, view.unit) if view.left_milli else None
    elif step == Step.PRICE:
        text = t("💰 Your price for 1 {unit} of {title}, in yuan? Type it, for example 6.5.",
                 unit=esc(unit_name(t, view.unit)), title=title)
        now = price(t, view.price_fen, view.unit) if view.price_fen else None
    elif step == Step.AVAILABLE:
        text = t("📅 From when can buyers have it? Tap, or type a date like 12-01.")
        if view.available_from:  # a date reads as the day chosen, not after "Now:" (现在是)
            text += "\n" + t("📅 Chosen day: {day}", day=view.available_from.isoformat())
        rows = rows_of([button(t(label), SellDay(view.id, days)) for days, label in DAYS.items()], 2)
    else:
        text = t("📝 Anything buyers should know, like the variety or how it was grown? Type a short note, "
                 "or tap Skip.")
        if view.note:
            now = esc(view.note)
            rows = [[button(t("✅ Keep this note"), SellSkip(view.id, "note")),
                     button(t("🗑 No note"), SellClear(view.id, "note"))]]
        else:
            rows = [[button(t("⏭ Skip"), SellSkip(view.id, "note"))]]
    if now:
        text += "\n" + t("Now: {value}", value=now)
    text += "\n<i>" + t("Step {n} of {total}", n=ANSWERED.index(step) + 1, total=len(ANSWERED)) + "</i>"
    rows.append(nav_row(t, view, step))
    return text, rows


def date_question(t: Translator, view: ListingView, typed: str, day: date) -> tuple[str, object]:
    """"11-01 means 2027-11-01?", for a date typed without a year that is more than six months
    ahead: ✅ Yes takes it, ✏️ No asks the date again (typing another one answers too)."""
    text = t("📅 {typed} means {day}? That is more than six months from now.", typed=esc(typed),
             day=day.isoformat())
    return text, keyboard([button(t("✅ Yes"), SellDate(view.id, int(day.strftime("%Y%m%d"))))],
                          [button(t("✏️ No, type it again"), SellStep(view.id, Step.AVAILABLE))])


def preview_screen(t: Translator, view: ListingView) -> tuple[str, list[list]]:
    """The listing as buyers will see it, to publish, edit or cancel."""
    text = "\n\n".join([t("👀 <b>Please check.</b> Buyers will see your listing like this:"), listing_text(t, view)])
    rows = [[button(t("📤 Publish"), SellPublish(view.id))],
            [button(t("✏️ Edit"), SellEdit(view.id)), button(t("✖️ Cancel"), SellCancel(view.id))]]
    return text, rows


def steps_to_change(t: Translator, view: ListingView) -> list[list]:
    """✏️ Edit from the preview: each step to go back to, and the way back to the preview."""
    choices = [button(t(name), SellStep(view.id, step)) for step, name in STEP_NAMES.items()]
    return rows_of(choices, 2) + [[button(t("⬅️ Back to the preview"), SellPreview(view.id))]]
