"""A tiny PTB shop bot that sells with Telegram Payments, for the tests of the Bot API double's
payments (tests/runtime) and of the web chat's payment sheet (tests/browser): /buy sends a flexible
invoice; a shipping address in 陕西省 gets two delivery options, any other is refused; the
pre-checkout is answered yes, no (``bot_data["mode"] = "refuse"``) or never ("silent"); a
successful payment is thanked for. What it was sent is kept in ``bot_data``."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, ShippingOption, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PreCheckoutQueryHandler,
    ShippingQueryHandler,
    filters,
)

from bot.sandbox.botapi import BotApiDouble

TOKEN = "123456:TEST-token-aaaaaaaaaaaaaaaaaaaaaaaa"
PROVIDER = "284685063:TEST:pretend"
GOODS = [LabeledPrice("苹果 5 斤", 2500)]
OPTIONS = {"county": 600, "province": 1200}
NO_DELIVERY = "We do not deliver there"
SOLD_OUT = "The last apples were just sold"


async def _buy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_invoice(
        "Apples", "5 jin of Fuji apples from 石门村", f"o:{update.message.message_id}:tok", "CNY", GOODS,
        provider_token=PROVIDER, need_name=True, need_phone_number=True, need_shipping_address=True,
        is_flexible=True,
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("💳 Pay ¥25.00", pay=True)]]))


async def _shipping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.shipping_query
    context.bot_data.setdefault("shipping", []).append(query)
    if context.bot_data.get("mode") == "no options":
        try:
            await query.answer(ok=True, shipping_options=[])
        except BadRequest as err:
            context.bot_data.setdefault("refused_answers", []).append(err.message)
    if query.shipping_address.state != "陕西省":
        await query.answer(ok=False, error_message=NO_DELIVERY)
        return
    await query.answer(ok=True, shipping_options=[
        ShippingOption(zone, f"📦 Delivery to {zone}", [LabeledPrice("Delivery", fen)])
        for zone, fen in OPTIONS.items()])


async def _pre_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.pre_checkout_query
    context.bot_data.setdefault("pre_checkout", []).append(query)
    mode = context.bot_data.get("mode", "ok")
    if mode == "silent":
        return
    try:
        if mode == "refuse":
            await query.answer(ok=False, error_message=SOLD_OUT)
        else:
            await query.answer(ok=True)
    except BadRequest as err:
        context.bot_data.setdefault("refused_answers", []).append(err.message)


async def _paid(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    payment = update.message.successful_payment
    context.bot_data.setdefault("paid", []).append((update.update_id, payment))
    await update.message.reply_text(f"Paid ¥{payment.total_amount / 100:.2f}, thank you!")


async def _record_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    context.bot_data.setdefault("errors", []).append(context.error)


def shop_application(double: BotApiDouble) -> Application:
    application = (ApplicationBuilder().token(TOKEN).base_url(double.base_url)
                   .base_file_url(double.base_file_url).build())
    application.add_handler(CommandHandler("buy", _buy))
    application.add_handler(ShippingQueryHandler(_shipping))
    application.add_handler(PreCheckoutQueryHandler(_pre_checkout))
    application.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, _paid))
    application.add_error_handler(_record_error)
    return application


@contextlib.asynccontextmanager
async def running_shop(double: BotApiDouble):
    """The shop bot polling ``double`` (started); people's actions return once it handled them."""
    application = shop_application(double)
    double.settle = lambda: application.update_queue.join()
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    assert application.bot_data.get("errors", []) == []


class ShopInThread:
    """The double, the shop bot and ``serve(double)`` (an async function returning something with
    ``url`` and ``stop()``, such as a web chat) in an event loop of their own thread, for a test
    that drives them from outside (a browser)."""

    def __init__(self, serve):
        self.serve, self.url = serve, ""
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)
        self.thread.start()
        if not self._ready.wait(30) or self.failure is not None:
            raise AssertionError(f"the shop did not start: {self.failure!r}")

    async def _main(self) -> None:
        try:
            self._stop = asyncio.Event()
            double = BotApiDouble()
            double.chat_limits = False
            await double.start()
            async with running_shop(double) as application:
                self.double, self.application = double, application
                server = await self.serve(double)
                self.url = server.url
                self._ready.set()
                await self._stop.wait()
                await server.stop()
            await double.stop()
        except Exception as exc:  # noqa: BLE001 - told to the test by __init__ or close
            self.failure = exc
            self._ready.set()

    def close(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)
        if self.failure is not None:
            raise AssertionError(f"the shop failed: {self.failure!r}") from self.failure
