"""Posting the desk's cards in their groups (or a partner's private chat) and editing them in place:
the order card and the listing review card, as handlers.cards renders them. The outbox (handlers.notices)
posts and edits them; handlers.desk posts one again on request. A group that became a supergroup is
told as ``DeskMigrated``, which the pump (bot/pump.py) moves the desk for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden

from handlers.cards import DecisionCard, card_keyboard, card_text, review_card_text, review_keyboard
from handlers.context import Runtime
from locales import translator
from services import desks, reviews
from services.desks import CardView

log = logging.getLogger(__name__)


class DeskMigrated(ChatMigrated):
    """A desk's group became a supergroup. Telegram's answer names only the new chat; this also
    names the old one, which the bot sent to."""

    def __init__(self, old_chat_id: int, new_chat_id: int):
        super().__init__(new_chat_id)
        self.old_chat_id = old_chat_id


@contextmanager
def to_desk(chat_id: int) -> Iterator[None]:
    """Sending to a desk's group: a group that became a supergroup is told as DeskMigrated."""
    try:
        yield
    except ChatMigrated as exc:
        if isinstance(exc, DeskMigrated):
            raise
        raise DeskMigrated(chat_id, exc.new_chat_id) from exc


async def post_card(bot: Bot, rt: Runtime, order_id: int) -> None:
    """Post the card where it is not yet, and edit it in place where it is."""
    destinations = await desks.card_destinations(rt.store, order_id)
    card = await desks.card_view(rt.store, order_id) if destinations else None
    if card is None:
        return
    for desk in destinations:
        with to_desk(desk.chat_id):
            await _post_card_to(bot, rt, card, desk)


async def _post_card_to(bot: Bot, rt: Runtime, card: CardView, desk: desks.Destination) -> None:
    chat_id, order_id = desk.chat_id, card.order.id
    t = translator(desk.locale or rt.default_locale)
    text, markup = card_text(t, card), card_keyboard(t, card.order, desk.center_id)
    message_id = card.cards.get(chat_id)
    if message_id is not None:
        try:
            await _edit_card(bot, chat_id, message_id, text, markup)
            return
        except BadRequest as exc:
            if "not found" not in str(exc).lower():
                raise
            log.info("card %s of order %s is gone; posting it again", message_id, order_id)
    sent = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    await desks.record_card(rt.store, order_id, chat_id, sent.message_id)


