"""A person's own data (``/mydata``): everything stored about them, as JSON-ready data.

Forgetting them (``/forget``) is ``privacy``'s.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import ratings, service_requests
from services.amounts import format_milli
from services.errors import NotFound
from store.db import Store
from store.models import (
    BroadcastDelivery,
    Cart,
    CartLine,
    Listing,
    Order,
    OrderEvent,
    OrderLine,
    OutboxMessage,
    Partner,
    Payment,
    Product,
    SearchMiss,
    ServiceCenter,
    Villager,
)

FORMAT_VERSION = 1


def _time(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


async def _center(session: AsyncSession, center_id: int | None) -> dict | None:
    if center_id is None:
        return None
    center = await session.get(ServiceCenter, center_id)
    return None if center is None else {"id": center.id, "code": center.code, "names": dict(center.names or {})}


async def _person(session: AsyncSession, villager_id: int) -> Villager:
    villager = await session.get(Villager, villager_id)
    if villager is None:
        raise NotFound("villager")
    return villager


async def personal_data(store: Store, villager_id: int, now: datetime | None = None) -> dict:
    """Everything stored about the person, as JSON-ready data: times in ISO 8601 (UTC), money
    in integer fen (keys ending in ``_fen``), produce quantities in thousandths of their unit
    (keys ending in ``_milli``, with the readable amount beside them)."""
    async with store.read() as session:
        villager = await _person(session, villager_id)
        data = {
            "about": {
                "format_version": FORMAT_VERSION,
                "generated_at": _time(now),
                "times": "ISO 8601, UTC",
                "money": "keys ending in _fen are integer fen: 100 fen = 1 yuan",
                "quantities": "keys ending in _milli are thousandths of the unit: 2500 = 2.5",
            },
            "person": {
                "villager_id": villager.id,
                "telegram_id": villager.telegram_id,
                "first_name": villager.first_name,
                "username": villager.username,
                "phone": villager.phone,
                "language": villager.locale,
                "service_center": await _center(session, villager.center_id),
                "promotions_off": bool(villager.promotions_off),
                "blocked_the_bot": bool(villager.unreachable),
                "waiting_for_input": villager.awaiting,
                "ordering_for_villager_id": villager.acting_for_id,
                "registered_at": _time(villager.created_at),
                "last_seen_at": _time(villager.last_seen_at),
            },
            "cart": await _cart(session, villager_id),
            "orders": await _orders(session, villager_id),
            "orders_placed_for_others": await _assisted(session, villager_id),
            "produce_listings": await _listings(session, villager_id),
            "partner_of": await _partner_of(session, villager.telegram_id),
            "searches_that_found_nothing": [
                {"query": query, "at": _time(at)} for query, at in await session.execute(
                    select(SearchMiss.query, SearchMiss.at).where(SearchMiss.villager_id == villager_id)
                    .order_by(SearchMiss.id))],
            "messages_to_you": await _messages(session, villager_id),
            "services_at_the_center": await service_requests.personal(session, villager_id),
            "reviews_you_gave": await ratings.personal(session, villager_id),
        }
    return data


async def _cart(session: AsyncSession, villager_id: int) -> list[dict]:
    rows = await session.execute(
        select(CartLine.quantity, Product.sku, Product.names, Product.unit, Product.price_fen)
        .join(Cart, Cart.id == CartLine.cart_id).join(Product, Product.id == CartLine.product_id)
        .where(Cart.villager_id == villager_id).order_by(CartLine.id))
    return [{"sku": sku, "names": dict(names or {}), "unit": unit, "quantity": quantity,
             "price_fen": price_fen, "subtotal_fen": price_fen * quantity}
            for quantity, sku, names, unit, price_fen in rows]


async def _orders(session: AsyncSession, villager_id: int) -> list[dict]:
    orders = (await session.scalars(
        select(Order).where(Order.villager_id == villager_id).order_by(Order.created_at, Order.id))).all()
    if not orders:
        return []
    lines: dict[int, list[dict]] = {}
    for line in (await session.scalars(
            select(OrderLine).join(Order, Order.id == OrderLine.order_id)
            .where(Order.villager_id == villager_id).order_by(OrderLine.id))).all():
        item = {"sku": line.sku, "names": dict(line.names or {}), "unit": line.unit, "price_fen": line.price_fen}
        if line.quantity_milli is None:
            item["quantity"] = line.quantity
        else:
            item.update(quantity=format_milli(line.quantity_milli), quantity_milli=line.quantity_milli,
                        produce_listing_id=line.listing_id)
        lines.setdefault(line.order_id, []).append(item)
    events: dict[int, list[dict]] = {}
    for event in (await session.scalars(
            select(OrderEvent).join(Order, Order.id == OrderEvent.order_id)
            .where(Order.villager_id == villager_id).order_by(OrderEvent.id))).all():
        events.setdefault(event.order_id, []).append(
            {"status": event.status, "at": _time(event.at), "note": event.note})
    paid = await _payments(session, villager_id)
    centers: dict[int, dict | None] = {}
    result = []
    for order in orders:
        for center_id in (order.center_id, order.seller_center_id):
            if center_id is not None and center_id not in centers:
                centers[center_id] = await _center(session, center_id)
        result.append({
            "number": order.number,
            "status": order.status,
            "placed_at": _time(order.created_at),
            "updated_at": _time(order.updated_at),
            "pickup_center": None if order.ship_to is not None else centers[order.center_id],
            "seller_center": centers.get(order.seller_center_id) if order.seller_center_id else None,
            "total_fen": order.total_fen,
            "payment_method": order.payment_method,
            "cash_collected_fen": order.cash_collected_fen,
            "pickup_code": order.pickup_code,
            "placed_for_you_by_a_partner": order.assisted_by_id is not None,
            "lines": lines.get(order.id, []),
            "timeline": events.get(order.id, []),
            **_delivery(order),
            "payments": paid.get(order.id, []),
        })
    return result


def _delivery(order: Order) -> dict:
    """A delivery order's: where it went (the receiver, their phone, the address, its zone), what
    the delivery cost, the carrier's tracking number, and until when an open invoice held it."""
    if order.ship_to is None and order.delivery_fen in (None, 0) and order.reserved_until is None:
        return {}
    return {"delivery": {"ship_to": dict(order.ship_to) if order.ship_to is not None else None,
                         "delivery_fen": order.delivery_fen or 0, "tracking_number": order.tracking_number,
                         "reserved_until": _time(order.reserved_until)}}


