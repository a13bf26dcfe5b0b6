"""Every button's callback data, one small class per kind of button.

A class names its prefix and its fields, as a dataclass does::

    class Category(CallbackData, prefix="cat"):
        category_id: Id
        page: Page

``Category(7, 0).pack()`` is ``"cat:7:0"`` (checked against Telegram's 64 bytes), and
``on(Category, category_tapped)`` is the ``CallbackQueryHandler`` that matches ``Category.pattern()``
and calls ``category_tapped(update, context, Category(7, 0))``. A class without fields is a bare
word, and its callback takes only ``(update, context)``. A field's annotation says what it may hold:
``Annotated[int, Digits(9)]`` (an id that fits the store's integers), ``Annotated[str, Chars(...)]``
(a regex for the value), a ``Literal`` or an enum (one of its values), or ``... | None = None`` for
an optional last field. Nothing else in ``handlers/`` reads or writes callback data by hand.

The wire format is the data people's buttons already carry: old messages keep working.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Self, dataclass_transform

from telegram.ext import CallbackQueryHandler

from services import desks, problem_desk, problems, ratings, reviews
from services.broadcast import AUDIENCES
from services.produce import Step
from services.service_requests import DECLINE_REASONS as SERVICE_DECLINE_REASONS

MAX_BYTES = 64  # Telegram's limit for a button's callback_data


@dataclass(frozen=True)
class Digits:
    """A whole number of 1 to ``most`` digits."""

    most: int

    def regex(self) -> str:
        return rf"\d{{1,{self.most}}}"


@dataclass(frozen=True)
class Chars:
    """Text matching ``regex`` (it must not match a ``:``, which separates fields)."""

    regex_: str

    def regex(self) -> str:
        return self.regex_


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of words, e.g. the reasons a desk may give."""

    choices: tuple[str, ...]

    def regex(self) -> str:
        return "|".join(re.escape(str(choice)) for choice in self.choices)


Id = Annotated[int, Digits(9)]  # a row id in a 32-bit column
BigId = Annotated[int, Digits(12)]  # an order's or a listing's id, as the desk's buttons carry it
Page = Annotated[int, Digits(5)]
Short = Annotated[int, Digits(4)]  # a quantity or a short list's page
Milli = Annotated[int, Digits(10)]  # a market quantity in thousandths of a unit
Code = Annotated[str, Chars(r"[a-z_]{1,24}")]  # a catalog code: a category, a unit


@dataclass(frozen=True)
class _Part:
    name: str
    regex: str
    read: Callable[[str], Any]
    optional: bool


def _part(name: str, hint: Any, optional: bool) -> _Part:
    """How one field is written and read, from its annotation."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        optional = True
    rule = None
    if typing.get_origin(hint) is Annotated:
        hint, rule = typing.get_args(hint)[0], typing.get_args(hint)[1]
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        return _Part(name, OneOf(choices).regex(), type(choices[0]), optional)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        rule = rule or OneOf(tuple(member.value for member in hint))
        return _Part(name, rule.regex(), hint, optional)
    if hint is int:
        return _Part(name, (rule or Digits(9)).regex(), int, optional)
    if hint is str and rule is not None:
        return _Part(name, rule.regex(), str, optional)
    raise TypeError(f"callback field {name!r}: say what it may hold (Digits, Chars, OneOf, Literal or an enum)")


@dataclass_transform(frozen_default=True)
class CallbackData:
    """The base of every kind of button; see the module's docstring."""

    prefix: ClassVar[str]
    _parts: ClassVar[tuple[_Part, ...]]
    _pattern: ClassVar[re.Pattern[str]]
    kinds: ClassVar[list[type[CallbackData]]] = []

    def __init_subclass__(cls, prefix: str, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True)(cls)
        cls.prefix = prefix
        hints = typing.get_type_hints(cls, include_extras=True)  # each class's names read in its own module
        names = [name for name in cls.__dataclass_fields__]
        cls._parts = tuple(_part(name, hints[name], False) for name in names)
        regex = re.escape(prefix)
        for index, part in enumerate(cls._parts):
            if part.optional and index != len(cls._parts) - 1:
                raise TypeError(f"{cls.__name__}: only the last field may be optional")
            field = f":({part.regex})"
            regex += f"(?:{field})?" if part.optional else field
        cls._pattern = re.compile(f"^{regex}$")
        CallbackData.kinds.append(cls)

    def pack(self) -> str:
        """The callback data this button carries."""
        values = [getattr(self, part.name) for part in self._parts]
        data = ":".join([self.prefix, *(_written(value) for value in values if value is not None)])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        if not self._pattern.match(data):
            raise ValueError(f"{type(self).__name__} cannot carry {data!r}")
        return data

    @classmethod
    def pattern(cls) -> re.Pattern[str]:
        return cls._pattern

    @classmethod
    def unpack(cls, data: str) -> Self:
        match = cls._pattern.match(data)
        if match is None:
            raise ValueError(f"{data!r} is not {cls.__name__}")
        return cls(*(None if text is None else part.read(text) for part, text in zip(cls._parts, match.groups())))


