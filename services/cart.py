"""The villager's cart. It lives in the store, so it survives restarts and follows the villager
from one bot process to another. Its changes are not durable (``Store.write(durable=False)``): one
lost with a crashed database server is one tap to do again, and checking out is durable."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from locales import localized
from services.amounts import BadAmount, read_quantity
from services.errors import CartFull, InvalidQuantity, NotEnoughStock, NotFound, OtherUnit
from store.db import Store, insert_unless_there
from store.models import Cart, CartLine, Product

MAX_LINE_QUANTITY = 999
# Different products in one cart (the CART_MAX_LINES setting). Every screen that lists a cart or
# its order pages it or shortens it, but an order of hundreds of lines is a mistake more often
# than a need, and the partner has to pack it.
MAX_CART_LINES = 100


# The same "add to cart" again within this long is the same tap (a finger that bounced, or a slow
# screen tapped twice): it adds once.
DOUBLE_TAP = timedelta(seconds=1)


class DoubleTaps:
    """Which adds are the repeat of one just made. Kept in memory, per process: a repeat lands on
    the process that took the first tap but for the rare webhook that spreads them, and costs no
    database work. ``first`` checks and marks in one step (no await between), so two taps handled
    at once still add once."""

    def __init__(self, window: timedelta = DOUBLE_TAP, size: int = 10_000):
        self.window, self.size = window, size
        self._last: dict[tuple, datetime] = {}

    def first(self, key: tuple, now: datetime) -> bool:
        """Whether this tap (e.g. ``(villager_id, message_id, product_id, quantity)``) is not a repeat."""
        last = self._last.get(key)
        if last is not None and timedelta(0) <= now - last < self.window:
            return False
        if len(self._last) >= self.size:
            self._last = {k: at for k, at in self._last.items() if now - at < self.window}
        self._last[key] = now
        return True


@dataclass(frozen=True, slots=True)
class CartLineView:
    id: int
    product_id: int
    names: dict
    unit: str
    price_fen: int
    quantity: int
    stock: int

    @property
    def subtotal_fen(self) -> int:
        return self.price_fen * self.quantity

    def name(self, language: str) -> str:
        return localized(self.names, language)


@dataclass(frozen=True, slots=True)
class CartView:
    lines: list[CartLineView]
    checkout_token: str

    @property
    def total_fen(self) -> int:
        return sum(line.subtotal_fen for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    def line_for(self, product_id: int) -> CartLineView | None:
        return next((line for line in self.lines if line.product_id == product_id), None)


def new_checkout_token() -> str:
    return secrets.token_hex(6)


def parse_quantity(text: str, minimum: int = 1, unit: str | None = None) -> int:
    """Read a quantity of a product sold by ``unit`` as people say it ("3", "３", " 12 ", "两袋",
    "十二"); anything else is refused. ``minimum=0`` accepts 0, which removes a cart line. A unit
    word other than the product's own ("2斤" of something sold by the bag) raises OtherUnit, so
    the villager is asked again in the right unit; without a known unit any unit word is refused."""
    if re.fullmatch(r"\s*[0０]+\s*", text):
        quantity = 0
    else:
        try:
            amount, named = read_quantity(text, unit)
        except BadAmount:
            raise InvalidQuantity(MAX_LINE_QUANTITY) from None
        if named is not None and named != unit:
            raise OtherUnit(MAX_LINE_QUANTITY, unit) if unit else InvalidQuantity(MAX_LINE_QUANTITY)
        if amount != amount.to_integral_value() or amount > MAX_LINE_QUANTITY:
            raise InvalidQuantity(MAX_LINE_QUANTITY)
        quantity = int(amount)
    return quantity if minimum == 0 and quantity == 0 else check_quantity(quantity)


def check_quantity(quantity: int) -> int:
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidQuantity(MAX_LINE_QUANTITY)
    return quantity


async def cart_for(session: AsyncSession, villager_id: int, *, lock: bool = False) -> Cart:
    """The villager's cart row, created on first use; ``lock`` serializes a villager's changes
    on PostgreSQL (SQLite already serializes writers)."""
    query = select(Cart).where(Cart.villager_id == villager_id)
    if lock:
        query = query.with_for_update()
    cart = await session.scalar(query)
    if cart is None:  # two first taps at once both get here: one inserts, the other waits and finds it
        await session.execute(insert_unless_there(session, Cart),
                              {"villager_id": villager_id, "checkout_token": new_checkout_token()})
        cart = await session.scalar(query)
    return cart


async def _view(session: AsyncSession, cart: Cart) -> CartView:
    rows = await session.execute(
        select(CartLine, Product).join(Product, CartLine.product_id == Product.id)
        .where(CartLine.cart_id == cart.id).order_by(CartLine.id)
    )
    lines = [
        CartLineView(line.id, product.id, product.names, product.unit, product.price_fen, line.quantity, product.stock)
        for line, product in rows
    ]
    return CartView(lines, cart.checkout_token)


async def get_cart(store: Store, villager_id: int) -> CartView:
    async with store.read() as session:
        cart = await session.scalar(select(Cart).where(Cart.villager_id == villager_id))
        if cart is None:
            return CartView([], "")
        return await _view(session, cart)


async def add_to_cart(store: Store, villager_id: int, product_id: int, quantity: int,
                      max_lines: int = MAX_CART_LINES) -> CartView:
    """Add ``quantity`` of a product; a product not yet in the cart is refused (``CartFull``) once
    the cart has ``max_lines`` lines."""
    check_quantity(quantity)
    async with store.write(durable=False) as session:
        product = await session.get(Product, product_id)
        if product is None or not product.is_active:
            raise NotFound("product")
        cart = await cart_for(session, villager_id, lock=True)
        line = await session.scalar(
            select(CartLine).where(CartLine.cart_id == cart.id, CartLine.product_id == product_id)
        )
        wanted = quantity + (line.quantity if line else 0)
        if wanted > MAX_LINE_QUANTITY:
            raise InvalidQuantity(MAX_LINE_QUANTITY)
        if wanted > product.stock:
            raise NotEnoughStock(product.names, product.stock)
        if line is None:
            lines = await session.scalar(select(func.count()).select_from(CartLine)
                                         .where(CartLine.cart_id == cart.id))
            if lines >= max_lines:
                raise CartFull(max_lines)
            session.add(CartLine(cart_id=cart.id, product_id=product_id, quantity=wanted))
        else:
            line.quantity = wanted
        cart.checkout_token = new_checkout_token()
        await session.flush()
        return await _view(session, cart)


async def set_line_quantity(store: Store, villager_id: int, line_id: int, quantity: int) -> CartView:
    """Change a line's quantity; 0 removes it. Only the villager's own lines can be changed."""
    if quantity != 0:
        check_quantity(quantity)
    async with store.write(durable=False) as session:
        cart = await cart_for(session, villager_id, lock=True)
        line = await session.scalar(select(CartLine).where(CartLine.id == line_id, CartLine.cart_id == cart.id))
        if line is None:
            raise NotFound("cart line")
        if quantity == 0:
            await session.delete(line)
        else:
            product = await session.get(Product, line.product_id)
            if quantity > line.quantity and quantity > product.stock:
                raise NotEnoughStock(product.names, product.stock)
            line.quantity = quantity
        cart.checkout_token = new_checkout_token()
        await session.flush()
        return await _view(session, cart)
