"""🌾 Sell produce: a listing made step by step (/sell).

    /sell ──> what ──> category ──> photo ──> unit ──> quantity ──> price ──> available ──> note
          ──> 👀 preview ──📤──> review by the partner        (⬅️ Back and ✖️ Cancel at every step;
                        └──✏️──> a step ──> the preview again   a draft is resumed or discarded)

The draft and the step it is at live in the store (services.produce); the villager's ``awaiting``
only says that typed text (or a photo) answers the draft (``DRAFT_STEP``, "sell:12"). Each button
(``Sell*`` in handlers.callbacks) names the listing, which the services check against the store.
The seller's published listings are handlers.my_listings.
"""

from __future__ import annotations

from datetime import date, timedelta

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import forms
from handlers.callbacks import (
    CenterList,
    MyListings,
    SellCancel,
    SellCategory,
    SellClear,
    SellCommon,
    SellContinue,
    SellDate,
    SellDay,
    SellDiscard,
    SellEdit,
    SellNew,
    SellPreview,
    SellPublish,
    SellSkip,
    SellStep,
    SellUnit,
    on,
)
from handlers.context import RuralContext
from handlers.listings import (
    DRAFT_STEP,
    bad_input,
    common_produce,
    date_problem,
    joined,
    leave,
    price_problem,
    quantity_problem,
    unit_name,
)
from handlers.sell_steps import STEP_NAMES, date_question, missing_note, preview_screen, step_screen, steps_to_change
from handlers.ui import alert, button, esc, keyboard, on_tap_answering, show
from locales import Translator
from services import centers, produce
from services.amounts import UNITS, BadAmount, BadDate, UnsureDate, check_date, parse_date, parse_price, parse_quantity
from services.errors import NoCenterChosen, NotAllowed, NotFound
from services.produce import BadInput, Incomplete, ListingView, Status, Step, TooManyInReview

# ---- small helpers ------------------------------------------------------------------------

async def today_of(context: RuralContext, view: ListingView):
    """Today where the listing's center is."""
    center = await centers.get_center(context.rt.store, view.center_id)
    return produce.today_for(context.rt.clock, center.timezone if center else context.rt.timezone)


def stale_draft(t: Translator) -> str:
    return t("⌛ This listing is no longer being edited.")


def forged_code(t: Translator) -> str:
    return t("⌛ This button is no longer valid. Please open the menu again.")


# A button of the sell flow: a draft that is gone or already sent gets a short answer, and so does
# a forged code (a category or unit that does not exist).
sell_tap = on_tap_answering(((NotFound, NotAllowed), stale_draft), (BadInput, forged_code))


async def draft_of(context: RuralContext, listing_id: int) -> ListingView:
    """The seller's own draft, or NotFound / NotAllowed."""
    view = await produce.my_listing(context.rt.store, context.villager.id, listing_id)
    if view.status != Status.DRAFT:
        raise NotAllowed(view.status)
    return view


# ---- /sell: the steps of a new listing ----------------------------------------------------

async def sell_command(update: Update, context: RuralContext) -> None:
    """Start a listing, or offer to go on with the one not finished."""
    t, rt, villager = context.t, context.rt, context.villager
    draft = await produce.current_draft(rt.store, villager.id)
    if draft is not None and (draft.title or draft.step != Step.TITLE):
        await leave(context)
        step = Step(draft.step)
        where = t(STEP_NAMES[step]) if step in STEP_NAMES else t("👀 Preview")
        text = t("📝 You have a listing that is not finished: <b>{title}</b>, at {step}.\nGo on with it, or "
                 "discard it and start again?", title=esc(draft.title or "…"), step=where)
        await show(update, context, text, keyboard([button(t("▶️ Continue"), SellContinue(draft.id))],
                                                   [button(t("🗑 Discard"), SellDiscard(draft.id))]))
        return
    try:
        draft = await produce.start_draft(rt.store, rt.clock, villager.id)
    except NoCenterChosen:
        await show(update, context, t("📍 To sell, first choose your village service center: its partner checks "
                                      "your listing and hands your produce on to buyers."),
                   keyboard([button(t("📍 Choose my service center"), CenterList())]))
        return
    await show_step(update, context, draft)


async def show_step(update: Update, context: RuralContext, view: ListingView, note: str = "") -> None:
    """The screen of the step the draft is at; typed text answers it from now on."""
    t, rt = context.t, context.rt
    await forms.wait_for(context, DRAFT_STEP(view.id))
    step = Step(view.step)
    if step == Step.PREVIEW:
        missing = produce.missing_step(view)
        if missing is None:
            await show_preview(update, context, await produce.preview(rt.store, rt.clock, context.villager.id,
                                                                        view.id), note)
            return
        view = await produce.go_to(rt.store, rt.clock, context.villager.id, view.id, missing)
        note = joined(note, missing_note(t, missing))
        step = missing
    text, rows = step_screen(t, view, step)
    await show(update, context, joined(note, text), keyboard(*rows),
               photo=view.photo if step == Step.PHOTO else None)


