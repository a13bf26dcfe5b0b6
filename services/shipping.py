"""A town buyer's delivery order on its way (services/town_orders.py places it): once the seller's
center has confirmed it, a partner ships it with the carrier's tracking number,
confirmed --ship--> in_transit, and the buyer is told the number to follow it with /track.

Only delivery orders (with ``ship_to``) ship this way; the parcels to villages move along
services/parcels.py's way, which leaves delivery orders alone. What the carrier reports after
this (delivered) is services/parcels.py's too.
"""

from __future__ import annotations

import re
import unicodedata

from services import parcels
from services.clock import Clock
from services.errors import AlreadyDone, DomainError, NotAllowed
from services.parcels import Moved
from services.partners import Actor, check_may_act
from services.states import OrderStatus
from store.db import Store

S = OrderStatus
TRACKING = re.compile(r"[A-Z0-9-]{4,40}")
_DASHES = re.compile(r"[‐-―−－]")  # hyphens, en and em dashes, minus signs a keyboard may type
SHIPPED = frozenset({S.IN_TRANSIT, S.DELIVERED})


class BadTrackingNumber(DomainError):
    """What was typed is not a carrier's tracking number: 4 to 40 letters, digits or dashes."""


def tracking_number_of(typed: str) -> str | None:
    """A tracking number as people type it: full-width characters (a Chinese keyboard's) read as
    plain ones, spaces dropped, letters upper-case ("sf 1234-5678" -> "SF1234-5678"); None if it
    is not 4 to 40 letters, digits or dashes."""
    text = _DASHES.sub("-", unicodedata.normalize("NFKC", typed or ""))
    text = re.sub(r"\s+", "", text).upper()
    return text if TRACKING.fullmatch(text) else None


async def ship(store: Store, clock: Clock, actor: Actor, order_id: int, tracking_number: str) -> Moved:
    """A partner of the seller's center (or an admin) hands a confirmed delivery order to the
    carrier: it is in transit with ``tracking_number``, the card refreshed and the buyer told.
    NotPartner for anyone else, AlreadyDone once shipped, NotAllowed for an order not confirmed or
    not a delivery order, BadTrackingNumber for a number that is none."""
    number = tracking_number_of(tracking_number)
    async with store.write() as session:
        order = await parcels.lock_order(session, order_id)
        await check_may_act(session, order.seller_center_id or order.center_id, actor)
        if order.ship_to is None:
            raise NotAllowed(order.status)
        if order.status in SHIPPED:
            raise AlreadyDone(order.status)
        if order.status != S.CONFIRMED:
            raise NotAllowed(order.status)
        if number is None:
            raise BadTrackingNumber(tracking_number)
        order.tracking_number = number
        await parcels.move_and_announce(session, order, S.IN_TRANSIT, clock.now(),
                                        await parcels.acting_villager(session, actor), note=number)
        return Moved(order.id, order.number, order.status, order.center_id, order.total_fen)
