"""The center's cash book, for its partners (in the desk group or privately), its county's staff
and admins:

    /cash [CG-01]     today's takings by kind (the center's day), the cash on hand, what is owed to
                      each seller and to the county, the fees earned this month; a partner of several
                      centers picks one with buttons; staff and admins name the center
    📒 Latest entries  (under /cash) the last 10, with the numbers /correct takes
    💸 Pay 王芳 ¥13.00 (under /cash, one per seller owed) ──> ✅ Paid ¥13.00 / ✖️ Cancel
    /payout CG-01 SELLER AMOUNT   the same for less than is owed (the confirmation shows the line)
    /correct ENTRY ±AMOUNT REASON a correction: a new entry, never an edit
    /fee CG-01 [order 1.5% | order ¥0.5 | topup 2]   admins: a center's fees, or what they are

/handover is handlers.handovers. A cash book is shown only in a private chat or in that center's
own desk group: a forged or old button anywhere else gets the one refusal.
"""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, filters

from handlers.admin import for_admins
from handlers.callbacks import CashEntries, CashOf, PayConfirmed, PaySeller, on
from handlers.context import RuralContext
from handlers.ui import alert, button, esc, keyboard, local_time, money, name_in, not_yours, on_tap, say, show
from locales import N_, Translator
from services import cash, partners
from services.amounts import BadAmount, parse_price
from services.cash import SERVICE_KINDS, CashView, NothingOwed, TooMuch
from services.cashbook import Entry
from services.errors import NotAdmin, NotFound, NotYours
from services.partners import Actor, NotPartner

KINDS = {
    Entry.COLLECTED: N_("Collected at pickup"),
    Entry.SERVICE: N_("Services"),
    Entry.REFUND: N_("Refunds paid"),
    Entry.PAYOUT: N_("Paid to sellers"),
    Entry.HANDOVER: N_("Handed to the county"),
    Entry.CORRECTION: N_("Corrections"),
    Entry.PAID_AWAY: N_("Paid online or to the carrier (sellers' money, not in the till)"),
    Entry.HELD_AWAY: N_("Held for the center by the county (not in the till)"),
}
SERVICES = {"topup": N_("Phone top-up"), "bill": N_("Bill"), "ticket": N_("Ticket")}
# What /fee takes a fee on, as an admin may type it.
FEE_WORDS = {"order": "order", "订单": "order", "topup": "topup", "充值": "topup", "话费": "topup", "bill": "bill",
             "缴费": "bill", "ticket": "ticket", "购票": "ticket", "车票": "ticket"}


def actor_of(update: Update, context: RuralContext) -> Actor:
    user = update.effective_user
    return Actor(user.id, user.first_name or "", user.id in context.rt.admin_ids)


def refused_text(t: Translator) -> str:
    return t("🔒 The cash book is for the center's partners, its county staff and admins.")


async def shown_here(update: Update, context: RuralContext, center_id: int) -> bool:
    """A cash book is shown in a private chat, or in its own center's desk group."""
    if update.effective_chat.type == ChatType.PRIVATE:
        return True
    desk = await partners.desk_of_group(context.rt.store, update.effective_chat.id)
    return desk is not None and desk.id == center_id


# ---- /cash ----------------------------------------------------------------------------------------

def cash_text(t: Translator, v: CashView) -> str:
    lines = [t("💰 <b>Cash book · {center} ({code})</b>", center=esc(name_in(v.names, t)), code=esc(v.code))
             + f" · {local_time(v.now, v.timezone)}", "", t("📅 <b>Today</b>")]
    lines += [f"• {t(label)}: {money(v.today[kind])}" for kind, label in KINDS.items() if kind in v.today]
    if not v.today:
        lines.append(t("• Nothing yet today."))
    lines += ["", t("💵 Cash on hand: <b>{amount}</b>", amount=money(v.on_hand))]
    if v.sellers:
        lines.append(t("🧺 Owed to sellers:"))
        lines += [f"• {esc(s.name)}: {money(s.owed_fen)}" for s in v.sellers]
    else:
        lines.append(t("🧺 Owed to sellers: nothing"))
    lines.append(t("🏛 Owed to the county: {amount}", amount=money(v.owed_to_county)))
    if v.pending_handovers:
        lines.append(t("⏳ Handed over, waiting for the county to confirm: {amount}",
                       amount=money(v.pending_handovers)))
    lines.append(t("🪙 Fees earned this month: <b>{amount}</b>", amount=money(v.fees_month)))
    return "\n".join(lines)


