"""🌾 Sell produce: a listing made step by step (/sell), and the seller's listings (/mylistings).

    /sell ──> what ──> category ──> photo ──> unit ──> quantity ──> price ──> available ──> note
          ──> 👀 preview ──📤──> review by the partner        (⬅️ Back and ✖️ Cancel at every step;
                        └──✏️──> a step ──> the preview again   a draft is resumed or discarded)

    /mylistings ──> a listing ──> change price, quantity, photo, note; ⏸ pause / ▶️ resume; 🗑 withdraw

The draft and the step it is at live in the store (services.produce); the villager's ``awaiting``
only says that typed text answers the draft ("sell:12") or an edit of a listing ("mlprice:7").
Callback data: ``sl:…`` for the sell flow, ``ml:…`` for the seller's listings, each naming the
listing, which the services check against the store.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from handlers import forms
from handlers.context import RuralContext
from handlers.listings import (
    amount_problem,
    category_name,
    common_produce,
    date_problem,
    listing_text,
    price,
    quantity,
    reject_reason,
    status_name,
    unit_name,
)
from handlers.ui import alert, button, esc, keyboard, local_time, money, on_tap, pager, show
from locales import N_, Translator
from services import centers, villagers
from services import produce as listings
from services.amounts import UNITS, WHOLE_UNITS, BadAmount, BadDate, parse_date, parse_price, parse_quantity
from services.errors import NoCenterChosen, NotAllowed, NotFound
from services.produce import (
    CATEGORIES,
    STEPS,
    BadInput,
    Incomplete,
    ListingView,
    ReviewTooSoon,
    Status,
    Step,
    TooManyInReview,
)

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
DAYS = {0: N_("Now"), 7: N_("In a week"), 14: N_("In two weeks"), 30: N_("In a month")}
BAD_INPUT = {
    "too_short": N_("⚠️ That is too short. Please type at least {limit} letters."),
    "too_long": N_("⚠️ That is too long. Please keep it to {limit} letters."),
}
# What a typed text answers in an edit of a published listing: awaiting "mlprice:7" -> its price.
EDIT_FORMS = {"mlprice": Step.PRICE, "mlqty": Step.QUANTITY, "mlphoto": Step.PHOTO, "mlnote": Step.NOTE}
EDIT_KIND = {step: kind for kind, step in EDIT_FORMS.items()}
OWN_FORMS = frozenset({"sell", *EDIT_FORMS})


# ---- small helpers ------------------------------------------------------------------------

def rows_of(buttons: list, size: int) -> list[list]:
    return [buttons[i:i + size] for i in range(0, len(buttons), size)]


def joined(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


async def leave(context: RuralContext) -> None:
    """Typed text no longer answers a listing (when the seller leaves the flow)."""
    awaiting = context.villager.awaiting
    if awaiting and awaiting.partition(":")[0] in OWN_FORMS:
        await villagers.set_awaiting(context.rt.store, context.villager.id, None)


async def today_of(context: RuralContext, view: ListingView):
    """Today where the listing's center is."""
    center = await centers.get_center(context.rt.store, view.center_id)
    return listings.today_for(context.rt.clock, center.timezone if center else context.rt.timezone)


def missing_note(t: Translator, step: Step) -> str:
    return t("⚠️ Something is still missing: {step}", step=t(STEP_NAMES[step]))


def stale_draft(t: Translator) -> str:
    return t("⌛ This listing is no longer being edited.")


def stale_listing(t: Translator) -> str:
    return t("⌛ This listing is no longer available.")


def sell_tap(callback):
    """A button of the sell flow: a draft that is gone or already sent gets a short answer."""

    @on_tap
    @functools.wraps(callback)
    async def handle(update: Update, context: RuralContext):
        try:
            await callback(update, context)
        except (NotFound, NotAllowed):
            await alert(update, context, stale_draft(context.t))
        except BadInput:  # a forged code (a category or unit that does not exist)
            await alert(update, context, context.t("⌛ This button is no longer valid. Please open the menu again."))

    return handle


def listing_tap(callback):
    """A button of /mylistings: someone else's or a vanished listing gets a short answer."""

    @on_tap
    @functools.wraps(callback)
    async def handle(update: Update, context: RuralContext):
        try:
            await callback(update, context)
        except NotFound:
            await alert(update, context, stale_listing(context.t))

    return handle


def ref(context: RuralContext) -> int:
    return int(context.match.group(1))


