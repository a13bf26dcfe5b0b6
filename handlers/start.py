"""First steps: /start, choosing a language and a village service center, and the menu (/help is
handlers.help).

    /start ──> language from Telegram ──> county ──> village ──> main menu
                                   └──> 📍 share location ──> 3 nearest ──┘
                                   └──> 🛍 buy village produce (no center needed) ──> 🧺 market
"""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from handlers import browse, forms
from handlers.callbacks import Center, CenterList, County, Home, Language, LanguageList, MarketHome, on
from handlers.context import RuralContext
from handlers.links import open_payload, opens
from handlers.ui import button, esc, home_row, keyboard, name_in, on_tap, person_menu, say, show
from locales import N_, available_locales, translator
from services import broadcast, centers, villagers
from services.errors import NotFound

# Registered with set_my_commands in every language (bot.app).
COMMANDS = (
    ("start", N_("Start and choose your service center")),
    ("catalog", N_("Browse the catalog")),
    ("search", N_("Search products")),
    ("cart", N_("Your cart")),
    ("orders", N_("Your orders")),
    ("market", N_("Buy produce from villages")),
    ("sell", N_("Sell your produce")),
    ("mylistings", N_("Your produce for sale")),
    ("promotions", N_("Promotions on or off")),
    ("language", N_("Change language")),
    ("mydata", N_("Get a file of your data")),
    ("forget", N_("Delete your personal data")),
    ("help", N_("Help")),
)


def location_keyboard(context: RuralContext) -> ReplyKeyboardMarkup:
    t = context.t
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t("📍 Share my location"), request_location=True)]],
        resize_keyboard=True, one_time_keyboard=True,
    )


async def start(update: Update, context: RuralContext) -> None:
    t, villager = context.t, context.villager
    if villager.awaiting:
        await forms.stop_waiting(context)
    name = esc(update.effective_user.first_name or "")
    if not villager.started:
        await villagers.mark_started(context.rt.store, context.rt.clock, villager.id)
    if context.args and await open_payload(update, context, context.args[0]):  # a deep link (handlers.links)
        return
    welcome = t("👋 Welcome, {name}! Order goods online and pick them up at your village service center.", name=name)
    if villager.center_id is None:  # a villager, or a buyer in a town (handlers.market's produce, delivered)
        await say(update, context, t("👋 Welcome, {name}! Order goods online and pick them up at your village "
                                     "service center, or buy village produce delivered to your door.", name=name),
                  location_keyboard(context))
        await ask_county(update, context, fresh=True)
        return
    if not villager.started:  # a center chosen before any /start (the demo's people, /language first)
        await say(update, context, welcome, await person_menu(context))
        return
    await say(update, context, t("👋 Welcome back, {name}! What would you like to do?", name=name),
              await person_menu(context))


@opens("p")
async def product_link(update: Update, context: RuralContext, sku: str) -> bool:
    return await open_link(update, context, f"p-{sku}")


@opens("c")
async def category_link(update: Update, context: RuralContext, code: str) -> bool:
    return await open_link(update, context, f"c-{code}")


async def open_link(update: Update, context: RuralContext, payload: str) -> bool:
    """A promotion's link (t.me/<bot>?start=p-FD-001): open the bot at that product or category,
    for someone who has chosen their center (a newcomer chooses one first)."""
    if context.villager.center_id is None:
        return False
    found = await broadcast.deep_link(context.rt.store, payload[:64])
    if found is None:
        return False
    kind, target = found
    if kind == "product":
        product = await browse.find_product(update, context, target)
        if product is not None:
            await browse.product_card(update, context, product, 1)
    else:
        await browse.category_screen(update, context, target, 0)
    return True