def cash_keyboard(t: Translator, v: CashView):
    rows = [[button(t("💸 Pay {name} {amount}", name=s.name[:20], amount=money(s.owed_fen)),
                    PaySeller(v.center_id, s.seller_id))] for s in v.sellers[:20]] if v.may_move else []
    return keyboard(*rows, [button(t("📒 Latest entries"), CashEntries(v.center_id)),
                            button(t("🔄 Refresh"), CashOf(v.center_id))])


async def show_cash(update: Update, context: RuralContext, center_id: int) -> None:
    rt = context.rt
    try:
        if not await shown_here(update, context, center_id):
            raise NotYours()
        v = await cash.view(rt.store, rt.clock, actor_of(update, context), center_id)
    except NotYours:
        if update.callback_query:
            await not_yours(update, context)
        else:
            await say(update, context, refused_text(context.t))
        return
    await show(update, context, cash_text(context.t, v), cash_keyboard(context.t, v))


async def cash_command(update: Update, context: RuralContext) -> None:
    t, rt, user = context.t, context.rt, update.effective_user
    if context.args:
        try:
            center_id, _ = await cash.center_of(rt.store, context.args[0])
        except NotFound:
            await say(update, context, t("😔 There is no service center with the code {code}.",
                                         code=esc(context.args[0])))
            return
        await show_cash(update, context, center_id)
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        desk = await partners.desk_of_group(rt.store, update.effective_chat.id)
        if desk is None:
            await say(update, context, t("ℹ️ This group is not an order desk yet. A partner can send "
                                         "/bind CENTER-CODE here."))
            return
        await show_cash(update, context, desk.id)
        return
    mine = await partners.centers_of_partner(rt.store, user.id)
    if len(mine) == 1:
        await show_cash(update, context, mine[0].id)
    elif mine:
        await say(update, context, t("💰 Which center's cash book?"), keyboard(
            *[[button(f"{center.code} {name_in(center.names, t)}", CashOf(center.id))] for center in mine]))
    elif user.id in rt.admin_ids:
        await say(update, context, t("Usage: /cash CENTER-CODE, for example /cash CG-01"))
    else:
        await say(update, context, refused_text(t))


@on_tap
async def cash_tapped(update: Update, context: RuralContext, data: CashOf) -> None:
    await show_cash(update, context, data.center_id)


@on_tap
async def entries_tapped(update: Update, context: RuralContext, data: CashEntries) -> None:
    """The latest entries, newest first, with their numbers (what /correct takes)."""
    t, rt = context.t, context.rt
    try:
        if not await shown_here(update, context, data.center_id):
            raise NotYours()
        timezone, found = await cash.latest(rt.store, actor_of(update, context), data.center_id)
    except NotYours:
        await not_yours(update, context)
        return
    lines = [t("📒 <b>Latest entries</b>")]
    for e in found:
        what = " · ".join(esc(x) for x in (e.order_number, e.seller_name, e.note) if x)
        fixes = t("corrects #{id}", id=e.corrects_id) if e.corrects_id else ""
        lines.append(" · ".join(x for x in (f"#{e.id}", local_time(e.at, timezone), t(KINDS[Entry(e.kind)]),
                                            money(e.amount_fen), what, fixes) if x))
    if not found:
        lines.append(t("• Nothing yet."))
    lines.append(t("To correct an entry: <code>/correct ENTRY ±AMOUNT REASON</code>"))
    await show(update, context, "\n".join(lines), keyboard([button(t("💰 Cash book"), CashOf(data.center_id))]))


# ---- 💸 Pay seller --------------------------------------------------------------------------------

