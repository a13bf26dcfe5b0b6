"""A town buyer's world for the tests: the seller's center's delivery prices, apples for sale, the
way to delivery, and the reservation's 15 minutes passing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from chat import center_id, labels
from store.models import County, DeliveryPrice, Listing, Order, ServiceCenter
from support.produce import a_seller, list_produce

XIAN = "陕西省西安市雁塔区科技路 10 号"


async def priced(bot, code: str = "CG-01") -> None:
    """Shangyuan (CG-01, Chenggu, 陕西省) delivers up to 5 kg: ¥6 in the county, ¥12 in the
    province; nowhere else."""
    center = await center_id(bot.store, code)
    async with bot.store.write() as session:
        county = await session.scalar(select(ServiceCenter.county_id).where(ServiceCenter.id == center))
        await session.execute(update(County).where(County.id == county).values(province="陕西省"))
        session.add_all([DeliveryPrice(center_id=center, zone=zone, up_to_grams=5000, price_fen=fen,
                                       updated_at=bot.clock.now()) for zone, fen in (("county", 600),
                                                                                     ("province", 1200))])


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
