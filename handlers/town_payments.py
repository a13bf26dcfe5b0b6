"""💳 Telegram Payments for a town buyer's invoice (sent by handlers.town_order), and its reservation.

    invoice ──> the sheet's address ──> shipping_query: the delivery for that zone, or refused
            ──> Pay ──> pre_checkout_query: the order still held and the total right (within 10 s)
            ──> successful_payment: booked once, the receipt; the card goes to the seller's desk

Telegram waits 10 seconds for the pre-checkout answer; the check gets ``ANSWER_WITHIN`` of them and
the answer is "try again" past that, so that it is never left unanswered. A payment is booked by
its ``telegram_payment_charge_id``: the same update again is stopped by the update ledger, another
update with the same charge changes nothing and says nothing (services/town_orders.py).

Every minute ``lapse_reservations`` cancels the orders whose 15 minutes passed unpaid (or, paying
on delivery, unconfirmed): their produce is back on sale, and the buyer is told (the outbox).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import LabeledPrice, ShippingAddress, ShippingOption, Update
from telegram.error import BadRequest
from telegram.ext import Application, MessageHandler, PreCheckoutQueryHandler, ShippingQueryHandler, filters

from handlers.callbacks import MarketHome, OrderDetail
from handlers.context import RuralContext
from handlers.town_order import CURRENCY, goods_line, zone_name
from handlers.ui import button, esc, keyboard, money, say
from services import town_orders
from services.errors import NotFound
from services.market import NotEnoughLeft
from services.states import OrderStatus
from store.db import is_unavailable, unless_unavailable

log = logging.getLogger(__name__)
ANSWER_WITHIN = 7.0  # seconds to check a shipping or pre-checkout query; Telegram waits 10
LAPSE_EVERY = 60.0  # seconds between looks for reservations that lapsed


def address_line(address: ShippingAddress | None) -> str:
    """The payment sheet's address as one line: "陕西省 西安市 雁塔区科技路 10 号"."""
    if address is None:
        return ""
    parts = (address.state, address.city, address.street_line1, address.street_line2)
    return " ".join(part.strip() for part in parts if part and part.strip())


async def _answer(query, ok: bool, **answer) -> None:
    try:
        await query.answer(ok=ok, **answer)
    except BadRequest as exc:  # too late: Telegram has told the buyer the payment failed
        log.warning("a %s was answered too late: %s", type(query).__name__, exc)


# ---- the payment sheet's questions -------------------------------------------------------------

async def shipping_asked(update: Update, context: RuralContext) -> None:
    query, t, rt = update.shipping_query, context.t, context.rt
    error = None
    try:
        option = await asyncio.wait_for(town_orders.delivery_quote_for(
            rt.store, context.villager.id, query.invoice_payload, address_line(query.shipping_address)), ANSWER_WITHIN)
    except town_orders.NoDelivery:
        error = t("😔 The seller's center does not deliver to this address.")
    except (NotFound, town_orders.NotPayable):
        error = t("⌛ This invoice can no longer be paid. Please order again.")
    except TimeoutError:
        error = t("⏳ Please try again in a minute.")
    except Exception as exc:  # noqa: BLE001 - the sheet must have its answer whatever happened
        _log_failure("shipping query", exc)
        error = t("⏳ Please try again in a minute.")
    if error is not None:
        await _answer(query, False, error_message=error)
        return
    title = t("📦 Delivery: {zone}", zone=zone_name(t, str(option.zone)))
    await _answer(query, True, shipping_options=[
        ShippingOption(str(option.zone), title, [LabeledPrice(t("🚚 Delivery"), option.price_fen)])])


