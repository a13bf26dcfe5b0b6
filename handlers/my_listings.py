"""📋 My listings: what a seller has published (/mylistings), and its changes.

    /mylistings ──> a listing ──> change price, quantity, photo, note; ⏸ pause / ▶️ resume; 🗑 withdraw

A new price, quantity, photo or note is typed (or sent) after its button: the villager's
``awaiting`` says which (``NEW_PRICE`` and its siblings, "mlprice:7": listing 7's price). Each button
(``MyListing*``, ``ChangeListing``, ... in handlers.callbacks) names the listing, which the
services check against the store. Making a listing is handlers.sell.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import forms
from handlers.callbacks import (
    ChangeListing,
    ClearListingField,
    MyListing,
    MyListings,
    MyListingsPage,
    PauseListing,
    SellContinue,
    SellNew,
    ShareListing,
    WithdrawListing,
    WithdrawListingConfirmed,
    on,
)
from handlers.context import RuralContext
from handlers.listings import (
    NEW_NOTE,
    NEW_PHOTO,
    NEW_PRICE,
    NEW_QUANTITY,
    NEW_VALUE,
    bad_input,
    joined,
    leave,
    listing_text,
    price,
    price_problem,
    quantity,
    quantity_problem,
    reject_reason,
    status_name,
    unit_name,
)
from handlers.ui import alert, button, esc, keyboard, local_time, money, on_tap_answering, pager, show
from locales import Translator
from services import produce
from services.amounts import BadAmount, parse_price, parse_quantity
from services.errors import NotAllowed, NotFound
from services.produce import BadInput, ListingView, ReviewTooSoon, Status, Step, TooManyInReview


def stale_listing(t: Translator) -> str:
    return t("⌛ This listing is no longer available.")


# A button of /mylistings: someone else's or a vanished listing gets a short answer.
listing_tap = on_tap_answering((NotFound, stale_listing))


# ---- the list -------------------------------------------------------------------------------

async def mylistings_command(update: Update, context: RuralContext) -> None:
    await leave(context)
    await listings_screen(update, context, 0)


@listing_tap
async def listings_tapped(update: Update, context: RuralContext) -> None:
    await leave(context)
    await listings_screen(update, context, 0)


@listing_tap
async def listings_page_tapped(update: Update, context: RuralContext, data: MyListingsPage) -> None:
    await leave(context)
    await listings_screen(update, context, data.page)


async def listings_screen(update: Update, context: RuralContext, page: int, note: str = "") -> None:
    t, rt = context.t, context.rt
    found = await produce.my_listings(rt.store, context.villager.id)
    draft = await produce.current_draft(rt.store, context.villager.id)
    pages = max(1, -(-len(found) // produce.PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    first = page * produce.PAGE_SIZE
    rows = []
    if found:
        lines = [t("📋 <b>Your listings</b>")]
        for i, view in enumerate(found[first:first + produce.PAGE_SIZE], first + 1):
            lines.append(f"{i}. <b>{esc(view.title)}</b> · {status_name(t, view.status)}")
            lines.append("    " + t("📦 {left} left · 🧺 {sold} sold · 💵 {earned} earned",
                                      left=quantity(t, view.left_milli, view.unit),
                                      sold=quantity(t, view.sold_milli, view.unit), earned=money(view.earned_fen)))
            rows.append([button(f"{i}. {view.title[:30]}", MyListing(view.id))])
        rows.append(pager(t, page, pages, MyListingsPage))
        add = t("➕ Sell something else")
    else:
        lines = [t("📋 You have nothing for sale yet.")]
        add = t("🌾 Sell produce")
    if draft is not None and draft.title:
        rows.append([button(t("▶️ Finish: {title}", title=draft.title[:30]), SellContinue(draft.id))])
    rows.append([button(add, SellNew())])
    await show(update, context, joined(note, "\n".join(lines)), keyboard(*rows))


# ---- one listing ----------------------------------------------------------------------------

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
        rows.append([button(t("▶️ Continue"), SellContinue(view.id))])
    elif view.status != Status.WITHDRAWN:
        rows += [[button(t("💰 Price"), ChangeListing(view.id, "price")),
                  button(t("📦 Quantity"), ChangeListing(view.id, "quantity"))],
                 [button(t("📷 Photo"), ChangeListing(view.id, "photo")),
                  button(t("📝 Note"), ChangeListing(view.id, "note"))]]
        if view.status == Status.APPROVED:
            share = [button(t("📤 Share"), ShareListing(view.id))] if view.is_on_market else []
            rows.append([button(t("⏸ Pause"), PauseListing("pause", view.id)), *share])
        elif view.status == Status.PAUSED:
            rows.append([button(t("▶️ Resume"), PauseListing("resume", view.id))])
        rows.append([button(t("🗑 Withdraw"), WithdrawListing(view.id))])
    rows.append([button(t("⬅️ My listings"), MyListings())])
    await show(update, context, joined(note, listing_screen_text(t, view)), keyboard(*rows), photo=view.photo)


@listing_tap
async def listing_tapped(update: Update, context: RuralContext, data: MyListing) -> None:
    await leave(context)
    await listing_screen(update, context, await produce.my_listing(context.rt.store, context.villager.id,
                                                                     data.listing_id))


# ---- changing it ----------------------------------------------------------------------------

@listing_tap
async def change_tapped(update: Update, context: RuralContext, data: ChangeListing) -> None:
    """✏️ A new price, quantity, photo or note for a published listing: ask for it."""
    t, rt = context.t, context.rt
    view = await produce.my_listing(rt.store, context.villager.id, data.listing_id)
    step = Step(data.field)
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
            rows.append([button(t("🗑 No photo"), ClearListingField(view.id, "photo"))])
    else:
        text = t("📝 Type the new note for buyers.")
        now = esc(view.note) if view.note else None
        if view.note:
            rows.append([button(t("🗑 No note"), ClearListingField(view.id, "note"))])
    if now:
        text += "\n" + t("Now: {value}", value=now)
    if step in (Step.PRICE, Step.QUANTITY):
        text += "\n" + t("A higher price or quantity needs your partner's review again.")
    rows.append([button(t("⬅️ Back"), MyListing(view.id))])
    await forms.wait_for(context, NEW_VALUE[step](view.id))
    await show(update, context, f"<b>{esc(view.title)}</b>\n{text}", keyboard(*rows))


@listing_tap
async def clear_field_tapped(update: Update, context: RuralContext, data: ClearListingField) -> None:
    step = Step(data.field)
    await save_edit(update, context, data.listing_id, step, None if step == Step.PHOTO else "")


async def save_edit(update: Update, context: RuralContext, listing_id: int, step: Step, value: object,
                    unit: str | None = None) -> None:
    """Change a published listing and show it, saying whether the partner must review it again."""
    t, rt = context.t, context.rt
    try:
        before = await produce.my_listing(rt.store, context.villager.id, listing_id)
        edited = await produce.edit(rt.store, rt.clock, context.villager.id, listing_id, step, value, unit=unit,
                                     caps=rt.caps)
    except (NotFound, NotAllowed):
        await forms.stop_waiting(context)
        await alert(update, context, t("⌛ This listing can no longer be changed."))
        return
    except (TooManyInReview, ReviewTooSoon) as exc:
        await forms.stop_waiting(context)
        await listing_screen(update, context, before, review_refused(t, exc))
        return
    await forms.stop_waiting(context)
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
        view = await produce.my_listing(rt.store, context.villager.id, listing_id)
    except NotFound:
        await forms.stop_waiting(context)
        await show(update, context, stale_listing(t))
        return
    back = keyboard([button(t("⬅️ Back"), MyListing(view.id))])
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


async def listing_photo(update: Update, context: RuralContext, listing_id: int, file_id: str) -> bool:
    """A new photo for a published listing."""
    try:
        await save_edit(update, context, listing_id, Step.PHOTO, file_id)
    except (NotFound, NotAllowed):
        await leave(context)
        return False
    return True


# ---- pausing and withdrawing ----------------------------------------------------------------

@listing_tap
async def pause_tapped(update: Update, context: RuralContext, data: PauseListing) -> None:
    t, rt = context.t, context.rt
    paused = data.action == "pause"
    listing_id = data.listing_id
    try:
        view = await produce.pause(rt.store, rt.clock, context.villager.id, listing_id, paused=paused)
    except NotAllowed as exc:
        await alert(update, context, t("⌛ This listing is {status} now.", status=status_name(t, exc.status)))
        await listing_screen(update, context, await produce.my_listing(rt.store, context.villager.id, listing_id))
        return
    note = t("⏸ Paused: buyers do not see it now.") if paused else t("▶️ It is on the market again.")
    await listing_screen(update, context, view, note)


@listing_tap
async def withdraw_tapped(update: Update, context: RuralContext, data: WithdrawListing) -> None:
    t = context.t
    view = await produce.my_listing(context.rt.store, context.villager.id, data.listing_id)
    if view.status == Status.WITHDRAWN:
        await alert(update, context, t("⌛ This listing is {status} now.", status=status_name(t, view.status)))
        return
    text = t("❓ Withdraw <b>{title}</b> for good? Buyers will not see it again. Orders already placed go on.",
             title=esc(view.title))
    await show(update, context, text, keyboard([button(t("🗑 Yes, withdraw it"), WithdrawListingConfirmed(view.id))],
                                               [button(t("⬅️ No, keep it"), MyListing(view.id))]))


@listing_tap
async def withdraw_confirmed(update: Update, context: RuralContext, data: WithdrawListingConfirmed) -> None:
    t, rt = context.t, context.rt
    try:
        view = await produce.withdraw(rt.store, rt.clock, context.villager.id, data.listing_id)
    except NotAllowed as exc:
        await alert(update, context, t("⌛ This listing is {status} now.", status=status_name(t, exc.status)))
        await listings_screen(update, context, 0)
        return
    await listings_screen(update, context, 0, t("🗑 <b>{title}</b> is withdrawn. Orders already placed go on.",
                                                title=esc(view.title)))


def register(app: Application) -> None:
    forms.on_menu(app, "mylistings", mylistings_command)
    forms.on_text(app, NEW_PRICE, edit_form(Step.PRICE))
    forms.on_text(app, NEW_QUANTITY, edit_form(Step.QUANTITY))
    forms.on_text(app, NEW_PHOTO, edit_form(Step.PHOTO))
    forms.on_text(app, NEW_NOTE, edit_form(Step.NOTE))
    forms.on_photo(app, NEW_PHOTO, listing_photo)
    app.add_handler(CommandHandler("mylistings", mylistings_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(MyListings, listings_tapped))
    app.add_handler(on(MyListingsPage, listings_page_tapped))
    app.add_handler(on(MyListing, listing_tapped))
    app.add_handler(on(ChangeListing, change_tapped))
    app.add_handler(on(ClearListingField, clear_field_tapped))
    app.add_handler(on(PauseListing, pause_tapped))
    app.add_handler(on(WithdrawListing, withdraw_tapped))
    app.add_handler(on(WithdrawListingConfirmed, withdraw_confirmed))
