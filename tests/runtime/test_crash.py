"""A ``rural-bot webhook`` process killed with SIGKILL in the middle of a checkout: Telegram (the
double) sends the update again, a new process handles it, and the villager has exactly one order
and one confirmation. An update delivered again after it was handled has no effect.

The killed process runs with RURAL_TEST_DELAY_BEFORE_DONE (store/db.py, test only): the
transaction that places the order waits there just before its commit, and is killed while it
waits. Its claim on the update lapses after UPDATE_CLAIM_SECONDS; until then a redelivery is
answered 503 and Telegram tries again.

A ``rural-bot run`` process killed the same way: Telegram had the update confirmed when the
process polled for the next ones, and never sends it again. The next ``rural-bot run`` hands it
over from the store, once."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

from sqlalchemy import select

from chat import settle_in, stock_of, villager_id
from store.models import Order, ProcessedUpdate
from support.orders import rice_in_cart
from support.processes import TOKEN, start_bot, webhook_env

PLACED = re.compile(r"Order <b>(RT-[0-9A-Z]{5})</b> placed!")


async def cart_at_checkout(store, telegram, tmp_path):
    """Wang, with two bags of rice in his cart, looks at the checkout screen (served by a process
    that is stopped again); returns Wang and the update that taps ✅ Confirm order."""
    setup = await start_bot("webhook", webhook_env(store.url, telegram), tmp_path)
    telegram.webhook_targets = [setup.base]
    wang = telegram.person(1001, "Wang", language_code="en")
    await settle_in(wang)
    await rice_in_cart(wang, quantity_taps=1)
    await wang.send("/cart")
    await wang.tap("Checkout")
    status, _ = await setup.terminate()
    assert status == 0
    checkout = wang.chat.last_bot_message()
    data = next(b.callback_data for row in checkout.buttons for b in row if "Confirm order" in b.text)
    confirm = {"update_id": 9001, "callback_query": {
        "id": telegram.new_query_id(), "from": wang.to_dict(), "message": checkout.to_dict(),
        "chat_instance": "1001", "data": data}}
    return wang, confirm


def confirmations(telegram, person) -> list[str]:
    """Every confirmation the bot sent or edited into the person's chat."""
    return [c.params["text"] for c in telegram.calls
            if c.method in ("sendMessage", "editMessageText") and str(c.params.get("chat_id")) == str(person.id)
            and PLACED.search(c.params.get("text", ""))]


async def orders_of(store, person) -> list[tuple[str, int]]:
    async with store.read() as session:
        return (await session.execute(select(Order.number, Order.total_fen)
                                      .where(Order.villager_id == await villager_id(store, person.id)))).all()


async def test_a_process_killed_mid_checkout_leaves_one_order_and_one_confirmation(demo_store, telegram, tmp_path):
    wang, confirm = await cart_at_checkout(demo_store, telegram, tmp_path)
    rice_before = await stock_of(demo_store, "FD-001")

    doomed = await start_bot("webhook", webhook_env(demo_store.url, telegram, RURAL_TEST_DELAY_BEFORE_DONE="120",
                                                    UPDATE_CLAIM_SECONDS="5"), tmp_path)
    telegram.webhook_targets = [doomed.base]
    delivered = asyncio.create_task(telegram.deliver(confirm, timeout=60))  # until a process answers 200
    await telegram.wait_for(lambda: any("test delay: update 9001" in line for line in doomed.lines), timeout=10,
                            message="the checkout did not reach its commit")
    doomed.process.kill()
    assert await doomed.process.wait() == -9
    async with demo_store.read() as session:  # it claimed the update, and nothing else of it is left
        row = await session.get(ProcessedUpdate, 9001)
    assert row is not None and row.done_at is None
    assert await orders_of(demo_store, wang) == [] and await stock_of(demo_store, "FD-001") == rice_before

    fresh = await start_bot("webhook", webhook_env(demo_store.url, telegram), tmp_path)
    telegram.webhook_targets = [fresh.base]
    await delivered  # sent again until it was handled (503 while the dead process's claim held)

    orders = await orders_of(demo_store, wang)
    assert len(orders) == 1
    assert await stock_of(demo_store, "FD-001") == rice_before - 2
    told = confirmations(telegram, wang)
    assert len(told) == 1 and orders[0][0] in told[0]
    posts = [(urlsplit(url).port, status) for update_id, url, status in telegram.webhook_posts if update_id == 9001]
    assert posts[0][0] == doomed.port and not isinstance(posts[0][1], int)  # the connection died with it
    assert posts[-1] == (fresh.port, 200) and set(status for _, status in posts[1:-1]) <= {503, "ClientConnectorError"}

    # Telegram sends it once more (its acknowledgement was lost, say): no second order, no second word.
    posted = len(telegram.webhook_posts)
    telegram.inject(confirm)
    await telegram.wait_for(lambda: any(p[0] == 9001 for p in telegram.webhook_posts[posted:]), timeout=10)
    assert telegram.webhook_posts[-1][2] == 200
    assert len(await orders_of(demo_store, wang)) == 1 and len(confirmations(telegram, wang)) == 1
    assert await stock_of(demo_store, "FD-001") == rice_before - 2

    status, _ = await fresh.terminate()
    assert status == 0
    events = fresh.events()
    outcomes = [e["outcome"] for e in events if e.get("update_id") == 9001 and "outcome" in e]
    assert outcomes[-2:] == ["handled", "duplicate"] and set(outcomes[:-2]) <= {"in progress"}, outcomes
    assert not [e for e in events if e["level"] in ("error", "critical")], events


