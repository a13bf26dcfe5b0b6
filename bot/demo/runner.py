"""``rural-bot demo``: the whole bot offline, with no token and no database server.

It keeps a SQLite store under ``./var/demo/``, fills it with the demo catalog, counties and
centers, makes a partner for every center with the center's group bound as its order desk, and
registers the people a visitor can play: two villagers from different villages, the first
center's partner, a bystander in that partner's group, and an admin. A few neighbours' produce
is already on the market. Then it starts the Bot API
double, runs the real bot against it by long polling, and serves the web chat.
"""

from __future__ import annotations

import contextlib
import logging
from html import escape
from pathlib import Path

from sqlalchemy import func, or_, select

from bot.app import build_application
from bot.config import Settings, SettingsError
from bot.demo.webchat import WebChat
from bot.demo.world import FEATURED, DemoWorld, Role, group_id
from bot.runner import start_polling, stop_polling, wait_for_stop_signal
from bot.sandbox import BotApiDouble
from catalog.importer import import_products
from locales import localized, translator
from services import centers, delivery_words, partners, updates, villagers
from services.amounts import MILLI
from services.centers import import_centers
from services.clock import OffsetClock
from services.produce import Status
from store.backup import running_lock
from store.db import Store
from store.models import Category, Listing, ListingCard, OrderCard, Product, Villager

log = logging.getLogger(__name__)
DATA = Path(__file__).resolve().parents[2] / "catalog" / "data"
DEMO_TOKEN = "7000000001:DEMO-offline-sandbox-token"
# Town buyers pay online in the demo: the double's payment sheet takes a pretend card, no money moves.
DEMO_PROVIDER_TOKEN = "284685063:TEST:rural-demo-sandbox"
ADMIN = partners.Actor(0, "rural-bot demo", is_admin=True)  # who sets the demo up
# The other centers' partners: Chinese given names, one per center after the first.
PARTNER_NAMES = ("李强", "陈静", "刘洋", "杨帆", "黄丽", "赵军", "吴敏", "周杰", "徐娜", "孙磊", "马超", "朱琳",
                 "胡斌", "郭燕", "何平", "高峰", "林涛", "罗霞", "梁勇")


async def load_data(store: Store, clock: OffsetClock) -> None:
    """The demo catalog, counties and centers, and every center's default delivery prices (an
    upsert: a second run changes nothing, and keeps the prices someone changed)."""
    for report in (await import_centers(store, (DATA / "centers.csv").read_bytes()),
                   await import_products(store, clock.now(), (DATA / "products.csv").read_bytes()),
                   await delivery_words.give_default_tables(store, clock,
                                                             (DATA / "delivery_prices.csv").read_bytes())):
        if not report.ok:
            raise RuntimeError(f"the demo data does not import: {report.errors[:3]}")


def product_picture(name: str, category_label: str, hue: int) -> bytes:
    """A drawn stand-in for a product photo: the category's emoji and the product's name."""
    emoji = category_label.split(" ", 1)[0] if " " in category_label else "📦"
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400" viewBox="0 0 640 400">'
           f'<rect width="640" height="400" fill="hsl({hue},55%,90%)"/>'
           f'<circle cx="320" cy="165" r="110" fill="hsl({hue},50%,80%)"/>'
           f'<text x="320" y="205" font-size="120" text-anchor="middle">{escape(emoji)}</text>'
           f'<text x="320" y="345" font-size="38" font-family="sans-serif" text-anchor="middle" '
           f'fill="hsl({hue},40%,25%)">{escape(name)}</text></svg>')
    return svg.encode()


