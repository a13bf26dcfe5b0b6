"""Rows for the upgrade test (tests/services/test_migrations.py): a lived-in database at every revision.

``SEED`` maps every revision in store/migrations/versions to the rows that revision brings: for
each table it created, or changed, a list of rows (column -> value) as the table stands at that
revision. A database made at revision R gets the rows of every revision up to R, oldest first, and
within a revision in the order given here (parents before the rows that point at them). Then
``rural-bot db upgrade`` runs, and every row must still be there with the same values.

The test fails, with a message naming what is missing, when:
  - a revision has no entry here (a revision that needs no rows says so with ``{}``);
  - a table that exists at a revision has no row there;
  - a column that exists at a revision has no value (not NULL) in any row of its table.

Adding a migration 00NN: add ``"00NN": {...}`` at the end of ``SEED`` with
  - a row or more for each table it creates;
  - for each column it adds to an existing table, a new row of that table that fills the column
    (rows of earlier revisions keep their columns: they are inserted before your migration runs).
Ids are given explicitly and must not collide with earlier rows of the same table. Times are
aware UTC datetimes, money integer fen, JSON plain dicts and lists. If a migration drops or
renames a column, the rows of earlier revisions may keep it: only the columns that exist at head
are compared after the upgrade.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import MetaData

from store.db import all_revisions

REVISIONS = all_revisions()  # oldest first

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)  # 09:30 in the villages


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


SEED: dict[str, dict[str, list[dict]]] = {
    "0001": {
        "counties": [{"id": 1, "name": "苍溪县", "names": {"zh_Hans": "苍溪县", "en": "Cangxi"}}],
        "service_centers": [
            {"id": 1, "code": "CG-01", "names": {"zh_Hans": "白驿村服务站", "en": "Baiyi Village"}, "county_id": 1,
             "address": "白驿镇白驿村2组", "latitude": 31.73, "longitude": 105.93, "opening_hours": "08:00-19:00",
             "timezone": "Asia/Shanghai", "is_active": True},
            {"id": 2, "code": "CG-02", "names": {"zh_Hans": "东溪村服务站"}, "county_id": 1, "address": "东溪镇",
             "latitude": None, "longitude": None, "opening_hours": "", "timezone": "Asia/Shanghai",
             "is_active": False},
        ],
        "categories": [{"id": 1, "code": "food_drink"}, {"id": 2, "code": "farming"}],
        "products": [
            {"id": 1, "sku": "RICE-5KG", "category_id": 1, "price_fen": 2590, "unit": "袋", "stock": 40,
             "names": {"zh_Hans": "东北大米 5kg", "en": "Rice 5 kg"}, "descriptions": {"zh_Hans": "新米"},
             "photo": "AgACAgUAAxkBAAIB", "keywords": ["大米", "rice"], "is_active": True, "updated_at": at(0)},
            {"id": 2, "sku": "SEED-CORN", "category_id": 2, "price_fen": 1800, "unit": "包", "stock": 0,
             "names": {"zh_Hans": "玉米种子"}, "descriptions": {}, "photo": None, "keywords": [],
             "is_active": False, "updated_at": at(1)},
        ],
        "villagers": [
            {"id": 1, "telegram_id": 1001, "first_name": "王芳", "username": "wangfang", "locale": "zh_Hans",
             "center_id": 1, "awaiting": "qty:1", "created_at": at(0), "last_seen_at": at(30)},
            {"id": 2, "telegram_id": 2001, "first_name": "张伟", "username": None, "locale": "en",
             "center_id": None, "awaiting": None, "created_at": at(2), "last_seen_at": at(40)},
        ],
        "carts": [{"id": 1, "villager_id": 1, "checkout_token": "k3J9x2"}],
        "cart_lines": [{"id": 1, "cart_id": 1, "product_id": 1, "quantity": 3}],
        "orders": [
            {"id": 1, "number": "CG01-0001", "villager_id": 1, "center_id": 1, "status": "confirmed",
             "total_fen": 5180, "payment_method": "cash_on_pickup", "checkout_token": "t-0001",
             "created_at": at(10), "updated_at": at(12)},
        ],
        "order_lines": [
            {"id": 1, "order_id": 1, "product_id": 1, "sku": "RICE-5KG", "names": {"zh_Hans": "东北大米 5kg"},
             "unit": "袋", "price_fen": 2590, "quantity": 2},
            {"id": 2, "order_id": 1, "product_id": None, "sku": "GONE-1", "names": {"zh_Hans": "已下架"},
             "unit": "个", "price_fen": 0, "quantity": 1},
        ],
        "order_events": [
            {"id": 1, "order_id": 1, "status": "pending", "at": at(10), "actor_id": None, "note": ""},
            {"id": 2, "order_id": 1, "status": "confirmed", "at": at(12), "actor_id": 2, "note": "明天到货"},
        ],
        "search_misses": [
            {"id": 1, "query": "化肥", "normalized": "化肥", "villager_id": 1, "locale": "zh_Hans", "at": at(5)},
        ],
    },
    "0002": {
        "service_centers": [
            {"id": 3, "code": "CG-03", "names": {"zh_Hans": "龙山村服务站"}, "county_id": 1, "address": "龙山",
             "latitude": 31.7, "longitude": 105.9, "opening_hours": "08:00-18:00", "timezone": "Asia/Shanghai",
             "is_active": True, "group_chat_id": -1002000000003, "desk_locale": "zh_Hans"},
        ],
        "villagers": [
            {"id": 3, "telegram_id": None, "first_name": "赵奶奶", "username": None, "locale": "zh_Hans",
             "center_id": 3, "awaiting": None, "phone": "13800001003", "acting_for_id": None, "unreachable": False,
             "created_at": at(20), "last_seen_at": at(20)},
            {"id": 4, "telegram_id": 2002, "first_name": "李强", "username": "liqiang", "locale": "zh_Hans",
             "center_id": 3, "awaiting": None, "phone": "13800002002", "acting_for_id": 3, "unreachable": True,
             "created_at": at(21), "last_seen_at": at(50)},
        ],
        "partners": [
            {"id": 1, "center_id": 3, "telegram_id": 2002, "added_at": at(15)},
            {"id": 2, "center_id": 1, "telegram_id": 2001, "added_at": at(16)},
        ],
        "orders": [
            {"id": 2, "number": "CG03-0001", "villager_id": 3, "center_id": 3, "status": "ready_for_pickup",
             "total_fen": 2590, "payment_method": "cash_on_pickup", "checkout_token": "t-0002",
             "created_at": at(25), "updated_at": at(60), "assisted_by_id": 4, "pickup_code": "925789",
             "cash_collected_fen": None},
            {"id": 3, "number": "CG01-0002", "villager_id": 1, "center_id": 1, "status": "picked_up",
             "total_fen": 1800, "payment_method": "cash_on_pickup", "checkout_token": "t-0003",
             "created_at": at(26), "updated_at": at(90), "assisted_by_id": None, "pickup_code": "104233",
             "cash_collected_fen": 1800},
        ],
        "order_lines": [
            {"id": 3, "order_id": 2, "product_id": 1, "sku": "RICE-5KG", "names": {"zh_Hans": "东北大米 5kg"},
             "unit": "袋", "price_fen": 2590, "quantity": 1},
            {"id": 4, "order_id": 3, "product_id": 2, "sku": "SEED-CORN", "names": {"zh_Hans": "玉米种子"},
             "unit": "包", "price_fen": 1800, "quantity": 1},
        ],
        "order_events": [
            {"id": 3, "order_id": 2, "status": "pending", "at": at(25), "actor_id": 4, "note": ""},
            {"id": 4, "order_id": 2, "status": "ready_for_pickup", "at": at(60), "actor_id": None, "note": ""},
            {"id": 5, "order_id": 3, "status": "picked_up", "at": at(90), "actor_id": 2, "note": ""},
        ],
        "order_cards": [{"id": 1, "order_id": 2, "chat_id": -1002000000003, "message_id": 77}],
        "outbox": [
            {"id": 1, "kind": "order_card", "order_id": 2, "center_id": 3, "villager_id": None,
             "payload": {"chat_id": -1002000000003}, "dedupe_key": "card:2", "due_at": at(25),
             "claimed_until": None, "attempts": 1, "last_error": "", "sent_at": at(25), "cancelled_at": None,
             "failed_at": None, "is_open": False},
            {"id": 2, "kind": "pickup_reminder", "order_id": 2, "center_id": None, "villager_id": 3,
             "payload": {"day": 1}, "dedupe_key": "remind:2:1", "due_at": at(24 * 60), "claimed_until": at(61),
             "attempts": 2, "last_error": "timed out", "sent_at": None, "cancelled_at": None, "failed_at": None,
             "is_open": True},
            {"id": 3, "kind": "status", "order_id": 3, "center_id": None, "villager_id": 1, "payload": {},
             "dedupe_key": None, "due_at": at(30), "claimed_until": None, "attempts": 0, "last_error": "",
             "sent_at": None, "cancelled_at": at(31), "failed_at": None, "is_open": False},
            {"id": 4, "kind": "status", "order_id": None, "center_id": None, "villager_id": 4, "payload": {},
             "dedupe_key": None, "due_at": at(30), "claimed_until": None, "attempts": 12,
             "last_error": "Forbidden: bot was blocked by the user", "sent_at": None, "cancelled_at": None,
             "failed_at": at(45), "is_open": False},
        ],
    },
    "0003": {
        "listings": [
            {"id": 1, "seller_id": 1, "center_id": 1, "status": "approved", "step": None, "previewed": True,
             "title": "土鸡蛋", "category": "eggs", "photo": "AgACAgUAAxkBAAIC", "unit": "kg",
             "left_milli": 7500, "price_fen": 1600, "available_from": date(2026, 3, 5), "note": "散养",
             "reject_reason": "", "reviewed_by_id": 2, "created_at": at(100), "updated_at": at(130),
             "approved_at": at(130)},
            {"id": 2, "seller_id": 3, "center_id": 3, "status": "draft", "step": "price", "previewed": False,
             "title": "红薯", "category": "", "photo": None, "unit": "", "left_milli": 0, "price_fen": 0,
             "available_from": None, "note": "", "reject_reason": "", "reviewed_by_id": None,
             "created_at": at(110), "updated_at": at(111), "approved_at": None},
        ],
        "listing_cards": [{"id": 1, "listing_id": 1, "chat_id": -1002000000001, "message_id": 88}],
        "orders": [
            {"id": 4, "number": "CG03-0002", "villager_id": 4, "center_id": 3, "status": "pending",
             "total_fen": 4000, "payment_method": "cash_on_pickup", "checkout_token": "t-0004",
             "created_at": at(140), "updated_at": at(140), "assisted_by_id": None, "pickup_code": None,
             "cash_collected_fen": None, "seller_center_id": 1},
        ],
        "order_lines": [
            {"id": 5, "order_id": 4, "product_id": None, "sku": "listing-1", "names": {"zh_Hans": "土鸡蛋"},
             "unit": "kg", "price_fen": 1600, "quantity": None, "listing_id": 1, "quantity_milli": 2500},
        ],
        "order_events": [{"id": 6, "order_id": 4, "status": "pending", "at": at(140), "actor_id": 4, "note": ""}],
    },
    "0004": {
        "products": [
            {"id": 3, "sku": "OIL-5L", "category_id": 1, "price_fen": 6900, "unit": "桶", "stock": 4,
             "names": {"zh_Hans": "菜籽油 5L"}, "descriptions": {}, "photo": None, "keywords": ["油"],
             "is_active": True, "updated_at": at(150), "low_stock_threshold": 10, "low_stock_alerted": True},
        ],
        "villagers": [
            {"id": 5, "telegram_id": 1005, "first_name": "Li Ming", "username": None, "locale": "en",
             "center_id": 1, "awaiting": None, "phone": None, "acting_for_id": None, "unreachable": False,
             "promotions_off": True, "created_at": at(150), "last_seen_at": at(151)},
        ],
        "broadcasts": [
            {"id": 1, "admin_telegram_id": 900, "status": "done", "step": None,
             "texts": {"zh_Hans": "🎉 新米上市", "en": "🎉 New rice"}, "photo": "AgACAgUAAxkBAAID",
             "link": {"kind": "product", "code": "RICE-5KG"}, "audience": {"kind": "all"}, "send_at": at(200),
             "progress_message_id": 4242, "pace_at": at(201), "total": 2, "created_at": at(190),
             "started_at": at(200), "finished_at": at(202)},
            {"id": 2, "admin_telegram_id": 900, "status": "draft", "step": "text", "texts": {}, "photo": None,
             "link": {}, "audience": {"kind": "county", "value": 1}, "send_at": None, "progress_message_id": None,
             "pace_at": None, "total": 0, "created_at": at(210), "started_at": None, "finished_at": None},
        ],
        "broadcast_deliveries": [
            {"id": 1, "broadcast_id": 1, "villager_id": 1, "status": "sent", "claimed_until": None, "attempts": 1,
             "sent_at": at(200), "error": ""},
            {"id": 2, "broadcast_id": 1, "villager_id": 4, "status": "blocked", "claimed_until": at(201),
             "attempts": 1, "sent_at": None, "error": "Forbidden: bot was blocked by the user"},
        ],
    },
    "0005": {
        "processed_updates": [{"update_id": 734500001, "at": at(300)}, {"update_id": 734500002, "at": at(301)}],
    },
    "0006": {
        # One done with its claim, one whose process died while holding it (handled again when resent).
        "processed_updates": [
            {"update_id": 734500003, "at": at(310), "claimed_until": at(311), "done_at": at(310), "body": None},
            {"update_id": 734500004, "at": at(312), "claimed_until": at(313), "done_at": None,
             "body": {"update_id": 734500004, "callback_query": {"id": "17", "data": "co:ok", "chat_instance": "1",
                                                                   "from": {"id": 1001, "is_bot": False, "first_name": "王芳"}}}},
        ],
    },
    "0007": {
        "desk_prompts": [
            {"id": 1, "chat_id": -4001, "message_id": 77, "villager_id": 4, "telegram_id": 2002, "kind": "rjr",
             "subject_id": 4, "card_message_id": 70, "created_at": at(320), "expires_at": at(330),
             "closed_at": at(322), "outcome": "answered"},
            {"id": 2, "chat_id": -4001, "message_id": 80, "villager_id": 4, "telegram_id": 2002, "kind": "pick",
             "subject_id": 1, "card_message_id": None, "created_at": at(340), "expires_at": at(350),
             "closed_at": None, "outcome": None},
        ],
    },
    "0008": {},  # an index only
    "0009": {
        "listings": [
            {"id": 3, "seller_id": 1, "center_id": 1, "status": "review", "step": None, "previewed": True,
             "title": "核桃", "category": "nuts", "photo": None, "unit": "斤", "left_milli": 20000,
             "price_fen": 1800, "available_from": date(2026, 3, 6), "note": "", "reject_reason": "",
             "reviewed_by_id": 2, "created_at": at(360), "updated_at": at(380), "approved_at": at(365),
             "back_to_review_at": at(380)},
        ],
    },
    "0010": {
        # A copy still to be sent: the new partial index holds it.
        "broadcast_deliveries": [
            {"id": 3, "broadcast_id": 1, "villager_id": 2, "status": "pending", "claimed_until": None,
             "attempts": 0, "sent_at": None, "error": ""},
        ],
    },
    "0011": {
        # A promotion the admin sent in quiet hours with "send anyway".
        "broadcasts": [
            {"id": 3, "admin_telegram_id": 900, "status": "done", "step": None, "texts": {"zh_Hans": "🎉 化肥九折"},
             "photo": None, "link": {}, "audience": {"kind": "all"}, "send_at": at(400), "progress_message_id": 4300,
             "pace_at": at(401), "total": 1, "created_at": at(395), "started_at": at(400), "finished_at": at(402),
             "send_in_quiet_hours": True},
        ],
    },
    "0012": {
        # Someone whose first /start was answered: the next one is a welcome back.
        "villagers": [
            {"id": 6, "telegram_id": 1006, "first_name": "Zhou Li", "username": None, "locale": "en",
             "center_id": 1, "awaiting": None, "phone": None, "acting_for_id": None, "unreachable": False,
             "promotions_off": False, "created_at": at(400), "last_seen_at": at(401), "started_at": at(400)},
        ],
    },
    "0013": {
        # A word an admin taught the search.
        "synonyms": [
            {"id": 1, "word": "洋芋", "means": "土豆", "admin_telegram_id": 900, "created_at": at(500)},
        ],
    },
    "0014": {
        # A center whose partner earns 1.5% and ¥0.50 on each order, and ¥2 on each phone top-up.
        "service_centers": [
            {"id": 4, "code": "CG-04", "names": {"zh_Hans": "石门村服务站"}, "county_id": 1, "address": "石门",
             "latitude": None, "longitude": None, "opening_hours": "08:00-18:00", "timezone": "Asia/Shanghai",
             "is_active": True, "group_chat_id": None, "desk_locale": None, "order_fee_bp": 150,
             "order_fee_fen": 50, "service_fees": {"topup": 200}},
        ],
        "county_staff": [{"id": 1, "county_id": 1, "telegram_id": 3003, "added_at": at(510)}],
        # The cash taken at a pickup, and its correction (a new entry, never an edit).
        "cash_entries": [
            {"id": 1, "center_id": 1, "kind": "collected", "amount_fen": 1800, "fee_fen": 27, "at": at(520),
             "order_id": 3, "seller_id": None, "actor_telegram_id": 2001, "ref": "pickup:3", "corrects_id": None,
             "note": ""},
            {"id": 2, "center_id": 1, "kind": "correction", "amount_fen": -100, "fee_fen": 0, "at": at(530),
             "order_id": 3, "seller_id": 1, "actor_telegram_id": 2001, "ref": None, "corrects_id": 1,
             "note": "counted twice"},
        ],
    },
    "0015": {
        # Wang Fang's seed packet was damaged: refunded, and the packet back in stock; a second
        # report on the same order was answered with a replacement (order 1 stands in for it).
        "order_problems": [
            {"id": 1, "order_id": 3, "villager_id": 1, "center_id": 1, "status": "refunded", "step": None,
             "lines": {"4": 1}, "reason": "damaged", "photo": "AgACAgUAAxkBAAIC", "decision": "refund",
             "refund_lines": {"4": 1}, "refunded_fen": 1800, "replacement_order_id": None, "decline_reason": "",
             "restock": "stock", "decided_by_id": 2, "cards": {"-1002000000001": 81}, "created_at": at(600),
             "reported_at": at(605), "decided_at": at(640)},
            {"id": 2, "order_id": 3, "villager_id": 1, "center_id": 1, "status": "declined", "step": "photo",
             "lines": {"4": 1}, "reason": "other", "photo": None, "decision": "decline", "refund_lines": {},
             "refunded_fen": 0, "replacement_order_id": 1, "decline_reason": "already refunded",
             "restock": None, "decided_by_id": 2, "cards": {}, "created_at": at(700), "reported_at": at(701),
             "decided_at": at(702)},
        ],
    },
    "0016": {
        # Cash handed to the county: its entry, and the handover county staff 3003 confirmed.
        "cash_entries": [
            {"id": 3, "center_id": 1, "kind": "handover", "amount_fen": -1000, "fee_fen": 0, "at": at(540),
             "order_id": None, "seller_id": None, "actor_telegram_id": 2001, "ref": "handover:1", "corrects_id": None,
             "note": ""},
        ],
        "handovers": [
            {"id": 1, "center_id": 1, "amount_fen": 1000, "by_telegram_id": 2001, "at": at(540), "status": "confirmed",
             "confirmed_by": 3003, "confirmed_at": at(550), "entry_id": 3},
        ],
    },
    "0017": {
        # A top-up a villager asked for and a partner did, with its cash entry; and a walk-in's bill.
        "service_requests": [
            {"id": 1, "center_id": 1, "villager_id": 1, "kind": "topup",
             "details": {"phone": "13800001234", "amount_fen": 5000}, "status": "done", "step": None,
             "charged_fen": 5000, "fee_fen": 200, "decline_reason": "", "walk_in": False,
             "decided_by_telegram_id": 2001, "decided_by_name": "张伟", "cards": {"-100123": 77},
             "created_at": at(540), "updated_at": at(560), "requested_at": at(545), "decided_at": at(560)},
            {"id": 2, "center_id": 1, "villager_id": None, "kind": "water",
             "details": {"account": "0512345678"}, "status": "declined", "step": "confirm",
             "charged_fen": None, "fee_fen": 0, "decline_reason": "unavailable", "walk_in": True,
             "decided_by_telegram_id": 2001, "decided_by_name": "张伟", "cards": {},
             "created_at": at(570), "updated_at": at(570), "requested_at": None, "decided_at": at(570)},
        ],
        "cash_entries": [
            {"id": 4, "center_id": 1, "kind": "service", "amount_fen": 5200, "fee_fen": 200, "at": at(560),
             "order_id": None, "seller_id": None, "actor_telegram_id": 2001, "ref": "service:1", "corrects_id": None,
             "note": ""},
        ],
    },
    "0018": {
        # The buyer of the eggs (order line 5) gave 2 stars and a text, which the partner hid.
        "reviews": [
            {"id": 1, "order_line_id": 5, "order_id": 4, "listing_id": 1, "seller_id": 1, "buyer_id": 4,
             "center_id": 1, "stars": 2, "text": "蛋是碎的", "created_at": at(600), "asked_at": at(601),
             "rated_at": at(610), "hidden_at": at(620), "hidden_by": 2, "hidden_reason": "abusive",
             "cards": {"-100123": 88}},
        ],
    },
    "0019": {
        # Zhou Li, in town, bought 3 kg of the eggs for delivery, paid online; the center shipped
        # them and the carrier delivered them: the goods' money is the seller's, held by the county.
        "counties": [{"id": 9, "name": "洋县", "names": {"zh_Hans": "洋县", "en": "Yang County"}, "province": "陕西省"}],
        "delivery_prices": [
            {"id": 1, "center_id": 1, "zone": "county", "up_to_grams": 5000, "price_fen": 600, "updated_at": at(700),
             "updated_by": 3003},
            {"id": 2, "center_id": 1, "zone": "elsewhere", "up_to_grams": 5000, "price_fen": 1800,
             "updated_at": at(700), "updated_by": None},
        ],
        "orders": [
            {"id": 5, "number": "RT-TOWN1", "villager_id": 6, "center_id": 1, "status": "delivered", "total_fen": 4800,
             "payment_method": "online", "checkout_token": "t-0005", "created_at": at(710), "updated_at": at(760),
             "assisted_by_id": None, "pickup_code": None, "cash_collected_fen": None, "seller_center_id": 1,
             "ship_to": {"name": "周丽", "phone": "13900001111", "address": "陕西省西安市雁塔区科技路 10 号",
                         "zone": "province"},
             "delivery_fen": 1200, "tracking_number": "SF1234567890", "reserved_until": at(725)},
        ],
        "order_lines": [
            {"id": 6, "order_id": 5, "product_id": None, "sku": "L1", "names": {"title": "土鸡蛋"}, "unit": "kg",
             "price_fen": 1600, "quantity": None, "listing_id": 1, "quantity_milli": 3000},
        ],
        "order_events": [
            {"id": 7, "order_id": 5, "status": "awaiting_payment", "at": at(710), "actor_id": 6, "note": ""},
            {"id": 8, "order_id": 5, "status": "delivered", "at": at(760), "actor_id": None, "note": ""},
        ],
        "payments": [
            {"id": 1, "order_id": 5, "kind": "payment", "amount_fen": 6000, "currency": "CNY",
             "telegram_charge_id": "tg-charge-1", "provider_charge_id": "prov-1", "ref": None, "at": at(712),
             "actor_telegram_id": 1006, "note": ""},
            {"id": 2, "order_id": 5, "kind": "refund", "amount_fen": -1600, "currency": "CNY",
             "telegram_charge_id": None, "provider_charge_id": "", "ref": "refund:5:1", "at": at(770),
             "actor_telegram_id": 2001, "note": "one kilo broken"},
        ],
        "cash_entries": [
            {"id": 5, "center_id": 1, "kind": "paid_away", "amount_fen": 4800, "fee_fen": 0, "at": at(760),
             "order_id": 5, "seller_id": 1, "actor_telegram_id": None, "ref": "delivered:5", "corrects_id": None,
             "note": ""},
            {"id": 6, "center_id": 1, "kind": "held_away", "amount_fen": -4800, "fee_fen": 0, "at": at(760),
             "order_id": 5, "seller_id": None, "actor_telegram_id": None, "ref": "held-delivered:5",
             "corrects_id": None, "note": ""},
        ],
    },
    "0020": {
        # A second kilo was refunded to Zhou Li's card, and an admin (3003) refunded it at the
        # payment provider and said so.
        "payments": [
            {"id": 3, "order_id": 5, "kind": "refund", "amount_fen": -1600, "currency": "CNY",
             "telegram_charge_id": None, "provider_charge_id": "", "ref": "refund:5:2", "at": at(780),
             "actor_telegram_id": 2001, "note": "another kilo broken", "confirmed_at": at(800),
             "confirmed_by": 3003},
        ],
    },
}


def seed(sync_connection, revision: str) -> dict[str, list[dict]]:
    """Insert the rows of every revision up to ``revision`` into the tables as they are there;
    returns them by table."""
    tables = MetaData()
    tables.reflect(sync_connection)
    inserted: dict[str, list[dict]] = {}
    for step in REVISIONS[: REVISIONS.index(revision) + 1]:
        for name, rows in SEED[step].items():
            assert name in tables.tables, f"SEED[{step!r}] has rows for {name}, which does not exist at {step}"
            table = tables.tables[name]
            for row in rows:
                unknown = set(row) - set(table.c.keys())
                assert not unknown, f"SEED[{step!r}] {name}: no column(s) {', '.join(sorted(unknown))} at {step}"
                # One INSERT for many rows takes its columns from the first: others would be dropped.
                assert set(row) == set(rows[0]), f"SEED[{step!r}] {name}: give every row the same columns"
            sync_connection.execute(table.insert(), rows)
            inserted.setdefault(name, []).extend(rows)
    if sync_connection.dialect.name == "sqlite":
        broken = sync_connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        assert not broken, f"seed rows point at rows that are not there: {broken}"
    return inserted
