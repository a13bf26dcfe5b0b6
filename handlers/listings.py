"""How a produce listing reads, wherever it is shown: the seller's preview, the market, the
partner's review card. Also the answers to amounts, dates and words that could not be read, and
the questions a seller answers by typing (handlers.sell, handlers.my_listings)."""

from __future__ import annotations

from handlers import forms
from handlers.context import RuralContext
from handlers.forms import Form
from handlers.ui import esc, label, money, name_in
from locales import N_, Translator
from services.amounts import WHOLE_UNITS, BadAmount, BadDate, format_milli
from services.produce import COMMON_PRODUCE, BadInput, ListingView, Status, Step

STATUS = {
    Status.DRAFT: N_("📝 Not finished"),
    Status.REVIEW: N_("⏳ Waiting for the partner's review"),
    Status.APPROVED: N_("✅ On the market"),
    Status.REJECTED: N_("❌ Rejected"),
    Status.PAUSED: N_("⏸ Paused"),
    Status.SOLD_OUT: N_("🎉 Sold out"),
    Status.WITHDRAWN: N_("🗑 Withdrawn"),
}
CATEGORY_NAMES = (  # "produce_category:<code>" entries, for extraction; see services.produce.CATEGORIES
    N_("produce_category:fruit"), N_("produce_category:vegetables"), N_("produce_category:grain"),
    N_("produce_category:eggs_poultry"), N_("produce_category:meat"), N_("produce_category:tea"),
    N_("produce_category:nuts"), N_("produce_category:honey"), N_("produce_category:preserves"),
    N_("produce_category:herbs"), N_("produce_category:crafts"), N_("produce_category:other"),
)
PRODUCE_NAMES = (  # "produce:<code>" entries; see services.produce.COMMON_PRODUCE
    N_("produce:apples"), N_("produce:oranges"), N_("produce:rice"), N_("produce:corn"), N_("produce:eggs"),
    N_("produce:potatoes"), N_("produce:tea"), N_("produce:walnuts"), N_("produce:honey"),
    N_("produce:chili_sauce"),
)
REJECT_REASONS = {  # services.reviews.REJECT_REASONS
    "photo": N_("The photo is unclear or missing"),
    "price": N_("The price looks wrong"),
    "not_allowed": N_("This cannot be sold here"),
    "unclear": N_("The description is unclear"),
}
AMOUNT_PROBLEMS = {
    "not_a_number": N_("⚠️ Please type a number, for example 12.5"),
    "not_positive": N_("⚠️ It must be more than 0."),
    "too_big": N_("⚠️ That is more than {limit}. Please check the number."),
    "too_precise": N_("⚠️ Too many decimals: prices go down to the fen (0.01), quantities to 0.001."),
    "whole_only": N_("⚠️ {unit} can only be counted whole. Please type a whole number."),
    "other_unit": N_("⚠️ That is for another unit. Please type the amount per {unit}."),
}
BAD_INPUT = {
    "too_short": N_("⚠️ That is too short. Please type at least {limit} letters."),
    "too_long": N_("⚠️ That is too long. Please keep it to {limit} letters."),
}
DATE_PROBLEMS = {
    "not_a_date": N_("⚠️ Please type a date like 2026-12-01 or 12-01, or tap a button."),
    "past": N_("⚠️ That date has passed. Please choose today or a later day."),
    "too_far": N_("⚠️ That is more than a year away. Please choose an earlier day."),
}


def joined(*parts: str) -> str:
    """Paragraphs (a note above a screen), leaving out the empty ones."""
    return "\n\n".join(part for part in parts if part)


def category_name(t: Translator, code: str) -> str:
    return label(t, "produce_category", code)


def common_produce(t: Translator) -> list[tuple[str, str, str]]:
    """(code, name in the reader's language, category) of the produce offered as buttons."""
    return [(code, label(t, "produce", code), category) for code, category in COMMON_PRODUCE.items()]


def unit_name(t: Translator, unit: str) -> str:
    return label(t, "unit", unit)


def quantity(t: Translator, milli: int, unit: str) -> str:
    """"12.5 kg", "300 斤"."""
    return f"{format_milli(milli)} {unit_name(t, unit)}"


def price(t: Translator, price_fen: int, unit: str) -> str:
    """"¥6.00 / 斤"."""
    return t("{price} / {unit}", price=money(price_fen), unit=unit_name(t, unit))


def status_name(t: Translator, status: str) -> str:
    return t(STATUS[Status(status)])


