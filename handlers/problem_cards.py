"""A problem after pickup on the desk: what its card reads and which buttons it carries, its
description for the desk's one flow of deciding (``PROBLEM``, a handlers.cards.DecisionCard: its
❌ Decline is that flow's reject, with the reasons' buttons and a typed reason), and posting or
editing it where the center's cards go (handlers.card_posts). Also the words for a problem's
reasons and steps, which My orders shows on the order's timeline.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup

from handlers.callbacks import (
    ProblemCard,
    ProblemDecline,
    ProblemDeclineReason,
    ProblemRefund,
    ProblemReplace,
    ProblemRestock,
    TypeProblemReason,
)
from handlers.cards import DecisionCard, order_refusal
from handlers.ui import button, esc, keyboard, label, local_time, money
from locales import N_, Translator
from services import problem_desk
from services.amounts import format_milli
from services.errors import AlreadyDone, NotAllowed, NotEnoughStock, NotFound
from services.partners import NotPartner
from services.problem_desk import NothingToRefund
from services.problems import ProblemLine, ProblemView, Status

log = logging.getLogger(__name__)

REASONS = {  # services.problems.REASONS
    "damaged": N_("💥 Damaged"),
    "wrong_item": N_("🔀 Wrong item"),
    "missing": N_("❓ Missing"),
    "spoiled": N_("🥀 Spoiled or poor quality"),
    "other": N_("✏️ Other"),
}
DECLINE_REASONS = {  # services.problem_desk.DECLINE_REASONS
    "not_seen": N_("No problem could be seen"),
    "after_pickup": N_("Damaged after pickup"),
    "settled": N_("Already settled at the counter"),
}
STATUS = {
    Status.OPEN: N_("⏳ Waiting for a decision"),
    Status.REFUNDED: N_("💰 Refunded"),
    Status.REPLACED: N_("🔁 Replaced"),
    Status.DECLINED: N_("❌ Declined"),
    Status.DRAFT: N_("✏️ Being written"),
    Status.CANCELLED: N_("🚫 Cancelled"),
}
# A problem's steps on the order's timeline (services.problems.EVENTS).
EVENTS = {
    "problem_reported": N_("⚠️ Problem reported"),
    "problem_refunded": N_("💰 Problem: refunded"),
    "problem_replaced": N_("🔁 Problem: replacement order"),
    "problem_declined": N_("❌ Problem: declined"),
}


def status_label(t: Translator, status: str) -> str:
    return t(STATUS[Status(status)])


def decline_reason_text(t: Translator, reason: str) -> str:
    """A common reason's label, or the reason the partner typed (escaped)."""
    return t(DECLINE_REASONS[reason]) if reason in DECLINE_REASONS else esc(reason)


def quantity(t: Translator, line: ProblemLine, amount: int) -> str:
    shown = format_milli(amount) if line.produce else str(amount)
    return f"{shown} {esc(label(t, 'unit', line.unit))}"


def line_list(t: Translator, problem: ProblemView, amounts: dict[int, int] | None = None) -> list[str]:
    """The lines concerned: each with its quantity, out of what was bought."""
    lines = []
    for line in problem.lines:
        amount = line.chosen if amounts is None else amounts.get(line.line_id, 0)
        if amount:
            lines.append(t("• {name} — {quantity} of {bought}", name=esc(line.name(t.language)),
                           quantity=quantity(t, line, amount), bought=quantity(t, line, line.bought)))
    return lines


# ---- the card -----------------------------------------------------------------------------------

