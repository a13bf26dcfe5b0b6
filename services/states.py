"""The states of an order and the moves between them (see shared/DESIGN.md).

pending --confirm--> confirmed --ship--> in_transit --county--> at_county --village--> ready_for_pickup
--pickup--> picked_up; a pending order may be rejected, a pending or confirmed one cancelled; a
parcel nobody collected in time is sent back: ready_for_pickup --return--> returned (services/returns.py).

A town buyer's delivery order (services/town_orders.py) starts awaiting_payment while its invoice
is open, its stock reserved: paid, it is pending; not paid in time, cancelled. Confirmed by the
seller's center, it is shipped (in_transit, with the carrier's tracking number) and delivered.
Nothing here touches the store: every service that reads or moves an order's state imports it.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"  # a delivery order's invoice is open, its stock reserved
    PENDING = "pending"
    CONFIRMED = "confirmed"
    IN_TRANSIT = "in_transit"
    AT_COUNTY = "at_county"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    RETURNED = "returned"  # not collected in time: sent back, its stock restored, nothing paid
    DELIVERED = "delivered"  # a delivery order the carrier handed to the buyer


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.AWAITING_PAYMENT: frozenset({S.PENDING, S.CANCELLED}),
    S.PENDING: frozenset({S.CONFIRMED, S.REJECTED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.IN_TRANSIT, S.CANCELLED}),
    S.IN_TRANSIT: frozenset({S.AT_COUNTY, S.DELIVERED}),
    S.AT_COUNTY: frozenset({S.READY_FOR_PICKUP}),
    S.READY_FOR_PICKUP: frozenset({S.PICKED_UP, S.RETURNED}),
}
RETURNS_STOCK = frozenset({S.REJECTED, S.CANCELLED, S.RETURNED})
# The way down to the village, in order. A state never moves backwards along it.
WAY = (S.CONFIRMED, S.IN_TRANSIT, S.AT_COUNTY, S.READY_FOR_PICKUP, S.PICKED_UP)
# A delivery order's way to the buyer's door.
DELIVERY_WAY = (S.PENDING, S.CONFIRMED, S.IN_TRANSIT, S.DELIVERED)
# Orders that are over: nothing more happens to them.
FINAL = frozenset({S.PICKED_UP, S.REJECTED, S.CANCELLED, S.RETURNED, S.DELIVERED})


def may_move(source: str, to: OrderStatus) -> bool:
    """Whether an order in ``source`` may move to ``to`` in one step."""
    return to in TRANSITIONS.get(OrderStatus(source), frozenset())
