"""A person's own data, played through the real Application and the Bot API double: /mydata sends
everything stored about them as a JSON file; /forget deletes their personal data after a
confirmation, while their orders stay, anonymized, for the service centers' accounts."""

from __future__ import annotations

import json
import logging
import re

from sqlalchemy import func, select

from chat import body, last_text, settle_in, texts, villager_id
from services import privacy, produce, reviews
from services.partners import add_partner
from services.produce import Step
from store.models import (
    Cart,
    CartLine,
    Listing,
    Order,
    OrderEvent,
    OrderLine,
    OutboxMessage,
    Partner,
    SearchMiss,
    Villager,
)
from support.desk import ADMIN, GROUP_ID, card_of
from support.orders import order_rice, rice_in_cart
from support.store import count

PHONE = "13800138000"
YES, NO = "🗑 Yes, forget me", "✖️ No, keep my data"


async def desk_and_villager(bot):
    """A partner of CG-01 (Shangyuan) with its group as the order desk, and a villager who chose
    Shangyuan, shared their phone number and speaks English."""
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 501)
    partner = bot.person(501, "Lao Zhang", language_code="en", username="laozhang")
    group = bot.double.group(GROUP_ID, "Shangyuan desk")
    await bot.double.add_bot_to_group(group, by=partner)
    await partner.send("/bind CG-01", chat=group)
    wang = bot.person(1001, "Wang Dafu", language_code="en", username="wangdafu")
    await settle_in(wang)
    await wang.share_contact("+86 138-0013-8000")
    assert "phone number is saved" in last_text(wang)
    return partner, group, wang


async def sent_to_review(bot, seller_id: int, title: str, photo: str | None, milli: int, price_fen: int, note: str):
    """A listing of fruit, filled in and sent to review."""
    draft = await produce.start_draft(bot.store, bot.clock, seller_id)
    await produce.choose_common(bot.store, bot.clock, seller_id, draft.id, title, "fruit")
    for step, value in ((Step.PHOTO, photo), (Step.UNIT, "jin"), (Step.QUANTITY, milli), (Step.PRICE, price_fen),
                        (Step.AVAILABLE, bot.clock.now().date()), (Step.NOTE, note)):
        await produce.fill(bot.store, bot.clock, seller_id, draft.id, step, value)
    await produce.publish(bot.store, bot.clock, seller_id, draft.id)
    return draft


async def listings(bot, seller_id: int) -> tuple[int, int]:
    """An approved listing of apples on the market, and a half-filled draft."""
    draft = await sent_to_review(bot, seller_id, "Apples", None, 10_000, 600, "")
    await reviews.review(bot.store, bot.clock, ADMIN, draft.id, approve=True)
    second = await produce.start_draft(bot.store, bot.clock, seller_id)
    await produce.fill(bot.store, bot.clock, seller_id, second.id, Step.TITLE, "Walnuts")
    return draft.id, second.id


async def my_data(bot, person) -> dict:
    """Send /mydata; the bot's answer is one document, my-data.json, in UTF-8."""
    await person.send("/mydata")
    message = person.chat.last_bot_message()
    assert message.document["file_name"] == "my-data.json"
    assert message.caption.startswith("📄 Here is everything the bot stores about you.")
    raw = bot.double.files[message.document["file_id"]].content
    data = json.loads(raw.decode("utf-8"))
    data["_raw"] = raw.decode("utf-8")
    return data


async def villager_row(store, row_id: int) -> Villager:
    async with store.read() as session:
        return await session.get(Villager, row_id)


