"""Services at the center: a phone top-up, an electricity or water bill, a train or bus ticket.

    🧾 Services ──> what ──> each question in turn (a draft in the store) ──> summary with the fee
        ──> ✅ Send: "requested", a card on the center's desk
        ──> the partner does it outside the bot ──> ✅ Done with what was charged: "done", one cash
            entry (charged + fee) ──> the villager is told
                                   └──> ❌ Decline with a reason: "declined" ──> the villager is told
    /service (a partner, for a walk-in villager): "done" at once, with its cash entry

The draft is the state: what the villager has typed so far is in ``service_requests`` (one draft
a villager), so any process takes the next answer. The fee is the center's for that kind of
service (``ServiceCenter.service_fees``), fixed when the villager sees it in the summary, or when
a walk-in service is recorded. Done and Decline are for the center's partners and admins, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from services import cashbook, outbox
from services import service_input as read
from services.cashbook import Entry
from services.clock import Clock
from services.counties import in_counties
from services.errors import AlreadyDone, NoCenterChosen, NotAllowed, NotFound, NotYours
from services.outbox import Kind
from services.partners import Actor, check_may_act, check_may_see
from services.service_input import CONFIRM, KIND_OF, STEPS, BadService
from store.db import Store
from store.models import ServiceCenter, ServiceRequest, Villager

DRAFT, REQUESTED, DONE, DECLINED = "draft", "requested", "done", "declined"
DECLINE_REASONS = ("unavailable", "wrong_details", "sold_out")
MAX_REASON = 300
PERSONAL = ("phone", "account")  # details /forget removes


@dataclass(frozen=True, slots=True)
class RequestView:
    id: int
    center_id: int
    center_names: dict
    villager_id: int | None
    villager_name: str
    what: str  # topup | electricity | water | train | bus
    details: dict
    status: str
    step: str | None
    fee_fen: int  # the center's fee now (a draft) or as fixed (sent, done)
    charged_fen: int | None
    decline_reason: str
    walk_in: bool
    decided_by: str
    decided_at: datetime | None
    desk_locale: str | None
    timezone: str
    cards: dict[int, int]  # chat id -> message id of its card on the desk

    @property
    def service(self) -> str:
        return KIND_OF[self.what]

    @property
    def amount_fen(self) -> int | None:
        """What the villager asked to pay (a top-up, a bill); None for a ticket."""
        return self.details.get("amount_fen")


async def _view(session, row: ServiceRequest) -> RequestView:
    center = await session.get(ServiceCenter, row.center_id)
    villager = await session.get(Villager, row.villager_id) if row.villager_id else None
    fee = read.fee_for(center.service_fees, row.kind) if row.status == DRAFT else row.fee_fen
    return RequestView(row.id, row.center_id, center.names, row.villager_id, villager.first_name if villager else "",
                       row.kind, dict(row.details or {}), row.status, row.step, fee, row.charged_fen,
                       row.decline_reason, row.walk_in, row.decided_by_name, row.decided_at, center.desk_locale,
                       center.timezone, {int(chat): message for chat, message in (row.cards or {}).items()})


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


# ---- the villager's draft -----------------------------------------------------------------------

async def start(store: Store, clock: Clock, villager_id: int, what: str) -> RequestView:
    """A new draft for ``what``, at its first question (an earlier draft of theirs is dropped)."""
    if what not in KIND_OF:
        raise NotFound("service")
    now = clock.now()
    async with store.write() as session:
        villager = await session.get(Villager, villager_id)
        if villager is None or villager.center_id is None:
            raise NoCenterChosen()
        await session.execute(delete(ServiceRequest).where(ServiceRequest.villager_id == villager_id,
                                                           ServiceRequest.status == DRAFT))
        row = ServiceRequest(center_id=villager.center_id, villager_id=villager_id, kind=what, details={},
                             status=DRAFT, step=STEPS[KIND_OF[what]][0], fee_fen=0, decline_reason="",
                             walk_in=False, decided_by_name="", cards={}, created_at=now, updated_at=now)
        session.add(row)
        await session.flush()
        return await _view(session, row)


async def _draft(session, villager_id: int, request_id: int) -> ServiceRequest:
    row = await session.get(ServiceRequest, request_id, with_for_update=True)
    if row is None or row.villager_id != villager_id or row.status != DRAFT:
        raise NotFound("service draft")
    return row


async def draft(store: Store, villager_id: int, request_id: int) -> RequestView:
    async with store.read() as session:
        row = await session.get(ServiceRequest, request_id)
        if row is None or row.villager_id != villager_id or row.status != DRAFT:
            raise NotFound("service draft")
        return await _view(session, row)


def _read_answer(step: str, text: str, today: date) -> dict:
    """The details an answer to ``step`` gives, or BadService."""
    if step == "phone":
        return {"phone": read.phone(text)}
    if step == "account":
        return {"account": read.account(text)}
    if step == "amount":
        return {"amount_fen": read.amount(text)}
    if step == "route":
        start_, end = read.route(text)
        return {"from": start_, "to": end}
    if step == "date":
        return {"date": read.travel_date(text, today).isoformat()}
    if step == "people":
        return {"people": read.people(text)}
    raise NotAllowed(step)


async def answer(store: Store, clock: Clock, villager_id: int, request_id: int, text: str,
                 step: str | None = None) -> RequestView:
    """The answer to the draft's question (``step``: only if it is still that one, for a button);
    the draft moves on to the next question, or to the summary."""
    now = clock.now()
    async with store.write() as session:
        row = await _draft(session, villager_id, request_id)
        if row.step == CONFIRM or (step is not None and step != row.step):
            raise NotAllowed(row.step or "")
        center = await session.get(ServiceCenter, row.center_id)
        row.details = {**(row.details or {}), **_read_answer(row.step, text, local_today(now, center.timezone))}
        steps = STEPS[KIND_OF[row.kind]]
        index = steps.index(row.step)
        row.step = steps[index + 1] if index + 1 < len(steps) else CONFIRM
        row.updated_at = now
        return await _view(session, row)


async def back(store: Store, clock: Clock, villager_id: int, request_id: int) -> RequestView | None:
    """⬅️ Back: the question before; from the first, the draft is dropped (None: choose again)."""
    async with store.write() as session:
        row = await _draft(session, villager_id, request_id)
        steps = STEPS[KIND_OF[row.kind]]
        index = len(steps) if row.step == CONFIRM else steps.index(row.step)
        if index == 0:
            await session.delete(row)
            return None
        row.step, row.updated_at = steps[index - 1], clock.now()
        return await _view(session, row)


async def cancel(store: Store, villager_id: int, request_id: int) -> None:
    """✖️ Cancel: the draft is dropped (already gone or sent: nothing happens)."""
    async with store.write() as session:
        await session.execute(delete(ServiceRequest).where(
            ServiceRequest.id == request_id, ServiceRequest.villager_id == villager_id,
            ServiceRequest.status == DRAFT))


async def send(store: Store, clock: Clock, villager_id: int, request_id: int) -> RequestView:
    """✅ Send from the summary: the request goes to the center's desk, with the fee shown."""
    now = clock.now()
    async with store.write() as session:
        row = await _draft(session, villager_id, request_id)
        if row.step != CONFIRM:
            raise NotAllowed(row.step or "")
        center = await session.get(ServiceCenter, row.center_id)
        row.fee_fen = read.fee_for(center.service_fees, row.kind)
        row.status, row.step, row.requested_at, row.updated_at = REQUESTED, None, now, now
        await outbox.enqueue(session, Kind.SERVICE_CARD, due_at=now, center_id=row.center_id,
                             payload={"request_id": row.id}, dedupe_key=f"svc-card:{row.id}:requested")
        return await _view(session, row)