async def ask_county(update: Update, context: RuralContext, fresh: bool = False) -> None:
    t = context.t
    counties = await centers.list_counties(context.rt.store)
    rows = [[button(name_in(c.names, t), County(c.id))] for c in counties]
    if context.villager.center_id is not None:  # changing one's center: it may stay as it is
        rows.append(home_row(t))
    else:  # a buyer from a town needs no center: the market delivers (handlers.town_order)
        rows.append([button(t("🛍 I want to buy village produce"), MarketHome())])
    text = t("📍 Choose your village service center. First, your county — or share your location to find "
             "the nearest centers.")
    if not counties:
        text = t("😔 No service centers are set up yet. Please ask your county office.")
    if fresh:
        await say(update, context, text, keyboard(*rows))
    else:
        await show(update, context, text, keyboard(*rows))


@on_tap
async def counties_tapped(update: Update, context: RuralContext) -> None:
    await ask_county(update, context)


@on_tap
async def county_tapped(update: Update, context: RuralContext, data: County) -> None:
    t = context.t
    found = await centers.list_centers(context.rt.store, data.county_id)
    if not found:
        await ask_county(update, context)
        return
    rows = [[button(name_in(c.names, t), Center(c.id))] for c in found]
    rows.append([button(t("⬅️ Back"), CenterList())])
    await show(update, context, t("🏘 Choose your village:"), keyboard(*rows))


@on_tap
async def center_tapped(update: Update, context: RuralContext, data: Center) -> None:
    t, rt = context.t, context.rt
    center_id = data.center_id
    try:
        await villagers.set_center(rt.store, context.villager.id, center_id)
    except NotFound:
        await ask_county(update, context)
        return
    center = await centers.get_center(rt.store, center_id)
    await show(update, context, center_text(context, center, t("✅ Your service center:")))
    await say(update, context, t("What would you like to do? Use the buttons below."), await person_menu(context))


def center_text(context: RuralContext, center, title: str) -> str:
    t = context.t
    lines = [f"{title} <b>{esc(name_in(center.names, t))}</b>", f"🏞 {esc(name_in(center.county_names, t))}"]
    if center.address:
        lines.append(f"📍 {esc(center.address)}")
    if center.opening_hours:
        lines.append(t("🕗 Open {hours}", hours=esc(center.opening_hours)))
    return "\n".join(lines)


async def location_shared(update: Update, context: RuralContext) -> None:
    t = context.t
    where = update.effective_message.location
    nearest = await centers.nearest_centers(context.rt.store, where.latitude, where.longitude)
    if not nearest:
        await ask_county(update, context, fresh=True)
        return
    rows = [[button(f"{name_in(c.names, t)} · {c.distance_km:g} km", Center(c.id))] for c in nearest]
    rows.append([button(t("🗺 Choose from the list"), CenterList())])
    await say(update, context, t("📍 The nearest service centers:"), keyboard(*rows))


async def language(update: Update, context: RuralContext) -> None:
    rows = [[button(translator(locale).display_name, Language(locale))] for locale in sorted(available_locales())]
    if context.villager.center_id is not None:  # a newcomer chooses a language, then a center
        rows.append(home_row(context.t))
    await show(update, context, context.t("🌐 Choose your language:"), keyboard(*rows))


@on_tap
async def language_tapped(update: Update, context: RuralContext, data: Language) -> None:
    locale = data.locale
    if locale not in available_locales():
        await language(update, context)
        return
    await villagers.set_locale(context.rt.store, context.villager.id, locale)
    context.t = t = translator(locale)
    await show(update, context, t("✅ Language: {name}", name=t.display_name))
    if context.villager.center_id is None:
        await ask_county(update, context, fresh=True)
    else:
        await say(update, context, t("What would you like to do? Use the buttons below."), await person_menu(context))


@on_tap
async def home_tapped(update: Update, context: RuralContext) -> None:
    await say(update, context, context.t("What would you like to do? Use the buttons below."),
              await person_menu(context))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(CommandHandler("language", language, filters=private))
    app.add_handler(on(CenterList, counties_tapped))
    app.add_handler(on(County, county_tapped))
    app.add_handler(on(Center, center_tapped))
    app.add_handler(on(LanguageList, on_tap(language)))
    app.add_handler(on(Language, language_tapped))
    app.add_handler(on(Home, home_tapped))
    app.add_handler(MessageHandler(filters.LOCATION & private, location_shared))
