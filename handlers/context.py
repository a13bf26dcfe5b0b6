"""What every handler needs, resolved once per update before any handler runs.

``resolve_person`` (a TypeHandler in group -1) registers or finds the person behind the update
and picks their language; handlers then read ``context.villager`` and ``context.t``. This mirrors
aiogram's middlewares: handlers never fetch the user or the locale themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from telegram import Bot, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest, ChatMigrated, NetworkError, RetryAfter
from telegram.ext import Application, CallbackContext, ExtBot

from locales import N_, Translator, locale_for_language_code, translator
from services import villagers
from services.caps import CAPS, Caps
from services.cart import MAX_CART_LINES, DoubleTaps
from services.clock import Clock
from services.market import MarketSearch
from services.reminders import RETURN_AFTER, QuietHours
from services.search import CatalogSearch
from services.villagers import VillagerView
from store.db import Store, is_unavailable

log = logging.getLogger(__name__)


class Wakes(Protocol):
    """What the runtime needs of a pump: to be woken. bot/app.py installs the real ones (bot/pump.py,
    bot/broadcast_pump.py); handlers never import bot/, the layer above them."""

    def kick(self) -> None: ...


@dataclass
class Runtime:
    """The services' dependencies, shared by all handlers of one application."""

    store: Store
    clock: Clock
    search: CatalogSearch
    market: MarketSearch
    default_locale: str = "zh_Hans"
    timezone: str = "Asia/Shanghai"
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    cart_max_lines: int = MAX_CART_LINES
    caps: Caps = CAPS
    double_taps: DoubleTaps = field(default_factory=DoubleTaps)  # "add to cart" tapped twice adds once
    pump: Wakes | None = None  # the outbox pump, set by bot.pump.install
    promotions: Wakes | None = None  # the promotions pump, set by bot.broadcast_pump.install
    return_after: timedelta = RETURN_AFTER  # RETURN_AFTER_DAYS: a parcel not picked up goes on the desk's list to send back
    # PAYMENT_PROVIDER_TOKEN: town buyers pay online (Telegram Payments); None: cash on delivery.
    payment_token: str | None = None

    def kick_promotions(self) -> None:
        """A promotion was confirmed or cancelled: start or stop sending it now."""
        if self.promotions is not None:
            self.promotions.kick()

    def kick(self) -> None:
        """Something was queued in the outbox: send it now rather than at the next wake-up."""
        if self.pump is not None:
            self.pump.kick()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RuralContext(CallbackContext[ExtBot, dict, dict, dict]):
    """PTB's context plus the person and their translator, set by ``resolve_person``."""

    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None):
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.villager: VillagerView | None = None
        # Whose cart the browse, cart and checkout screens work on: the villager themselves, or,
        # while a partner orders for a villager without a phone (/orderfor), that villager.
        self.shopper: VillagerView | None = None
        self.answered = False  # whether this update's callback query has been answered
        self.t: Translator = translator(runtime_of(application).default_locale)

    @property
    def rt(self) -> Runtime:
        return runtime_of(self.application)

    def desk_t(self, locale: str | None) -> Translator:
        """An order desk reads the language of whoever bound it, else the default language."""
        return translator(locale or self.rt.default_locale)

    @property
    def assisting(self) -> bool:
        return self.shopper is not None and self.villager is not None and self.shopper.id != self.villager.id


def runtime_of(application: Application) -> Runtime:
    return application.bot_data["runtime"]


async def resolve_person(update: Update, context: RuralContext) -> None:
    user = update.effective_user
    if user is None or user.is_bot:
        return
    rt = context.rt
    guess = locale_for_language_code(user.language_code, rt.default_locale)
    if answered_without_writing(update):
        context.t = translator(guess)
        return
    villager = await villagers.enter(
        rt.store, rt.clock, telegram_id=user.id, first_name=user.first_name or "",
        username=user.username, locale=guess,
    )
    context.villager = villager
    context.shopper = villager
    if villager.acting_for_id is not None:
        context.shopper = await villagers.get(rt.store, villager.acting_for_id) or villager
    context.t = translator(villager.locale or guess)


def answered_without_writing(update: Update) -> bool:
    """An inline query (anyone typing ``@bot words`` in any chat, at every keystroke), or what they
    chose from it: answered from what the store holds, without registering the person or claiming
    the update (bot/app.py), so that it costs no write."""
    return update.inline_query is not None or update.chosen_inline_result is not None