async def test_mydata_forget_cancelled_then_confirmed_keeps_the_orders_anonymized(bot):
    partner, group, wang = await desk_and_villager(bot)
    number = await order_rice(wang)
    await rice_in_cart(wang)
    assert "Added to your cart" in last_text(wang)
    wang_id = await villager_id(bot.store, 1001)
    on_market, draft = await listings(bot, wang_id)

    # /mydata: everything about them, readable, money in fen and times in ISO 8601.
    data = await my_data(bot, wang)
    person = data["person"]
    assert (person["telegram_id"], person["first_name"], person["username"], person["phone"]) == (
        1001, "Wang Dafu", "wangdafu", PHONE)
    assert person["service_center"]["code"] == "CG-01" and person["language"] == "en"
    assert re.match(r"\d{4}-\d\d-\d\dT", person["registered_at"])
    [order] = data["orders"]
    assert order["number"] == number and order["status"] == "pending" and order["pickup_center"]["code"] == "CG-01"
    assert order["lines"][0]["names"]["en"].startswith("Rice") and order["total_fen"] == order["lines"][0]["price_fen"]
    assert [event["status"] for event in order["timeline"]] == ["pending"]
    assert [line["names"]["en"][:4] for line in data["cart"]] == ["Rice"]
    assert sorted(listing["status"] for listing in data["produce_listings"]) == ["approved", "draft"]
    assert data["partner_of"] == [] and "fen" in data["about"]["money"]
    assert "\n  " in data["_raw"]  # indented for reading

    # /forget shows what goes and what stays; "No" changes nothing.
    await wang.send("/forget")
    screen = wang.chat.last_bot_message()
    assert "your name, username and phone number" in screen.text and "your cart (1 item)" in screen.text
    assert "1 produce listing, withdrawn from the market" in screen.text
    assert "your 1 order, without your name, for the service centers' accounts" in screen.text
    assert [b.text for row in screen.buttons for b in row] == [YES, NO]
    await wang.tap(NO)
    assert wang.chat.message(screen.message_id).text == "👍 Nothing was changed. Your data is kept."
    row = await villager_row(bot.store, wang_id)
    assert (row.telegram_id, row.first_name, row.phone) == (1001, "Wang Dafu", PHONE)
    assert await count(bot.store, CartLine) == 1

    # /forget, "Yes": the person is gone, their order is not.
    await wang.send("/forget")
    confirmation = wang.chat.last_bot_message()
    await wang.tap(YES)
    told = wang.chat.message(confirmation.message_id)
    assert told.text.startswith("🗑 Your personal data has been deleted.") and "/start" in told.text
    assert told.buttons == []
    row = await villager_row(bot.store, wang_id)
    assert (row.telegram_id, row.first_name, row.username, row.phone, row.awaiting, row.acting_for_id) == (
        None, "", None, None, None, None)
    assert await villager_id(bot.store, 1001) is None
    assert await count(bot.store, Cart, Cart.villager_id == wang_id) == 0
    assert await count(bot.store, OutboxMessage, OutboxMessage.villager_id == wang_id, OutboxMessage.is_open) == 0
    async with bot.store.read() as session:
        kept = await session.scalar(select(Order).where(Order.number == number))
        assert kept.villager_id == wang_id and kept.status == "pending"
        assert await session.scalar(select(func.count(OrderLine.id)).where(OrderLine.order_id == kept.id)) == 1
        assert await session.scalar(select(func.count(OrderEvent.id)).where(OrderEvent.order_id == kept.id)) == 1
        assert await session.scalar(select(Listing.status).where(Listing.id == on_market)) == "withdrawn"
        assert await session.get(Listing, draft) is None

    # The desk still has the order, and takes it all the way to the cash at pickup.
    await partner.tap("✅ Confirm", message=card_of(group, number))
    assert "Confirmed by Lao Zhang" in card_of(group, number).text
    assert card_of(group, number).text.startswith(f"🧾 Order {number} · (name deleted)")
    admin = bot.person(900, "County", language_code="en")
    await admin.send("/ship CG-01")
    assert f"1 order shipped: {number}" in last_text(admin)
    await admin.send("/county")
    await admin.tap("CG-01")
    await partner.tap("📬 Arrived at the village", message=card_of(group, number))
    async with bot.store.read() as session:
        code = await session.scalar(select(Order.pickup_code).where(Order.number == number))
    await partner.tap("🤝 Picked up", message=card_of(group, number))
    await partner.reply(code, to=group.bot_messages()[-1])  # the question
    async with bot.store.read() as session:
        kept = await session.scalar(select(Order).where(Order.number == number))
    assert kept.status == "picked_up" and kept.cash_collected_fen == kept.total_fen and kept.villager_id == wang_id
    assert not [m for m in wang.chat.bot_messages()[wang.chat.bot_messages().index(told) + 1:]]  # no news reached them

    # Coming back, with a new name on Telegram: a new, empty villager, with no trace of the old one.
    wang.first_name, wang.username = "Dafu", None
    await wang.send("/start")
    assert "Welcome, Dafu" in texts(wang.chat)[-2]
    again = await my_data(bot, wang)
    assert again["person"]["villager_id"] != wang_id and again["person"]["telegram_id"] == 1001
    assert again["person"]["phone"] is None and again["orders"] == [] and again["cart"] == []
    assert again["produce_listings"] == []
    for trace in ("Wang Dafu", "wangdafu", PHONE, number):
        assert trace not in again["_raw"]


