"""Paying online by webhook (``rural-bot webhook`` in this process, PostgreSQL through a proxy that
can be cut): the payment sheet's questions and the successful payment come in as posted updates,
and while the database is away the sheet is still answered, with a no, within Telegram's time."""

from __future__ import annotations

from sqlalchemy import select

from chat import last_text
from services.clock import ManualClock
from store.models import Payment
from support.produce import list_produce, person
from support.tcpproxy import TcpProxy
from support.town import prices

PROVIDER_TOKEN = "284685063:TEST:webhook-double"
UNAVAILABLE = "⏳ The service is temporarily unavailable. Please try again in a minute."


async def test_a_town_buyer_pays_by_webhook_and_an_outage_is_answered_no(postgres_only, demo_store, telegram,
                                                                         webhook_bot):
    clock = ManualClock()
    await prices(demo_store, clock)
    seller = await person(demo_store, clock, 2001)
    listing = await list_produce(demo_store, clock, seller, "红富士苹果", quantity_milli=10_000, price_fen=600)
    url = demo_store.engine.url
    proxy = TcpProxy(url.host, url.port)
    await proxy.open()
    await webhook_bot(url.set(port=proxy.port).render_as_string(hide_password=False), telegram,
                      payment_provider_token=PROVIDER_TOKEN)
    buyer = telegram.person(3001, "Zhou", language_code="en")
    await buyer.send(f"/start l-{listing}")
    await buyer.tap("🛒 Order")
    await buyer.tap("2 jin")
    await buyer.tap("🚚 Deliver to my address")
    invoice = buyer.chat.last_bot_message()
    assert invoice.media.get("invoice")

    await proxy.close()
    away = await buyer.pay(invoice)
    assert (away.status, away.error_message) == ("shipping_refused", UNAVAILABLE)
    await proxy.open()
    sheet = telegram.payment_sheet(buyer, invoice)
    assert (await sheet.ship()).ok
    await proxy.close()  # away between the address and Pay: the pre-checkout is answered no
    late = await sheet.pay()
    assert (late.status, late.error_message) == ("refused", UNAVAILABLE)

    await proxy.open()
    paid = await buyer.pay(invoice)
    assert paid.status == "paid", paid
    assert last_text(buyer).startswith("✅ Paid, thank you!")
    async with demo_store.read() as session:
        assert [(p.kind, p.amount_fen) for p in (await session.scalars(select(Payment))).all()] == [
            ("payment", 1200 + 1200)]
    await proxy.close()  # the fixture's stop must not hang on a database that is away
    await proxy.open()