def listing_text(t: Translator, listing: ListingView) -> str:
    """The listing as buyers see it: produce, village (never the seller's phone, and only their
    first name), price per unit, quantity left and the day it is available from."""
    # A seller who used /forget leaves neither a name nor the listing's texts.
    title, seller = esc(listing.title) or t("(deleted)"), esc(listing.seller_name) or t("(name deleted)")
    lines = [f"🌾 <b>{title}</b> · {esc(category_name(t, listing.category))}",
             t("📍 {village}, {county} · sold by {seller}", village=esc(name_in(listing.center_names, t)),
               county=esc(name_in(listing.county_names, t)), seller=seller)]
    if listing.price_fen:
        lines.append(t("💰 {price}", price=price(t, listing.price_fen, listing.unit)))
    if listing.unit and listing.left_milli:
        lines.append(t("📦 {quantity} left", quantity=quantity(t, listing.left_milli, listing.unit)))
    if listing.available_from:
        lines.append(t("📅 Available from {day}", day=listing.available_from.isoformat()))
    if listing.note:
        lines.append(f"📝 {esc(listing.note)}")
    return "\n".join(lines)


def amount_problem(t: Translator, exc: BadAmount, unit: str, *, is_price: bool = False) -> str:
    """Why a typed price or quantity (of ``unit``) was refused."""
    limit = money(exc.limit) if is_price and isinstance(exc.limit, int) else exc.limit
    return t(AMOUNT_PROBLEMS[exc.reason], limit=limit, unit=unit_name(t, unit))


def price_problem(t: Translator, exc: BadAmount, unit: str) -> str:
    return amount_problem(t, exc, unit, is_price=True)


def quantity_problem(t: Translator, exc: BadAmount, unit: str) -> str:
    if exc.reason == "whole_only" and unit not in WHOLE_UNITS:  # the unit typed with the number ("2.5个")
        return t("⚠️ That unit can only be counted whole. Please type a whole number.")
    return amount_problem(t, exc, unit)


def date_problem(t: Translator, exc: BadDate) -> str:
    return t(DATE_PROBLEMS[exc.reason])


def bad_input(t: Translator, exc: BadInput) -> str:
    if exc.reason in BAD_INPUT:
        return t(BAD_INPUT[exc.reason], limit=exc.limit)
    return t("⚠️ Please check what you typed and try again.")


def reject_reason(t: Translator, reason: str) -> str:
    """A common reason's label, or the reason the partner typed (escaped)."""
    return t(REJECT_REASONS[reason]) if reason in REJECT_REASONS else esc(reason)


# ---- what a seller answers by typing --------------------------------------------------------

# The step a draft is at ("sell:12": typed text, or a photo, answers draft 12's step).
DRAFT_STEP = Form("sell")
# A new value for a published listing ("mlprice:7": listing 7's price), and which is which.
NEW_PRICE = Form("mlprice")
NEW_QUANTITY = Form("mlqty")
NEW_PHOTO = Form("mlphoto")
NEW_NOTE = Form("mlnote")
NEW_VALUE = {Step.PRICE: NEW_PRICE, Step.QUANTITY: NEW_QUANTITY, Step.PHOTO: NEW_PHOTO, Step.NOTE: NEW_NOTE}


async def leave(context: RuralContext) -> None:
    """Typed text no longer answers a listing (when the seller leaves the flow)."""
    await forms.stop_waiting(context, DRAFT_STEP, *NEW_VALUE.values())


# ---- buyers' stars (services.ratings) -------------------------------------------------------

def stars_text(stars: int) -> str:
    return "⭐" * stars


def rating_lines(t: Translator, rating, *, none: bool = False, clip: int = 0) -> list[str]:
    """The average of the visible stars and how many, then the latest texts (each cut to ``clip``
    characters if given: a photo's caption holds 1024); with ``none``, a line saying there are none."""
    if not rating.count:
        return [t("⭐ No reviews yet")] if none else []
    average = f"{rating.average:.1f}"
    lines = [t("⭐ {average} of 5 · reviews: {n}", average=average, n=rating.count)]
    for said in rating.recent:
        text = said.text if not clip or len(said.text) <= clip else said.text[:clip - 1] + "…"
        lines.append(t("{stars} “{text}” — {buyer}", stars=stars_text(said.stars), text=esc(text),
                       buyer=esc(said.buyer_name) or t("(name deleted)")))
    return lines
