"""Promotions: composed by an admin step by step, queued once per person, sent at a global pace.

    draft ──confirm──> scheduled ──send_at──> sending ──all handled──> done
                             └──────────────┴──cancel──> cancelled

Sending the copies is services/deliveries.py.
"""

from __future__ import annotations

import html.parser
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services import counties
from services.errors import DomainError, NotAllowed, NotFound
from services.partners import Actor
from store.db import Store, mark_effect
from store.models import (
    Broadcast,
    BroadcastDelivery,
    Category,
    County,
    Order,
    OrderLine,
    Product,
    ServiceCenter,
    Villager,
)

PROMOTIONS = "promotions"  # what a promotion's start or stop marks its session with (``store.db.mark_effect``)
MAX_TEXT = 4096
MAX_CAPTION = 1024
AUDIENCES = ("all", "county", "center", "language", "category")


class Status(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Step(StrEnum):
    TEXT = "text"  # the default language's version, then one per other language
    PHOTO = "photo"
    LINK = "link"
    AUDIENCE = "audience"
    PREVIEW = "preview"


class Delivery(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"  # the person blocked the bot (403)
    OPTED_OUT = "opted_out"
    CANCELLED = "cancelled"


class BadHtml(DomainError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---- Telegram HTML --------------------------------------------------------------------------

_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
         "span", "blockquote", "tg-emoji"}


class _Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problem: str | None = None
        self.text_length = 0

    def handle_starttag(self, tag, attrs):
        if self.problem:
            return
        if tag not in _TAGS:
            self.problem = f"<{tag}> is not allowed"
        elif tag == "a" and not dict(attrs).get("href"):
            self.problem = "<a> needs an href"
        else:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if self.problem:
            return
        if not self.open or self.open[-1] != tag:
            self.problem = f"</{tag}> does not close the last open tag"
        else:
            self.open.pop()

    def handle_data(self, data):
        if ("<" in data or ">" in data) and not self.problem:
            self.problem = "a < or > that is not part of a tag (write &lt; or &gt;)"
        self.text_length += len(data)

    def handle_entityref(self, name):
        if name not in ("lt", "gt", "amp", "quot") and not self.problem:
            self.problem = f"&{name}; is not an entity Telegram knows"
        self.text_length += 1

    def handle_charref(self, name):
        self.text_length += 1


def check_html(text: str, limit: int = MAX_TEXT) -> str:
    """Telegram HTML as the Bot API accepts it; BadHtml with the reason otherwise."""
    text = text.strip()
    if not text:
        raise BadHtml("empty")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.problem:
        raise BadHtml(checker.problem)
    if checker.open:
        raise BadHtml(f"<{checker.open[-1]}> is not closed")
    if checker.text_length > limit:
        raise BadHtml(f"longer than {limit} characters")
    return text


# ---- composing ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BroadcastView:
    id: int
    status: str
    step: str | None
    texts: dict
    photo: str | None
    link: dict
    audience: dict
    send_at: datetime | None
    total: int
    progress_message_id: int | None
    admin_telegram_id: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    counts: dict = field(default_factory=dict)  # delivery status -> how many
    send_in_quiet_hours: bool = False  # the admin's "send anyway": copies do not wait for quiet hours to end


def as_view(row: Broadcast, counts: dict | None = None) -> BroadcastView:
    return BroadcastView(row.id, row.status, row.step, dict(row.texts), row.photo, dict(row.link), dict(row.audience),
                         row.send_at, row.total, row.progress_message_id, row.admin_telegram_id, row.started_at,
                         row.finished_at, counts or {}, bool(row.send_in_quiet_hours))


async def _draft(session: AsyncSession, admin: int, broadcast_id: int) -> Broadcast:
    row = await session.scalar(select(Broadcast).where(Broadcast.id == broadcast_id,
                                                       Broadcast.admin_telegram_id == admin).with_for_update())
    if row is None:
        raise NotFound("broadcast")
    if row.status != Status.DRAFT:
        raise NotAllowed(row.status)
    return row


async def start_draft(store: Store, now: datetime, admin: int) -> BroadcastView:
    """The admin's draft, or a new one at its first step."""
    async with store.write() as session:
        row = await session.scalar(select(Broadcast).where(Broadcast.admin_telegram_id == admin,
                                                           Broadcast.status == Status.DRAFT).limit(1))
        if row is None:
            row = Broadcast(admin_telegram_id=admin, status=Status.DRAFT, step=Step.TEXT, texts={}, link={},
                            audience={}, total=0, created_at=now)
            session.add(row)
            await session.flush()
        return as_view(row)


async def discard(store: Store, admin: int, broadcast_id: int) -> None:
    async with store.write() as session:
        await session.delete(await _draft(session, admin, broadcast_id))


async def set_text(store: Store, admin: int, broadcast_id: int, locale: str, text: str) -> BroadcastView:
    async with store.write() as session:
        row = await _draft(session, admin, broadcast_id)
        row.texts = {**row.texts, locale: check_html(text, MAX_CAPTION if row.photo else MAX_TEXT)}
        return as_view(row)


async def set_step(store: Store, admin: int, broadcast_id: int, step: Step, author: Actor | None = None,
                   **values) -> BroadcastView:
    """Move the draft to ``step``, setting ``photo``, ``link`` or ``audience`` on the way. An
    ``audience`` must be one ``author`` may send to (``counties.check_audience``: county staff,
    their own county only); None: an admin's own tools (the benchmark)."""
    async with store.write() as session:
        row = await _draft(session, admin, broadcast_id)
        if author is not None and "audience" in values:
            await counties.check_audience(session, author, values["audience"])
        if "photo" in values:
            row.photo = values["photo"]
            for text in row.texts.values():
                check_html(text, MAX_CAPTION if row.photo else MAX_TEXT)
        if "link" in values:
            row.link = values["link"] or {}
        if "audience" in values:
            row.audience = values["audience"]
        row.step = step
        return as_view(row)


async def find_link(store: Store, code: str) -> dict:
    """A product by SKU or a category by code, for the promotion's button."""
    code = code.strip()
    async with store.read() as session:
        sku = await session.scalar(select(Product.sku).where(func.upper(Product.sku) == code.upper(),
                                                             Product.is_active))
        if sku is not None:
            return {"kind": "product", "code": sku}
        category = await session.scalar(select(Category.code).where(func.lower(Category.code) == code.lower()))
        if category is not None:
            return {"kind": "category", "code": category}
    raise NotFound("link")


async def deep_link(store: Store, payload: str) -> tuple[str, int] | None:
    """Where a promotion's link opens the bot: "p-FD-001" -> ("product", id), "c-food_drink" ->
    ("category", id); None for anything else, or a product no longer shown."""
    prefix, _, code = payload.partition("-")
    async with store.read() as session:
        if prefix == "p" and code:
            found = await session.scalar(select(Product.id).where(Product.sku == code, Product.is_active))
            return ("product", found) if found is not None else None
        if prefix == "c" and code:
            found = await session.scalar(select(Category.id).where(Category.code == code))
            return ("category", found) if found is not None else None
    return None


def audience_filter(audience: dict):
    """Villagers on Telegram that the audience names."""
    kind, value = audience.get("kind", "all"), audience.get("value")
    where = [Villager.telegram_id.is_not(None)]
    if kind == "county":
        where.append(Villager.center_id.in_(select(ServiceCenter.id).where(ServiceCenter.county_id == int(value))))
    elif kind == "center":
        where.append(Villager.center_id == int(value))
    elif kind == "language":
        where.append(Villager.locale == str(value))
    elif kind == "category":
        where.append(exists(
            select(Order.id).join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id).join(Category, Category.id == Product.category_id)
            .where(Order.villager_id == Villager.id, Category.code == str(value))))
    return and_(*where)


async def audience_size(store: Store, audience: dict) -> int:
    async with store.read() as session:
        return await session.scalar(select(func.count(Villager.id)).where(audience_filter(audience))) or 0


async def audience_choices(store: Store, kind: str, author: Actor | None = None) -> list[tuple[str, dict | str]]:
    """(value, names or label) to choose a county, a center, a language or a category from; for
    county staff (``author`` not an admin), only their own counties and their centers."""
    async with store.read() as session:
        own = County.id.is_not(None) if author is None or author.is_admin else County.id.in_(
            await counties.staff_counties(session, author.telegram_id))
        if kind == "county":
            return [(str(i), names) for i, names in await session.execute(select(County.id, County.names)
                                                                           .where(own).order_by(County.id))]
        if kind == "center":
            return [(str(i), names) for i, names in await session.execute(
                select(ServiceCenter.id, ServiceCenter.names).join(County, County.id == ServiceCenter.county_id)
                .where(ServiceCenter.is_active, own).order_by(ServiceCenter.code))]
        if kind == "language":
            return [(locale, locale) for locale in (await session.scalars(
                select(Villager.locale).where(Villager.locale.is_not(None)).distinct().order_by(Villager.locale))).all()]
        return [(code, code) for code in (await session.scalars(select(Category.code).order_by(Category.code))).all()]


async def confirm(store: Store, now: datetime, admin: int, broadcast_id: int, send_at: datetime | None,
                  anyway: bool = False, author: Actor | None = None) -> BroadcastView:
    """Schedule the promotion (``send_at`` None: now). Its copies are queued when it starts, and
    each waits for the end of its reader's quiet hours unless the admin said to send ``anyway``.
    Its audience is checked again against ``author`` (as in ``set_step``)."""
    async with store.write() as session:
        row = await _draft(session, admin, broadcast_id)
        if not row.texts or not row.audience:
            raise NotAllowed(row.status)
        if author is not None:
            await counties.check_audience(session, author, row.audience)
        row.status = Status.SCHEDULED
        row.step = None
        row.send_at = max(send_at or now, now)
        row.send_in_quiet_hours = anyway
        mark_effect(session, PROMOTIONS)
        return as_view(row)


async def set_progress_message(store: Store, broadcast_id: int, message_id: int) -> None:
    async with store.write() as session:
        await session.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                              .values(progress_message_id=message_id))