def _written(value: object) -> str:
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


def parse(data: str, kinds: Iterable[type[CallbackData]] | None = None) -> CallbackData | None:
    """The button ``data`` is, among ``kinds`` (default: all), or None."""
    for kind in kinds if kinds is not None else CallbackData.kinds:
        if kind.pattern().match(data):
            return kind.unpack(data)
    return None


def on(kind: type[CallbackData], callback: Callable[..., Awaitable[Any]]) -> CallbackQueryHandler:
    """The handler for taps on ``kind``: ``callback(update, context, data)`` with the parsed data, or
    ``callback(update, context)`` for a button without fields."""
    if not kind._parts:
        return CallbackQueryHandler(callback, pattern=kind.pattern())

    async def handle(update, context):
        return await callback(update, context, kind.unpack(update.callback_query.data))

    handle.__name__ = getattr(callback, "__name__", "handle")
    handle.__qualname__ = getattr(callback, "__qualname__", "handle")
    return CallbackQueryHandler(handle, pattern=kind.pattern())


def on_any(prefix: str, callback: Callable[..., Awaitable[Any]]) -> CallbackQueryHandler:
    """The handler for any other button of a family (``prefix:...``): one the journey no longer
    reads, say from an old message."""
    return CallbackQueryHandler(callback, pattern=re.compile(f"^{re.escape(prefix)}:"))


def on_other(callback: Callable[..., Awaitable[Any]]) -> CallbackQueryHandler:
    """The handler for a button no other handler took (an old or forged one): ``callback(update,
    context)``. Registered last."""
    return CallbackQueryHandler(callback)


# ── Choosing a center and a language (handlers/start.py) ────────────────────────────────────────


class CenterList(CallbackData, prefix="ctr:list"):
    pass


class County(CallbackData, prefix="cty"):
    county_id: Id


class Center(CallbackData, prefix="ctr"):
    center_id: Id


class LanguageList(CallbackData, prefix="lang:?"):
    pass


class Language(CallbackData, prefix="lang"):
    locale: Annotated[str, Chars(r"[A-Za-z_]{2,16}")]


class Home(CallbackData, prefix="home"):
    """🏠 Menu: the way back from a screen that has no other, to the main menu's big buttons."""


# ── The catalog and the cart (handlers/browse.py, search.py, cart.py) ───────────────────────────


class Categories(CallbackData, prefix="cats"):
    pass


class Category(CallbackData, prefix="cat"):
    category_id: Id
    page: Page


class BackToCategory(CallbackData, prefix="back"):
    product_id: Id


class Product(CallbackData, prefix="p"):
    product_id: Id
    quantity: Short


class AddToCart(CallbackData, prefix="add"):
    product_id: Id
    quantity: Short


class TypeQuantity(CallbackData, prefix="qty"):
    product_id: Id


class Find(CallbackData, prefix="find"):
    pass


class Cart(CallbackData, prefix="cart"):
    page: Short | None = None


class CartLine(CallbackData, prefix="cl"):
    line_id: Id
    quantity: Short
    page: Short | None = None


class TypeLineQuantity(CallbackData, prefix="clq"):
    line_id: Id


class Checkout(CallbackData, prefix="co"):
    pass


class PlaceOrder(CallbackData, prefix="co:ok"):
    token: Annotated[str, Chars(r"[0-9a-f]{12}")]


# ── A villager's orders (handlers/orders.py) ────────────────────────────────────────────────────