async def test_forgetting_a_partner_removes_their_rights(bot):
    await add_partner(bot.store, bot.clock, ADMIN, "CG-01", 501)
    partner = bot.person(501, "Lao Zhang", language_code="en", username="laozhang")
    await settle_in(partner)
    assert (await my_data(bot, partner))["partner_of"][0]["center_code"] == "CG-01"

    await partner.send("/forget")
    assert "your place as a partner of Shangyuan Village Service Center" in last_text(partner)
    assert "nothing: you have no orders" in last_text(partner)
    await partner.tap(YES)
    assert await count(bot.store, Partner, Partner.telegram_id == 501) == 0


async def test_a_partner_who_forgets_leaves_the_cards_they_acted_on_without_their_name(bot):
    partner, group, wang = await desk_and_villager(bot)
    number = await order_rice(wang)
    await partner.tap("✅ Confirm", message=card_of(group, number))
    assert "Confirmed by Lao Zhang" in card_of(group, number).text

    await partner.send("/forget")
    await partner.tap(YES)
    await bot.pump()
    card = card_of(group, number)
    assert "Lao Zhang" not in card.text and "✅ Confirmed at" in card.text
    assert card.text.startswith(f"🧾 Order {number} · Wang Dafu")  # the villager is still there


async def test_stale_forged_and_foreign_forget_buttons_change_nothing(bot):
    _, _, wang = await desk_and_villager(bot)
    wang_id = await villager_id(bot.store, 1001)
    li = bot.person(1002, "Li", language_code="en")
    await settle_in(li)
    li_id = await villager_id(bot.store, 1002)

    await wang.send("/forget")
    confirmation = wang.chat.last_bot_message()
    stale = "⌛ This button is no longer valid. Please open the menu again."
    for data in ("pv:", "pv:yes", "pv:yes:abc", "pv:maybe:1", f"pv:yes:{li_id}", "pv:yes:99999999",
                 "pv:yes:" + "9" * 40):
        answer = await wang.tap_data(data, confirmation)
        assert answer.show_alert and answer.text == stale, data

    # Li taps Wang's "Yes" (its data copied into Li's own chat): Li's id does not match.
    await li.send("/forget")
    answer = await li.tap_data(f"pv:yes:{wang_id}", li.chat.last_bot_message())
    assert answer.text == stale
    answer = await li.tap_data(f"pv:no:{wang_id}", li.chat.last_bot_message())
    assert answer.show_alert and answer.text == stale and not li.chat.last_bot_message().edited
    assert (await villager_row(bot.store, wang_id)).telegram_id == 1001
    assert (await villager_row(bot.store, li_id)).telegram_id == 1002

    # Wang confirms; the same button again (a double tap) does not forget the new Wang.
    await wang.tap(YES, message=confirmation)
    assert (await villager_row(bot.store, wang_id)).telegram_id is None
    answer = await wang.tap_data(f"pv:yes:{wang_id}", confirmation)
    assert answer.show_alert and answer.text == stale
    new_id = await villager_id(bot.store, 1001)
    assert new_id is not None and new_id != wang_id
    assert (await villager_row(bot.store, new_id)).first_name == "Wang Dafu"