def card_text(t: Translator, problem: ProblemView) -> str:
    tz = problem.center_timezone
    who = esc(problem.villager_name) or t("(name deleted)")
    lines = [t("⚠️ Problem with order <b>{number}</b> · {who}", number=problem.order_number, who=who)]
    lines += line_list(t, problem)
    lines.append(t("Reason: {reason}", reason=t(REASONS[problem.reason]) if problem.reason else ""))
    lines.append(t("📷 Photo attached") if problem.photo else t("📷 No photo"))
    lines.append(t("💰 Paid for the order: {total}", total=money(problem.paid_fen)))
    if problem.reported_at:
        lines.append(t("🕒 Reported: {when}", when=local_time(problem.reported_at, tz)))
    lines.append("")
    decider = esc(problem.decided_by or "") or t("(name deleted)")
    when = local_time(problem.decided_at, tz) if problem.decided_at else ""
    if problem.status == Status.OPEN:
        lines.append(t(STATUS[Status.OPEN]))
    elif problem.status == Status.REFUNDED and problem.paid_away:
        lines.append(t("💰 Refunded {amount} by {who} at {when}: paid back from the county's account, not "
                       "from the till.", amount=money(problem.refunded_fen), who=decider, when=when))
    elif problem.status == Status.REFUNDED:
        lines.append(t("💰 Refunded {amount} by {who} at {when}: pay it back in cash at the counter.",
                       amount=money(problem.refunded_fen), who=decider, when=when))
        lines += line_list(t, problem, problem.refund_lines)
    elif problem.status == Status.REPLACED:
        lines.append(t("🔁 Replaced by {who} at {when}: new order <b>{number}</b>, at no charge.", who=decider,
                       when=when, number=problem.replacement_number or ""))
    elif problem.status == Status.DECLINED:
        lines.append(t("❌ Declined by {who} at {when}.", who=decider, when=when))
        lines.append(t("Reason: {reason}", reason=decline_reason_text(t, problem.decline_reason)))
    if problem.restock == "stock":
        lines.append(t("✅ What came back is in stock again."))
    elif problem.restock == "discard":
        lines.append(t("🗑 What came back cannot be sold."))
    elif problem.goods_back:
        lines.append(t("❓ Can what came back be sold again?"))
    return "\n".join(lines)


def card_keyboard(t: Translator, problem: ProblemView) -> InlineKeyboardMarkup | None:
    if problem.status == Status.OPEN:
        rows = [[button(t("💰 Refund {amount}", amount=money(problem.chosen_fen)),
                        ProblemRefund(problem.id, "some"))]]
        if problem.whole_fen > problem.chosen_fen:
            rows.append([button(t("💰 Refund the whole order: {amount}", amount=money(problem.whole_fen)),
                                ProblemRefund(problem.id, "all"))])
        rows.append([button(t("🔁 Replace"), ProblemReplace(problem.id)),
                     button(t("❌ Decline"), ProblemDecline(problem.id))])
        return keyboard(*rows)
    if problem.goods_back:
        return keyboard([button(t("✅ Back to stock"), ProblemRestock(problem.id, "y")),
                         button(t("🗑 Not sellable"), ProblemRestock(problem.id, "n"))])
    return None


def refusal(t: Translator, exc: Exception) -> str:
    """Why a decision on a problem was refused."""
    if isinstance(exc, AlreadyDone):
        return t("ℹ️ Already decided: {status}", status=status_label(t, exc.status))
    if isinstance(exc, NotAllowed):
        return t("⚠️ Not possible now: the problem is {status}.", status=status_label(t, exc.status))
    if isinstance(exc, NothingToRefund):
        return t("ℹ️ Nothing is left to refund on this order.")
    if isinstance(exc, NotEnoughStock):
        return t("⚠️ Not enough in stock for a replacement: {name} has {n} left.",
                 name=esc(next(iter(exc.product_names.values()), "")), n=exc.available)
    if isinstance(exc, NotFound):
        return t("😔 This problem was not found.")
    return order_refusal(t, exc)


PROBLEM = DecisionCard(
    seen=problem_desk.card_for, view=problem_desk.card_view, decide=problem_desk.decide,
    record=problem_desk.record_card,
    refused=(NotPartner, AlreadyDone, NotAllowed, NotFound, NothingToRefund, NotEnoughStock),
    subject=lambda card: card.id, deciding_center=lambda card: card.center_id, photo=lambda card: card.photo,
    text=card_text, keyboard=lambda t, card, center: card_keyboard(t, card), status=status_label, refusal=refusal,
    reasons=DECLINE_REASONS, max_reason=problem_desk.MAX_REASON,
    rejected=N_("❌ Declined. The villager has been told why."), prompt="pbr",
    id_field="problem_id", approve=ProblemReplace, reject=ProblemDecline, reason=ProblemDeclineReason,
    type_reason=TypeProblemReason, back=ProblemCard, show=ProblemCard,
)


def event_text(t: Translator, status: str, note: str) -> str:
    """A problem's step on the order's timeline (My orders), with its decline reason or new order."""
    text = t(EVENTS[status])
    if status == "problem_declined" and note:
        return f"{text} — {decline_reason_text(t, note)}"
    return f"{text} — {esc(note)}" if note else text