class OrdersPage(CallbackData, prefix="ords"):
    page: Page


class OrderDetail(CallbackData, prefix="ord"):
    order_id: BigId


class CancelOrder(CallbackData, prefix="ordx"):
    order_id: BigId


class CancelOrderConfirmed(CallbackData, prefix="ordxx"):
    order_id: BigId


# ── The desk: order cards and listing review cards (handlers/desk.py, desk_prompts.py) ───────────


class ConfirmOrder(CallbackData, prefix="dk:ok"):
    order_id: BigId


class RejectOrder(CallbackData, prefix="dk:no"):
    order_id: BigId


class OrderRejectReason(CallbackData, prefix="dk:rj"):
    order_id: BigId
    reason: Annotated[str, OneOf(desks.REJECT_REASONS)]


class TypeOrderReason(CallbackData, prefix="dk:rt"):
    order_id: BigId


class OrderCard(CallbackData, prefix="dk:card"):
    """Post the order's card again (it scrolled away)."""

    order_id: BigId


class ShowOrder(CallbackData, prefix="dk:show"):
    order_id: BigId


class PendingPage(CallbackData, prefix="dk:pg"):
    page: Page


class Arrived(CallbackData, prefix="dk:arr"):
    order_id: BigId


class PickedUp(CallbackData, prefix="dk:pick"):
    order_id: BigId


class ApproveListing(CallbackData, prefix="lr:ok"):
    listing_id: BigId


class RejectListing(CallbackData, prefix="lr:no"):
    listing_id: BigId


class ListingRejectReason(CallbackData, prefix="lr:rj"):
    listing_id: BigId
    reason: Annotated[str, OneOf(reviews.REJECT_REASONS)]


class TypeListingReason(CallbackData, prefix="lr:rt"):
    listing_id: BigId


class ListingCard(CallbackData, prefix="lr:card"):
    """Post the listing's review card again."""

    listing_id: BigId


class ShowListing(CallbackData, prefix="lr:show"):
    listing_id: BigId


class CancelPrompt(CallbackData, prefix="px"):
    """Stop waiting for a typed reason or pickup code ("rjr": an order's reason, "pick": a
    pickup code, "lrjr": a listing's reason, "pbr": a problem's reason to decline, "svch": what a
    service charged, "svrj": why a service is declined, "rvh": why a buyer's review is hidden,
    "trk": a delivery order's tracking number)."""

    kind: Literal["rjr", "pick", "lrjr", "pbr", "svch", "svrj", "rvh", "trk"]
    subject_id: BigId


# ── Admins (handlers/admin.py, catalog_admin.py, stats.py) ──────────────────────────────────────


class Batch(CallbackData, prefix="adm"):
    """Act on a whole batch from its summary: "ship" it, or mark it at the "county" center."""

    command: Literal["ship", "county"]
    code: Annotated[str, Chars(r"[A-Za-z0-9._-]{1,32}")]


class PartnerChange(CallbackData, prefix="pt"):
    """Confirm ``/partner add|remove``: what the admin was shown, so a changed person is refused."""

    action: Literal["a", "r"]
    center_id: Id
    telegram_id: Annotated[int, Digits(16)]
    fingerprint: Annotated[str, Chars(r"[0-9a-f]{8}")]
    asked: Annotated[int, Digits(11)]


class PartnerChangeCancelled(CallbackData, prefix="pt:x"):
    pass


class AdminProduct(CallbackData, prefix="ap"):
    product_id: Id


class AdminProductOpen(CallbackData, prefix="ap:open"):
    product_id: Id


class AdminProductChange(CallbackData, prefix="ap"):
    what: Literal["price", "stock"]
    product_id: Id


class AdminProductVisibility(CallbackData, prefix="ap"):
    what: Literal["hide", "show"]
    product_id: Id


class RefreshStats(CallbackData, prefix="st:refresh"):
    pass


# ── Promotions (handlers/broadcast.py) ──────────────────────────────────────────────────────────


class Unsubscribe(CallbackData, prefix="promo:off"):
    pass


class PromotionSkip(CallbackData, prefix="bc:skip"):
    promotion_id: Id


class PromotionCancel(CallbackData, prefix="bc:x"):
    promotion_id: Id


class PromotionAudience(CallbackData, prefix="bc:a"):
    promotion_id: Id
    audience: Annotated[str, OneOf(AUDIENCES)]