async def show_preview(update: Update, context: RuralContext, view: ListingView, note: str = "") -> None:
    text, rows = preview_screen(context.t, view)
    await show(update, context, joined(note, text), keyboard(*rows), photo=view.photo)


async def at_step(update: Update, context: RuralContext, listing_id: int, step: Step) -> ListingView | None:
    """The draft, if it is still at ``step``; else (an old button) say so and show where it is."""
    view = await draft_of(context, listing_id)
    if view.step != step:
        await alert(update, context, context.t("⌛ That question was answered already."))
        await show_step(update, context, view)
        return None
    return view


@sell_tap
async def new_tapped(update: Update, context: RuralContext) -> None:
    await sell_command(update, context)


@sell_tap
async def continue_tapped(update: Update, context: RuralContext, data: SellContinue) -> None:
    await show_step(update, context, await draft_of(context, data.listing_id))


@sell_tap
async def cancel_tapped(update: Update, context: RuralContext, data: SellCancel) -> None:
    t = context.t
    view = await draft_of(context, data.listing_id)
    text = t("❓ Stop making this listing? What you answered so far will be deleted.")
    await show(update, context, text, keyboard([button(t("🗑 Yes, delete it"), SellDiscard(view.id))],
                                               [button(t("⬅️ No, go on"), SellContinue(view.id))]))


@sell_tap
async def discard_tapped(update: Update, context: RuralContext, data: SellDiscard) -> None:
    t, rt = context.t, context.rt
    await produce.discard_draft(rt.store, context.villager.id, data.listing_id)
    await leave(context)
    await show(update, context, t("🗑 The listing was deleted. Nothing was sent to buyers."),
               keyboard([button(t("🌾 Start a new listing"), SellNew())]))


@sell_tap
async def step_tapped(update: Update, context: RuralContext, data: SellStep) -> None:
    """⬅️ Back, or a step chosen to change from the preview."""
    rt = context.rt
    view = await produce.go_to(rt.store, rt.clock, context.villager.id, data.listing_id, data.step)
    await show_step(update, context, view)


@sell_tap
async def preview_tapped(update: Update, context: RuralContext, data: SellPreview) -> None:
    view = await draft_of(context, data.listing_id)
    await show_step(update, context, view if view.step == Step.PREVIEW else
                    await produce.go_to(context.rt.store, context.rt.clock, context.villager.id, view.id,
                                         Step.PREVIEW))


@sell_tap
async def edit_tapped(update: Update, context: RuralContext, data: SellEdit) -> None:
    t = context.t
    view = await draft_of(context, data.listing_id)
    await show(update, context, t("✏️ What do you want to change?"), keyboard(*steps_to_change(t, view)))


@sell_tap
async def publish_tapped(update: Update, context: RuralContext, data: SellPublish) -> None:
    t, rt = context.t, context.rt
    listing_id = data.listing_id
    try:
        view = await produce.publish(rt.store, rt.clock, context.villager.id, listing_id, caps=rt.caps)
    except Incomplete as exc:  # something required was never answered (an old or forged button)
        view = await produce.go_to(rt.store, rt.clock, context.villager.id, listing_id, exc.step)
        await show_step(update, context, view, missing_note(t, exc.step))
        return
    except TooManyInReview as exc:
        note = t("⏳ You already have {n} listings waiting for your partner's review. Publish this one when "
                 "one of them has been reviewed; it is kept as it is.", n=exc.limit)
        await show_step(update, context, await draft_of(context, listing_id), note)
        return
    await leave(context)
    text = "\n".join([t("📤 <b>{title}</b> is sent to your partner for review.", title=esc(view.title)),
                      t("We will tell you when it is on the market.")])
    await show(update, context, text, keyboard([button(t("📋 My listings"), MyListings())]), photo=view.photo)


async def fill(update: Update, context: RuralContext, view: ListingView, step: Step, value: object,
               unit: str | None = None) -> None:
    rt = context.rt
    view = await produce.fill(rt.store, rt.clock, context.villager.id, view.id, step, value, unit=unit)
    await show_step(update, context, view)


@sell_tap
async def common_tapped(update: Update, context: RuralContext, data: SellCommon) -> None:
    rt = context.rt
    view = await at_step(update, context, data.listing_id, Step.TITLE)
    if view is None:
        return
    found = {code: (name, category) for code, name, category in common_produce(context.t)}
    if data.code not in found:
        raise BadInput("unknown")
    name, category = found[data.code]
    view = await produce.choose_common(rt.store, rt.clock, context.villager.id, view.id, name, category)
    await show_step(update, context, view)


@sell_tap
async def category_tapped(update: Update, context: RuralContext, data: SellCategory) -> None:
    view = await at_step(update, context, data.listing_id, Step.CATEGORY)
    if view is not None:
        await fill(update, context, view, Step.CATEGORY, data.code)


@sell_tap
async def unit_tapped(update: Update, context: RuralContext, data: SellUnit) -> None:
    view = await at_step(update, context, data.listing_id, Step.UNIT)
    if view is not None:
        await fill(update, context, view, Step.UNIT, data.code)