async def draft_of(context: RuralContext, listing_id: int) -> ListingView:
    """The seller's own draft, or NotFound / NotAllowed."""
    view = await listings.my_listing(context.rt.store, context.villager.id, listing_id)
    if view.status != Status.DRAFT:
        raise NotAllowed(view.status)
    return view


# ---- /sell: the steps of a new listing ----------------------------------------------------

async def sell_command(update: Update, context: RuralContext) -> None:
    """Start a listing, or offer to go on with the one not finished."""
    t, rt, villager = context.t, context.rt, context.villager
    draft = await listings.current_draft(rt.store, villager.id)
    if draft is not None and (draft.title or draft.step != Step.TITLE):
        await leave(context)
        step = Step(draft.step)
        where = t(STEP_NAMES[step]) if step in STEP_NAMES else t("👀 Preview")
        text = t("📝 You have a listing that is not finished: <b>{title}</b>, at {step}.\nGo on with it, or "
                 "discard it and start again?", title=esc(draft.title or "…"), step=where)
        await show(update, context, text, keyboard([button(t("▶️ Continue"), f"sl:go:{draft.id}")],
                                                   [button(t("🗑 Discard"), f"sl:del:{draft.id}")]))
        return
    try:
        draft = await listings.start_draft(rt.store, rt.clock, villager.id)
    except NoCenterChosen:
        await show(update, context, t("📍 To sell, first choose your village service center: its partner checks "
                                      "your listing and hands your produce on to buyers."),
                   keyboard([button(t("📍 Choose my service center"), "ctr:list")]))
        return
    await show_step(update, context, draft)


