"""Town buyers paying online all at once: how long the bot takes to answer Telegram's pre-checkout
query, beside a plain tap on a market button by the same people at once, in the same run.

    python bench/payments.py [--buyers 200] [--database-url postgresql://postgres@127.0.0.1:5432/test]

The real Application polls the Bot API double (bot/sandbox) with a payment provider token set, on
the demo data (a fresh SQLite file, or a fresh database ``rural_bench_payments`` on the PostgreSQL
server of ``--database-url``). Sellers at four service centers list apples: four listings with
plenty, and one with only the last few jin. Town buyers (half in Chinese, half in English), each
through the bot's screens (/start l-<listing>, 🛒 Order, 2 jin, 🚚 Deliver to my address):

1. a tenth of them get invoices for all the last jin and give their address on the payment sheet,
   but do not pay: their 15 minutes lapse (the clock moves on, the bot's sweep runs);
2. all N open a listing, then tap 🛒 Order at the same time: the baseline, a plain callback
   query, answered once its handler is done (it reads the listing and writes, in a transaction of
   its own, that the bot now waits for the amount);
3. the others order 2 jin for delivery; as many of them as lapsed take the same last jin again;
   each gets an invoice and gives the address on the sheet (the shipping query, timed too);
4. all N press Pay at the same moment (asyncio.gather of the sheet's ``pay``, which is what
   ``Person.pay`` plays, with the address already given so that every pre-checkout query reaches
   the bot at once). The lapsed buyers' payments must be refused: their jin are someone else's.

Times are as the double measures them (``QueryAnswer.took``, ``CallbackAnswer.took``): from the
query sent to the bot until its answer came, queueing in the bot included. With N updates at once
and 16 handled at a time (bot/app.py), most of such a time is waiting for a turn, and it grows with
N; the Pay phase also carries the successful_payment updates of those answered first. Telegram waits
10 s for a pre-checkout answer and fails the payment past it (a "timed out" outcome); the handler
checks the order (``town_orders.check_payment``: a write transaction, the order's row locked) for
at most 7 s from when its turn comes, and answers "could not check in time" past that. The queueing
counts against Telegram's 10 s but not against the 7 s guard, so the figure to watch is the max
beside 10 s. A pre-checkout p95 near the tap's p95 means paying costs what any tap costs. Since the
stock is taken when the invoice is sent, no payment can be refused as sold out: the race for the last
jin shows as the lapsed buyers' refusals ("lapsed or cancelled"). No target is set by the issue.

Afterwards the store is checked, and the result printed: one payments row per paid outcome (by its
charge id) and none for the others, no listing oversold (left_milli >= 0, and what each listing
gave equals what its pending and awaiting orders hold), every paid order pending and every other
still awaiting payment, or cancelled if its 15 minutes had lapsed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/support: sellers and listings made through the services

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.cli import load_demo_data  # noqa: E402
from bot.config import Settings, normalize_database_url  # noqa: E402
from bot.runner import keep_out_of_collections, start_polling, stop_polling  # noqa: E402
from bot.sandbox.botapi import BotApiDouble  # noqa: E402
from locales import translator  # noqa: E402
from services.clock import ManualClock  # noqa: E402
from store.db import Store  # noqa: E402
from store.models import Listing, Order, OrderLine, Payment, Villager  # noqa: E402
from support.bots import settle  # noqa: E402
from support.produce import list_produce, person  # noqa: E402

TOKEN = "123456789:BENCH-token-aaaaaaaaaaaaaaaaaaaaaaa"
PROVIDER = "284685063:TEST:the-double"  # a payment provider's test token, as @BotFather gives one
DATABASE = "rural_bench_payments"
CENTERS = ("CG-01", "CG-02", "CG-03", "CG-04")
PLENTY = 1_000_000  # thousandths of a jin: 1,000 jin on each of the four plentiful listings
EACH = 2_000  # every buyer orders 2 jin
# The bot's words a buyer taps, in each language (the tests' labels).
STEPS = {"en": ("🛒 Order", "2 jin", "🚚 Deliver to my address"),
         "zh-hans": ("🛒 下单", "2 斤", "🚚 送货到我的地址")}
GUARD, TELEGRAM = 7.0, 10.0  # seconds: the handler's check, Telegram's wait
# Why the bot may refuse a pre-checkout query (handlers/town_payments.py), told apart in any language.
REFUSALS = {
    "⌛ This invoice can no longer be paid: it was not paid within 15 minutes, or it was cancelled. "
    "Please order again.": "lapsed or cancelled",
    "😔 Someone was quicker: this produce is sold out.": "sold out",
    "😔 The total has changed. Please open the invoice again.": "the total changed",
    "😔 The seller's center does not deliver to this address.": "no delivery there",
    "⏳ We could not check your order in time. Please try again.": f"not checked within the handler's {GUARD:g} s",
}


async def tap(person, text: str):
    """Tap the button ``text`` on the newest message that has it (a notice may have come since)."""
    for message in reversed(person.chat.bot_messages()):
        if any(b.text == text for row in message.buttons for b in row):
            return await person.tap(text, message)
    raise AssertionError(f"{person.first_name} has no button {text!r}: {[m.text for m in person.chat.messages]}")


class Buyer:
    def __init__(self, double: BotApiDouble, number: int, listing: int, lapses: bool):
        self.language = ("zh-hans", "en")[number % 2]
        self.person = double.person(30_000 + number, f"Buyer {number}", language_code=self.language)
        self.listing, self.lapses = listing, lapses
        self.browsing = listing  # the listing whose card they open for the baseline's tap
        self.sheet = self.outcome = None

    async def invoice(self, double: BotApiDouble) -> None:
        """Order 2 jin of the listing for delivery (its card shown already), then give the address
        on the invoice's payment sheet."""
        _, amount, deliver = STEPS[self.language]
        await tap(self.person, amount)
        await tap(self.person, deliver)
        message = self.person.chat.last_bot_message()
        assert message.media.get("invoice"), f"{self.person.first_name} got no invoice: {message.text!r}"
        self.sheet = double.payment_sheet(self.person, message)
        assert (await self.sheet.ship()).ok, "the shipping query was refused"


