"""/help and ❓ Help: how the shop works, and what this reader can do, in their language.

Everyone is a villager; a partner also reads what they can do for their center(s), named; county
staff what they can do for their county, named; an admin (ADMIN_IDS) reads the admin's commands. Each command is shown with its meaning
("📦 /orders — 我的订单"), never as a bare list of Latin words.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from handlers import forms
from handlers.callbacks import Categories, CenterList, LanguageList
from handlers.context import RuralContext
from handlers.start import COMMANDS
from handlers.ui import button, esc, keyboard, name_in, show
from locales import N_, Translator
from services import counties, partners

MEANING = dict(COMMANDS)
# (icon, command, meaning); the meaning None: the command's own, as set with set_my_commands.
VILLAGER = (
    ("🛒", "catalog", None), ("🔍", "search", None), ("🛍", "cart", None), ("📦", "orders", None),
    ("🚚", "track", N_("Follow your deliveries, or one order: /track RT-XXXXX")),
    ("🧺", "market", None), ("🌾", "sell", None), ("📋", "mylistings", None), ("📢", "promotions", None),
    ("📱", "phone", N_("Share your phone number")), ("🌐", "language", None), ("📄", "mydata", None),
    ("🗑", "forget", None),
)
PARTNER = (
    ("🤝", "orderfor", N_("Order for a villager without a phone")),
    ("✅", "done", N_("Stop ordering for someone")),
    ("🔗", "bind", N_("In your group: make it your center's order desk")),
    ("⏳", "pending", N_("In the desk: orders and produce waiting for you")),
    ("🚚", "arrived", N_("A parcel reached the village: the villager gets a pickup code")),
    ("🎉", "pickup", N_("In the desk: the villager collected it and paid")),
    ("🧹", "forget_walkin", N_("Erase a villager without Telegram you ordered for")),
    ("💰", "cash", N_("Your center's cash book: takings, cash on hand, owed to sellers and the county, fees")),
    ("📤", "handover", N_("Cash handed to the county, e.g. /handover 1200")),
    ("💸", "payout", N_("Pay a seller less than owed: /payout CENTER-CODE SELLER AMOUNT")),
    ("✏️", "correct", N_("Correct a cash book entry: /correct ENTRY ±AMOUNT REASON")),
    ("🧾", "service", N_("A walk-in's service, with what you charged: /service topup 13800001234 50, "
                        "/service bill 0512345678 120.5, /service ticket 苍溪-成都 2026-12-20 2 380")),
    ("🧾", "services", N_("In the desk: services waiting for you")),
)
ADMIN = (
    ("🤝", "partner", N_("Add, remove or list partners")),
    ("🚚", "ship", N_("A center's confirmed orders leave for the county")),
    ("🏢", "county", N_("A center's orders reached the county center")),
    ("🏷", "product", N_("A product's price and stock, or hide it")),
    ("📢", "broadcast", N_("Send a promotion")),
    ("📊", "stats", N_("Figures: orders, sales, villagers, missed searches")),
    ("📖", "synonym", N_("Teach the search a villagers' word, e.g. /synonym 洋芋 土豆")),
    ("💰", "cash", N_("Any center's cash book: /cash CENTER-CODE")),
    ("🪙", "fee", N_("A center's fees: /fee CG-01 order 1.5% | order ¥0.5 | topup 2")),
    ("🏛", "staff", N_("Add, remove or list county staff")),
    ("🚛", "delivery", N_("A center's delivery prices: /delivery CG-01, /delivery CG-01 county 5 8")),
    ("💳", "refunds", N_("Refunds of money paid online still to make at the payment provider")),
)
STAFF = (
    ("🚚", "ship", N_("A center of your county: its confirmed orders leave for the county")),
    ("🏢", "county", N_("A center of your county: its orders reached the county center")),
    ("📊", "stats", N_("Your county's figures: orders, sales, villagers, parcels waiting")),
    ("📢", "broadcast", N_("Send a promotion to your county's villagers")),
    ("🚛", "delivery", N_("A center of your county: its delivery prices, /delivery CG-01 county 5 8")),
    ("💳", "refunds", N_("Your county's refunds of money paid online still to make at the payment provider")),
)


def commands(t: Translator, entries) -> list[str]:
    return [f"{icon} /{command} — {t(meaning or MEANING[command])}" for icon, command, meaning in entries]


async def help_screen(update: Update, context: RuralContext) -> None:
    t, rt = context.t, context.rt
    lines = [
        t("❓ <b>How it works</b>"),
        t("1. 🛒 Find goods by category or 🔍 search (typos and pinyin are fine)."),
        t("2. 🛍 Put them in your cart and confirm the order."),
        t("3. 📬 Pick them up at your service center and pay in cash there."),
        t("4. 🌾 Sell your own produce with /sell, and buy your neighbours' in the 🧺 /market."),
        t("5. 🚚 In a town? Order village produce in the 🧺 /market, delivered to your door, and follow it with "
          "/track."),
        "",
        t("<b>What you can do</b>"),
        *commands(t, VILLAGER),
    ]
    user = update.effective_user
    centers = await partners.centers_of_partner(rt.store, user.id)
    if centers:
        names = "、".join(esc(name_in(center.names, t)) for center in centers)
        lines += ["", t("🤝 <b>As the partner of {centers}</b>", centers=names), *commands(t, PARTNER)]
    supervised = await counties.counties_of_staff(rt.store, user.id)
    if supervised:
        names = "、".join(esc(name_in(county, t)) for county in supervised)
        lines += ["", t("🏛 <b>As county staff of {counties}</b>", counties=names), *commands(t, STAFF)]
    if user.id in rt.admin_ids:
        lines += ["", t("🛠 <b>As an admin</b>"), *commands(t, ADMIN),
                  t("📄 Send a CSV file to import products or service centers.")]
    rows = [[button(t("📍 Change my service center"), CenterList())], [button(t("🌐 Language"), LanguageList())],
            [button(t("🛒 Shop"), Categories())]]
    await show(update, context, "\n".join(lines), keyboard(*rows))


def register(app: Application) -> None:
    forms.on_menu(app, "help", help_screen)
    app.add_handler(CommandHandler("help", help_screen, filters=filters.ChatType.PRIVATE))