# ---- what leaves the store: cards already posted, listings, searches --------------------------

def cards_in(group, word: str) -> list:
    return [m for m in group.bot_messages() if word in body(m)]


async def test_forget_edits_the_cards_already_posted_blanks_the_listings_and_removes_the_searches(bot, caplog):
    partner, group, wang = await desk_and_villager(bot)
    first, second = await order_rice(wang), await order_rice(wang)
    await partner.tap("✅ Confirm", message=card_of(group, first))
    wang_id = await villager_id(bot.store, 1001)
    apples, _ = await listings(bot, wang_id)
    photo = bot.double.store_file("photo", b"\xff\xd8\xff\xe0-pears", "pears.jpg", "image/jpeg").file_id
    pears = await sent_to_review(bot, wang_id, "Pears", photo, 5_000, 800, "From my own tree")
    await produce.withdraw(bot.store, bot.clock, wang_id, pears.id)  # withdrawn before /forget
    await wang.send("/search golden unicorn saddle")
    await bot.pump()
    assert card_of(group, first).text.startswith(f"🧾 Order {first} · Wang Dafu")
    [pear_card] = cards_in(group, "Pears")
    assert pear_card.photo and "sold by Wang" in body(pear_card)
    assert await count(bot.store, SearchMiss, SearchMiss.villager_id == wang_id) == 1
    # The second order's card was deleted in the group: it cannot be edited any more.
    card_of(group, second).deleted = True

    await wang.send("/forget")
    assert "1 search of yours that found nothing" in last_text(wang)
    caplog.set_level(logging.INFO, logger="handlers.card_posts")
    await wang.tap(YES)
    await bot.pump()

    # The group's cards, read as the partners read them: no name, no texts of the listings.
    confirmed = card_of(group, first)
    assert confirmed.edited and confirmed.text.startswith(f"🧾 Order {first} · (name deleted)")
    assert "Confirmed by Lao Zhang" in confirmed.text and "Wang" not in confirmed.text
    assert not [m for m in group.bot_messages() if second in body(m)], "a deleted card is not posted again"
    assert "cannot be edited, left as it is" in caplog.text
    for title in ("Apples", "Pears"):
        assert not cards_in(group, title)
    [pear_card] = [m for m in group.bot_messages() if m.message_id == pear_card.message_id]
    assert "(name deleted)" in body(pear_card) and "(deleted)" in body(pear_card) and "Wang" not in body(pear_card)
    assert "From my own tree" not in body(pear_card)
    async with bot.store.read() as session:
        rows = (await session.scalars(select(Listing).where(Listing.seller_id == wang_id))).all()
        assert sorted(r.id for r in rows) == sorted([apples, pears.id])
        blanked = {(r.status, r.title, r.note, r.photo, r.reject_reason) for r in rows}
        assert blanked == {("withdrawn", "", "", None, "")}
        assert await session.scalar(select(func.count(SearchMiss.id)).where(
            SearchMiss.query.like("%unicorn%"))) == 0


async def test_the_cards_to_edit_wait_in_the_outbox_across_a_restart(bot, restart):
    _, group, wang = await desk_and_villager(bot)
    number = await order_rice(wang)
    wang_id = await villager_id(bot.store, 1001)
    await restart(start=False)  # the process dies right after /forget committed, before any edit
    done = await privacy.forget(bot.store, bot.clock, wang_id)
    assert done.cards_to_edit == 1
    assert card_of(group, number).text.startswith(f"🧾 Order {number} · Wang Dafu")
    edits = OutboxMessage.kind == "card_edit", OutboxMessage.is_open
    assert await count(bot.store, OutboxMessage, *edits) == 1

    await restart()
    await bot.pump()
    assert card_of(group, number).text.startswith(f"🧾 Order {number} · (name deleted)")
    assert await count(bot.store, OutboxMessage, *edits) == 0
    assert await count(bot.store, OutboxMessage, OutboxMessage.kind == "card_edit",
                       OutboxMessage.sent_at.is_not(None)) == 1


