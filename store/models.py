"""The schema. It changes only through Alembic migrations (store/migrations).

Money is integer fen. Times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime that comes back aware on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware time")
        # SQLite keeps no offset, so everything is stored as UTC.
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class County(Base):
    __tablename__ = "counties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    names: Mapped[dict] = mapped_column(JSON, default=dict)  # language -> name
    province: Mapped[str] = mapped_column(String(50), default="", server_default="")  # "陕西省": delivery zones

    centers: Mapped[list[ServiceCenter]] = relationship(back_populates="county")


class ServiceCenter(Base):
    __tablename__ = "service_centers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    opening_hours: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The center's group chat, its order desk (``/bind``); None: cards go to the partners privately.
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    desk_locale: Mapped[str | None] = mapped_column(String(16))  # the language of whoever bound it
    # The partner's fees, set by an admin: on each order picked up, a share of its total in basis
    # points (150 = 1.5%) plus a fixed amount; on each service, by kind ({"topup": 200}). Earnings
    # of the partner, never added to what a villager pays for an order.
    order_fee_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    order_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    service_fees: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")

    county: Mapped[County] = relationship(back_populates="centers")


class CountyStaff(Base):
    """Someone who supervises the centers of one county (``/staff add``): ships their parcels,
    confirms their cash handovers, reads their figures, and nothing beyond that county."""

    __tablename__ = "county_staff"
    __table_args__ = (UniqueConstraint("county_id", "telegram_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id", ondelete="CASCADE"), index=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryPrice(Base):
    """What a center charges to deliver a parcel of up to ``up_to_grams`` to a zone (same county,
    same province, elsewhere): a table by destination and weight band."""

    __tablename__ = "delivery_prices"
    __table_args__ = (UniqueConstraint("center_id", "zone", "up_to_grams"),
                      CheckConstraint("up_to_grams > 0 AND price_fen >= 0", name="band_and_price"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id", ondelete="CASCADE"), index=True)
    zone: Mapped[str] = mapped_column(String(16))  # county | province | elsewhere
    up_to_grams: Mapped[int] = mapped_column(Integer)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(BigInteger)  # the admin's or county staff's telegram id


class Payment(Base):
    """Money moved online for an order, append-only, in fen: a payment (+) through Telegram
    Payments, recorded once by its unique charge id, or a refund (−) of one. A refund is paid back
    by a person in the provider's dashboard, who then confirms it once (``confirmed_at``/``_by``,
    set once and never changed: services/refunds.py)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # payment | refund
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # goods and delivery
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    telegram_charge_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    provider_charge_id: Mapped[str] = mapped_column(String(100), default="")
    ref: Mapped[str | None] = mapped_column(String(100), unique=True)  # a refund's: "refund:<order>:<n>"
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(300), default="")
    # A refund's: when, and by whom (a telegram id), it was said paid back at the provider (0020).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[int | None] = mapped_column(BigInteger)


class CashEntry(Base):
    """One movement of cash at a center's counter, in integer fen: append-only, never edited; a
    correction is a new entry that ``corrects`` another (see services/cashbook.py).

    ``amount_fen`` is what came into the till (+) or went out of it (−). Of it, ``fee_fen`` is the
    partner's own earnings. An entry with a ``seller_id`` is the seller's money (produce sold,
    refunded, paid out); one without is the county's (catalog orders, services, handovers)."""

    __tablename__ = "cash_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"), index=True)
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger)  # who recorded it; None: the bot
    # What the entry is for, once: a second entry with the same ref is not written (idempotency).
    ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("cash_entries.id"))
    note: Mapped[str] = mapped_column(String(300), default="")


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(32))
    stock: Mapped[int] = mapped_column(Integer)
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    descriptions: Mapped[dict] = mapped_column(JSON, default=dict)
    photo: Mapped[str | None] = mapped_column(String(500))
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Admins hear once when stock falls below the threshold; the flag clears when it is back above.
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    low_stock_alerted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    category: Mapped[Category] = relationship()


class Villager(Base):
    """Anyone who talks to the bot; partners and admins are villagers too. A villager without a
    phone, for whom a partner orders (``/orderfor``), has no telegram_id."""

    __tablename__ = "villagers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    center_id: Mapped[int | None] = mapped_column(ForeignKey("service_centers.id"))
    # What the next typed text answers, e.g. "qty:12" (a quantity for product 12); None: search.
    awaiting: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)  # digits only
    # A partner ordering for a villager without a phone: whose cart the partner is filling.
    acting_for_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id", ondelete="SET NULL"))
    # Telegram said 403: the person blocked the bot. Messages to them are not attempted.
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # /promotions off: no broadcast reaches them (order news and reminders still do).
    promotions_off: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # /stats: new villagers per day
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # /stats: active villagers
    # Their first /start was answered (None: never, so the next one is a welcome, not a welcome back).
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    center: Mapped[ServiceCenter | None] = relationship()


