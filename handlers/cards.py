"""What the cards read, and which buttons they carry: the desk's order card and listing review card,
the reasons to reject either, /pending, what the outbox sends a desk (the daily digest, the parcels
nobody collected), and a promotion with its progress and report. Rendering only: handlers.card_posts
and handlers.notices send them, handlers.desk and handlers.desk_prompts show them in answer to a
tap, bot/broadcast_pump.py sends the promotions.

A card the desk decides on, an order or a produce listing, is described by a ``DecisionCard``
(``ORDER``, ``LISTING``): how the store finds, decides and records it, its text and buttons, and
its reasons. The desk's one flow (approve or reject, a reason's button, a typed reason, the card
posted again, a refusal) reads these descriptions, and so serves both kinds alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.callbacks import (
    ApproveListing,
    Arrived,
    CallbackData,
    ConfirmOrder,
    ListingCard,
    ListingRejectReason,
    OrderCard,
    OrderRejectReason,
    PendingPage,
    PickedUp,
    RejectListing,
    RejectOrder,
    ShipOrder,
    ShowListing,
    ShowOrder,
    TypeListingReason,
    TypeOrderReason,
    Unsubscribe,
)
from handlers.delivery_card import delivery_lines, shipped_line
from handlers.listings import REJECT_REASONS as LISTING_REASONS
from handlers.listings import listing_text, reject_reason, status_name
from handlers.ui import button, esc, keyboard, local_time, money, name_in, order_lines, pager, status_text
from locales import N_, Translator
from services import desks, reviews
from services.broadcast import BroadcastView, Delivery
from services.desks import CardView
from services.errors import AlreadyDone, NotAllowed, NotFound
from services.orders import OrderView
from services.parcels import WrongCode
from services.partners import NotPartner
from services.produce import ListingView, Status
from services.reviews import OwnReview, ReviewCard
from services.states import OrderStatus

S = OrderStatus
PENDING_PAGE = 10  # orders and listings on one page of /pending
DIGEST_ITEMS = 20  # of each kind, in the daily digest

REASONS = {  # services.desks.REJECT_REASONS
    "out_of_stock": N_("Out of stock"),
    "cannot_deliver": N_("Cannot deliver to this village"),
    "unreachable": N_("Villager unreachable"),
    "bad_address": N_("Cannot deliver to this address"),
    "no_receiver": N_("Receiver unreachable by phone"),
}


def reason_text(t: Translator, reason: str) -> str:
    """A common reason's label, or the reason the partner typed (escaped)."""
    return t(REASONS[reason]) if reason in REASONS else esc(reason)


# ---- the order card ---------------------------------------------------------------------------

def card_text(t: Translator, card: CardView) -> str:
    order = card.order
    tz = order.center_timezone
    # A villager who used /forget has no name any more; the order stays for the accounts.
    who = esc(card.villager_name) or t("(name deleted)")
    lines = [t("🧾 Order <b>{number}</b> · {who}", number=order.number, who=who)]
    if card.seller_name is not None:
        lines.append(t("🌾 Produce of {seller}, {village}", seller=esc(card.seller_name) or t("(name deleted)"),
                       village=esc(name_in(card.seller_center_names or {}, t))))
    if card.assisted_by:
        lines.append(t("🤝 Ordered for them by {partner}", partner=esc(card.assisted_by)))
    lines += order_lines(t, order)
    if order.is_delivery:
        lines += delivery_lines(t, order)
    else:
        lines += [t("💰 Total: <b>{total}</b> (cash at pickup)", total=money(order.total_fen)),
                  t("📍 Pick up at: {center}", center=esc(name_in(order.center_names, t)))]
    lines += [t("🕒 Placed: {when}", when=local_time(order.created_at, tz)), ""]
    last = order.events[-1]
    status = status_text(t, order.status)
    if order.status == S.PENDING:
        lines.append(status)
    elif order.is_delivery and order.status == S.IN_TRANSIT:
        lines.append(shipped_line(t, order, card.last_actor, last.at))
    elif card.last_actor:
        lines.append(t("{status} by {who} at {when}", status=status, who=esc(card.last_actor),
                       when=local_time(last.at, tz)))
    else:
        lines.append(t("{status} at {when}", status=status, when=local_time(last.at, tz)))
    if order.status == S.REJECTED and last.note:
        lines.append(t("Reason: {reason}", reason=reason_text(t, last.note)))
    return "\n".join(lines)