async def say_unavailable(bot: Bot, update: Update, default_locale: str) -> None:
    """The database is down: tell the person to try again soon, in their language (guessed from
    Telegram's language code; their stored choice cannot be read now). Best effort: Telegram may
    be unreachable too, and then the failure is only logged."""
    user = update.effective_user
    t = translator(locale_for_language_code(user.language_code if user else None, default_locale))
    text = t("⏳ The service is temporarily unavailable. Please try again in a minute.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.pre_checkout_query is not None or update.shipping_query is not None:  # the payment sheet waits
            await (update.pre_checkout_query or update.shipping_query).answer(ok=False, error_message=text)
        elif update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
            await bot.send_message(update.effective_chat.id, text)
    except Exception as exc:
        log.warning("could not say the service is unavailable: %s", exc)


async def on_error(update: object, context: RuralContext) -> None:
    """A bug, not bad input (bad input is answered where it arrives): log it, apologise. An
    unreachable database is not a bug: the person is asked to try again in a minute."""
    if is_unavailable(context.error):
        log.warning("the database is unavailable: %s", type(context.error).__name__)
        if isinstance(update, Update):
            await say_unavailable(context.bot, update, context.rt.default_locale)
        return
    if isinstance(context.error, ChatMigrated):  # handlers.supergroup moves the desk
        log.info("reply dropped: %s", context.error)
        return
    if isinstance(context.error, BadRequest):  # a NetworkError in PTB, but the bot's own mistake
        # Telegram's description names the rule (too long, a bad button); the text is not logged,
        # as it may hold what people wrote.
        log.error("Telegram refused what the bot sent: %s", context.error.message)
        await apologise(update, context, N_("😔 Sorry, that could not be shown. Please try again, or send /start."))
        return
    if isinstance(context.error, (NetworkError, RetryAfter)):  # includes timeouts and Telegram's 5xx
        # The reply to this person's own action is dropped; they tap again. Messages that matter
        # (order news, reminders, promotions) go through the outbox, which retries them.
        log.warning("reply dropped: Telegram failed: %s", context.error)
        return
    log.error("unhandled error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        await apologise(update, context, N_("😔 Sorry, something went wrong. Please try again."))


async def person_t(update: Update, context: RuralContext) -> Translator:
    """The person's translator (the error handler's context was made afresh, without it)."""
    user = update.effective_user
    if user is None:
        return context.t
    return await translator_of(context.rt, user)


async def translator_of(rt: Runtime, user: User) -> Translator:
    """``user``'s translator: their stored language, else the one Telegram gives for them."""
    guess = locale_for_language_code(user.language_code, rt.default_locale)
    villager = await villagers.by_telegram_id(rt.store, user.id)
    return translator((villager.locale if villager else None) or guess)


async def ask_to_slow_down(bot: Bot, update: Update, rt: Runtime, warn: bool) -> None:
    """The person went past ``USER_RATE`` and this update is not handled. ``warn`` (once a
    minute): tell them to slow down, as a tap's alert or a message in the chat they wrote in;
    otherwise say nothing, except that a tap is answered (empty) so that its button stops
    spinning. Best effort, like every reply to a person's own action."""
    query = update.callback_query
    try:
        if not warn:
            if query is not None:
                await query.answer()
            return
        user = update.effective_user
        try:
            t = await translator_of(rt, user)
        except Exception as exc:  # noqa: BLE001 - the stored language is a nicety; Telegram's will do
            log.warning("could not read a language for the slow-down: %s", type(exc).__name__)
            t = translator(locale_for_language_code(user.language_code, rt.default_locale))
        text = t("🐢 You are sending faster than I can answer. Please wait a minute, then go on.")
        if query is not None:
            await query.answer(text, show_alert=True)
        elif update.effective_chat is not None:
            await bot.send_message(update.effective_chat.id, text)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not answer an update past the rate limit: %s", exc)


async def apologise(update: object, context: RuralContext, text: str) -> None:
    """Tell the person, in the chat and their language (``text`` is a msgid), that their action
    failed (a tap was already answered by ``on_tap``). Best effort: the error is already logged,
    and a failed apology is not apologised for."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await context.bot.send_message(update.effective_chat.id, (await person_t(update, context))(text))
    except Exception as exc:  # noqa: BLE001
        log.warning("could not send the apology: %s", exc)