class PromotionAudienceValue(CallbackData, prefix="bc:v"):
    promotion_id: Id
    audience: Literal["county", "center", "language", "category"]
    value: Annotated[str, Chars(r"[A-Za-z0-9_\-]{1,40}")]


class PromotionAudienceAgain(CallbackData, prefix="bc:aud"):
    promotion_id: Id


class PromotionSendNow(CallbackData, prefix="bc:now"):
    promotion_id: Id


class PromotionSendLater(CallbackData, prefix="bc:at"):
    promotion_id: Id


class PromotionSendAnyway(CallbackData, prefix="bc:any"):
    """Send now, even to those in their quiet hours."""

    promotion_id: Id


# ── The market (handlers/market.py, market_order.py) ────────────────────────────────────────────

# Where a listing was opened from, to go back there: a market screen's data without "mk:".
MARKET_ORIGIN = r"cat:[a-z_]{1,32}:\d{1,5}|cty:\d{1,9}:\d{1,5}|home"


class MarketHome(CallbackData, prefix="mk:home"):
    pass


class MarketCategory(CallbackData, prefix="mk:cat"):
    category: Annotated[str, Chars(r"[a-z_]{1,32}")]
    page: Page


class MarketCounties(CallbackData, prefix="mk:cties"):
    page: Short | None = None


class MarketCounty(CallbackData, prefix="mk:cty"):
    county_id: Id
    page: Page


class MarketFind(CallbackData, prefix="mk:find"):
    pass


class MarketWords(CallbackData, prefix="mk:s"):
    """The market's search for words a villager typed in the one search box (handlers/search.py):
    "more in the market". Words that do not fit in the button take ``MarketFind`` instead."""

    words: Annotated[str, Chars(r"[^:\n]{1,59}")]

    @classmethod
    def or_ask(cls, words: str) -> MarketWords | MarketFind:
        words = " ".join(words.replace(":", " ").split())
        data = cls(words)
        try:
            data.pack()
        except ValueError:  # over 64 bytes (Chinese takes 3 a character), or nothing left
            return MarketFind()
        return data


MarketScreen = MarketHome | MarketCategory | MarketCounty  # a screen a listing may be opened from


class MarketListing(CallbackData, prefix="mk:l"):
    listing_id: Id
    origin: Annotated[str, Chars(MARKET_ORIGIN)] | None = None

    @classmethod
    def opened_from(cls, listing_id: int, screen: MarketScreen | None) -> MarketListing:
        return cls(listing_id, None if screen is None else screen.pack().removeprefix("mk:"))

    def back(self) -> MarketScreen | None:
        """The screen the listing was opened from, if it says."""
        if self.origin is None:
            return None
        return parse(f"mk:{self.origin}", (MarketHome, MarketCategory, MarketCounty))


class MarketOrder(CallbackData, prefix="mk:n"):
    listing_id: Id


class MarketQuantity(CallbackData, prefix="mk:q"):
    listing_id: Id
    milli: Milli


class MarketOtherCenter(CallbackData, prefix="mk:oc"):
    listing_id: Id
    milli: Milli


class MarketPickupCounty(CallbackData, prefix="mk:oy"):
    listing_id: Id
    milli: Milli
    county_id: Id


class MarketPickupCenter(CallbackData, prefix="mk:c"):
    listing_id: Id
    milli: Milli
    center_id: Id


class MarketConfirm(CallbackData, prefix="mk:ok"):
    listing_id: Id
    milli: Milli
    center_id: Id
    token: Annotated[str, Chars(r"[0-9a-f]{10}")]


# ── Selling produce: the listing being made, and one's listings (handlers/sell.py, my_listings.py)

ANSWERED_STEPS = tuple(step.value for step in Step if step is not Step.PREVIEW)
AVAILABLE_IN_DAYS = ("0", "7", "14", "30")
PhotoOrNote = Literal["photo", "note"]


class SellNew(CallbackData, prefix="sl:new"):
    pass


class SellContinue(CallbackData, prefix="sl:go"):
    listing_id: Id


class SellCancel(CallbackData, prefix="sl:x"):
    listing_id: Id


class SellDiscard(CallbackData, prefix="sl:del"):
    listing_id: Id