async def _payments(session: AsyncSession, villager_id: int) -> dict[int, list[dict]]:
    """Money paid online for their orders, and refunded: the amounts, when, the charge ids."""
    found: dict[int, list[dict]] = {}
    for payment in (await session.scalars(
            select(Payment).join(Order, Order.id == Payment.order_id)
            .where(Order.villager_id == villager_id).order_by(Payment.id))).all():
        found.setdefault(payment.order_id, []).append({
            "kind": payment.kind, "amount_fen": payment.amount_fen, "currency": payment.currency,
            "at": _time(payment.at), "telegram_charge_id": payment.telegram_charge_id,
            "provider_charge_id": payment.provider_charge_id, "refund_ref": payment.ref, "note": payment.note})
    return found


async def _assisted(session: AsyncSession, villager_id: int) -> list[dict]:
    """Orders the person placed, as a partner, for villagers without a phone: only the facts of
    their own doing, not the other villager's data."""
    rows = await session.execute(select(Order.number, Order.created_at).where(
        Order.assisted_by_id == villager_id, Order.villager_id != villager_id).order_by(Order.created_at, Order.id))
    return [{"number": number, "placed_at": _time(at)} for number, at in rows]


async def _listings(session: AsyncSession, villager_id: int) -> list[dict]:
    listings = (await session.scalars(
        select(Listing).where(Listing.seller_id == villager_id).order_by(Listing.created_at, Listing.id))).all()
    return [{
        "id": listing.id,
        "status": listing.status,
        "title": listing.title,
        "category": listing.category,
        "unit": listing.unit,
        "left": format_milli(listing.left_milli),
        "left_milli": listing.left_milli,
        "price_fen": listing.price_fen,
        "available_from": _time(listing.available_from),
        "note": listing.note,
        "has_photo": listing.photo is not None,
        "reject_reason": listing.reject_reason,
        "center": await _center(session, listing.center_id),
        "created_at": _time(listing.created_at),
        "updated_at": _time(listing.updated_at),
        "approved_at": _time(listing.approved_at),
    } for listing in listings]


async def _partner_of(session: AsyncSession, telegram_id: int | None) -> list[dict]:
    if telegram_id is None:
        return []
    rows = await session.execute(
        select(ServiceCenter.code, ServiceCenter.names, Partner.added_at)
        .join(ServiceCenter, ServiceCenter.id == Partner.center_id)
        .where(Partner.telegram_id == telegram_id).order_by(Partner.id))
    return [{"center_code": code, "center_names": dict(names or {}), "since": _time(added_at)}
            for code, names, added_at in rows]


async def _messages(session: AsyncSession, villager_id: int) -> dict:
    """How many messages the bot queued for the person, by how they ended (not their texts)."""
    ended = {"sent": OutboxMessage.sent_at.is_not(None), "cancelled": OutboxMessage.cancelled_at.is_not(None),
             "failed": OutboxMessage.failed_at.is_not(None), "waiting": OutboxMessage.is_open}
    notices = {}
    for name, condition in ended.items():
        notices[name] = await session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.villager_id == villager_id, condition)) or 0
    promotions = dict((await session.execute(
        select(BroadcastDelivery.status, func.count(BroadcastDelivery.id))
        .where(BroadcastDelivery.villager_id == villager_id).group_by(BroadcastDelivery.status))).all())
    return {"notices_and_reminders": notices, "promotions": {str(k): v for k, v in sorted(promotions.items())}}