class Cart(Base):
    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    villager_id: Mapped[int] = mapped_column(ForeignKey("villagers.id", ondelete="CASCADE"), unique=True)
    # Changes whenever the cart does; a checkout confirmation names the token it was shown for,
    # so a second tap, or a tap on an old confirmation, cannot place a second order.
    checkout_token: Mapped[str] = mapped_column(String(16))

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", order_by="CartLine.id", cascade="all, delete-orphan"
    )


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    villager_id: Mapped[int] = mapped_column(ForeignKey("villagers.id"))
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    payment_method: Mapped[str] = mapped_column(String(32), default="cash_on_pickup")
    checkout_token: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The partner who placed it for a villager without a phone; None: the villager did.
    assisted_by_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))
    pickup_code: Mapped[str | None] = mapped_column(String(6))  # made when it reaches the village
    cash_collected_fen: Mapped[int | None] = mapped_column(BigInteger)
    # A villager's produce bought from the market: the seller's center, whose partners confirm it
    # and send it on; center_id is the buyer's pickup center. None: a catalog order.
    seller_center_id: Mapped[int | None] = mapped_column(ForeignKey("service_centers.id"))
    # A town buyer's delivery order (then center_id is the seller's center too): where it goes,
    # {"name", "phone", "address", "zone"}; None: picked up at center_id.
    ship_to: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    delivery_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # on top of total_fen
    tracking_number: Mapped[str | None] = mapped_column(String(64))  # the carrier's, typed at the desk
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # an open invoice's stock is held until

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )
    center: Mapped[ServiceCenter] = relationship(foreign_keys=[center_id])


class OrderLine(Base):
    """A line as it was sold: name and price are copied, so later catalog edits don't rewrite it."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    unit: Mapped[str] = mapped_column(String(32))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int | None] = mapped_column(Integer)  # catalog lines: whole units
    # Produce lines: the listing, and the quantity in thousandths of its unit (2.5 kg = 2500).
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"), index=True)
    quantity_milli: Mapped[int | None] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderEvent(Base):
    """One step of an order's timeline."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    order: Mapped[Order] = relationship(back_populates="events")