class SellStep(CallbackData, prefix="sl:to"):
    listing_id: Id
    step: Annotated[Step, OneOf(ANSWERED_STEPS)]


class SellPreview(CallbackData, prefix="sl:pv"):
    listing_id: Id


class SellEdit(CallbackData, prefix="sl:ed"):
    listing_id: Id


class SellPublish(CallbackData, prefix="sl:pub"):
    listing_id: Id


class SellCommon(CallbackData, prefix="sl:com"):
    """One of the common produce names, tapped instead of typed."""

    listing_id: Id
    code: Code


class SellCategory(CallbackData, prefix="sl:cat"):
    listing_id: Id
    code: Code


class SellUnit(CallbackData, prefix="sl:unit"):
    listing_id: Id
    code: Annotated[str, Chars(r"[a-z]{1,8}")]


class SellDay(CallbackData, prefix="sl:day"):
    listing_id: Id
    days: Annotated[int, OneOf(AVAILABLE_IN_DAYS)]


class SellDate(CallbackData, prefix="sl:date"):
    """✅ Yes to "11-01 means 2027-11-01?": the day, as yyyymmdd."""

    listing_id: Id
    day: Annotated[int, Digits(8)]


class SellSkip(CallbackData, prefix="sl:skip"):
    listing_id: Id
    field: PhotoOrNote


class SellClear(CallbackData, prefix="sl:clr"):
    listing_id: Id
    field: PhotoOrNote


class MyListings(CallbackData, prefix="ml:list"):
    pass


class MyListingsPage(CallbackData, prefix="ml:p"):
    page: Short


class MyListing(CallbackData, prefix="ml"):
    listing_id: Id


class ChangeListing(CallbackData, prefix="ml:e"):
    listing_id: Id
    field: Literal["price", "quantity", "photo", "note"]


class ClearListingField(CallbackData, prefix="ml:clr"):
    listing_id: Id
    field: PhotoOrNote


class PauseListing(CallbackData, prefix="ml"):
    action: Literal["pause", "resume"]
    listing_id: Id


class WithdrawListing(CallbackData, prefix="ml:wd"):
    listing_id: Id


class WithdrawListingConfirmed(CallbackData, prefix="ml:wd"):
    listing_id: Id
    ok: Literal["ok"] = "ok"


# ── Privacy (handlers/privacy.py) ───────────────────────────────────────────────────────────────


class ForgetMe(CallbackData, prefix="pv:yes"):
    villager_id: BigId


class KeepMe(CallbackData, prefix="pv:no"):
    villager_id: BigId


class ForgetWalkIn(CallbackData, prefix="fw:yes"):
    villager_id: BigId


class KeepWalkIn(CallbackData, prefix="fw:no"):
    pass


# ── Problems after pickup (handlers/problems.py, problem_desk.py) ───────────────────────────────


class ProblemStart(CallbackData, prefix="pb:new"):
    """⚠️ Problem on a picked-up order in My orders."""

    order_id: BigId


class ProblemQuantity(CallbackData, prefix="pb:q"):
    """How much of a line is concerned: whole units, or thousandths for produce."""

    problem_id: BigId
    line_id: BigId
    quantity: Milli


class ProblemStep(CallbackData, prefix="pb:to"):
    problem_id: BigId
    step: Literal["lines", "reason", "photo"]


class ProblemReason(CallbackData, prefix="pb:r"):
    problem_id: BigId
    reason: Annotated[str, OneOf(problems.REASONS)]


class ProblemSkipPhoto(CallbackData, prefix="pb:skip"):
    problem_id: BigId


class ProblemCancel(CallbackData, prefix="pb:x"):
    problem_id: BigId


class ProblemRefund(CallbackData, prefix="dk:pbr"):
    """💰 Refund the chosen lines ("some") or all that is not settled ("all")."""

    problem_id: BigId
    scope: Literal["some", "all"]


class ProblemReplace(CallbackData, prefix="dk:pbp"):
    problem_id: BigId


class ProblemDecline(CallbackData, prefix="dk:pbx"):
    problem_id: BigId


class ProblemDeclineReason(CallbackData, prefix="dk:pbj"):
    problem_id: BigId
    reason: Annotated[str, OneOf(problem_desk.DECLINE_REASONS)]