@sell_tap
async def day_tapped(update: Update, context: RuralContext, data: SellDay) -> None:
    view = await at_step(update, context, data.listing_id, Step.AVAILABLE)
    if view is not None:
        day = await today_of(context, view) + timedelta(days=data.days)
        await fill(update, context, view, Step.AVAILABLE, day)


@sell_tap
async def date_tapped(update: Update, context: RuralContext, data: SellDate) -> None:
    """✅ Yes to "11-01 means 2027-11-01?"."""
    view = await at_step(update, context, data.listing_id, Step.AVAILABLE)
    if view is None:
        return
    try:
        day = check_date(date(data.day // 10_000, data.day // 100 % 100, data.day % 100),
                         await today_of(context, view))
    except ValueError:  # not a day of the calendar: a forged button
        await alert(update, context, forged_code(context.t))
        return
    except BadDate as exc:  # asked long ago: the day has passed since
        await show_step(update, context, view, date_problem(context.t, exc))
        return
    await fill(update, context, view, Step.AVAILABLE, day)


@sell_tap
async def skip_tapped(update: Update, context: RuralContext, data: SellSkip) -> None:
    """⏭ Skip a photo or a note; with one already given, keep it."""
    step = Step(data.field)
    view = await at_step(update, context, data.listing_id, step)
    if view is not None:
        await fill(update, context, view, step, view.photo if step == Step.PHOTO else view.note)


@sell_tap
async def clear_tapped(update: Update, context: RuralContext, data: SellClear) -> None:
    step = Step(data.field)
    view = await at_step(update, context, data.listing_id, step)
    if view is not None:
        await fill(update, context, view, step, None if step == Step.PHOTO else "")


async def step_typed(update: Update, context: RuralContext, listing_id: int, text: str) -> None:
    """Typed text while a listing is being made: the answer to the step it is at."""
    t = context.t
    try:
        view = await draft_of(context, listing_id)
    except (NotFound, NotAllowed):
        await forms.stop_waiting(context)
        await show(update, context, stale_draft(t))
        return
    step = Step(view.step)
    try:
        if step in (Step.TITLE, Step.NOTE):
            await fill(update, context, view, step, text)
        elif step == Step.QUANTITY:
            milli, named = parse_quantity(text, view.unit)
            if named is not None and named not in UNITS:  # "2袋": produce is not sold by the bag
                await show_step(update, context, view, t("⚠️ This is sold by the {unit}. Please type how many {unit}.",
                                                          unit=esc(unit_name(t, view.unit))))
                return
            await fill(update, context, view, step, milli, unit=named)
        elif step == Step.PRICE:
            await fill(update, context, view, step, parse_price(text, view.unit))
        elif step == Step.AVAILABLE:
            await fill(update, context, view, step, parse_date(text, await today_of(context, view)))
        elif step == Step.PHOTO:
            await show_step(update, context, view, t("📷 Please send a photo, or tap Skip."))
        else:
            await show_step(update, context, view, t("👆 Please tap one of the buttons."))
    except BadAmount as exc:
        problem = price_problem(t, exc, view.unit) if step == Step.PRICE else quantity_problem(t, exc, view.unit)
        await show_step(update, context, view, problem)
    except UnsureDate as exc:
        await show(update, context, *date_question(t, view, exc.typed, exc.day))
    except BadDate as exc:
        await show_step(update, context, view, date_problem(t, exc))
    except BadInput as exc:
        await show_step(update, context, view, bad_input(t, exc))
    except (NotFound, NotAllowed):
        await forms.stop_waiting(context)
        await show(update, context, stale_draft(t))


async def draft_photo(update: Update, context: RuralContext, listing_id: int, file_id: str) -> bool:
    """A photo sent at the photo step of a draft; False if the draft is not there."""
    try:
        view = await draft_of(context, listing_id)
    except (NotFound, NotAllowed):
        await leave(context)
        return False
    if view.step != Step.PHOTO:
        return False
    await fill(update, context, view, Step.PHOTO, file_id)
    return True


def register(app: Application) -> None:
    forms.on_menu(app, "sell", sell_command)
    forms.on_text(app, DRAFT_STEP, step_typed)
    forms.on_photo(app, DRAFT_STEP, draft_photo)
    app.add_handler(CommandHandler("sell", sell_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(SellNew, new_tapped))
    app.add_handler(on(SellContinue, continue_tapped))
    app.add_handler(on(SellCancel, cancel_tapped))
    app.add_handler(on(SellDiscard, discard_tapped))
    app.add_handler(on(SellStep, step_tapped))
    app.add_handler(on(SellPreview, preview_tapped))
    app.add_handler(on(SellEdit, edit_tapped))
    app.add_handler(on(SellPublish, publish_tapped))
    app.add_handler(on(SellCommon, common_tapped))
    app.add_handler(on(SellCategory, category_tapped))
    app.add_handler(on(SellUnit, unit_tapped))
    app.add_handler(on(SellDay, day_tapped))
    app.add_handler(on(SellDate, date_tapped))
    app.add_handler(on(SellSkip, skip_tapped))
    app.add_handler(on(SellClear, clear_tapped))