def card_keyboard(t: Translator, order: OrderView, desk_center_id: int | None = None) -> InlineKeyboardMarkup | None:
    """The buttons for the card's next step, on the desk of the center that takes it: the
    seller's center decides on produce, the pickup center receives the parcel. With no
    ``desk_center_id`` (a private chat), all of them."""
    if desk_center_id is not None:
        decides, receives = desk_center_id == order.deciding_center_id, desk_center_id == order.center_id
        if (order.status == S.PENDING and not decides) or (order.status != S.PENDING and not receives):
            return None
    if order.status == S.PENDING:
        return keyboard([button(t("✅ Confirm"), ConfirmOrder(order.id)),
                         button(t("❌ Reject"), RejectOrder(order.id))])
    if order.is_delivery:  # it goes to the buyer's door: shipped with the carrier's tracking number
        return keyboard([button(t("🚚 Shipped"), ShipOrder(order.id))]) if order.status == S.CONFIRMED else None
    if order.status in (S.IN_TRANSIT, S.AT_COUNTY):
        return keyboard([button(t("📬 Arrived at the village"), Arrived(order.id))])
    if order.status == S.READY_FOR_PICKUP:
        return keyboard([button(t("🤝 Picked up"), PickedUp(order.id))])
    return None


# ---- the listing review card --------------------------------------------------------------------

def review_card_text(t: Translator, card: ReviewCard) -> str:
    listing = card.listing
    seller = esc(listing.seller_name) or t("(name deleted)")  # a seller who used /forget
    lines = [t("🌾 <b>Produce to review</b> · {seller}", seller=seller), listing_text(t, listing), ""]
    if listing.status == Status.REVIEW:
        lines.append(t("⏳ Waiting for review"))
    elif listing.reviewer and listing.status in (Status.APPROVED, Status.REJECTED):
        lines.append(t("{status} by {who}", status=status_name(t, listing.status), who=esc(listing.reviewer)))
    else:
        lines.append(status_name(t, listing.status))
    if listing.status == Status.REJECTED and listing.reject_reason:
        lines.append(t("Reason: {reason}", reason=reject_reason(t, listing.reject_reason)))
    return "\n".join(lines)


def review_keyboard(t: Translator, listing: ListingView) -> InlineKeyboardMarkup | None:
    if listing.status != Status.REVIEW:
        return None
    return keyboard([button(t("✅ Approve"), ApproveListing(listing.id)),
                     button(t("❌ Reject"), RejectListing(listing.id))])


# ---- the two kinds of decision card -------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class DecisionCard:
    """What differs between an order card and a listing review card, for the desk's one flow.
    A "subject" is the order or the listing; ``card`` is the service's view of its card."""

    # the store: each takes the store (and, to decide, the clock and the actor) and the subject's id
    seen: Callable[..., Awaitable[Any]]  # (store, id, actor, chat id): the card, or NotYours
    view: Callable[..., Awaitable[Any]]  # (store, id): the card as it is now, or None
    decide: Callable[..., Awaitable[str]]  # (store, clock, actor, id, yes, reason): the new status
    record: Callable[..., Awaitable[None]]  # (store, id, chat id, message id): where it was posted
    refused: tuple[type[Exception], ...]  # what deciding may be refused with
    # the card
    subject: Callable[[Any], int]
    deciding_center: Callable[[Any], int]  # whose partners (and the admins) decide on it
    photo: Callable[[Any], str | None]
    text: Callable[[Translator, Any], str]
    keyboard: Callable[[Translator, Any, int | None], InlineKeyboardMarkup | None]  # on that center's desk
    status: Callable[[Translator, str], str]  # a status in words, for the popup after a decision
    refusal: Callable[[Translator, Exception], str]  # why an action on it was refused
    # rejecting it
    reasons: dict[str, str]  # code -> label (a msgid), in the order shown
    max_reason: int  # characters in a typed reason
    rejected: str  # a msgid: said once a typed reason rejected it
    prompt: str  # its typed reason's question: a form's kind in a private chat, a prompt's in a group
    # its buttons, each carrying the subject's id (as ``id_field``)
    id_field: str
    approve: type[CallbackData]
    reject: type[CallbackData]
    reason: type[CallbackData]  # (id, reason code)
    type_reason: type[CallbackData]
    back: type[CallbackData]  # the card again, in place
    show: type[CallbackData]  # the card again, at the bottom of the chat (from /pending)
    reasons_of: Callable[[Any], dict[str, str]] | None = None  # the reasons that fit this card, if they differ

    def reject_keyboard(self, t: Translator, subject_id: int, card: Any = None) -> InlineKeyboardMarkup:
        reasons = self.reasons_of(card) if self.reasons_of and card is not None else self.reasons
        rows = [[button(t(label), self.reason(subject_id, code))] for code, label in reasons.items()]
        rows.append([button(t("✏️ Type a reason"), self.type_reason(subject_id)),
                     button(t("⬅️ Back"), self.back(subject_id))])
        return keyboard(*rows)


