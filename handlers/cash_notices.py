"""What the outbox sends for the cash book (``Kind.CASH``), each in its reader's language:

    payout             to the seller: their partner paid them
    handover           to one of the county's staff (or an admin): the card to confirm a handover
    handover_decided   to the desk (else the partner who recorded it): the county's word
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.constants import ParseMode

from handlers.card_posts import to_desk
from handlers.context import Runtime
from handlers.handovers import handover_card
from handlers.ui import esc, money, name_in
from locales import Translator, translator
from services import centers, desks, handovers, partners, villagers
from services.handovers import CONFIRMED
from services.outbox import Claimed

log = logging.getLogger(__name__)


async def reader_t(rt: Runtime, telegram_id: int) -> Translator:
    person = await villagers.by_telegram_id(rt.store, telegram_id)
    return translator((person.locale if person else None) or rt.default_locale)


async def send_payout(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    person = await desks.recipient(rt.store, row.villager_id)
    center = await centers.get_center(rt.store, row.center_id)
    if person is None or not person.reachable or center is None:
        return False
    t = translator(person.locale or rt.default_locale)
    await bot.send_message(person.telegram_id, t(
        "💸 {center} paid you <b>{amount}</b> in cash for your produce.", center=esc(name_in(center.names, t)),
        amount=money(row.payload["amount_fen"])), parse_mode=ParseMode.HTML)
    return True


async def send_handover(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    h = await handovers.get(rt.store, row.payload["handover_id"])
    if h is None:
        return False
    to = row.payload["to"]
    text, markup = handover_card(await reader_t(rt, to), h)
    await bot.send_message(to, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    return True


async def send_decided(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    h = await handovers.get(rt.store, row.payload["handover_id"])
    if h is None:
        return False
    desk = await partners.desk_of_center(rt.store, h.center_id)
    chat_id = desk.group_chat_id if desk and desk.group_chat_id else h.by_telegram_id
    t = translator(desk.locale or rt.default_locale) if desk and desk.group_chat_id else \
        await reader_t(rt, h.by_telegram_id)
    if h.status == CONFIRMED:
        text = t("✅ The county confirmed the handover of {amount} from {name} ({code}).", amount=money(h.amount_fen),
                 name=esc(h.by_name), code=esc(h.code))
    else:
        text = t("⚠️ The county says the handover of {amount} from {name} ({code}) did not reach them. The cash "
                 "is back on hand in the cash book; please settle it with the county staff.",
                 amount=money(h.amount_fen), name=esc(h.by_name), code=esc(h.code))
    with to_desk(chat_id):
        await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    return True


async def send_cash(bot: Bot, rt: Runtime, row: Claimed) -> bool:
    event = row.payload.get("event")
    if event == "payout":
        return await send_payout(bot, rt, row)
    if event == "handover":
        return await send_handover(bot, rt, row)
    if event == "handover_decided":
        return await send_decided(bot, rt, row)
    log.warning("unknown cash event %r", event)
    return False