async def fresh_database(server_url: str) -> str:
    import asyncpg

    url = make_url(server_url)
    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await connection.close()
    return url.set(database=DATABASE).render_as_string(hide_password=False)


def refusal(error: str | None) -> str:
    for english, reason in REFUSALS.items():
        if error in (translator(locale)(english) for locale in ("en", "zh_Hans")):
            return reason
    return f"other: {error}"


async def listings(store: Store, clock: ManualClock, double: BotApiDouble,
                   last_jin: int) -> tuple[list[int], int, dict[int, int]]:
    """Four listings with plenty, one at each center, and one with ``last_jin`` thousandths at CG-01
    (their sellers have a chat with the bot: it tells them what sold)."""
    plenty = []
    for number, code in enumerate(CENTERS):
        double.person(20_000 + number, f"Seller {code}")
        seller = await person(store, clock, 20_000 + number, code)
        plenty.append(await list_produce(store, clock, seller, f"红富士苹果 {code}", quantity_milli=PLENTY,
                                         price_fen=600))
    double.person(20_100, "Seller of the last jin")
    seller = await person(store, clock, 20_100, CENTERS[0])
    last = await list_produce(store, clock, seller, "最后的苹果", quantity_milli=last_jin, price_fen=800)
    return plenty, last, {**{listing: PLENTY for listing in plenty}, last: last_jin}


def figures(seconds: list[float]) -> str:
    ordered = sorted(x * 1000 for x in seconds)
    if not ordered:
        return f"{0:>5}{'-':>10}{'-':>10}{'-':>10}"
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{len(ordered):>5}{p50:>10.1f}{p95:>10.1f}{ordered[-1]:>10.1f}"


class Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def check_store(store: Store, buyers: list[Buyer], given: dict[int, int]) -> tuple[list[str], Counter]:
    """What is wrong in the store after the payments ([] if nothing), and the buyers' orders' statuses."""
    wrong = []
    paid = {b.outcome.telegram_payment_charge_id for b in buyers if b.outcome.paid}
    async with store.read() as session:
        rows = (await session.execute(select(Payment.kind, Payment.telegram_charge_id))).all()
        charges = Counter(charge for kind, charge in rows if kind == "payment")
        if set(charges) != paid or any(n != 1 for n in charges.values()) or len(rows) != len(paid):
            wrong.append(f"payments rows: {len(rows)} ({dict(Counter(k for k, _ in rows))}) for {len(paid)} paid")
        for listing, quantity in given.items():
            left = await session.scalar(select(Listing.left_milli).where(Listing.id == listing))
            held = await session.scalar(
                select(func.coalesce(func.sum(OrderLine.quantity_milli), 0)).join(Order)
                .where(OrderLine.listing_id == listing, Order.status.in_(("pending", "awaiting_payment"))))
            if left < 0 or quantity - left != held:
                wrong.append(f"listing {listing}: {left} left of {quantity}, its orders hold {held}")
        orders = {o.villager_id: o for o in (await session.scalars(select(Order))).all()}
        ids = dict((await session.execute(select(Villager.telegram_id, Villager.id))).all())
    statuses: Counter = Counter()
    for buyer in buyers:
        order = orders.get(ids.get(buyer.person.id))
        expected = ("pending" if buyer.outcome.paid else "cancelled" if buyer.lapses else "awaiting_payment")
        status = order.status if order else None
        statuses[status] += 1
        if status != expected:
            wrong.append(f"{buyer.person.first_name}: order {status}, {buyer.outcome.status} (expected {expected})")
    if len(orders) != len(buyers):
        wrong.append(f"{len(orders)} orders for {len(buyers)} buyers")
    return wrong, statuses