class Partner(Base):
    """Someone who runs a village service center: may act on its orders and bind its group."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("center_id", "telegram_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id", ondelete="CASCADE"), index=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderCard(Base):
    """Where an order's card was posted, so that it can be edited in place as the order moves."""

    __tablename__ = "order_cards"
    __table_args__ = (UniqueConstraint("order_id", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)


class OutboxMessage(Base):
    """A message that must go out, now or later: an order card, a status notice, a reminder,
    a digest. Pumps claim due rows, send them and mark them; see services/outbox.py."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    center_id: Mapped[int | None] = mapped_column(ForeignKey("service_centers.id", ondelete="CASCADE"))
    villager_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id", ondelete="CASCADE"))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # Makes enqueueing idempotent: a second row with the same key is not added.
    dedupe_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A pump that claimed the row owns it until then; a pump that died lets it go by itself.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    # Exactly one of these ends a row's life: sent, cancelled (no longer wanted), or failed.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)


class Listing(Base):
    """Produce a villager offers to buyers elsewhere (🌾 Sell produce).

    A listing is filled in step by step as a ``draft`` (``step`` says what is asked next), then
    waits in ``review`` for the seller's partner, who approves it (``approved``: in the market)
    or rejects it with a reason. The seller may pause it, or withdraw it for good; it closes
    itself as ``sold_out`` when nothing is left. Quantities are thousandths of the unit.
    """

    __tablename__ = "listings"
    __table_args__ = (CheckConstraint("left_milli >= 0", name="left_not_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("villagers.id"), index=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"), index=True)  # the seller's
    status: Mapped[str] = mapped_column(String(16), index=True)
    step: Mapped[str | None] = mapped_column(String(16))
    previewed: Mapped[bool] = mapped_column(Boolean, default=False)  # then a changed step returns to the preview
    title: Mapped[str] = mapped_column(String(60), default="")
    category: Mapped[str] = mapped_column(String(32), default="")
    photo: Mapped[str | None] = mapped_column(String(300))  # a Telegram file id
    unit: Mapped[str] = mapped_column(String(16), default="")
    left_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    price_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # per unit
    available_from: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    reject_reason: Mapped[str] = mapped_column(String(300), default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When an edit last sent it back to review: it may go back again only a while later.
    back_to_review_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ListingCard(Base):
    """Where a listing's review card was posted, so that it can be edited in place."""

    __tablename__ = "listing_cards"
    __table_args__ = (UniqueConstraint("listing_id", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)


class Broadcast(Base):
    """A promotion an admin composes step by step (``step``), previews, and sends now or at
    ``send_at``. ``texts`` holds a version per language; ``audience`` says who gets it."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    admin_telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft | scheduled | sending | done | cancelled
    step: Mapped[str | None] = mapped_column(String(16))
    texts: Mapped[dict] = mapped_column(JSON, default=dict)  # locale -> Telegram HTML
    photo: Mapped[str | None] = mapped_column(String(300))
    link: Mapped[dict] = mapped_column(JSON, default=dict)  # {"kind": "product"|"category", "code": ...}
    audience: Mapped[dict] = mapped_column(JSON, default=dict)  # {"kind": "all"|"county"|..., "value": ...}
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)  # in the admin's private chat
    # The next free send slot (wall-clock time), shared by every process sending this promotion.
    pace_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The admin chose "send anyway": copies go even in their readers' quiet hours.
    send_in_quiet_hours: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class BroadcastDelivery(Base):
    """One person's copy of a promotion: queued once (unique), sent once."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (UniqueConstraint("broadcast_id", "villager_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    villager_id: Mapped[int] = mapped_column(ForeignKey("villagers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed | blocked | opted_out | cancelled
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(String(200), default="")


class SearchMiss(Base):
    """A search that found nothing: demand the catalog does not meet yet."""

    __tablename__ = "search_misses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    normalized: Mapped[str] = mapped_column(String(200), index=True)
    villager_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id", ondelete="SET NULL"))
    locale: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # /stats reads the last 30 days


class Synonym(Base):
    """A word an admin taught the search (``/synonym 洋芋 土豆``): a product whose name holds
    ``means`` is also found by ``word``, on top of the shipped lexicon."""

    __tablename__ = "synonyms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String(20), unique=True)  # as normalised (catalog.text.normalize)
    means: Mapped[str] = mapped_column(String(20))
    admin_telegram_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CatalogVersion(Base):
    """One row, bumped by every catalog change, so each process knows when to rebuild its index."""

    __tablename__ = "catalog_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


Index("ix_orders_villager_created", Order.villager_id, Order.created_at)
# /partner add @name finds, and a person's arrival clears, a username in any letter case.
Index("ix_villagers_username_lower", func.lower(Villager.username))
Index("ix_outbox_open_due", OutboxMessage.is_open, OutboxMessage.due_at)
# Claims read a promotion's pending copies in id order: this index hands them over without a sort.
Index("ix_broadcast_deliveries_broadcast_status", BroadcastDelivery.broadcast_id, BroadcastDelivery.status,
      BroadcastDelivery.id)
# A copy still to be sent. Written out, not a bound parameter, so that each database's planner sees
# when it prepares a query that the query's WHERE implies the partial index's below.
PENDING_COPY = BroadcastDelivery.status == literal_column("'pending'")
# Every /metrics scrape counts the pending copies: this index holds those only (a promotion's
# worth at most), not the millions already sent, so the count reads a few pages however many there are.
# On status itself: SQLite then sees that the index covers the count, and takes it even without
# statistics (on broadcast_id it preferred scanning the whole index above).
Index("ix_broadcast_deliveries_pending", BroadcastDelivery.status,
      sqlite_where=PENDING_COPY, postgresql_where=PENDING_COPY)


class ProcessedUpdate(Base):
    """A Telegram update some process has taken: Telegram resends one it thinks was not received
    (and with several processes the resend may land on another), so each is handled once. The
    taker claims it until ``claimed_until``; once handled it is done (``done_at``). A claim that
    lapsed without being done (its process died) lets a redelivery be handled again. Kept for a
    couple of days, longer than Telegram keeps an update.

    By long polling Telegram never sends an update again (it was confirmed when the next ones
    were asked for), so the claim keeps the update itself (``body``) until it is done: the next
    ``rural-bot run`` hands over what its predecessor died with."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # first taken
    # Null only on rows from before claims (revision 0006), which are all done.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The update's JSON while a polling process holds it; cleared when it is done.
    body: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))


class DeskPrompt(Base):
    """A question the bot asked one person in a group (a reason to reject, a pickup code). Only
    that person's reply to the prompt message answers it, until it is closed or lapses."""

    __tablename__ = "desk_prompts"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)  # the prompt, which the answer replies to
    villager_id: Mapped[int] = mapped_column(ForeignKey("villagers.id", ondelete="CASCADE"), index=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # what it answers: "rjr", "pick", "lrjr"
    subject_id: Mapped[int] = mapped_column(Integer)  # the order or listing it is about
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)  # the card that shows ✖️ Cancel
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))  # answered, cancelled, replaced, lapsed