def order_refusal(t: Translator, exc: Exception) -> str:
    """Why an action on an order (or on the desk) was refused; an error it does not know is raised."""
    if isinstance(exc, NotPartner):
        return t("🔒 Only the partners of {center} and admins can do this.", center=name_in(exc.center_names, t))
    if isinstance(exc, AlreadyDone):
        return t("ℹ️ Already done: {status}", status=status_text(t, exc.status))
    if isinstance(exc, NotAllowed):
        return t("⚠️ Not possible now: the order is {status}.", status=status_text(t, exc.status))
    if isinstance(exc, WrongCode):
        return t("❌ Wrong pickup code. Please check it and try again.")
    if isinstance(exc, NotFound):
        return t("😔 This order was not found.")
    raise exc


def listing_refusal(t: Translator, exc: Exception) -> str:
    if isinstance(exc, AlreadyDone | NotAllowed):
        return t("ℹ️ Not waiting for review any more: {status}", status=status_name(t, exc.status))
    if isinstance(exc, NotFound):
        return t("😔 This listing was not found.")
    if isinstance(exc, OwnReview):
        return t("🙅 You cannot approve your own produce. Another partner of {center}, or an admin, must approve "
                 "it.", center=name_in(exc.center_names, t))
    return order_refusal(t, exc)


async def _decide_order(store, clock, actor, order_id: int, yes: bool, reason: str) -> str:
    return (await desks.decide(store, clock, actor, order_id, confirm=yes, reason=reason)).status


async def _review_listing(store, clock, actor, listing_id: int, yes: bool, reason: str) -> str:
    return (await reviews.review(store, clock, actor, listing_id, approve=yes, reason=reason)).status


ORDER = DecisionCard(
    seen=desks.card_for, view=desks.card_view, decide=_decide_order, record=desks.record_card,
    refused=(NotPartner, AlreadyDone, NotAllowed, NotFound),
    subject=lambda card: card.order.id, deciding_center=lambda card: card.order.deciding_center_id,
    photo=lambda card: None, text=card_text, keyboard=lambda t, card, center: card_keyboard(t, card.order, center),
    status=status_text, refusal=order_refusal,
    reasons={code: REASONS[code] for code in desks.PICKUP_REASONS}, max_reason=desks.MAX_REASON,
    rejected=N_("❌ Rejected. The buyer has been told why."), prompt="rjr",
    id_field="order_id", approve=ConfirmOrder, reject=RejectOrder, reason=OrderRejectReason,
    type_reason=TypeOrderReason, back=OrderCard, show=ShowOrder,
    reasons_of=lambda card: {code: REASONS[code] for code in (
        desks.DELIVERY_REASONS if card.order.is_delivery else desks.PICKUP_REASONS)},
)
LISTING = DecisionCard(
    seen=reviews.review_card_for, view=reviews.review_card, decide=_review_listing, record=reviews.record_card,
    refused=(NotPartner, AlreadyDone, NotAllowed, NotFound, OwnReview),
    subject=lambda card: card.listing.id, deciding_center=lambda card: card.listing.center_id,
    photo=lambda card: card.listing.photo, text=review_card_text,
    keyboard=lambda t, card, center: review_keyboard(t, card.listing),
    status=status_name, refusal=listing_refusal,
    reasons={code: LISTING_REASONS[code] for code in reviews.REJECT_REASONS}, max_reason=reviews.MAX_REASON,
    rejected=N_("❌ Rejected. The seller has been told why."), prompt="lrjr",
    id_field="listing_id", approve=ApproveListing, reject=RejectListing, reason=ListingRejectReason,
    type_reason=TypeListingReason, back=ListingCard, show=ShowListing,
)


# ---- a promotion, as villagers get it and as its admin follows it ----------------------------------

def promotion_keyboard(t: Translator, promotion: BroadcastView, bot_username: str | None) -> InlineKeyboardMarkup:
    """The promotion's link (a deep link that opens the bot at the product or category) and the
    way out of promotions."""
    rows = []
    link = promotion.link
    if link and bot_username:
        prefix = "p" if link["kind"] == "product" else "c"
        label = t("🛒 Have a look") if link["kind"] == "product" else t("📂 See the category")
        rows.append([InlineKeyboardButton(label, url=f"https://t.me/{bot_username}?start={prefix}-{link['code']}")])
    rows.append([button(t("🔕 Unsubscribe from promotions"), Unsubscribe())])
    return InlineKeyboardMarkup(rows)


def progress_text(t: Translator, promotion: BroadcastView, rate: float) -> str:
    counts = promotion.counts
    left = counts.get(Delivery.PENDING, 0)
    failed = sum(counts.get(s, 0) for s in (Delivery.FAILED, Delivery.BLOCKED))
    return "\n".join([
        t("📣 <b>Promotion #{id}</b>: sending", id=promotion.id),
        t("✅ Sent: {n}", n=counts.get(Delivery.SENT, 0)),
        t("❌ Failed: {n}", n=failed),
        t("⏳ Left: {n}", n=left),
        t("⚡ {rate} messages a second", rate=f"{rate:.1f}"),
    ])


