"""What a service at the center reads like: its kinds, its details, the villager's summary with
the center's fee, the desk's card and its buttons, the reasons to decline, the villager's notice;
and posting the card on the desk (the outbox's ``service_card``) or telling the villager (its
``service``). Rendering and sending only: handlers.services and handlers.service_desk converse.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode

from handlers.callbacks import ServiceDecline, ServiceDone
from handlers.context import Runtime
from handlers.ui import button, esc, keyboard, local_time, money, name_in
from locales import N_, Translator, translator
from services import desks
from services import service_requests as requests
from services.service_requests import RequestView

log = logging.getLogger(__name__)

WHAT = {
    "topup": N_("📱 Phone top-up"),
    "electricity": N_("💡 Electricity bill"),
    "water": N_("🚰 Water bill"),
    "train": N_("🚆 Train ticket"),
    "bus": N_("🚌 Bus ticket"),
}
DECLINE_REASONS = {  # services.service_requests.DECLINE_REASONS
    "unavailable": N_("Not available now"),
    "wrong_details": N_("The details are wrong"),
    "sold_out": N_("No tickets left"),
}
BAD_INPUT = {  # services.service_input.BadService's reasons
    "phone": N_("⚠️ A phone number has 11 digits, e.g. 138 0000 1234. Please type it again."),
    "account": N_("⚠️ Please type the account number as on the bill: 4 to 30 letters or digits."),
    "amount": N_("⚠️ Please type an amount in yuan, e.g. 50 or 120.5."),
    "amount_zero": N_("⚠️ The amount must be more than ¥0. Please type it again."),
    "amount_too_big": N_("⚠️ At most ¥5,000 can be paid at the center. Please type a smaller amount."),
    "amount_precise": N_("⚠️ An amount has at most two decimals. Please type it again."),
    "route": N_("⚠️ Please type the route as from - to, e.g. 苍溪-成都."),
    "date": N_("⚠️ Please type the date as 2026-12-20 or 12-20."),
    "date_past": N_("⚠️ That day is in the past. Please type a date from today on."),
    "date_far": N_("⚠️ That day is more than a year ahead. Please type an earlier date."),
    "people": N_("⚠️ Please type the number of people, from 1 to 9."),
    "amount_needed": N_("⚠️ Please type the price that was charged."),
}


def what_text(t: Translator, what: str) -> str:
    return t(WHAT[what])


def bad_input(t: Translator, reason: str) -> str:
    return t(BAD_INPUT.get(reason, BAD_INPUT["amount"]))


def decline_reason(t: Translator, reason: str) -> str:
    return t(DECLINE_REASONS[reason]) if reason in DECLINE_REASONS else esc(reason)


def fee_line(t: Translator, fee_fen: int) -> str:
    if fee_fen:
        return t("🤝 The center's fee: {fee}", fee=money(fee_fen))
    return t("🤝 The center's fee: none")


def detail_lines(t: Translator, view: RequestView) -> list[str]:
    """What has been said so far, one line each."""
    d, lines = view.details, []
    if "phone" in d:
        lines.append(t("📞 Phone number: {phone}", phone=esc(d["phone"])))
    if "account" in d:
        lines.append(t("🔢 Account number: {account}", account=esc(d["account"])))
    if "amount_fen" in d:
        lines.append(t("💰 Amount: {amount}", amount=money(d["amount_fen"])))
    if "from" in d:
        lines.append(t("🛤 Route: {start} → {end}", start=esc(d["from"]), end=esc(d["to"])))
    if "date" in d:
        lines.append(t("📅 Date: {day}", day=date.fromisoformat(d["date"]).isoformat()))
    if "people" in d:
        lines.append(t("👥 People: {n}", n=d["people"]))
    return lines


def summary_text(t: Translator, view: RequestView) -> str:
    """The villager's summary before sending: the details, the fee and what they will pay."""
    lines = [t("🧾 <b>Please check your request</b>"), what_text(t, view.what), *detail_lines(t, view),
             fee_line(t, view.fee_fen)]
    if view.amount_fen is not None:
        lines.append(t("💵 To pay at the center: <b>{total}</b>", total=money(view.amount_fen + view.fee_fen)))
    else:
        lines.append(t("💵 To pay at the center: the ticket's price, and the fee."))
    lines.append(t("📍 At: {center}", center=esc(name_in(view.center_names, t))))
    return "\n".join(lines)


def card_text(t: Translator, view: RequestView) -> str:
    who = t("a walk-in villager") if view.walk_in else (esc(view.villager_name) or t("(name deleted)"))
    lines = [t("🧾 Service <b>#{id}</b> · {what} · {who}", id=view.id, what=what_text(t, view.what), who=who),
             *detail_lines(t, view), fee_line(t, view.fee_fen), ""]
    if view.status == requests.REQUESTED:
        lines.append(t("⏳ Waiting for the partner"))
    elif view.status == requests.DONE:
        lines.append(t("✅ Done by {who} at {when}: charged {charged}, fee {fee}, collected {total}",
                       who=esc(view.decided_by), when=local_time(view.decided_at, view.timezone),
                       charged=money(view.charged_fen or 0), fee=money(view.fee_fen),
                       total=money((view.charged_fen or 0) + view.fee_fen)))
    elif view.status == requests.DECLINED:
        lines.append(t("❌ Declined by {who} at {when}", who=esc(view.decided_by),
                       when=local_time(view.decided_at, view.timezone)))
        if view.decline_reason:
            lines.append(t("Reason: {reason}", reason=decline_reason(t, view.decline_reason)))
    return "\n".join(lines)


def card_keyboard(t: Translator, view: RequestView) -> InlineKeyboardMarkup | None:
    if view.status != requests.REQUESTED:
        return None
    return keyboard([button(t("✅ Done"), ServiceDone(view.id)), button(t("❌ Decline"), ServiceDecline(view.id))])


def status_text(t: Translator, status: str) -> str:
    """A request's status in words, for the popup after a decision."""
    return {requests.DONE: t("✅ Done"), requests.DECLINED: t("❌ Declined")}.get(status, t("⏳ Waiting for the partner"))


def notice_text(t: Translator, view: RequestView) -> str | None:
    """What the villager is told once the partner decided."""
    what = what_text(t, view.what)
    if view.status == requests.DONE:
        charged = view.charged_fen or 0
        return "\n".join([
            t("✅ Your request #{id} is done: {what}", id=view.id, what=what), *detail_lines(t, view),
            t("💰 Charged: {charged}", charged=money(charged)), fee_line(t, view.fee_fen),
            t("💵 Total: <b>{total}</b>, paid in cash at the center.", total=money(charged + view.fee_fen))])
    if view.status == requests.DECLINED:
        lines = [t("❌ Sorry, your request #{id} was declined: {what}", id=view.id, what=what)]
        if view.decline_reason:
            lines.append(t("Reason: {reason}", reason=decline_reason(t, view.decline_reason)))
        lines.append(t("Nothing was charged. You can ask again from 🧾 Services."))
        return "\n".join(lines)
    return None


# ---- sent by the outbox -------------------------------------------------------------------------


async def send_service_notice(bot: Bot, rt: Runtime, villager_id: int, request_id: int) -> bool:
    person = await desks.recipient(rt.store, villager_id)
    view = await requests.card_view(rt.store, request_id)
    if person is None or not person.reachable or view is None:
        return False
    text = notice_text(translator(person.locale or rt.default_locale), view)
    if text is None:
        return False
    await bot.send_message(person.telegram_id, text, parse_mode=ParseMode.HTML)
    return True