async def ask_to_pay(update: Update, context: RuralContext, center_id: int, seller_id: int,
                     amount_fen: int | None) -> None:
    """The confirmation: the whole amount owed, or ``amount_fen`` (never more than owed)."""
    t, rt = context.t, context.rt
    if not await shown_here(update, context, center_id):
        await not_yours(update, context)
        return
    try:
        seller = await cash.owed_to(rt.store, actor_of(update, context), center_id, seller_id)
        code = (await cash.view(rt.store, rt.clock, actor_of(update, context), center_id)).code
    except (NotPartner, NotYours):
        await alert(update, context, t("🔒 Only the center's partners and admins can pay sellers."))
        return
    except NothingOwed:
        await alert(update, context, t("ℹ️ Nothing is owed to this seller now."))
        return
    amount = seller.owed_fen if amount_fen is None else amount_fen
    if amount > seller.owed_fen:
        await alert(update, context, t("⚠️ {name} is owed only {amount}.", name=esc(seller.name),
                                       amount=money(seller.owed_fen)))
        return
    lines = [t("💸 Pay {name} <b>{amount}</b> in cash, now?", name=esc(seller.name), amount=money(amount)),
             t("Owed: {amount}", amount=money(seller.owed_fen))]
    if amount_fen is None:
        lines.append(t("To pay less, send <code>/payout {code} {seller} AMOUNT</code>.", code=esc(code),
                       seller=seller.seller_id))
    token = secrets.token_hex(4)  # the payout's own: a second tap on this button pays nothing more
    await show(update, context, "\n".join(lines), keyboard(
        [button(t("✅ Paid {amount}", amount=money(amount)), PayConfirmed(center_id, seller_id, amount, token))],
        [button(t("✖️ Cancel"), CashOf(center_id))]))


@on_tap
async def pay_tapped(update: Update, context: RuralContext, data: PaySeller) -> None:
    await ask_to_pay(update, context, data.center_id, data.seller_id, None)


async def payout_command(update: Update, context: RuralContext) -> None:
    """/payout CG-01 SELLER AMOUNT (in a desk group, /payout SELLER AMOUNT is enough)."""
    t, rt, args = context.t, context.rt, context.args or []
    usage = t("Usage: /payout CENTER-CODE SELLER AMOUNT, for example /payout CG-01 17 20")
    center_id = None
    if len(args) >= 3:
        try:
            center_id, _ = await cash.center_of(rt.store, args[0])
        except NotFound:
            await say(update, context, t("😔 There is no service center with the code {code}.", code=esc(args[0])))
            return
        args = args[1:]
    elif update.effective_chat.type != ChatType.PRIVATE:
        desk = await partners.desk_of_group(rt.store, update.effective_chat.id)
        center_id = desk.id if desk else None
    if center_id is None or len(args) < 2 or not args[0].isdigit() or len(args[0]) > 9:
        await say(update, context, usage)
        return
    try:
        amount = parse_price(" ".join(args[1:]))
    except BadAmount:
        await say(update, context, t("⚠️ Please type an amount above ¥0, for example 20 or ¥12.50."))
        return
    await ask_to_pay(update, context, center_id, int(args[0]), amount)


@on_tap
async def paid_tapped(update: Update, context: RuralContext, data: PayConfirmed) -> None:
    t, rt = context.t, context.rt
    if not await shown_here(update, context, data.center_id):
        await not_yours(update, context)
        return
    try:
        paid = await cash.pay_seller(rt.store, rt.clock, actor_of(update, context), data.center_id, data.seller_id,
                                     data.fen, data.token)
    except NotPartner:
        await alert(update, context, t("🔒 Only the center's partners and admins can pay sellers."))
        return
    except NothingOwed:
        await alert(update, context, t("ℹ️ Nothing is owed to this seller now."))
        return
    except TooMuch as exc:
        await alert(update, context, t("⚠️ Only {amount} is owed now. Nothing was recorded.", amount=money(exc.limit)))
        return
    if paid.again:
        await alert(update, context, t("ℹ️ This payment is already recorded."))
    await show(update, context, t("✅ Paid {name} {amount}. Still owed to them: {left}. They have been told.",
                                  name=esc(paid.seller_name), amount=money(paid.amount_fen),
                                  left=money(paid.owed_left)),
               keyboard([button(t("💰 Cash book"), CashOf(data.center_id))]))


# ---- /correct -------------------------------------------------------------------------------------

