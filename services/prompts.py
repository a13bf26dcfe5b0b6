"""Questions the bot asks one person in a group, and the replies that answer them.

In a group, a typed answer (a reason to reject, a pickup code) counts only when it replies to the
bot's prompt message and comes from the person who was asked; everything else said there is the
group's own conversation. A prompt is open until it is answered, cancelled, replaced by a new
question about the same thing, or until it lapses ``LAPSE`` after it was asked.

    open ──answered──> closed
      ├──cancelled (✖️ on the card)──> closed
      ├──replaced (asked again about the same thing)──> closed
      └──LAPSE passed──> lapsed
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update

from services.clock import Clock
from store.db import Store
from store.models import DeskPrompt

LAPSE = timedelta(minutes=10)
KEEP = timedelta(days=2)  # closed prompts are kept this long: a late reply is told it expired


class Outcome(StrEnum):
    ANSWERED = "answered"
    CANCELLED = "cancelled"
    REPLACED = "replaced"
    LAPSED = "lapsed"


@dataclass(frozen=True, slots=True)
class Prompt:
    id: int
    chat_id: int
    message_id: int
    telegram_id: int
    kind: str
    subject_id: int
    card_message_id: int | None


class Reply(StrEnum):
    """What a reply to one of the bot's messages is."""

    ANSWER = "answer"  # the asked person's answer to an open prompt
    NOT_ASKED = "not asked"  # someone else's reply: the question was not theirs
    EXPIRED = "expired"  # the asked person, too late: the prompt is closed or has lapsed


@dataclass(frozen=True, slots=True)
class Taken:
    reply: Reply
    prompt: Prompt
    lapsed_now: bool = False  # this reply found it lapsed: its card still shows ✖️ Cancel


def _view(row: DeskPrompt) -> Prompt:
    return Prompt(row.id, row.chat_id, row.message_id, row.telegram_id, row.kind, row.subject_id,
                  row.card_message_id)


async def open_prompt(store: Store, clock: Clock, *, chat_id: int, message_id: int, villager_id: int,
                      telegram_id: int, kind: str, subject_id: int, card_message_id: int | None) -> Prompt:
    """The bot asked ``telegram_id`` in ``message_id``. An open question about the same thing in
    this chat (asked again after a wrong answer, or by a second partner) is replaced."""
    now = clock.now()
    async with store.write(durable=False) as session:
        await session.execute(
            update(DeskPrompt)
            .where(DeskPrompt.chat_id == chat_id, DeskPrompt.kind == kind, DeskPrompt.subject_id == subject_id,
                   DeskPrompt.closed_at.is_(None))
            .values(closed_at=now, outcome=Outcome.REPLACED))
        row = DeskPrompt(chat_id=chat_id, message_id=message_id, villager_id=villager_id, telegram_id=telegram_id,
                         kind=kind, subject_id=subject_id, card_message_id=card_message_id, created_at=now,
                         expires_at=now + LAPSE)
        session.add(row)
        await session.flush()
        return _view(row)


async def take(store: Store, clock: Clock, chat_id: int, message_id: int, telegram_id: int) -> Taken | None:
    """What a reply by ``telegram_id`` to the bot's message ``message_id`` is; None if that message
    asked nothing. A prompt found past its time is marked lapsed here."""
    now = clock.now()
    async with store.write(durable=False) as session:
        row = await session.scalar(
            select(DeskPrompt).where(DeskPrompt.chat_id == chat_id, DeskPrompt.message_id == message_id)
            .with_for_update())
        if row is None:
            return None
        prompt = _view(row)
        if row.telegram_id != telegram_id:
            return Taken(Reply.NOT_ASKED, prompt)
        if row.closed_at is not None:
            return Taken(Reply.EXPIRED, prompt)
        if row.expires_at <= now:
            row.closed_at, row.outcome = now, Outcome.LAPSED
            return Taken(Reply.EXPIRED, prompt, lapsed_now=True)
        return Taken(Reply.ANSWER, prompt)


async def close(store: Store, clock: Clock, prompt_id: int, outcome: Outcome = Outcome.ANSWERED) -> bool:
    """Close an open prompt; False if it was closed already."""
    async with store.write(durable=False) as session:
        result = await session.execute(
            update(DeskPrompt).where(DeskPrompt.id == prompt_id, DeskPrompt.closed_at.is_(None))
            .values(closed_at=clock.now(), outcome=outcome))
        return result.rowcount == 1


async def cancel(store: Store, clock: Clock, chat_id: int, kind: str, subject_id: int) -> list[Prompt]:
    """✖️ Cancel on a card: the open questions about its order or listing in this chat are closed
    (lapsed ones too, which nobody had closed yet); returns them."""
    now = clock.now()
    async with store.write(durable=False) as session:
        rows = (await session.scalars(
            select(DeskPrompt).where(DeskPrompt.chat_id == chat_id, DeskPrompt.kind == kind,
                                     DeskPrompt.subject_id == subject_id, DeskPrompt.closed_at.is_(None))
            .with_for_update())).all()
        for row in rows:
            row.closed_at, row.outcome = now, Outcome.CANCELLED
        return [_view(row) for row in rows]


async def lapse(store: Store, clock: Clock) -> list[Prompt]:
    """Close the open prompts whose time is up, and forget long-closed ones; returns those that
    lapsed now, whose cards and prompt messages still show them as waiting."""
    now = clock.now()
    async with store.write(durable=False) as session:
        rows = (await session.scalars(
            select(DeskPrompt).where(DeskPrompt.closed_at.is_(None), DeskPrompt.expires_at <= now)
            .order_by(DeskPrompt.id).with_for_update(skip_locked=True))).all()
        for row in rows:
            row.closed_at, row.outcome = now, Outcome.LAPSED
        await session.execute(delete(DeskPrompt).where(DeskPrompt.closed_at < now - KEEP))
        return [_view(row) for row in rows]