async def _edit_card(bot: Bot, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit a card in place; a card that already reads so is fine. Raises Telegram's other 400s."""
    try:
        await bot.edit_message_text(text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def edit_cards(bot: Bot, rt: Runtime, order_id: int) -> bool:
    """Edit the order's cards where they were posted, as the store has it now (e.g. without the
    name of someone who used /forget). Never posts a card: one that can no longer be edited
    (deleted, too old, or the bot left the chat) is left as it is, and logged."""
    card = await desks.card_view(rt.store, order_id)
    if card is None or not card.cards:
        return False
    by_chat = {desk.chat_id: desk for desk in await desks.card_destinations(rt.store, order_id)}
    for chat_id, message_id in card.cards.items():
        desk = by_chat.get(chat_id)
        t = translator((desk.locale if desk else None) or rt.default_locale)
        text, markup = card_text(t, card), card_keyboard(t, card.order, desk.center_id if desk else None)
        try:
            with to_desk(chat_id):
                await _edit_card(bot, chat_id, message_id, text, markup)
        except (BadRequest, Forbidden) as exc:
            log.info("card %s of order %s in chat %s cannot be edited, left as it is: %s",
                     message_id, order_id, chat_id, exc)
    return True


async def post_review_card(bot: Bot, rt: Runtime, listing_id: int) -> None:
    """Post the listing's review card on its center's desk, or edit it in place where it is."""
    card = await reviews.review_card(rt.store, listing_id)
    if card is None:
        return
    for desk in await desks.center_destinations(rt.store, card.listing.center_id):
        with to_desk(desk.chat_id):
            await _post_review_card_to(bot, rt, card, desk)


async def _post_review_card_to(bot: Bot, rt: Runtime, card: reviews.ReviewCard, desk: desks.Destination) -> None:
    listing_id, photo = card.listing.id, card.listing.photo
    t = translator(desk.locale or rt.default_locale)
    text, markup = review_card_text(t, card), review_keyboard(t, card.listing)
    message_id = card.cards.get(desk.chat_id)
    if message_id is not None:
        try:
            await _edit_review_card(bot, desk.chat_id, message_id, text, markup, as_caption=bool(photo))
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            log.info("review card %s of listing %s cannot be edited (%s); posting it again",
                     message_id, listing_id, exc)
    sent = await send_card(bot, desk.chat_id, text, markup, photo)
    await reviews.record_card(rt.store, listing_id, desk.chat_id, sent.message_id)


async def edit_review_cards(bot: Bot, rt: Runtime, listing_id: int) -> bool:
    """Edit the listing's review cards where they were posted, as the store has it now (e.g.
    after its seller or reviewer used /forget). Like ``edit_cards``, never posts one."""
    card = await reviews.review_card(rt.store, listing_id)
    if card is None or not card.cards:
        return False
    by_chat = {desk.chat_id: desk for desk in await desks.center_destinations(rt.store, card.listing.center_id)}
    for chat_id, message_id in card.cards.items():
        desk = by_chat.get(chat_id)
        t = translator((desk.locale if desk else None) or rt.default_locale)
        try:
            with to_desk(chat_id):
                await _edit_review_card(bot, chat_id, message_id, review_card_text(t, card),
                                        review_keyboard(t, card.listing), as_caption=bool(card.listing.photo))
        except (BadRequest, Forbidden) as exc:
            if "not modified" not in str(exc).lower():
                log.info("review card %s of listing %s in chat %s cannot be edited, left as it is: %s",
                         message_id, listing_id, chat_id, exc)
    return True


async def _edit_review_card(bot: Bot, chat_id: int, message_id: int, text: str,
                            markup: InlineKeyboardMarkup | None, *, as_caption: bool) -> None:
    """A card posted with a photo has a caption, one without has a text; a card whose photo the
    store no longer has (its seller used /forget) is still a photo message: its caption is edited."""
    try:
        if as_caption:
            await bot.edit_message_caption(chat_id, message_id, caption=text, parse_mode=ParseMode.HTML,
                                           reply_markup=markup)
        else:
            await bot.edit_message_text(text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "there is no text in the message" not in str(exc).lower():
            raise
        await bot.edit_message_caption(chat_id, message_id, caption=text, parse_mode=ParseMode.HTML,
                                       reply_markup=markup)


async def send_card(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None,
                    photo: str | None) -> Message:
    """A card with its photo as a caption, or as text if the photo cannot be sent (a file
    Telegram no longer has)."""
    if photo:
        try:
            return await bot.send_photo(chat_id, photo, caption=text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            log.warning("photo %r could not be sent, posting the card as text: %s", photo, exc)
    return await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def post_center_card(bot: Bot, rt: Runtime, kind: DecisionCard, subject_id: int) -> bool:
    """Post the card of ``kind`` (a problem's, a service request's, a review's) about ``subject_id``
    on its center's desks where it is not yet, and edit it where it is; False if it is gone, or the
    center has no desk."""
    card = await kind.view(rt.store, subject_id)
    if card is None:
        return False
    center_id = kind.deciding_center(card)

    async def record(chat_id: int, message_id: int) -> None:
        await kind.record(rt.store, kind.subject(card), chat_id, message_id)

    return await on_center_desks(bot, rt, center_id, card.cards,
                                 lambda t: (kind.text(t, card), kind.keyboard(t, card, center_id)), record,
                                 kind.photo(card))


async def on_center_desks(bot: Bot, rt: Runtime, center_id: int, posted: dict[int, int], render, record,
                          photo: str | None = None) -> bool:
    """A card of ``center_id`` (a problem's, a service request's, a review's) on each of its desks
    (``desks.center_destinations``): edited in place where it was posted (``posted``: chat id ->
    message id), else posted there (with ``photo`` as a caption if given) and ``record``ed as
    ``record(chat_id, message_id)``. ``render(t)`` is its text and buttons in the desk's
    language. False: the center has no desk to post it on."""
    destinations = await desks.center_destinations(rt.store, center_id)
    for desk in destinations:
        t = translator(desk.locale or rt.default_locale)
        text, markup = render(t)
        with to_desk(desk.chat_id):
            message_id = posted.get(desk.chat_id)
            if message_id is not None and await edited_in_place(bot, desk.chat_id, message_id, text, markup, photo):
                continue
            sent = await send_card(bot, desk.chat_id, text, markup, photo)
            await record(desk.chat_id, sent.message_id)
    return bool(destinations)


async def edited_in_place(bot: Bot, chat_id: int, message_id: int, text: str, markup, photo: str | None) -> bool:
    """Edit a card in place (its caption, if it was posted with its photo); False if it is gone."""
    try:
        if photo:
            try:
                await bot.edit_message_caption(chat_id, message_id, caption=text, parse_mode=ParseMode.HTML,
                                               reply_markup=markup)
            except BadRequest as exc:  # the photo could not be sent, so the card was posted as text
                if "no caption" not in str(exc).lower() and "no text" not in str(exc).lower():
                    raise
                await bot.edit_message_text(text, chat_id, message_id, parse_mode=ParseMode.HTML,
                                            reply_markup=markup)
        else:
            await bot.edit_message_text(text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return True
        log.info("card %s in chat %s cannot be edited (%s); posting it again", message_id, chat_id, exc)
        return False
    except Forbidden as exc:
        log.info("card %s in chat %s cannot be edited: %s", message_id, chat_id, exc)
        return True
    return True