class TypeProblemReason(CallbackData, prefix="dk:pbt"):
    problem_id: BigId


class ProblemCard(CallbackData, prefix="dk:pbc"):
    """The problem's card again, in place (⬅️ Back from the reasons to decline)."""

    problem_id: BigId


class ProblemRestock(CallbackData, prefix="dk:pbs"):
    """What came back: ✅ back to stock ("y") or 🗑 not sellable ("n")."""

    problem_id: BigId
    sellable: Literal["y", "n"]
# ── County staff (handlers/staff.py, handlers/stats.py) ─────────────────────────────────────────


class StaffChange(CallbackData, prefix="cst"):
    """Confirm ``/staff add|remove``: what the admin was shown, so a changed person is refused."""

    action: Literal["a", "r"]
    county_id: Id
    telegram_id: Annotated[int, Digits(16)]
    fingerprint: Annotated[str, Chars(r"[0-9a-f]{8}")]
    asked: Annotated[int, Digits(11)]


class RefreshCountyStats(CallbackData, prefix="st:cty"):
    """🔄 Refresh under the figures of one county (``/stats 城固县``)."""

    county_id: Id
# ── The cash book (handlers/cash.py, handovers.py) ──────────────────────────────────────────────


class CashOf(CallbackData, prefix="cash"):
    """A center's cash book (chosen among one's centers, refreshed, or back from a payment)."""

    center_id: Id


class PaySeller(CallbackData, prefix="cash:pay"):
    center_id: Id
    seller_id: Id


class PayConfirmed(CallbackData, prefix="cash:paid"):
    """✅ Paid: the amount shown, and the confirmation's own token (a second tap pays nothing more)."""

    center_id: Id
    seller_id: Id
    fen: Annotated[int, Digits(10)]
    token: Annotated[str, Chars(r"[0-9a-f]{8}")]


class HandoverDecision(CallbackData, prefix="ho"):
    """The county's word on a cash handover: "ok" received, "no" not received."""

    handover_id: Id
    received: Literal["ok", "no"]


class CashEntries(CallbackData, prefix="cash:ls"):
    """A center's latest cash book entries, with the numbers /correct takes."""

    center_id: Id
# ── Parcels to send back (handlers/returns.py) ──────────────────────────────────────────────────


class ReturnParcel(CallbackData, prefix="rtn:go"):
    """↩️ Return a parcel on a list of parcels not collected in time (``list_id``: the list)."""

    list_id: BigId
    order_id: BigId


class KeepParcel(CallbackData, prefix="rtn:keep"):
    """⏳ Keep the parcel 3 more days: it comes back on a later list."""

    list_id: BigId
    order_id: BigId
# ── Services at the center: the villager's request, and the desk's card (handlers/services.py,
#    service_desk.py) ─────────────────────────────────────────────────────────────────────────────

ServiceWhat = Literal["topup", "electricity", "water", "train", "bus"]


class ServiceStart(CallbackData, prefix="sv:new"):
    what: ServiceWhat


class ServiceAmount(CallbackData, prefix="sv:amt"):
    """A top-up's amount, tapped: yuan."""

    request_id: Id
    yuan: Annotated[int, Digits(3)]


class ServicePeople(CallbackData, prefix="sv:ppl"):
    request_id: Id
    people: Annotated[int, Digits(1)]


class ServiceBack(CallbackData, prefix="sv:back"):
    request_id: Id


class ServiceCancel(CallbackData, prefix="sv:x"):
    request_id: Id


class ServiceSend(CallbackData, prefix="sv:ok"):
    request_id: Id


class ServiceDone(CallbackData, prefix="sd:ok"):
    """✅ Done on a service card: asks what was charged."""

    request_id: Id


class ServiceAsAsked(CallbackData, prefix="sd:asis"):
    """Done, charged the amount the villager asked for."""

    request_id: Id


class ServiceDecline(CallbackData, prefix="sd:no"):
    request_id: Id


class ServiceDeclineReason(CallbackData, prefix="sd:rj"):
    request_id: Id
    reason: Annotated[str, OneOf(SERVICE_DECLINE_REASONS)]


class TypeServiceReason(CallbackData, prefix="sd:rt"):
    request_id: Id


class ServiceCard(CallbackData, prefix="sd:card"):
    """The service card again, in place (⬅️ Back from the reasons)."""

    request_id: Id



