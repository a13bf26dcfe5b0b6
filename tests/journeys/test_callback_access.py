"""Seeing is a right, like acting: a stranger taps the buttons of other people's cards.

Wang, a villager of Shangyuan (CG-01), has an order with its card on the Shangyuan desk, a line in
his cart, honey in review and a draft; the admin has a promotion being composed. Their buttons'
callback data is copied, and altered (the id + 1, the other listing), and tapped by strangers on
messages of their own: Zhao, a villager of Dazhe, in his private chat, and, for the desk's
buttons, Lao Li, a partner of Qinglong (CG-02), in his own desk group and in private.

INVENTORY holds one line per callback pattern the application registers, with the data to try;
``test_every_registered_pattern_is_in_the_inventory`` fails when a new pattern has no line.
What each line expects:

- REFUSED: an alert; nothing is sent or edited in the stranger's chat; the store is unchanged.
- GONE: a listing that is not on the market: an alert and, as for any old button, the market's
  front page (which ends the stranger's own wait for typed words); nothing of the listing is
  shown; no other row of the store changes.
- OWN: the data names nothing private of anyone (a menu, the catalog, the market's pages, the
  stranger's own cart or desk): the stranger may see their own things; nothing of Wang's or the
  admin's is shown, and none of their rows changes.

A new callback needs one line in INVENTORY: a name, its data with the placeholders below (or
literal values), and what it expects (REFUSED unless said). Data starting with dk:, lr: or px: is
also tapped by the partner of another center.

The walk (about 240 taps) runs on both databases, in about 20 s on each.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from sqlalchemy import select
from telegram.ext import CallbackQueryHandler

from bot.app import build_application
from bot.config import Settings
from chat import settle_in, villager_id
from services import produce
from services.partners import add_partner
from store.models import (
    Base,
    Broadcast,
    Cart,
    CartLine,
    Listing,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    ServiceCenter,
    Villager,
)
from support.desk import ADMIN, card_of
from support.orders import order_rice
from support.produce import published_listing, review_card

WANG_DESK, LI_DESK = -100123, -100456
REFUSED, GONE, OWN = "refused", "gone", "own"


@dataclass(frozen=True)
class Tap:
    data: str  # a template: {order}, {listing}, {draft}, {line}, {promo}, {villager}, {product}, ...
    expect: str = REFUSED


# One line per registered pattern. {listing} is tried as Wang's honey in review, his draft, and
# the id + 1; every other id as Wang's (or the admin's) and the id + 1.
INVENTORY: dict[str, Tap] = {
    # handlers/cart.py
    "cart": Tap("cart:0", OWN),
    "cart line": Tap("cl:{line}:0:0"),
    "cart line quantity": Tap("clq:{line}"),
    "checkout": Tap("co", OWN),
    "checkout confirm": Tap("co:ok:{token}", OWN),  # the stranger's own (empty) cart
    # handlers/orders.py
    "my orders page": Tap("ords:0", OWN),
    "my order": Tap("ord:{order}"),
    # handlers/track.py
    "my deliveries": Tap("trl", OWN),
    "track an order": Tap("trk:{order}"),
    "cancel my order": Tap("ordx:{order}"),
    "cancel my order, sure": Tap("ordxx:{order}"),
    # handlers/browse.py
    "categories": Tap("cats", OWN),
    "category": Tap("cat:{category}:0", OWN),
    "back to category": Tap("back:{category}", OWN),
    "product": Tap("p:{product}:1", OWN),
    "add to cart": Tap("add:{product}:1", OWN),
    "type a quantity": Tap("qty:{product}", OWN),
    # handlers/search.py, handlers/start.py
    "search": Tap("find", OWN),
    "counties": Tap("ctr:list", OWN),
    "county": Tap("cty:{county}", OWN),
    "center": Tap("ctr:{center}", OWN),
    "languages": Tap("lang:?", OWN),
    "language": Tap("lang:en", OWN),
    "main menu": Tap("home", OWN),
    # handlers/market.py
    "market home": Tap("mk:home", OWN),
    "market category": Tap("mk:cat:honey:0", OWN),
    "market counties": Tap("mk:cties", OWN),
    "market county": Tap("mk:cty:{county}:0", OWN),
    "market search": Tap("mk:find", OWN),
    "market search for words": Tap("mk:s:苹果", OWN),
    "market listing": Tap("mk:l:{listing}", GONE),
    "market order": Tap("mk:n:{listing}", GONE),
    "market quantity": Tap("mk:q:{listing}:1000", GONE),
    "market other center": Tap("mk:oc:{listing}:1000", GONE),
    "market pickup county": Tap("mk:oy:{listing}:1000:{county}", GONE),
    "market pickup center": Tap("mk:c:{listing}:1000:{center}", GONE),
    "market confirm": Tap("mk:ok:{listing}:1000:{center}:0123456789", GONE),
    # handlers/desk.py
    "desk confirm": Tap("dk:ok:{order}"),
    "desk reject": Tap("dk:no:{order}"),
    "desk reject reason": Tap("dk:rj:{order}:out_of_stock"),
    "desk card": Tap("dk:card:{order}"),
    "desk show": Tap("dk:show:{order}"),
    "desk pending page": Tap("dk:pg:0", OWN),  # in the partner's own desk group: their own desk
    "desk arrived": Tap("dk:arr:{order}"),
    "review approve": Tap("lr:ok:{listing}"),
    "review reject": Tap("lr:no:{listing}"),
    "review reject reason": Tap("lr:rj:{listing}:photo"),
    "review card": Tap("lr:card:{listing}"),
    "review show": Tap("lr:show:{listing}"),
    # handlers/desk_prompts.py
    "desk typed reason": Tap("dk:rt:{order}"),
    "desk picked up": Tap("dk:pick:{order}"),
    "review typed reason": Tap("lr:rt:{listing}"),
    "desk question cancel": Tap("px:rjr:{order}"),
    # handlers/produce.py
    "sell new": Tap("sl:new", OWN),
    "sell continue": Tap("sl:go:{draft}"),
    "sell cancel": Tap("sl:x:{draft}"),
    "sell discard": Tap("sl:del:{draft}"),
    "sell step": Tap("sl:to:{draft}:title"),
    "sell preview": Tap("sl:pv:{draft}"),
    "sell edit": Tap("sl:ed:{draft}"),
    "sell publish": Tap("sl:pub:{draft}"),
    "sell common": Tap("sl:com:{draft}:honey"),
    "sell category": Tap("sl:cat:{draft}:honey"),
    "sell unit": Tap("sl:unit:{draft}:jin"),
    "sell day": Tap("sl:day:{draft}:7"),
    "sell date": Tap("sl:date:{draft}:20271101"),
    "sell skip": Tap("sl:skip:{draft}:note"),
    "sell clear": Tap("sl:clr:{draft}:note"),
    "my listings": Tap("ml:list", OWN),
    "my listings page": Tap("ml:p:0", OWN),
    "my listing": Tap("ml:{listing}"),
    "my listing change": Tap("ml:e:{listing}:price"),
    "my listing clear": Tap("ml:clr:{listing}:note"),
    "my listing pause": Tap("ml:pause:{listing}"),
    "my listing withdraw": Tap("ml:wd:{listing}"),
    "my listing withdraw, sure": Tap("ml:wd:{listing}:ok"),
    # handlers/broadcast.py
    "promotions off": Tap("promo:off", OWN),
    "promotion skip": Tap("bc:skip:{promo}"),
    "promotion cancel": Tap("bc:x:{promo}"),
    "promotion audience": Tap("bc:a:{promo}:all"),
    "promotion audience value": Tap("bc:v:{promo}:county:{county}"),
    "promotion audience again": Tap("bc:aud:{promo}"),
    "promotion now": Tap("bc:now:{promo}"),
    "promotion later": Tap("bc:at:{promo}"),
    "promotion anyway": Tap("bc:any:{promo}"),
    # handlers/catalog_admin.py, handlers/admin.py, handlers/stats.py
    "product card (admin)": Tap("ap:open:{product}"),
    "product card, back (admin)": Tap("ap:{product}"),
    "product change (admin)": Tap("ap:price:{product}"),
    "product visibility (admin)": Tap("ap:hide:{product}"),
    "batch move (admin)": Tap("adm:ship:CG-01"),
    "stats refresh (admin)": Tap("st:refresh"),
    # handlers/privacy.py
    "forget me": Tap("pv:yes:{villager}"),
    "keep my data": Tap("pv:no:{villager}"),
    "privacy, old button": Tap("pv:gone"),
    "erase a walk-in": Tap("fw:yes:{villager}"),
    "keep a walk-in": Tap("fw:no"),
    "erase a walk-in, old button": Tap("fw:gone"),
    # handlers/admin.py: /partner add and remove, confirmed
    "make a partner (admin)": Tap("pt:a:{center}:{villager}:0123abcd:1700000000"),
    "remove a partner (admin)": Tap("pt:r:{center}:{villager}:0123abcd:1700000000"),
    "partner change cancelled (admin)": Tap("pt:x"),
    # handlers/cash.py, handlers/handovers.py: the cash book
    "cash book": Tap("cash:{center}"),
    "pay a seller": Tap("cash:pay:{center}:{villager}"),
    "seller paid": Tap("cash:paid:{center}:{villager}:100:0123abcd"),
    "handover decided": Tap("ho:1:ok"),
    "cash book entries": Tap("cash:ls:{center}"),
    # handlers/menu.py: any other data
    "anything else": Tap("zz:nothing"),
    # handlers/problems.py: a problem after pickup ({order} stands for a problem's id too)
    "problem start": Tap("pb:new:{order}"),
    "problem quantity": Tap("pb:q:{order}:{order}:1"),
    "problem step": Tap("pb:to:{order}:reason"),
    "problem reason": Tap("pb:r:{order}:damaged"),
    "problem skip photo": Tap("pb:skip:{order}"),
    "problem cancel": Tap("pb:x:{order}"),
    # handlers/problem_desk.py
    "problem refund": Tap("dk:pbr:{order}:some"),
    "problem replace": Tap("dk:pbp:{order}"),
    "problem decline": Tap("dk:pbx:{order}"),
    "problem decline reason": Tap("dk:pbj:{order}:not_seen"),
    "problem typed reason": Tap("dk:pbt:{order}"),
    "problem card": Tap("dk:pbc:{order}"),
    "problem restock": Tap("dk:pbs:{order}:y"),
    # handlers/staff.py: /staff add and remove, confirmed; handlers/stats.py: one county's figures
    "make county staff (admin)": Tap("cst:a:{county}:{villager}:0123abcd:1700000000"),
    "remove county staff (admin)": Tap("cst:r:{county}:{villager}:0123abcd:1700000000"),
    "county stats refresh (admin)": Tap("st:cty:{county}"),
    # handlers/returns.py: a list of parcels to send back ({order} as the list's id too)
    "return a parcel": Tap("rtn:go:{order}:{order}"),
    "keep a parcel": Tap("rtn:keep:{order}:{order}"),
    # handlers/center_services.py: a villager's service request (ids: nobody's draft, Wang's has none)
    "service start": Tap("sv:new:topup", OWN),  # the stranger's own draft
    "service amount": Tap("sv:amt:7:50"),
    "service people": Tap("sv:ppl:7:2"),
    "service back": Tap("sv:back:7"),
    "service cancel": Tap("sv:x:7"),
    "service send": Tap("sv:ok:7"),
    # handlers/service_desk.py: the service card on the desk
    "service done": Tap("sd:ok:7"),
    "service done as asked": Tap("sd:asis:7"),
    "service decline": Tap("sd:no:7"),
    "service decline reason": Tap("sd:rj:7:unavailable"),
    "service typed reason": Tap("sd:rt:7"),
    "service card": Tap("sd:card:7"),
    "service show": Tap("sd:show:7"),
    # handlers/sharing.py: 📤 Share under a market listing (what the market shows anyone)
    "share a listing": Tap("mk:sh:{listing}", GONE),
    # handlers/buyer_reviews.py, review_desk.py, sellers.py: buyers' reviews ({order} as a review's id
    # too) and the seller's page (Wang's and the admin's: neither has produce on the market)
    "review stars": Tap("rv:s:{order}:4"),
    "review skip text": Tap("rv:skip:{order}"),
    "review hide": Tap("dk:rvh:{order}"),
    "review hide reason": Tap("dk:rvj:{order}:abusive"),
    "review hide typed reason": Tap("dk:rvt:{order}"),
    "review desk card": Tap("dk:rvc:{order}"),
    "seller page": Tap("sp:{villager}"),
    # handlers/town_order.py: delivery to a town buyer's address
    "town delivery": Tap("td:{listing}:1000:0123456789", GONE),
    "town delivery confirm": Tap("td:ok:{order}"),
    "town delivery back": Tap("td:b:{order}:{listing}:1000"),
    "town delivery cancel": Tap("td:x:{order}"),
    # handlers/shipping_desk.py
    "desk shipped": Tap("dk:shp:{order}"),
    "desk tracking number cancel": Tap("px:trk:{order}"),
    # handlers/delivery_prices.py: admins and county staff only
    "delivery price counties (admin)": Tap("dlv"),
    "delivery price county (admin)": Tap("dlv:c:{county}"),
    "delivery price table (admin)": Tap("dlv:t:CG-01"),
    # handlers/provider_refunds.py: ✅ Refunded at the provider ({order} as a refund's payment id)
    "refund confirmed at the provider (admin)": Tap("prf:{order}"),
}
SAMPLE = {"order": 7, "listing": 7, "draft": 7, "line": 7, "promo": 7, "villager": 7, "product": 7,
          "category": 7, "county": 7, "center": 7, "token": "0123456789ab"}


def registered_patterns(app=None) -> list[str | None]:
    """The pattern of every CallbackQueryHandler the application registers (None: any data)."""
    app = app or build_application(Settings(bot_token="1:x", database_url="sqlite+aiosqlite://"), store=None)
    return [h.pattern.pattern if h.pattern is not None else None
            for group in app.handlers.values() for h in group if isinstance(h, CallbackQueryHandler)]


def matching(pattern: str | None, data: str) -> bool:
    return pattern is None or re.match(pattern, data) is not None


def handled_by(patterns: list[str | None], data: str) -> str | None:
    """The pattern PTB dispatches ``data`` to: the first that matches, in order."""
    return next((p for p in patterns if matching(p, data)), "no handler")


def test_every_registered_pattern_is_in_the_inventory():
    patterns = registered_patterns()
    reached = {handled_by(patterns, tap.data.format(**SAMPLE)) for tap in INVENTORY.values()}
    missing = [p for p in patterns if p not in reached]
    assert not missing, f"callback patterns without an INVENTORY line in {__name__}: {missing}"
    stale = [key for key, tap in INVENTORY.items()
             if key != "anything else" and handled_by(patterns, tap.data.format(**SAMPLE)) is None]
    assert not stale, f"INVENTORY lines that only the catch-all handles (is their handler gone?): {stale}"


# ---- the world ----------------------------------------------------------------------------------

@dataclass
class World:
    values: dict[str, list]  # template field -> the values to try
    secrets: list[str]  # what must never reach a stranger: Wang's name, his order, his produce...
    wang: int
    promo: int
    copied: list[str]  # the callback data of the buttons on Wang's and the admin's real messages


async def world(bot) -> World:
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 501)
    await add_partner(bot.store, bot.clock, ADMIN, "CG-02", 503)
    zhang = bot.person(501, "Lao Zhang", language_code="en")
    wang_desk = bot.double.group(WANG_DESK, "Shangyuan desk")
    await bot.double.add_bot_to_group(wang_desk, by=zhang)
    await zhang.send("/bind CG-01", chat=wang_desk)

    wang = bot.person(1001, "Wangxiaoer", language_code="en")
    await settle_in(wang)
    number = await order_rice(wang)
    card = card_of(wang_desk, number)
    await wang.send("/search rice")
    await wang.tap("Rice")
    await wang.tap("Add")
    await wang.send("/orders")
    copied = buttons_of(wang.chat.last_bot_message())
    await wang.tap(number)
    copied += buttons_of(wang.chat.last_bot_message())
    await wang.send("/cart")
    copied += buttons_of(wang.chat.last_bot_message())
    await wang.tap("Checkout")
    copied += buttons_of(wang.chat.last_bot_message())
    token = next(b.callback_data for row in wang.chat.last_bot_message().buttons for b in row
                 if b.callback_data.startswith("co:ok:")).removeprefix("co:ok:")
    honey = await published_listing(bot, wang)
    copied += buttons_of(card) + buttons_of(review_card(wang_desk, "Mountain honey"))
    wang_id = await villager_id(bot.store, wang.id)
    draft = await produce.start_draft(bot.store, bot.clock, wang_id)
    await produce.choose_common(bot.store, bot.clock, wang_id, draft.id, "Wild walnuts", "nuts")

    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/broadcast")
    await admin.send("<b>Secret sale</b> for admins' eyes")
    copied += buttons_of(admin.chat.last_bot_message())

    async with bot.store.read() as session:
        order = await session.scalar(select(Order.id).where(Order.number == number))
        line = await session.scalar(select(CartLine.id).join(Cart).where(Cart.villager_id == wang_id))
        promo = await session.scalar(select(Broadcast.id))
        rice = await session.scalar(select(Product).where(Product.sku == "FD-001"))
        center, county = (await session.execute(select(ServiceCenter.id, ServiceCenter.county_id).join(
            Villager, Villager.center_id == ServiceCenter.id).where(Villager.id == wang_id))).one()
    assert card.buttons and order and line and promo
    admin_id = await villager_id(bot.store, 900)
    values = {"order": [order, order + 1], "listing": [honey, draft.id, draft.id + 1], "draft": [draft.id, honey],
              "line": [line, line + 1], "promo": [promo, promo + 1], "villager": [wang_id, admin_id],
              "product": [rice.id], "category": [rice.category_id], "county": [county], "center": [center],
              "token": [token]}
    return World(values, ["Wangxiaoer", number, "Mountain honey", "From our own hives", "Wild walnuts",
                          "Secret sale"], wang_id, promo, copied)


def buttons_of(message) -> list[str]:
    return [b.callback_data for row in message.buttons for b in row if b.callback_data]


def variants(template: str, values: dict[str, list]) -> list[str]:
    fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    found = [template]
    for name in fields:
        found = [data.replace("{" + name + "}", str(value)) for data in found for value in values[name]]
    return found


async def snapshot(store, exclude: tuple[str, ...] = ("processed_updates",)) -> dict[str, list]:
    """Every row of every table (but the update ledger, which records each tap)."""
    async with store.read() as session:
        return {table.name: sorted(map(repr, (await session.execute(select(table))).all()))
                for table in Base.metadata.sorted_tables if table.name not in exclude}


async def others_rows(store, w: World) -> list:
    """Wang's rows and the admin's promotion: what a stranger's tap must never change."""
    async with store.read() as session:
        rows = []
        for model, where in ((Villager, Villager.id == w.wang), (Order, Order.villager_id == w.wang),
                             (Listing, Listing.seller_id == w.wang), (Broadcast, Broadcast.id == w.promo)):
            rows += [repr(r) for r in (await session.execute(select(model.__table__).where(where))).all()]
        orders = select(Order.id).where(Order.villager_id == w.wang)
        rows += [repr(r) for r in (await session.execute(
            select(OrderLine.__table__).where(OrderLine.order_id.in_(orders)))).all()]
        rows += [repr(r) for r in (await session.execute(
            select(OrderEvent.__table__).where(OrderEvent.order_id.in_(orders)))).all()]
        rows += [repr(r) for r in (await session.execute(
            select(CartLine.__table__).join(Cart).where(Cart.villager_id == w.wang))).all()]
        return rows