# ---- the desk ---------------------------------------------------------------------------------

async def card_view(store: Store, request_id: int) -> RequestView | None:
    async with store.read() as session:
        row = await session.get(ServiceRequest, request_id)
        return None if row is None or row.status == DRAFT else await _view(session, row)


async def card_for(store: Store, request_id: int, actor: Actor, chat_id: int) -> RequestView:
    """The request's card for ``actor`` in ``chat_id``: NotYours unless it may be seen there (the
    center's desk, or the private chat of one of its partners or of an admin)."""
    async with store.read() as session:
        row = await session.get(ServiceRequest, request_id)
        if row is None or row.status == DRAFT:
            raise NotYours()
        await check_may_see(session, {row.center_id}, actor, chat_id)
        return await _view(session, row)


async def record_card(store: Store, request_id: int, chat_id: int, message_id: int) -> None:
    async with store.write() as session:
        row = await session.get(ServiceRequest, request_id, with_for_update=True)
        if row is not None:
            row.cards = {**(row.cards or {}), str(chat_id): message_id}


async def decide(store: Store, clock: Clock, actor: Actor, request_id: int, *, done: bool,
                 charged_fen: int | None = None, reason: str = "") -> RequestView:
    """✅ Done (``charged_fen``; None: what was asked) or ❌ Decline (``reason``), by the center's
    partners and admins, once. Done writes the cash entry (charged + fee), in this transaction."""
    now = clock.now()
    to = DONE if done else DECLINED
    async with store.write() as session:
        row = await session.get(ServiceRequest, request_id, with_for_update=True)
        if row is None or row.status == DRAFT:
            raise NotFound("service request")
        await check_may_act(session, row.center_id, actor)
        if row.status == to:
            raise AlreadyDone(row.status)
        if row.status != REQUESTED:
            raise NotAllowed(row.status)
        if done:
            charged = charged_fen if charged_fen is not None else (row.details or {}).get("amount_fen")
            if charged is None:
                raise BadService("amount_needed")
            await _charge(session, row, charged, actor, now)
        else:
            row.decline_reason = reason.strip()[:MAX_REASON]
        row.status, row.decided_at, row.updated_at = to, now, now
        row.decided_by_telegram_id, row.decided_by_name = actor.telegram_id, actor.name[:200]
        await outbox.enqueue(session, Kind.SERVICE_CARD, due_at=now, center_id=row.center_id,
                             payload={"request_id": row.id}, dedupe_key=f"svc-card:{row.id}:{to}")
        if row.villager_id is not None:
            await outbox.enqueue(session, Kind.SERVICE, due_at=now, center_id=row.center_id,
                                 villager_id=row.villager_id, payload={"request_id": row.id},
                                 dedupe_key=f"svc-notice:{row.id}")
        return await _view(session, row)