def nav_row(t: Translator, view: ListingView, step: Step) -> list:
    """⬅️ Back (to the step before, or to the preview once it was seen) and ✖️ Cancel."""
    row = []
    if view.previewed:
        row.append(button(t("⬅️ Back to the preview"), f"sl:pv:{view.id}"))
    elif step != Step.TITLE:
        row.append(button(t("⬅️ Back"), f"sl:to:{view.id}:{STEPS[STEPS.index(step) - 1]}"))
    row.append(button(t("✖️ Cancel"), f"sl:x:{view.id}"))
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
        rows = rows_of([button(chosen(name, name == view.title), f"sl:com:{view.id}:{code}")
                        for code, name, _ in common_produce(t)], 2)
    elif step == Step.CATEGORY:
        text = t("📂 What kind of produce is {title}?", title=title)
        rows = rows_of([button(chosen(category_name(t, code), code == view.category), f"sl:cat:{view.id}:{code}")
                        for code in CATEGORIES], 2)
    elif step == Step.PHOTO:
        text = t("📷 Send a photo of {title}. Listings with a photo sell faster!", title=title)
        if view.photo:
            text += "\n" + t("This is your photo now. Send another one to change it.")
            rows = [[button(t("✅ Keep this photo"), f"sl:skip:{view.id}:photo"),
                     button(t("🗑 No photo"), f"sl:clr:{view.id}:photo")]]
        else:
            rows = [[button(t("⏭ Skip"), f"sl:skip:{view.id}:photo")]]
    elif step == Step.UNIT:
        text = "\n".join([t("⚖️ How do you sell {title}? Choose the unit.", title=title),
                          t("1 {jin} = 0.5 kg", jin=esc(unit_name(t, "jin")))])
        rows = rows_of([button(chosen(unit_name(t, code), code == view.unit), f"sl:unit:{view.id}:{code}")
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
        now = view.available_from.isoformat() if view.available_from else None
        rows = rows_of([button(t(label), f"sl:day:{view.id}:{days}") for days, label in DAYS.items()], 2)
    else:
        text = t("📝 Anything buyers should know, like the variety or how it was grown? Type a short note, "
                 "or tap Skip.")
        if view.note:
            now = esc(view.note)
            rows = [[button(t("✅ Keep this note"), f"sl:skip:{view.id}:note"),
                     button(t("🗑 No note"), f"sl:clr:{view.id}:note")]]
        else:
            rows = [[button(t("⏭ Skip"), f"sl:skip:{view.id}:note")]]
    if now:
        text += "\n" + t("Now: {value}", value=now)
    text += "\n<i>" + t("Step {n} of {total}", n=ANSWERED.index(step) + 1, total=len(ANSWERED)) + "</i>"
    rows.append(nav_row(t, view, step))
    return text, rows


async def show_step(update: Update, context: RuralContext, view: ListingView, note: str = "") -> None:
    """The screen of the step the draft is at; typed text answers it from now on."""
    t, rt = context.t, context.rt
    await villagers.set_awaiting(rt.store, context.villager.id, f"sell:{view.id}")
    step = Step(view.step)
    if step == Step.PREVIEW:
        missing = listings.missing_step(view)
        if missing is None:
            await show_preview(update, context, await listings.preview(rt.store, rt.clock, context.villager.id,
                                                                        view.id), note)
            return
        view = await listings.go_to(rt.store, rt.clock, context.villager.id, view.id, missing)
        note = joined(note, missing_note(t, missing))
        step = missing
    text, rows = step_screen(t, view, step)
    await show(update, context, joined(note, text), keyboard(*rows),
               photo=view.photo if step == Step.PHOTO else None)


async def show_preview(update: Update, context: RuralContext, view: ListingView, note: str = "") -> None:
    t = context.t
    text = joined(note, t("👀 <b>Please check.</b> Buyers will see your listing like this:"), listing_text(t, view))
    rows = [[button(t("📤 Publish"), f"sl:pub:{view.id}")],
            [button(t("✏️ Edit"), f"sl:ed:{view.id}"), button(t("✖️ Cancel"), f"sl:x:{view.id}")]]
    await show(update, context, text, keyboard(*rows), photo=view.photo)


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
async def continue_tapped(update: Update, context: RuralContext) -> None:
    await show_step(update, context, await draft_of(context, ref(context)))


@sell_tap
async def cancel_tapped(update: Update, context: RuralContext) -> None:
    t = context.t
    view = await draft_of(context, ref(context))
    text = t("❓ Stop making this listing? What you answered so far will be deleted.")
    await show(update, context, text, keyboard([button(t("🗑 Yes, delete it"), f"sl:del:{view.id}")],
                                               [button(t("⬅️ No, go on"), f"sl:go:{view.id}")]))


@sell_tap
async def discard_tapped(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    await listings.discard_draft(rt.store, context.villager.id, ref(context))
    await leave(context)
    await show(update, context, t("🗑 The listing was deleted. Nothing was sent to buyers."),
               keyboard([button(t("🌾 Start a new listing"), "sl:new")]))


@sell_tap
async def step_tapped(update: Update, context: RuralContext) -> None:
    """⬅️ Back, or a step chosen to change from the preview."""
    rt = context.rt
    view = await listings.go_to(rt.store, rt.clock, context.villager.id, ref(context), Step(context.match.group(2)))
    await show_step(update, context, view)


@sell_tap
async def preview_tapped(update: Update, context: RuralContext) -> None:
    view = await draft_of(context, ref(context))
    await show_step(update, context, view if view.step == Step.PREVIEW else
                    await listings.go_to(context.rt.store, context.rt.clock, context.villager.id, view.id,
                                         Step.PREVIEW))


@sell_tap
async def edit_tapped(update: Update, context: RuralContext) -> None:
    t = context.t
    view = await draft_of(context, ref(context))
    choices = [button(t(name), f"sl:to:{view.id}:{step}") for step, name in STEP_NAMES.items()]
    rows = rows_of(choices, 2) + [[button(t("⬅️ Back to the preview"), f"sl:pv:{view.id}")]]
    await show(update, context, t("✏️ What do you want to change?"), keyboard(*rows))


@sell_tap
async def publish_tapped(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    listing_id = ref(context)
    try:
        view = await listings.publish(rt.store, rt.clock, context.villager.id, listing_id, caps=rt.caps)
    except Incomplete as exc:  # something required was never answered (an old or forged button)
        view = await listings.go_to(rt.store, rt.clock, context.villager.id, listing_id, exc.step)
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
    await show(update, context, text, keyboard([button(t("📋 My listings"), "ml:list")]), photo=view.photo)


async def fill(update: Update, context: RuralContext, view: ListingView, step: Step, value: object,
               unit: str | None = None) -> None:
    rt = context.rt
    view = await listings.fill(rt.store, rt.clock, context.villager.id, view.id, step, value, unit=unit)
    await show_step(update, context, view)


@sell_tap
async def common_tapped(update: Update, context: RuralContext) -> None:
    rt = context.rt
    view = await at_step(update, context, ref(context), Step.TITLE)
    if view is None:
        return
    found = {code: (name, category) for code, name, category in common_produce(context.t)}
    if context.match.group(2) not in found:
        raise BadInput("unknown")
    name, category = found[context.match.group(2)]
    view = await listings.choose_common(rt.store, rt.clock, context.villager.id, view.id, name, category)
    await show_step(update, context, view)


@sell_tap
async def category_tapped(update: Update, context: RuralContext) -> None:
    view = await at_step(update, context, ref(context), Step.CATEGORY)
    if view is not None:
        await fill(update, context, view, Step.CATEGORY, context.match.group(2))


@sell_tap
async def unit_tapped(update: Update, context: RuralContext) -> None:
    view = await at_step(update, context, ref(context), Step.UNIT)
    if view is not None:
        await fill(update, context, view, Step.UNIT, context.match.group(2))


@sell_tap
async def day_tapped(update: Update, context: RuralContext) -> None:
    view = await at_step(update, context, ref(context), Step.AVAILABLE)
    if view is not None:
        day = await today_of(context, view) + timedelta(days=int(context.match.group(2)))
        await fill(update, context, view, Step.AVAILABLE, day)


@sell_tap
async def skip_tapped(update: Update, context: RuralContext) -> None:
    """⏭ Skip a photo or a note; with one already given, keep it."""
    step = Step(context.match.group(2))
    view = await at_step(update, context, ref(context), step)
    if view is not None:
        await fill(update, context, view, step, view.photo if step == Step.PHOTO else view.note)


@sell_tap
async def clear_tapped(update: Update, context: RuralContext) -> None:
    step = Step(context.match.group(2))
    view = await at_step(update, context, ref(context), step)
    if view is not None:
        await fill(update, context, view, step, None if step == Step.PHOTO else "")


async def step_typed(update: Update, context: RuralContext, listing_id: int, text: str) -> None:
    """Typed text while a listing is being made: the answer to the step it is at."""
    t, rt = context.t, context.rt
    try:
        view = await draft_of(context, listing_id)
    except (NotFound, NotAllowed):
        await villagers.set_awaiting(rt.store, context.villager.id, None)
        await show(update, context, stale_draft(t))
        return
    step = Step(view.step)
    try:
        if step in (Step.TITLE, Step.NOTE):
            await fill(update, context, view, step, text)
        elif step == Step.QUANTITY:
            milli, named = parse_quantity(text, view.unit)
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
    except BadDate as exc:
        await show_step(update, context, view, date_problem(t, exc))
    except BadInput as exc:
        await show_step(update, context, view, bad_input(t, exc))
    except (NotFound, NotAllowed):
        await villagers.set_awaiting(rt.store, context.villager.id, None)
        await show(update, context, stale_draft(t))


def price_problem(t: Translator, exc: BadAmount, unit: str) -> str:
    return amount_problem(t, exc, unit, is_price=True)


def quantity_problem(t: Translator, exc: BadAmount, unit: str) -> str:
    if exc.reason == "whole_only" and unit not in WHOLE_UNITS:  # the unit typed with the number ("2.5个")
        return t("⚠️ That unit can only be counted whole. Please type a whole number.")
    return amount_problem(t, exc, unit)


def bad_input(t: Translator, exc: BadInput) -> str:
    if exc.reason in BAD_INPUT:
        return t(BAD_INPUT[exc.reason], limit=exc.limit)
    return t("⚠️ Please check what you typed and try again.")


# ---- photos ---------------------------------------------------------------------------------

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


async def listing_photo(update: Update, context: RuralContext, listing_id: int, file_id: str) -> bool:
    """A new photo for a published listing."""
    try:
        await save_edit(update, context, listing_id, Step.PHOTO, file_id)
    except (NotFound, NotAllowed):
        await leave(context)
        return False
    return True


# What a photo answers: "sell:12" -> the photo step of draft 12; "mlphoto:7" -> listing 7's photo.
PHOTO_FORMS = {"sell": draft_photo, "mlphoto": listing_photo}


# ---- /mylistings ----------------------------------------------------------------------------

async def mylistings_command(update: Update, context: RuralContext) -> None:
    await leave(context)
    await listings_screen(update, context, 0)


@listing_tap
async def listings_tapped(update: Update, context: RuralContext) -> None:
    await leave(context)
    page = context.match.group(1)
    await listings_screen(update, context, int(page) if page else 0)


async def listings_screen(update: Update, context: RuralContext, page: int, note: str = "") -> None:
    t, rt = context.t, context.rt
    found = await listings.my_listings(rt.store, context.villager.id)
    draft = await listings.current_draft(rt.store, context.villager.id)
    pages = max(1, -(-len(found) // listings.PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    first = page * listings.PAGE_SIZE
    rows = []
    if found:
        lines = [t("📋 <b>Your listings</b>")]
        for i, view in enumerate(found[first:first + listings.PAGE_SIZE], first + 1):
            lines.append(f"{i}. <b>{esc(view.title)}</b> · {status_name(t, view.status)}")
            lines.append("    " + t("📦 {left} left · 🧺 {sold} sold · 💵 {earned} earned",
                                      left=quantity(t, view.left_milli, view.unit),
                                      sold=quantity(t, view.sold_milli, view.unit), earned=money(view.earned_fen)))
            rows.append([button(f"{i}. {view.title[:30]}", f"ml:{view.id}")])
        rows.append(pager(t, page, pages, "ml:p:{page}"))
        add = t("➕ Sell something else")
    else:
        lines = [t("📋 You have nothing for sale yet.")]
        add = t("🌾 Sell produce")
    if draft is not None and draft.title:
        rows.append([button(t("▶️ Finish: {title}", title=draft.title[:30]), f"sl:go:{draft.id}")])
    rows.append([button(add, "sl:new")])
    await show(update, context, joined(note, "\n".join(lines)), keyboard(*rows))


def listing_screen_text(t: Translator, view: ListingView) -> str:
    lines = [listing_text(t, view), "", status_name(t, view.status),
             t("🧺 Sold: {sold} · 💵 Earned: {earned}", sold=quantity(t, view.sold_milli, view.unit),
               earned=money(view.earned_fen))]
    if view.status == Status.SOLD_OUT:
        lines.append(t("📦 Nothing left. Raise the quantity to sell more."))
    elif view.status == Status.PAUSED:
        lines.append(t("⏸ Buyers do not see it until you resume it."))
    elif view.status == Status.REJECTED:
        lines.append(t("❌ Reason: {reason}", reason=reject_reason(t, view.reject_reason)))
        lines.append(t("✏️ Change the price, quantity, photo or note, and it goes to your partner for review "
                       "again."))
    return "\n".join(lines)


async def listing_screen(update: Update, context: RuralContext, view: ListingView, note: str = "") -> None:
    t = context.t
    rows = []
    if view.status == Status.DRAFT:
        rows.append([button(t("▶️ Continue"), f"sl:go:{view.id}")])
    elif view.status != Status.WITHDRAWN:
        rows += [[button(t("💰 Price"), f"ml:e:{view.id}:price"), button(t("📦 Quantity"), f"ml:e:{view.id}:quantity")],
                 [button(t("📷 Photo"), f"ml:e:{view.id}:photo"), button(t("📝 Note"), f"ml:e:{view.id}:note")]]
        if view.status == Status.APPROVED:
            rows.append([button(t("⏸ Pause"), f"ml:pause:{view.id}")])
        elif view.status == Status.PAUSED:
            rows.append([button(t("▶️ Resume"), f"ml:resume:{view.id}")])
        rows.append([button(t("🗑 Withdraw"), f"ml:wd:{view.id}")])
    rows.append([button(t("⬅️ My listings"), "ml:list")])
    await show(update, context, joined(note, listing_screen_text(t, view)), keyboard(*rows), photo=view.photo)


@listing_tap
async def listing_tapped(update: Update, context: RuralContext) -> None:
    await leave(context)
    await listing_screen(update, context, await listings.my_listing(context.rt.store, context.villager.id,
                                                                     ref(context)))


@listing_tap
async def change_tapped(update: Update, context: RuralContext) -> None:
    """✏️ A new price, quantity, photo or note for a published listing: ask for it."""
    t, rt = context.t, context.rt
    view = await listings.my_listing(rt.store, context.villager.id, ref(context))
    step = Step(context.match.group(2))
    if view.status in (Status.DRAFT, Status.WITHDRAWN):
        await alert(update, context, t("⌛ This listing can no longer be changed."))
        await listing_screen(update, context, view)
        return
    unit = esc(unit_name(t, view.unit))
    rows = []
    if step == Step.PRICE:
        text = t("💰 Your new price for 1 {unit}? Type it, for example 6.5.", unit=unit)
        now = price(t, view.price_fen, view.unit)
    elif step == Step.QUANTITY:
        text = t("📦 How many {unit} do you have for sale now? Type a number.", unit=unit)
        now = quantity(t, view.left_milli, view.unit)
    elif step == Step.PHOTO:
        text = t("📷 Send the new photo.")
        now = None
        if view.photo:
            rows.append([button(t("🗑 No photo"), f"ml:clr:{view.id}:photo")])
    else:
        text = t("📝 Type the new note for buyers.")
        now = esc(view.note) if view.note else None
        if view.note:
            rows.append([button(t("🗑 No note"), f"ml:clr:{view.id}:note")])
    if now:
        text += "\n" + t("Now: {value}", value=now)
    if step in (Step.PRICE, Step.QUANTITY):
        text += "\n" + t("A higher price or quantity needs your partner's review again.")
    rows.append([button(t("⬅️ Back"), f"ml:{view.id}")])
    await villagers.set_awaiting(rt.store, context.villager.id, f"{EDIT_KIND[step]}:{view.id}")
    await show(update, context, f"<b>{esc(view.title)}</b>\n{text}", keyboard(*rows))


@listing_tap
async def clear_field_tapped(update: Update, context: RuralContext) -> None:
    step = Step(context.match.group(2))
    await save_edit(update, context, ref(context), step, None if step == Step.PHOTO else "")


async def save_edit(update: Update, context: RuralContext, listing_id: int, step: Step, value: object,
                    unit: str | None = None) -> None:
    """Change a published listing and show it, saying whether the partner must review it again."""
    t, rt = context.t, context.rt
    try:
        before = await listings.my_listing(rt.store, context.villager.id, listing_id)
        edited = await listings.edit(rt.store, rt.clock, context.villager.id, listing_id, step, value, unit=unit,
                                     caps=rt.caps)
    except (NotFound, NotAllowed):
        await villagers.set_awaiting(rt.store, context.villager.id, None)
        await alert(update, context, t("⌛ This listing can no longer be changed."))
        return
    except (TooManyInReview, ReviewTooSoon) as exc:
        await villagers.set_awaiting(rt.store, context.villager.id, None)
        await listing_screen(update, context, before, review_refused(t, exc))
        return
    await villagers.set_awaiting(rt.store, context.villager.id, None)
    note = t("✅ Saved.")
    if edited.to_review and before.status == Status.REJECTED:
        note += " " + t("⏳ It is sent to your partner for review again.")
    elif edited.to_review:
        note += " " + t("⏳ A higher price or quantity needs your partner's review again; it is off the "
                        "market until then.")
    await listing_screen(update, context, edited.listing, note)


def review_refused(t: Translator, exc: TooManyInReview | ReviewTooSoon) -> str:
    """A change that would send a listing to review, refused by a cap: what to do instead."""
    if isinstance(exc, ReviewTooSoon):
        return t("⏳ This listing went back to review a short while ago. You can send it to review again "
                 "from {time}; nothing was changed.", time=local_time(exc.again_at, exc.timezone))
    return t("⏳ You already have {n} listings waiting for your partner's review. Change this one when one "
             "of them has been reviewed; nothing was changed.", n=exc.limit)


async def edit_typed(update: Update, context: RuralContext, listing_id: int, text: str, step: Step) -> None:
    t, rt = context.t, context.rt
    try:
        view = await listings.my_listing(rt.store, context.villager.id, listing_id)
    except NotFound:
        await villagers.set_awaiting(rt.store, context.villager.id, None)
        await show(update, context, stale_listing(t))
        return
    back = keyboard([button(t("⬅️ Back"), f"ml:{view.id}")])
    try:
        if step == Step.PRICE:
            await save_edit(update, context, view.id, step, parse_price(text, view.unit))
        elif step == Step.QUANTITY:
            milli, named = parse_quantity(text, view.unit)
            await save_edit(update, context, view.id, step, milli, unit=named)
        elif step == Step.NOTE:
            await save_edit(update, context, view.id, step, text)
        else:
            await show(update, context, t("📷 Please send a photo."), back)
    except BadAmount as exc:
        problem = price_problem(t, exc, view.unit) if step == Step.PRICE else quantity_problem(t, exc, view.unit)
        await show(update, context, problem, back)
    except BadInput as exc:
        await show(update, context, bad_input(t, exc), back)


def edit_form(step: Step):
    async def typed(update: Update, context: RuralContext, listing_id: int, text: str) -> None:
        await edit_typed(update, context, listing_id, text, step)

    return typed


@listing_tap
async def pause_tapped(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    paused = context.match.group(1) == "pause"
    listing_id = int(context.match.group(2))
    try:
        view = await listings.pause(rt.store, rt.clock, context.villager.id, listing_id, paused=paused)
    except NotAllowed as exc:
        await alert(update, context, t("⌛ This listing is {status} now.", status=status_name(t, exc.status)))
        await listing_screen(update, context, await listings.my_listing(rt.store, context.villager.id, listing_id))
        return
    note = t("⏸ Paused: buyers do not see it now.") if paused else t("▶️ It is on the market again.")
    await listing_screen(update, context, view, note)


@listing_tap
async def withdraw_tapped(update: Update, context: RuralContext) -> None:
    t = context.t
    view = await listings.my_listing(context.rt.store, context.villager.id, ref(context))
    if view.status == Status.WITHDRAWN:
        await alert(update, context, t("⌛ This listing is {status} now.", status=status_name(t, view.status)))
        return
    text = t("❓ Withdraw <b>{title}</b> for good? Buyers will not see it again. Orders already placed go on.",
             title=esc(view.title))
    await show(update, context, text, keyboard([button(t("🗑 Yes, withdraw it"), f"ml:wd:{view.id}:ok")],
                                               [button(t("⬅️ No, keep it"), f"ml:{view.id}")]))


@listing_tap
async def withdraw_confirmed(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    try:
        view = await listings.withdraw(rt.store, rt.clock, context.villager.id, ref(context))
    except NotAllowed as exc:
        await alert(update, context, t("⌛ This listing is {status} now.", status=status_name(t, exc.status)))
        await listings_screen(update, context, 0)
        return
    await listings_screen(update, context, 0, t("🗑 <b>{title}</b> is withdrawn. Orders already placed go on.",
                                                title=esc(view.title)))


# What a typed text answers while a listing is being made or changed.
PRODUCE_FORMS: dict = {"sell": step_typed, **{kind: edit_form(step) for kind, step in EDIT_FORMS.items()}}

_ID = r"(\d{1,9})"
_STEP = "|".join(ANSWERED)


def register(app: Application) -> None:
    forms.on_menu(app, "sell", sell_command)
    for kind, answer in PRODUCE_FORMS.items():
        forms.on_text(app, forms.Form(kind), answer)
    for kind, answer in PHOTO_FORMS.items():
        forms.on_photo(app, forms.Form(kind), answer)
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("sell", sell_command, filters=private))
    app.add_handler(CommandHandler("mylistings", mylistings_command, filters=private))
    for pattern, callback in (
        (r"^sl:new$", new_tapped),
        (rf"^sl:go:{_ID}$", continue_tapped),
        (rf"^sl:x:{_ID}$", cancel_tapped),
        (rf"^sl:del:{_ID}$", discard_tapped),
        (rf"^sl:to:{_ID}:({_STEP})$", step_tapped),
        (rf"^sl:pv:{_ID}$", preview_tapped),
        (rf"^sl:ed:{_ID}$", edit_tapped),
        (rf"^sl:pub:{_ID}$", publish_tapped),
        (rf"^sl:com:{_ID}:([a-z_]{{1,24}})$", common_tapped),
        (rf"^sl:cat:{_ID}:([a-z_]{{1,24}})$", category_tapped),
        (rf"^sl:unit:{_ID}:([a-z]{{1,8}})$", unit_tapped),
        (rf"^sl:day:{_ID}:({'|'.join(str(d) for d in DAYS)})$", day_tapped),
        (rf"^sl:skip:{_ID}:(photo|note)$", skip_tapped),
        (rf"^sl:clr:{_ID}:(photo|note)$", clear_tapped),
        (r"^ml:list$|^ml:p:(\d{1,4})$", listings_tapped),
        (rf"^ml:{_ID}$", listing_tapped),
        (rf"^ml:e:{_ID}:(price|quantity|photo|note)$", change_tapped),
        (rf"^ml:clr:{_ID}:(photo|note)$", clear_field_tapped),
        (rf"^ml:(pause|resume):{_ID}$", pause_tapped),
        (rf"^ml:wd:{_ID}$", withdraw_tapped),
        (rf"^ml:wd:{_ID}:ok$", withdraw_confirmed),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=pattern))