class OrderProblem(Base):
    """A problem a villager reported with an order they picked up (⚠️ Problem, within PROBLEM_DAYS),
    and what the pickup center's partner decided: a refund, a replacement order, or a decline.

    It is filled in step by step as a ``draft`` (``step``: lines, reason, photo), then ``open`` on
    the desk until decided (``refunded``, ``replaced``, ``declined``). ``lines`` maps an order line's
    id (as text) to the quantity concerned: whole units for a catalog line, thousandths for produce.
    ``restock`` is the partner's word on goods that came back: "stock" or "discard"."""

    __tablename__ = "order_problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    villager_id: Mapped[int] = mapped_column(ForeignKey("villagers.id", ondelete="CASCADE"), index=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"), index=True)  # its desk decides
    status: Mapped[str] = mapped_column(String(16), index=True)
    step: Mapped[str | None] = mapped_column(String(16))
    lines: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(String(16))
    photo: Mapped[str | None] = mapped_column(String(300))  # a Telegram file id
    decision: Mapped[str | None] = mapped_column(String(16))  # refund | replace | decline
    refund_lines: Mapped[dict] = mapped_column(JSON, default=dict)  # what was refunded, as ``lines``
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    replacement_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    decline_reason: Mapped[str] = mapped_column(String(300), default="")
    restock: Mapped[str | None] = mapped_column(String(16))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))
    cards: Mapped[dict] = mapped_column(JSON, default=dict)  # chat id (as text) -> the card's message id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
class Handover(Base):
    """Cash a partner handed to the county (``/handover``): its HANDOVER entry is in the cash book
    from the moment it is recorded; county staff (or admins) then confirm it, or say it never
    arrived, which puts the cash back on hand by a correction (services/handovers.py)."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # positive: what left the till
    by_telegram_id: Mapped[int] = mapped_column(BigInteger)  # the partner (or admin) who recorded it
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, confirmed, disputed
    confirmed_by: Mapped[int | None] = mapped_column(BigInteger)  # who decided, confirmed or disputed
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("cash_entries.id"))  # its HANDOVER entry
class ServiceRequest(Base):
    """A service done at a center's counter (🧾 Services): a phone top-up, an electricity or water
    bill, a train or bus ticket. A villager fills it in step by step as a ``draft`` (``step`` says
    what is asked next), sends it (``requested``), and a partner marks it ``done`` with what was
    charged, or ``declined`` with a reason. A walk-in service (``/service``) is done at once. The
    fee is the center's for that kind, fixed when the villager sees it (or when it is recorded)."""

    __tablename__ = "service_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"), index=True)
    villager_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"), index=True)  # None: a walk-in
    kind: Mapped[str] = mapped_column(String(16))  # topup | electricity | water | train | bus
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # phone, account, amount_fen, route, date, people
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft | requested | done | declined
    step: Mapped[str | None] = mapped_column(String(16))
    charged_fen: Mapped[int | None] = mapped_column(BigInteger)
    fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    decline_reason: Mapped[str] = mapped_column(String(300), default="")
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    decided_by_name: Mapped[str] = mapped_column(String(200), default="")
    cards: Mapped[dict] = mapped_column(JSON, default=dict)  # chat id (as text) -> message id of its desk card
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
class BuyerReview(Base):
    """A buyer's stars (1 to 5) and optional short text for one order line of market produce they
    picked up (services/ratings.py). The row is made when the question is queued (``created_at``),
    so each order line is asked once; ``stars`` is None until answered. A partner of the seller's
    center may hide an abusive one (``hidden_*``): it stays here, and no longer counts or shows."""

    __tablename__ = "reviews"
    __table_args__ = (CheckConstraint("stars IS NULL OR (stars >= 1 AND stars <= 5)", name="stars_1_to_5"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("villagers.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("villagers.id"), index=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"))  # the seller's: its partners may hide it
    stars: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))
    hidden_reason: Mapped[str] = mapped_column(String(300), default="")
    cards: Mapped[dict] = mapped_column(JSON, default=dict)  # chat id (as text) -> message id of its desk card