async def cancel(store: Store, now: datetime, admin: int) -> BroadcastView | None:
    """Stop the admin's scheduled or running promotion: copies not yet sent are not sent."""
    async with store.write() as session:
        row = await session.scalar(select(Broadcast).where(
            Broadcast.admin_telegram_id == admin, Broadcast.status.in_([Status.SCHEDULED, Status.SENDING]))
            .order_by(Broadcast.id.desc()).limit(1).with_for_update())
        if row is None:
            return None
        row.status = Status.CANCELLED
        row.finished_at = now
        mark_effect(session, PROMOTIONS)
        await session.execute(update(BroadcastDelivery).where(
            BroadcastDelivery.broadcast_id == row.id, BroadcastDelivery.status == Delivery.PENDING)
            .values(status=Delivery.CANCELLED).execution_options(synchronize_session=False))
        return as_view(row, await _counts(session, row.id))


async def _counts(session: AsyncSession, broadcast_id: int) -> dict:
    rows = await session.execute(select(BroadcastDelivery.status, func.count(BroadcastDelivery.id))
                                 .where(BroadcastDelivery.broadcast_id == broadcast_id)
                                 .group_by(BroadcastDelivery.status))
    return {status: n for status, n in rows}


async def draft_of(store: Store, admin: int, broadcast_id: int) -> BroadcastView | None:
    """The promotion ``admin`` is composing, if this is it: a draft is its admin's alone, to see
    as well as to change (another admin's, or one already sent, is None)."""
    async with store.read() as session:
        row = await session.scalar(select(Broadcast).where(
            Broadcast.id == broadcast_id, Broadcast.admin_telegram_id == admin, Broadcast.status == Status.DRAFT))
        return as_view(row) if row else None


async def view(store: Store, broadcast_id: int) -> BroadcastView | None:
    async with store.read() as session:
        row = await session.get(Broadcast, broadcast_id)
        return as_view(row, await _counts(session, broadcast_id)) if row else None


async def set_promotions(store: Store, telegram_id: int, on: bool) -> None:
    async with store.write() as session:
        await session.execute(update(Villager).where(Villager.telegram_id == telegram_id)
                              .values(promotions_off=not on))