async def _charge(session, row: ServiceRequest, charged_fen: int, actor: Actor, now: datetime) -> None:
    if charged_fen <= 0:
        raise BadService("amount_zero")
    if charged_fen > read.MAX_AMOUNT_FEN:
        raise BadService("amount_too_big")
    row.charged_fen = charged_fen
    await cashbook.record(session, row.center_id, Entry.SERVICE, charged_fen + row.fee_fen, now,
                          fee_fen=row.fee_fen, actor_telegram_id=actor.telegram_id, ref=f"service:{row.id}")


def walk_in_details(what: str, args: list[str], today: date) -> tuple[dict, int]:
    """A walk-in's details and the amount charged, from ``/service``'s words after the kind:
    top-up: PHONE AMOUNT; bill: ACCOUNT AMOUNT; ticket: FROM-TO DATE PEOPLE AMOUNT."""
    service = KIND_OF[what]
    wanted = {"topup": 2, "bill": 2, "ticket": 4}[service]
    if len(args) < wanted:
        raise BadService("usage")
    # a number typed with a space ("138 0000 1234") is one phone number: the amount is the last word
    head, tail = args[:-(wanted - 1)], args[-(wanted - 1):]
    details: dict = {}
    if service == "topup":
        details["phone"] = read.phone(" ".join(head))
    elif service == "bill":
        details["account"] = read.account(" ".join(head))
    else:
        details["from"], details["to"] = read.route(" ".join(head))
        details["date"] = read.travel_date(tail[0], today).isoformat()
        details["people"] = read.people(tail[1])
    charged = read.amount(tail[-1])
    if service != "ticket":
        details["amount_fen"] = charged
    return details, charged


async def walk_in(store: Store, clock: Clock, actor: Actor, center_id: int, what: str, args: list[str]) -> RequestView:
    """``/service``: a partner (or admin) records a service done for a walk-in villager, at once,
    with its cash entry (the fee from the center's schedule)."""
    if what not in KIND_OF:
        raise BadService("usage")
    now = clock.now()
    async with store.write() as session:
        await check_may_act(session, center_id, actor)
        center = await session.get(ServiceCenter, center_id)
        details, charged = walk_in_details(what, args, local_today(now, center.timezone))
        row = ServiceRequest(center_id=center_id, villager_id=None, kind=what, details=details, status=DONE,
                             step=None, fee_fen=read.fee_for(center.service_fees, what), decline_reason="",
                             walk_in=True, decided_by_telegram_id=actor.telegram_id, decided_by_name=actor.name[:200],
                             cards={}, created_at=now, updated_at=now, requested_at=now, decided_at=now)
        session.add(row)
        await session.flush()
        await _charge(session, row, charged, actor, now)
        return await _view(session, row)