def signed_amount(text: str) -> int:
    """"-1.50", "+5", "−¥2" -> fen, signed; BadAmount."""
    text = text.strip().replace("−", "-")
    sign = -1 if text.startswith("-") else 1
    return sign * parse_price(text.lstrip("+-"))


async def correct_command(update: Update, context: RuralContext) -> None:
    t, rt, args = context.t, context.rt, context.args or []
    usage = t("Usage: /correct ENTRY ±AMOUNT REASON, for example /correct 12 -5 counted twice")
    entry = args[0].lstrip("#") if args else ""
    if len(args) < 3 or not entry.isdigit() or len(entry) > 9:
        await say(update, context, usage)
        return
    try:
        amount = signed_amount(args[1])
    except BadAmount:
        await say(update, context, usage)
        return
    reason = " ".join(args[2:])[:200]
    try:
        fix = await cash.correct(rt.store, rt.clock, actor_of(update, context), int(entry), amount, reason)
    except NotFound:
        await say(update, context, t("😔 No cash book entry #{id} of a center of yours.", id=entry))
        return
    await say(update, context, t("✏️ Correction #{id} recorded: {amount} on entry #{entry}. Reason: {reason}",
                                 id=fix.id, amount=money(fix.amount_fen), entry=entry, reason=esc(reason)))


# ---- /fee -----------------------------------------------------------------------------------------

def fees_text(t: Translator, fees: cash.Fees) -> str:
    share = "{:.2f}".format(Decimal(fees.order_bp) / 100)
    order = t("{share}% + {fixed} per order", share=share, fixed=money(fees.order_fen))
    lines = [t("🪙 <b>Fees of {center} ({code})</b>", center=esc(name_in(fees.names, t)), code=esc(fees.code)),
             t("• Orders: {fee}", fee=order)]
    lines += [t("• {service}: {fee}", service=t(SERVICES[kind]),
                fee=money(fees.services[kind]) if kind in fees.services else "—") for kind in SERVICE_KINDS]
    lines.append(t("The partner earns these out of what is paid; villagers pay nothing more for an order."))
    return "\n".join(lines)


def fee_value(text: str) -> tuple[int | None, int | None]:
    """"1.5%" -> (150 basis points, None); "¥0.5", "0.5", "0" -> (None, 50 fen); ValueError."""
    text = text.strip()
    if text.endswith("%"):
        try:
            bp = Decimal(text[:-1]) * 100
        except InvalidOperation:
            raise ValueError(text) from None
        if bp != bp.to_integral_value() or bp < 0:
            raise ValueError(text)
        return int(bp), None
    if text.lstrip("¥￥").strip() in ("0", "0.0", "0.00"):
        return None, 0
    try:
        return None, parse_price(text)
    except BadAmount:
        raise ValueError(text) from None


@for_admins
async def fee_command(update: Update, context: RuralContext, actor: Actor) -> None:
    t, rt, args = context.t, context.rt, context.args or []
    usage = t("Usage: /fee CENTER-CODE [order 1.5% | order ¥0.5 | topup 2 | bill 1 | ticket 5]")
    if not args or len(args) == 2:
        await say(update, context, usage)
        return
    try:
        if len(args) == 1:
            fees = await cash.fees(rt.store, actor, args[0])
        else:
            what = FEE_WORDS.get(args[1].lower(), args[1].lower())
            bp, fen = fee_value(" ".join(args[2:]))
            fees = await cash.set_fee(rt.store, actor, args[0], what, bp=bp, fen=fen)
    except NotFound as exc:
        if str(exc) == "fee":
            await say(update, context, usage)
        else:
            await say(update, context, t("😔 There is no service center with the code {code}.", code=esc(args[0])))
        return
    except (ValueError, TooMuch):
        await say(update, context, usage)
        return
    except NotAdmin:
        await say(update, context, t("🔒 Only admins can do this."))
        return
    await say(update, context, fees_text(t, fees))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("cash", cash_command))
    app.add_handler(CommandHandler("payout", payout_command))
    app.add_handler(CommandHandler("correct", correct_command))
    app.add_handler(CommandHandler("fee", fee_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(on(CashOf, cash_tapped))
    app.add_handler(on(PaySeller, pay_tapped))
    app.add_handler(on(PayConfirmed, paid_tapped))
    app.add_handler(on(CashEntries, entries_tapped))