def chat_state(chat) -> list:
    return [(m.message_id, m.edit_count, m.deleted) for m in chat.messages if m.from_bot]


def seen_in(chat) -> str:
    return "\n".join((m.text or "") + (m.caption or "") + repr(m.buttons) for m in chat.bot_messages())


async def tap_as_stranger(bot, w: World, person, chat, key: str, tap: Tap, data: str) -> None:
    message = chat.last_bot_message()
    before_chat, before_store = chat_state(chat), await snapshot(bot.store)
    before_others = await others_rows(bot.store, w)
    before_gone = await snapshot(bot.store, exclude=("processed_updates", "villagers"))
    answer = await person.tap_data(data, message)
    await bot.pump()
    where = f"{key}: {person.first_name} tapped {data!r} in chat {chat.id}"
    for secret in w.secrets:
        assert secret not in seen_in(chat), f"{where}: {secret!r} was shown"
    assert await others_rows(bot.store, w) == before_others, f"{where}: another's rows changed"
    if tap.expect == OWN:
        return
    assert answer.show_alert and answer.text, f"{where}: no alert ({answer})"
    if tap.expect == GONE:  # the market's front page ends the stranger's own wait for typed words
        assert await snapshot(bot.store, exclude=("processed_updates", "villagers")) == before_gone, \
            f"{where}: the store changed"
        return
    assert await snapshot(bot.store) == before_store, f"{where}: the store changed"
    assert chat_state(chat) == before_chat, f"{where}: something was sent or edited"