async def group_migrated(session, old_chat_id: int, new_chat_id: int, now: datetime) -> int:
    """A desk's group became a supergroup (services.desks.group_migrated, in its transaction): the
    service cards still waiting for a tap in the old chat are posted again in the new one."""
    moved = 0
    for row in (await session.scalars(select(ServiceRequest).where(ServiceRequest.status == REQUESTED)
                                      .order_by(ServiceRequest.id).with_for_update())).all():
        if str(old_chat_id) not in (row.cards or {}):
            continue
        row.cards = {chat: message for chat, message in row.cards.items() if chat != str(old_chat_id)}
        await outbox.enqueue(session, Kind.SERVICE_CARD, due_at=now, center_id=row.center_id,
                             payload={"request_id": row.id}, dedupe_key=f"moved:{new_chat_id}:service:{row.id}")
        moved += 1
    return moved


async def waiting(store: Store, center_id: int) -> list[tuple[int, str, datetime, str]]:
    """The center's requests waiting for its partners: (id, what, sent at, the center's time
    zone), oldest first."""
    async with store.read() as session:
        rows = await session.execute(
            select(ServiceRequest.id, ServiceRequest.kind, ServiceRequest.requested_at, ServiceCenter.timezone)
            .join(ServiceCenter, ServiceCenter.id == ServiceRequest.center_id)
            .where(ServiceRequest.center_id == center_id, ServiceRequest.status == REQUESTED)
            .order_by(ServiceRequest.requested_at, ServiceRequest.id))
        return [tuple(row) for row in rows]


async def personal(session, villager_id: int) -> list[dict]:
    """/mydata (in the caller's session): the villager's requests, as JSON-ready data."""
    rows = await session.scalars(select(ServiceRequest).where(ServiceRequest.villager_id == villager_id)
                                 .order_by(ServiceRequest.id))
    return [{"id": row.id, "kind": row.kind, "details": dict(row.details or {}), "status": row.status,
             "charged_fen": row.charged_fen, "fee_fen": row.fee_fen, "decline_reason": row.decline_reason,
             "created_at": None if row.created_at is None else row.created_at.isoformat(),
             "decided_at": None if row.decided_at is None else row.decided_at.isoformat()} for row in rows]


async def forget(session, villager_id: int, now: datetime) -> None:
    """/forget (in the caller's transaction): the villager's draft is deleted, and their other
    requests keep what was done and charged, without the phone or account number; their cards
    on the desk are redrawn so (through the outbox)."""
    await session.execute(delete(ServiceRequest).where(ServiceRequest.villager_id == villager_id,
                                                       ServiceRequest.status == DRAFT))
    for row in (await session.scalars(select(ServiceRequest).where(ServiceRequest.villager_id == villager_id))):
        row.details = {key: value for key, value in (row.details or {}).items() if key not in PERSONAL}
        if row.cards:
            await outbox.enqueue(session, Kind.SERVICE_CARD, due_at=now, center_id=row.center_id,
                                 payload={"request_id": row.id}, dedupe_key=f"svc-card:{row.id}:forget")


# ---- the figures ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Figures:
    done: int
    charged_fen: int
    fees_fen: int
    declined: int
    waiting: int


async def figures(store: Store, now: datetime, days: int = 30, counties: set[int] | None = None) -> Figures:
    """Services done in the last ``days`` (how many, what was charged, the fees), declined, and
    those waiting for the desk now; at the centers of ``counties`` only, or of every center."""
    since = now - timedelta(days=days)
    where = [in_counties(ServiceRequest.center_id, counties)]
    async with store.read() as session:
        done, charged, fees = (await session.execute(
            select(func.count(ServiceRequest.id), func.coalesce(func.sum(ServiceRequest.charged_fen), 0),
                   func.coalesce(func.sum(ServiceRequest.fee_fen), 0))
            .where(ServiceRequest.status == DONE, ServiceRequest.decided_at >= since, *where))).one()
        declined = await session.scalar(select(func.count(ServiceRequest.id)).where(
            ServiceRequest.status == DECLINED, ServiceRequest.decided_at >= since, *where))
        waiting = await session.scalar(select(func.count(ServiceRequest.id)).where(
            ServiceRequest.status == REQUESTED, *where))
        return Figures(done, int(charged), int(fees), declined or 0, waiting or 0)
