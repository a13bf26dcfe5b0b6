"""A town buyer's journey for the tests, through the bot: the seller's center's delivery prices,
apples for sale, the way to delivery, and the reservation's 15 minutes passing. (support.town
makes delivery orders through the services, for the desk's and /track's tests.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from chat import labels
from store.models import Listing, Order
from support.produce import a_seller, list_produce
from support.town import prices

XIAN = "陕西省西安市雁塔区科技路 10 号"


async def priced(bot, code: str = "CG-01") -> None:
    """Shangyuan (CG-01, Chenggu, 陕西省) delivers up to 5 kg: ¥6 in the county, ¥12 in the
    province; nowhere else (support.town.prices)."""
    await prices(bot.store, bot.clock, code)


async def apples(bot, quantity_milli: int = 10_000) -> int:
    """Li Ming of Shangyuan sells 红富士苹果 at ¥6.00 a jin."""
    _, seller_id = await a_seller(bot)
    return await list_produce(bot.store, bot.clock, seller_id, "红富士苹果", quantity_milli=quantity_milli,
                              price_fen=600)


async def left(bot, listing_id: int) -> int:
    async with bot.store.read() as session:
        return await session.scalar(select(Listing.left_milli).where(Listing.id == listing_id))


async def latest_order(bot) -> Order:
    async with bot.store.read() as session:
        return await session.scalar(select(Order).order_by(Order.id.desc()))


async def lapse(bot) -> None:
    """Sixteen minutes later, the scheduler's sweep runs and its notices go out."""
    bot.clock.advance(timedelta(minutes=16))
    await bot.app.job_queue.get_jobs_by_name("lapse reservations")[0].run(bot.app)
    await bot.pump()


async def to_delivery(buyer, listing_id: int, amount: str = "2 jin") -> None:
    """The buyer opens the shared link, orders ``amount`` and chooses delivery."""
    await buyer.send(f"/start l-{listing_id}")
    await buyer.tap("🛒 Order")
    await buyer.tap(amount)
    assert labels(buyer.chat.last_bot_message()) == ["🚚 Deliver to my address", "📍 Pick up at a service center",
                                                     "⬅️ Back"]
    await buyer.tap("🚚 Deliver to my address")