async def test_a_stranger_tapping_anothers_buttons_sees_nothing_and_changes_nothing(bot):
    w = await world(bot)
    zhao = bot.person(1002, "Zhao", language_code="en")
    await settle_in(zhao, "Suichang", "Dazhe")
    li = bot.person(503, "Lao Li", language_code="en")
    li_desk = bot.double.group(LI_DESK, "Qinglong desk")
    await bot.double.add_bot_to_group(li_desk, by=li)
    await li.send("/bind CG-02", chat=li_desk)
    await li.send("/start")
    patterns = registered_patterns(bot.app)
    tapped: set[str] = set()
    # OWN taps last: they may give the stranger things of their own (a draft, a cart line), whose
    # ids would be the "id + 1" of Wang's.
    for key in sorted(INVENTORY, key=lambda key: INVENTORY[key].expect == OWN):
        tap = INVENTORY[key]
        strangers = [(zhao, zhao.chat)]
        if tap.data.startswith(("dk:", "lr:", "px:")):
            strangers += [(li, li_desk), (li, li.chat)]
        pattern = handled_by(patterns, tap.data.format(**SAMPLE))
        for data in dict.fromkeys(variants(tap.data, w.values)
                                  + [d for d in w.copied if handled_by(patterns, d) == pattern]):
            for person, chat in strangers:
                await tap_as_stranger(bot, w, person, chat, key, tap, data)
            tapped.add(data)
    assert set(w.copied) <= tapped, f"copied buttons not tapped: {set(w.copied) - tapped}"
    assert len(tapped) > len(INVENTORY)


# ---- the two forged buttons of the issue, as a story ---------------------------------------------

async def test_forged_desk_card_and_review_card_show_nothing_to_a_villager(bot):
    w = await world(bot)
    zhao = bot.person(1002, "Zhao", language_code="en")
    await settle_in(zhao, "Suichang", "Dazhe")
    order, listing, draft = w.values["order"][0], w.values["listing"][0], w.values["draft"][0]
    for data in (f"dk:card:{order}", f"lr:card:{listing}", f"lr:card:{draft}"):
        shown = len(zhao.chat.bot_messages())
        answer = await zhao.tap_data(data, zhao.chat.last_bot_message())
        assert answer.show_alert and answer.text == "🔒 Sorry, this button is not for you."
        assert len(zhao.chat.bot_messages()) == shown
        assert "Wangxiaoer" not in seen_in(zhao.chat) and "Mountain honey" not in seen_in(zhao.chat)