def report_text(t: Translator, promotion: BroadcastView) -> str:
    counts = promotion.counts
    seconds = 0
    if promotion.started_at and promotion.finished_at:
        seconds = int((promotion.finished_at - promotion.started_at).total_seconds())
    return "\n".join([
        t("🏁 <b>Promotion #{id} finished</b>", id=promotion.id),
        t("✅ Sent: {n}", n=counts.get(Delivery.SENT, 0)),
        t("🚫 Blocked the bot: {n}", n=counts.get(Delivery.BLOCKED, 0)),
        t("🔕 Opted out: {n}", n=counts.get(Delivery.OPTED_OUT, 0)),
        t("❌ Failed: {n}", n=counts.get(Delivery.FAILED, 0)),
        t("⏱ Took {minutes} min {seconds} s", minutes=seconds // 60, seconds=seconds % 60),
    ])


# ---- lists for the desk ---------------------------------------------------------------------------

def pending_list(t: Translator, waiting: list[tuple[int, str, int, datetime]], listings: list[tuple[int, str]],
                 page: int, to_ship: list[tuple[int, str, int, datetime]] = (),
                 ) -> tuple[str, InlineKeyboardMarkup | None]:
    """/pending, a page at a time (a message holds 4096 characters and 100 buttons, and a busy
    desk can have hundreds waiting): orders, oldest first, as they have waited longest, then
    delivery orders confirmed and not yet shipped, then produce listings; each a button that
    brings its card back down the chat."""
    if not waiting and not listings and not to_ship:
        return t("✅ No orders are waiting for a decision."), None
    items = ([(f"• {number} · {money(total)}", button(f"🧾 {number}", ShowOrder(order_id)))
              for order_id, number, total, _ in waiting]
             + [(f"• 🚚 {number} · {money(total)}", button(f"🚚 {number}", ShowOrder(order_id)))
                for order_id, number, total, _ in to_ship]
             + [(f"• 🌾 {esc(title)}", button(f"🌾 {title}", ShowListing(listing_id)))
                for listing_id, title in listings])
    pages = -(-len(items) // PENDING_PAGE)
    page = min(page, pages - 1)
    shown = items[page * PENDING_PAGE:(page + 1) * PENDING_PAGE]
    lines = [t("⏳ <b>Waiting for a decision</b>: {n}", n=len(waiting))]
    if to_ship:
        lines.append(t("🚚 <b>Delivery orders to ship</b>: {n}", n=len(to_ship)))
    if listings:
        lines.append(t("🌾 <b>Produce waiting for review</b>: {n}", n=len(listings)))
    if pages > 1:
        lines.append(t("Page {page} of {pages}", page=page + 1, pages=pages))
    lines += [line for line, _ in shown]
    rows = [[tap] for _, tap in shown]
    rows.append(pager(t, page, pages, PendingPage))
    return "\n".join(lines), keyboard(*rows)


def digest_text(t: Translator, waiting_orders: list[tuple[int, str, int, datetime]],
                waiting_parcels: list[tuple[int, str, datetime]], waiting_listings: list[tuple[int, str]],
                to_ship: list[tuple[int, str, int, datetime]] = ()) -> str:
    """The desk's morning digest: what waits for a decision, to be shipped, for pickup, for review."""
    lines = [t("☀️ <b>Good morning!</b> Today's desk:")]
    lines.append(t("⏳ Orders waiting for a decision: {n}", n=len(waiting_orders)))
    lines += [f"• {number} · {money(total)}" for _, number, total, _ in waiting_orders[:DIGEST_ITEMS]]
    if to_ship:
        lines.append(t("🚚 Delivery orders to ship: {n}", n=len(to_ship)))
        lines += [f"• {number} · {money(total)}" for _, number, total, _ in to_ship[:DIGEST_ITEMS]]
    lines.append(t("📬 Parcels waiting for pickup: {n}", n=len(waiting_parcels)))
    lines += [f"• {number}" for _, number, _ in waiting_parcels[:DIGEST_ITEMS]]
    if waiting_listings:
        lines.append(t("🌾 Produce waiting for review: {n}", n=len(waiting_listings)))
        lines += [f"• {esc(title)}" for _, title in waiting_listings[:DIGEST_ITEMS]]
    return "\n".join(lines)


def uncollected_text(t: Translator, waiting: list[tuple[int, str, datetime]], timezone: str) -> str:
    """The parcels still waiting after the villagers' last reminder."""
    lines = [t("📦 Parcels still not collected after the last reminder:")]
    lines += [t("• {number} · arrived {when}", number=number, when=local_time(at, timezone))
              for _, number, at in waiting]
    return "\n".join(lines)
