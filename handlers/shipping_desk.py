"""🚚 Shipped on a town buyer's delivery order, on the seller's center's desk (services/shipping.py):

    card (confirmed, [🚚 Shipped]) ──🚚──> "please type the tracking number", a reply asked of whoever
        tapped (a ForceReply in the group, the next text in a private chat), ✖️ Cancel on the card
    the reply  ──> a tracking number: in transit, the card shows it and who shipped it, the buyer is told
               ──> not one (4 to 40 letters, digits or dashes): asked again, with what one looks like

The question goes through the desk's prompts (handlers.desk_prompts), as a typed reason does: only
the person asked answers, ✖️ Cancel and the lapse bring the card back. Only the center's partners and
admins ship, once.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application

from handlers import desk_prompts, forms
from handlers.callbacks import ShipOrder, on
from handlers.cards import ORDER, DecisionCard
from handlers.context import RuralContext
from handlers.desk import actor_of, card_tapped, on_card, refuse
from handlers.desk_prompts import Question, Settled, answered_privately, ask_about
from handlers.forms import Form
from handlers.ui import esc, say
from locales import N_
from services import shipping
from services.errors import AlreadyDone, NotAllowed, NotFound
from services.partners import NotPartner
from services.shipping import BadTrackingNumber
from services.states import OrderStatus

TRACKING = Form("trk")  # the carrier's tracking number of a delivery order


async def ship_tapped(update: Update, context: RuralContext, kind: DecisionCard, card: Any, data: ShipOrder) -> None:
    """🚚 Shipped: the tracking number is asked of whoever tapped (a partner or an admin); an order
    already shipped, or not to be shipped, gets its card as it is now and the reason why not."""
    order = card.order
    if not order.is_delivery or order.status != OrderStatus.CONFIRMED:
        await card_tapped(update, context, kind, card, data)
        shipped = order.is_delivery and order.status in shipping.SHIPPED
        await refuse(update, context, (AlreadyDone if shipped else NotAllowed)(order.status))
        return
    await ask_about(update, context, TRACKING.kind, ORDER, card)


async def tracking_typed(update: Update, context: RuralContext, order_id: int, text: str) -> tuple[Settled, str]:
    """The typed tracking number ships the order; one that is none is asked again."""
    rt, t = context.rt, context.t
    try:
        moved = await shipping.ship(rt.store, rt.clock, actor_of(update, context), order_id, text)
    except BadTrackingNumber:
        return Settled.AGAIN, t("⚠️ That is not a tracking number: it has 4 to 40 letters, digits or dashes, "
                                "like SF1234567890.")
    except (NotPartner, AlreadyDone, NotAllowed, NotFound) as exc:
        await refuse(update, context, exc)
        return Settled.REFUSED, ""
    tracking = shipping.tracking_number_of(text)
    await say(update, context, t("🚚 {number} shipped, tracking number {tracking}. The buyer has been told.",
                                 number=moved.number, tracking=esc(tracking)))
    return Settled.DONE, ""


desk_prompts.QUESTIONS[TRACKING.kind] = Question(
    N_("🚚 {name}, please type the carrier's tracking number of this order."),
    N_("Carrier's tracking number, e.g. SF1234567890"), ORDER, tracking_typed)


def register(app: Application) -> None:
    app.add_handler(on(ShipOrder, on_card(ORDER, ship_tapped, acting=True)))
    forms.on_text(app, TRACKING, answered_privately(TRACKING))