class ShowService(CallbackData, prefix="sd:show"):
    """From /services on the desk: the service card again, at the bottom of the chat."""

    request_id: Id


# ---- sharing (handlers/sharing.py) ----------------------------------------------------------------

class ShareListing(CallbackData, prefix="mk:sh"):
    """📤 Share under a market listing (and in 📋 My listings): its deep link to forward."""

    listing_id: Id
# ── Buyers' reviews (handlers/buyer_reviews.py, review_desk.py) and the seller's page (sellers.py) ──

class RateStars(CallbackData, prefix="rv:s"):
    """⭐ 1 to 5 for a produce line the buyer picked up (the service refuses any other number)."""

    review_id: Id
    stars: Annotated[int, Digits(1)]


class RateSkip(CallbackData, prefix="rv:skip"):
    """⏭ Skip the text after the stars."""

    review_id: Id


class HideReview(CallbackData, prefix="dk:rvh"):
    """🙈 Hide on a review's desk card: the reasons appear."""

    review_id: Id


class HideReviewReason(CallbackData, prefix="dk:rvj"):
    review_id: Id
    reason: Annotated[str, OneOf(ratings.HIDE_REASONS)]


class TypeHideReason(CallbackData, prefix="dk:rvt"):
    review_id: Id


class ReviewCard(CallbackData, prefix="dk:rvc"):
    """The review's card again, in place (⬅️ Back from the reasons)."""

    review_id: Id


class SellerPage(CallbackData, prefix="sp"):
    """👤 Seller: a seller's page (also opened by the link ?start=s-<id>)."""

    seller_id: Id


# ── /track: a buyer follows their deliveries (handlers/track.py) ────────────────────────────────

class TrackList(CallbackData, prefix="trl"):
    """⬅️ Deliveries: the buyer's own delivery orders on their way, and the last delivered."""


class TrackOrder(CallbackData, prefix="trk"):
    """📦 One of the buyer's own orders, its tracking number and its timeline."""

    order_id: BigId


# ── 🚚 Shipped on a delivery order's card (handlers/shipping_desk.py) ─────────────────────────────

class ShipOrder(CallbackData, prefix="dk:shp"):
    """🚚 Shipped on a confirmed delivery order's card: the carrier's tracking number is asked."""

    order_id: BigId


# ── Delivery prices (handlers/delivery_prices.py) ───────────────────────────────────────────────────

class DeliveryCounties(CallbackData, prefix="dlv"):
    """⬅️ Counties: the counties whose centers' delivery prices one may change."""


class DeliveryCounty(CallbackData, prefix="dlv:c"):
    """A county's centers, to pick one whose delivery prices to see."""

    county_id: Id


class DeliveryTable(CallbackData, prefix="dlv:t"):
    """A center's delivery prices (the services check it is the tapper's county's)."""

    code: Annotated[str, Chars(r"[A-Za-z0-9._-]{1,32}")]


# ── Town buyers: delivery to an address, paid online or to the carrier (handlers/town_order.py) ──

class TownDeliver(CallbackData, prefix="td"):
    """🚚 Deliver to my address, after the amount: the invoice (with a payment provider; the token
    places it once) or the typed address (cash on delivery)."""

    listing_id: Id
    milli: Milli
    token: Annotated[str, Chars(r"[0-9a-f]{10}")]


class TownConfirm(CallbackData, prefix="td:ok"):
    """✅ Confirm a cash-on-delivery order held while the buyer typed the address and the receiver."""

    order_id: BigId


class TownBack(CallbackData, prefix="td:b"):
    """⬅️ Back from the receiver or the confirmation: the held order is dropped, the address of the
    same amount of the listing asked again."""

    order_id: BigId
    listing_id: Id
    milli: Milli


class TownDrop(CallbackData, prefix="td:x"):
    """✖️ Cancel a held delivery order (an open invoice, one not confirmed): its stock goes back."""

    order_id: BigId


# ── Refunds paid back at the payment provider (handlers/provider_refunds.py) ──────────────────────

class RefundDone(CallbackData, prefix="prf"):
    """✅ Refunded at the provider, on a refund's card: an admin (or staff of the seller's county)
    refunded it in the provider's dashboard."""

    payment_id: Id
