"""The demo's delivery prices: every center starts with the default table
(catalog/data/delivery_prices.csv), which the demo's admin reads and changes with /delivery, and a
restart keeps what the admin changed."""

from __future__ import annotations

from sqlalchemy import func, select

from store.models import DeliveryPrice
from support.demo_web import ADMIN, running


async def test_every_demo_center_has_a_delivery_table_and_a_restart_keeps_a_change(tmp_path):
    folder = tmp_path / "demo"
    async with running(folder) as (demo, web):
        async with demo.store.read() as session:
            assert await session.scalar(select(func.count(DeliveryPrice.id))) == 6 * len(demo.web.world.centers)
        await web.send(ADMIN, "/delivery CG-01")
        table = await web.bot_text(ADMIN, r"Delivery prices · .*\(CG-01\)")
        assert "Same county\n• up to 5 kg: ¥6.00\n• up to 20 kg: ¥15.00" in table
        assert "Elsewhere\n• up to 5 kg: ¥18.00\n• up to 20 kg: ¥45.00" in table
        await web.send(ADMIN, "/delivery CG-01 county 5 7")
        await web.bot_text(ADMIN, r"¥6.00 → ¥7.00")

    async with running(folder) as (again, _):
        async with again.store.read() as session:
            assert await session.scalar(select(func.count(DeliveryPrice.id))) == 6 * len(again.web.world.centers)
            assert await session.scalar(select(DeliveryPrice.price_fen).where(
                DeliveryPrice.zone == "county", DeliveryPrice.up_to_grams == 5000,
                DeliveryPrice.updated_by == ADMIN)) == 700