async def main(count: int, database_url: str | None) -> None:
    logged = Logged()
    logging.getLogger().addHandler(logged)
    with tempfile.TemporaryDirectory() as folder:
        url = normalize_database_url(database_url or f"sqlite:///{folder}/payments.sqlite3")
        if database_url:
            url = await fresh_database(url)
        store = Store(url)
        await store.upgrade()
        with contextlib.redirect_stdout(io.StringIO()):
            await load_demo_data(store)
        clock = ManualClock()
        lapsing = max(1, count // 10)
        double = BotApiDouble()
        double.limits_clock = clock
        double.action_timeout = 120.0  # how long a person waits for the bot to handle an action, at most
        await double.start()
        plenty, last, given = await listings(store, clock, double, lapsing * EACH)
        settings = Settings(bot_token=TOKEN, database_url=url, telegram_base_url=double.base_url,
                            payment_provider_token=PROVIDER, admin_ids=frozenset({900}))
        app = build_application(settings, store, clock, pace=double.pace_time)
        double.settle = lambda: settle(app)
        await start_polling(app, poll_timeout=2)
        keep_out_of_collections()
        try:
            buyers = [Buyer(double, n, last if n < 2 * lapsing else plenty[n % len(plenty)], n < lapsing)
                      for n in range(count)]
            lapsed, others = buyers[:lapsing], buyers[lapsing:]
            print(f"{count} town buyers, {lapsing} of whom let their invoice for the last "
                  f"{lapsing * EACH // 1000} jin lapse, then {lapsing} others take them; database: {url.split('+')[0]}")
            started = time.perf_counter()
            await asyncio.gather(*(b.person.send(f"/start l-{b.listing}") for b in lapsed))
            await asyncio.gather(*(tap(b.person, STEPS[b.language][0]) for b in lapsed))
            await asyncio.gather(*(b.invoice(double) for b in lapsed))
            clock.advance(timedelta(minutes=16))
            await app.job_queue.get_jobs_by_name("lapse reservations")[0].run(app)
            await settle(app)

            # The baseline: every buyer on a listing's card, then all tap 🛒 Order at once.
            for b in lapsed:  # they look at the plentiful apples now, and order nothing
                b.browsing = plenty[0]
            await asyncio.gather(*(b.person.send(f"/start l-{b.browsing}") for b in buyers))
            taps = await asyncio.gather(*(tap(b.person, STEPS[b.language][0]) for b in buyers))
            await asyncio.gather(*(b.invoice(double) for b in others))
            print(f"set up in {time.perf_counter() - started:.1f} s")

            # Each payment returns once the bot handled its updates; the outbox (the sellers' "sold"
            # notices, paced by Telegram's per-chat limit) goes on meanwhile, not waited for.
            double.settle = app.update_queue.join
            started = time.perf_counter()
            outcomes = await asyncio.gather(*(b.sheet.pay() for b in buyers))
            paying = time.perf_counter() - started
        finally:
            await stop_polling(app)
            await double.stop()
        for buyer, outcome in zip(buyers, outcomes):
            buyer.outcome = outcome
        wrong, statuses = await check_store(store, buyers, given)
        await store.close()
        if database_url:
            await drop_database(database_url)

    pre_checkout = list(double.pre_checkout_answers.values())
    shipping = list(double.shipping_answers.values())
    print(f"{'answer times (as the double measures them)':44}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    print(f"{'🛒 Order tapped by all at once (baseline)':44}{figures([t.took for t in taps if t.answered])}")
    print(f"{'shipping query (the address on the sheet)':44}{figures([a.took for a in shipping if a.answered])}")
    print(f"{'pre-checkout query, all paying at once':44}{figures([a.took for a in pre_checkout if a.answered])}")
    kinds = Counter(o.status for o in outcomes)
    reasons = Counter(refusal(o.error_message) for o in outcomes if o.status == "refused")
    slowest = max((a.took for a in pre_checkout if a.answered), default=0.0)
    print(f"all {count} payments handled (receipts sent) {paying:.2f} s after all pressed Pay; the slowest "
          f"pre-checkout answer, {slowest:.2f} s, is {slowest / TELEGRAM:.0%} of Telegram's {TELEGRAM:g} s")
    print(f"outcomes: {kinds['paid']} paid, {kinds['refused']} refused, {kinds['timed_out']} timed out"
          + "".join(f", {n} {k}" for k, n in kinds.items() if k not in ("paid", "refused", "timed_out")))
    for reason, n in reasons.most_common():
        print(f"  refused {n}: {reason}")
    unanswered = sum(1 for t in taps if not t.answered)
    late = sum(a.late_answers for a in pre_checkout)
    print(f"taps unanswered: {unanswered}; pre-checkout answers refused as too late: {late}; "
          f"warnings or errors logged: {len(logged.records)}")
    for record in logged.records[:5]:
        print(f"  {record.levelname} {record.name}: {record.getMessage()[:160]}")
    print(f"store: {statuses['pending']} orders pending (paid), {statuses['awaiting_payment']} awaiting payment, "
          f"{statuses['cancelled']} cancelled (lapsed); payments rows match the paid outcomes, "
          f"no listing oversold: {'yes' if not wrong else 'NO'}")
    for line in wrong[:20]:
        print(f"  WRONG {line}")
    if wrong or kinds["timed_out"] or kinds["paid"] != count - lapsing:
        sys.exit(1)


async def drop_database(server_url: str) -> None:
    import asyncpg

    url = make_url(server_url)
    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    finally:
        await connection.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--database-url", help="default: a fresh SQLite file; for PostgreSQL, the server on which a "
                        f"scratch database {DATABASE} is made (and dropped afterwards)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # counted and the first few printed at the end
    logging.getLogger().handlers[0].setLevel(logging.ERROR)
    asyncio.run(main(args.buyers, args.database_url))