def polling_env(database_url: str, double, **extra: str) -> dict[str, str]:
    return {"BOT_TOKEN": TOKEN, "DATABASE_URL": database_url, "TELEGRAM_BASE_URL": double.base_url,
            "LISTEN_HOST": "127.0.0.1", "ADMIN_IDS": "900", **extra}


def handed_over(bot) -> list[dict]:
    return [e for e in bot.events() if "handed over" in e["event"]]


async def test_a_polling_process_killed_mid_checkout_hands_the_update_to_the_next_one(demo_store, telegram, tmp_path):
    wang, confirm = await cart_at_checkout(demo_store, telegram, tmp_path)
    rice_before = await stock_of(demo_store, "FD-001")

    doomed = await start_bot("run", polling_env(demo_store.url, telegram, RURAL_TEST_DELAY_BEFORE_DONE="120"), tmp_path)
    await telegram.deliver(confirm, timeout=20)  # fetched, and confirmed when the next ones were asked for
    await telegram.wait_for(lambda: any("test delay: update 9001" in line for line in doomed.lines), timeout=10,
                            message="the checkout did not reach its commit")
    doomed.process.kill()
    assert await doomed.process.wait() == -9
    assert telegram.pending_updates == []  # Telegram will not send it again
    async with demo_store.read() as session:  # the claim kept the update; nothing else of it is left
        row = await session.get(ProcessedUpdate, 9001)
    assert row is not None and row.done_at is None
    assert row.body["callback_query"]["data"] == confirm["callback_query"]["data"]
    assert await orders_of(demo_store, wang) == [] and await stock_of(demo_store, "FD-001") == rice_before

    fresh = await start_bot("run", polling_env(demo_store.url, telegram), tmp_path)
    await telegram.wait_for(lambda: confirmations(telegram, wang), timeout=20, message="no confirmation came")
    status, _ = await fresh.terminate()
    assert status == 0

    orders = await orders_of(demo_store, wang)
    assert len(orders) == 1
    assert await stock_of(demo_store, "FD-001") == rice_before - 2
    told = confirmations(telegram, wang)
    assert len(told) == 1 and orders[0][0] in told[0]
    async with demo_store.read() as session:
        row = await session.get(ProcessedUpdate, 9001)
    assert row.done_at is not None and row.body is None  # done, and the body is not kept
    assert [e["event"] for e in handed_over(fresh)] == [
        "update 9001 handed over: the process that took it stopped before it was done"]
    events = fresh.events()
    assert [e["outcome"] for e in events if e.get("update_id") == 9001 and "outcome" in e] == ["handled"]
    assert not [e for e in events if e["level"] in ("error", "critical")], events

    again = await start_bot("run", polling_env(demo_store.url, telegram), tmp_path)  # a restart hands over nothing
    status, _ = await again.terminate()
    assert status == 0 and handed_over(again) == []
    assert len(await orders_of(demo_store, wang)) == 1 and len(confirmations(telegram, wang)) == 1