async def pre_checkout(update: Update, context: RuralContext) -> None:
    query, t, rt = update.pre_checkout_query, context.t, context.rt
    info = query.order_info
    address = address_line(info.shipping_address if info else None)
    error = None
    try:
        if query.currency != CURRENCY:
            raise town_orders.WrongTotal(query.currency)
        await asyncio.wait_for(town_orders.check_payment(rt.store, rt.clock, context.villager.id,
                                                         query.invoice_payload, query.total_amount, address),
                               ANSWER_WITHIN)
    except (NotFound, town_orders.NotPayable):
        error = t("⌛ This invoice can no longer be paid: it was not paid within 15 minutes, or it was cancelled. "
                  "Please order again.")
    except NotEnoughLeft:
        error = t("😔 Someone was quicker: this produce is sold out.")
    except town_orders.WrongTotal:
        error = t("😔 The total has changed. Please open the invoice again.")
    except town_orders.NoDelivery:
        error = t("😔 The seller's center does not deliver to this address.")
    except TimeoutError:
        error = t("⏳ We could not check your order in time. Please try again.")
    except Exception as exc:  # noqa: BLE001 - never leave the payment sheet waiting
        _log_failure("pre-checkout query", exc)
        error = t("⏳ We could not check your order in time. Please try again.")
    await _answer(query, error is None, **({"error_message": error} if error else {}))


def _log_failure(what: str, exc: Exception) -> None:
    if is_unavailable(exc):
        log.warning("a %s was refused: the database is unavailable", what)
    else:
        log.error("a %s failed", what, exc_info=exc)


# ---- the payment ---------------------------------------------------------------------------------

async def paid(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    payment = update.message.successful_payment
    info = payment.order_info
    ship_to = {"name": ((info.name if info else None) or update.effective_user.full_name)[:100],
               "phone": ((info.phone_number if info else None) or "")[:32],
               "address": address_line(info.shipping_address if info else None)[:300]}
    try:
        recorded = await town_orders.record_payment(
            rt.store, rt.clock, context.villager.id, payment.invoice_payload, payment.total_amount, payment.currency,
            payment.telegram_payment_charge_id, payment.provider_payment_charge_id, ship_to)
    except NotFound:
        log.error("a payment names no order: charge %s", payment.telegram_payment_charge_id)
        return
    if not recorded.first:  # the same charge again: booked and answered before
        return
    order = recorded.order
    if order.status == OrderStatus.CANCELLED:
        await say(update, context, t(
            "😔 Your payment for order <b>{number}</b> came after its 15 minutes, and the produce was sold "
            "meanwhile. Nothing will be sent: the {total} you paid will be refunded in full.",
            number=order.number, total=money(payment.total_amount)), keyboard([button(t("🧺 Market"), MarketHome())]))
        return
    to = order.ship_to or {}
    text = "\n".join([
        t("✅ Paid, thank you! Order <b>{number}</b>", number=order.number), goods_line(t, order),
        t("💰 Goods: {total}", total=money(order.total_fen)),
        t("🚚 Delivery ({zone}): {price}", zone=esc(zone_name(t, to.get("zone", ""))), price=money(order.delivery_fen)),
        t("💳 Total paid: <b>{total}</b>", total=money(payment.total_amount)),
        t("📍 To: {address}", address=esc(", ".join(filter(None, [to.get("name"), to.get("phone"),
                                                                   to.get("address")])))),
        t("🤝 The seller's center will confirm and ship it; follow it with /track."),
    ])
    await say(update, context, text, keyboard([button(t("📦 Track"), OrderDetail(order.id)),
                                               button(t("🧺 Market"), MarketHome())]))


# ---- the reservation -----------------------------------------------------------------------------

async def lapse_reservations(context: RuralContext) -> None:
    """The scheduler's sweep: held orders past their 15 minutes are cancelled, their stock given back."""
    rt = context.rt
    lapsed = await unless_unavailable(town_orders.lapse_reservations(rt.store, rt.clock), "lapse reservations", log)
    if lapsed:  # the buyers' notices go with the outbox pump's next wake-up
        log.info("reservations lapsed: %s", len(lapsed))


def register(app: Application) -> None:
    app.add_handler(ShippingQueryHandler(shipping_asked))
    app.add_handler(PreCheckoutQueryHandler(pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT & filters.ChatType.PRIVATE, paid))
    app.job_queue.run_repeating(lapse_reservations, interval=LAPSE_EVERY, first=LAPSE_EVERY,
                                name="lapse reservations")