async def picture_products(store: Store, double: BotApiDouble) -> int:
    """Give every product without a photo a drawn picture, kept by the double under a fixed file id
    (the catalog has no photos, and the demo has no internet to fetch them from)."""
    t = translator("zh_Hans")
    async with store.write() as session:
        rows = (await session.execute(
            select(Product, Category.code).join(Category).where(or_(Product.photo.is_(None), Product.photo == ""))
        )).all()
        codes = sorted({code for _, code in rows})
        for product, code in rows:
            file_id = f"demo-photo-{product.sku}"
            picture = product_picture(localized(product.names, "zh"), t(f"category:{code}"),
                                      hue=codes.index(code) * 360 // max(len(codes), 1))
            double.store_file("photo", picture, f"{product.sku}.svg", "image/svg+xml", file_id=file_id)
            product.photo = file_id
    return len(rows)


async def build_world(store: Store, clock: OffsetClock, double: BotApiDouble) -> DemoWorld:
    """Register the demo's people in the store and in the double; bind every center's group."""
    world = DemoWorld(double)
    for county in await centers.list_counties(store):
        world.centers.extend(await centers.list_centers(store, county.id))
    world.centers.sort(key=lambda c: c.code)
    if not world.centers:
        raise RuntimeError("the demo data has no service centers")
    world.roles = list(FEATURED)
    for index in range(1, len(world.centers)):
        name = PARTNER_NAMES[(index - 1) % len(PARTNER_NAMES)]
        world.roles.append(Role(2001 + index, name, "partner", "zh-hans", index,
                                f"+86138000{2001 + index:05d}", featured=False))

    # The double forgets its chats when the demo stops, but the store remembers where the order cards
    # were. As on Telegram, a chat's message ids must never repeat, or the bot would edit a new message
    # for an old card: each run numbers its messages after the last id the store knows.
    async with store.read() as session:
        first_message_id = max(await session.scalar(select(func.max(OrderCard.message_id))) or 0,
                               await session.scalar(select(func.max(ListingCard.message_id))) or 0) + 1
    for index, center in enumerate(world.centers):
        group = double.group(group_id(index), f"{localized(center.names, 'zh')} · 订单台")
        group.bot_status = "member"
        group.first_message_id = first_message_id
        world.groups[index] = group
    for role in world.roles:
        person = world.person(role)
        person.chat.first_message_id = first_message_id
        center = world.center_of(role)
        villager = await villagers.enter(store, clock, telegram_id=role.telegram_id, first_name=role.first_name,
                                         username=None, locale=role.locale)
        if villager.center_id is None and role.role != "buyer":  # a town buyer needs no center
            await villagers.set_center(store, villager.id, center.id)
        if role.role in ("partner", "bystander"):
            world.groups[role.center_index].add_member(person)
        if role.role == "partner":
            await partners.add_partner(store, clock, ADMIN, center.code, role.telegram_id)
            await partners.bind_group(store, ADMIN, center.code, group_id(role.center_index), locale=role.locale)
    return world


# Produce already on the demo market: (center index, seller, title, category, unit, quantity, price in fen,
# note). The first is 王芳's, so a visitor playing her sees it in /mylistings; the others are neighbours
# without Telegram.
MARKET = (
    (0, None, "红富士苹果", "fruit", "jin", 200, 450, "自家果园，现摘现发"),
    (2, "刘大爷", "土鸡蛋", "eggs_poultry", "piece", 300, 120, "散养土鸡，每天新鲜"),
    (4, "张兰", "秦岭土蜂蜜", "honey", "jin", 50, 6800, "山里的百花蜜"),
    (1, "王伯", "Green tea (Longjing style)", "tea", "kg", 12, 16000, "Picked in April"),
)


async def seed_market(store: Store, clock: OffsetClock, double: BotApiDouble, world: DemoWorld) -> int:
    """Put a few approved listings on the market, each with a drawn picture, the first time the
    demo runs (an empty market shows nothing to try)."""
    async with store.read() as session:
        if await session.scalar(select(func.count(Listing.id))):
            return 0
    now = clock.now()
    wang = next(role for role in FEATURED if role.role == "villager")
    async with store.write() as session:
        for number, (index, name, title, category, unit, quantity, price, note) in enumerate(MARKET):
            center = world.centers[index % len(world.centers)]
            if name is None:
                seller_id = await session.scalar(select(Villager.id).where(Villager.telegram_id == wang.telegram_id))
            else:
                seller = Villager(telegram_id=None, first_name=name, center_id=center.id, created_at=now,
                                  last_seen_at=now)
                session.add(seller)
                await session.flush()
                seller_id = seller.id
            file_id = draw_produce(double, number + 1, title, category)
            session.add(Listing(seller_id=seller_id, center_id=center.id, status=Status.APPROVED, step=None,
                                previewed=True, title=title, category=category, photo=file_id, unit=unit,
                                left_milli=quantity * MILLI, price_fen=price, available_from=now.date(), note=note,
                                reject_reason="", created_at=now, updated_at=now, approved_at=now))
    return len(MARKET)


async def picture_market(store: Store, double: BotApiDouble) -> None:
    """The double forgets its files when the demo stops: draw the seeded listings' pictures again."""
    async with store.read() as session:
        rows = (await session.execute(select(Listing.photo, Listing.title, Listing.category)
                                      .where(Listing.photo.like("demo-produce-%")))).all()
    for file_id, title, category in rows:
        draw_produce(double, int(file_id.rsplit("-", 1)[1]), title, category)


def draw_produce(double: BotApiDouble, number: int, title: str, category: str) -> str:
    """The picture of the demo market's listing ``number``, kept by the double; its file id."""
    file_id = f"demo-produce-{number}"
    picture = product_picture(title, translator("zh_Hans")(f"produce_category:{category}"), hue=(number - 1) * 90)
    double.store_file("photo", picture, f"produce-{number}.svg", "image/svg+xml", file_id=file_id)
    return file_id


def demo_settings(database_url: str, double: BotApiDouble) -> Settings:
    admins = frozenset(r.telegram_id for r in FEATURED if r.role == "admin")
    return Settings(bot_token=DEMO_TOKEN, database_url=database_url, telegram_base_url=double.base_url,
                    admin_ids=admins, payment_provider_token=DEMO_PROVIDER_TOKEN)


class Demo:
    """Everything ``rural-bot demo`` runs, started and stopped as one."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 8080, reset: bool = False):
        self.folder, self.host, self.port, self.reset = folder, host, port, reset
        self.clock = OffsetClock()
        self.double = BotApiDouble(bot_id=int(DEMO_TOKEN.split(":")[0]), bot_username="rural_demo_bot",
                                   bot_first_name="乡村小店 Rural Bot", clock=self.clock)
        self.store: Store | None = None
        self.app = None
        self.web: WebChat | None = None
        self._lock = contextlib.ExitStack()

    @property
    def url(self) -> str:
        return self.web.url if self.web else ""

    async def start(self) -> None:
        database = self.folder / "demo.sqlite3"
        self._lock.enter_context(running_lock(database, doing="start the demo"))
        if self.reset:
            for suffix in ("", "-wal", "-shm"):
                database.with_name(database.name + suffix).unlink(missing_ok=True)
        database_url = f"sqlite+aiosqlite:///{database}"
        self.store = Store(database_url)
        await self.store.upgrade()
        await load_data(self.store, self.clock)
        await self.double.start()
        self.double.continue_updates_after(await updates.last_taken(self.store))
        await picture_products(self.store, self.double)
        world = await build_world(self.store, self.clock, self.double)
        if not await seed_market(self.store, self.clock, self.double, world):
            await picture_market(self.store, self.double)
        # The per-person rate limit follows people's time, as the stand-in for Telegram's limits does.
        self.app = build_application(demo_settings(database_url, self.double), self.store, self.clock,
                                     pace=self.double.pace_time)
        await start_polling(self.app, poll_timeout=5)
        runtime = self.app.bot_data["runtime"]
        self.web = WebChat(self.double, world, self.clock, wake=runtime.kick)
        try:
            await self.web.start(self.host, self.port)
        except OSError as exc:
            raise SettingsError(f"the web chat cannot listen on {self.host}:{self.port}: {exc.strerror or exc}. "
                                "Is another demo running? Try --port 8081") from None

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
        if self.app is not None:
            await stop_polling(self.app)
        await self.double.stop()
        if self.store is not None:
            await self.store.close()
        self._lock.close()


async def run_demo(folder: Path, host: str, port: int, reset: bool) -> int:
    demo = Demo(folder, host, port, reset)
    try:
        await demo.start()
        print(f"The demo is running: open {demo.url} in your browser. Press Ctrl-C to stop.", flush=True)
        await wait_for_stop_signal()
    finally:
        await demo.stop()
    print("The demo has stopped.", flush=True)
    return 0