# ---- a villager without Telegram (/orderfor) --------------------------------------------------

async def test_an_admin_erases_a_walk_in_villager_and_a_stranger_cannot(bot):
    partner, group, _ = await desk_and_villager(bot)
    await partner.send("/start")
    await partner.send("/orderfor Li Wei 13900139000")
    number = await order_rice(partner)
    assert card_of(group, number).text.startswith(f"🧾 Order {number} · Li Wei")
    async with bot.store.read() as session:
        walkin_id = await session.scalar(select(Order.villager_id).where(Order.number == number))
    erase = "🗑 Erase Li Wei (CG-01)"

    # A stranger: refused; the admin's button, copied into their own chat, changes nothing.
    stranger = bot.person(1009, "Snoop", language_code="en")
    await settle_in(stranger)
    await stranger.send("/forget_walkin 13900139000")
    assert last_text(stranger) == "🔒 Only admins and partners can erase a villager without Telegram."
    refused = stranger.chat.last_bot_message()
    for data in (f"fw:yes:{walkin_id}", f"fw:yes:{walkin_id + 1}", "fw:yes:x", "fw:", "fw:no"):
        answer = await stranger.tap_data(data, refused)
        assert answer.show_alert and answer.text in (
            "🔒 Only admins and the partners of this villager's service center can erase them.",
            "🔒 Only admins and partners can erase a villager without Telegram.",
            "⌛ This button is no longer valid. Please open the menu again."), data
    assert stranger.chat.last_bot_message() is refused and not refused.edited
    # A partner of another center does not find them; their own partner may, and says no.
    await add_partner(bot.store, bot.clock, ADMIN, "CG-02", 601)
    other = bot.person(601, "Lao Li", language_code="en")
    await other.send("/forget_walkin 13900139000")
    assert "No villager without Telegram has this phone number at a center of yours" in last_text(other)
    answer = await other.tap_data(f"fw:yes:{walkin_id}", other.chat.last_bot_message())
    assert answer.show_alert and answer.text.startswith("🔒 Only admins and the partners of this villager's")
    await partner.send("/forget_walkin 13900139000")
    assert "Li Wei, Shangyuan Village Service Center (CG-01): 1 order" in last_text(partner)
    await partner.tap("✖️ No, keep it")
    assert last_text(partner) == "👍 Nothing was changed."
    assert (await villager_row(bot.store, walkin_id)).first_name == "Li Wei"

    # The admin erases them: the order stays, without the name, and the card in the group too.
    admin = bot.person(900, "Admin", language_code="en")
    await admin.send("/forget_walkin +86 139-0013-9000")
    screen = admin.chat.last_bot_message()
    assert "their orders stay, without their name" in screen.text.lower()
    await admin.tap(erase)
    assert admin.chat.message(screen.message_id).text == "🗑 Erased. Their 1 order stays, without their name."
    await bot.pump()
    row = await villager_row(bot.store, walkin_id)
    assert (row.first_name, row.phone, row.telegram_id) == ("", None, None)
    async with bot.store.read() as session:
        assert await session.scalar(select(Order.villager_id).where(Order.number == number)) == walkin_id
    card = card_of(group, number)
    assert card.text.startswith(f"🧾 Order {number} · (name deleted)") and "Li Wei" not in card.text
    assert "Ordered for them by Lao Zhang" in card.text
    assert [b.text for row in card.buttons for b in row] == ["✅ Confirm", "❌ Reject"]

    # A second tap, and the phone number again: nothing more to erase.
    answer = await admin.tap_data(f"fw:yes:{walkin_id}", admin.chat.message(screen.message_id))
    assert answer.show_alert and answer.text == "⌛ This button is no longer valid. Please open the menu again."
    await admin.send("/forget_walkin 13900139000")
    assert "No villager without Telegram has this phone number" in last_text(admin)
    await admin.send("/forget_walkin 12ab")
    assert "That phone number does not look right" in last_text(admin)
