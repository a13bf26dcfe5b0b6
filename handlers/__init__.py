"""Telegram I/O, one module per journey. Handlers turn updates into service calls and service
results into messages; they hold no business rules and build no SQL."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, TypeHandler

from handlers import (
    admin,
    assist,
    broadcast,
    browse,
    buyer_reviews,
    cart,
    cash,
    catalog_admin,
    center_services,
    delivery_prices,
    desk,
    desk_prompts,
    handovers,
    help,
    market,
    market_order,
    menu,
    my_listings,
    orders,
    privacy,
    problem_desk,
    problems,
    promotions,
    provider_refunds,
    returns,
    review_desk,
    search,
    sell,
    sellers,
    service_desk,
    sharing,
    shipping_desk,
    staff,
    start,
    stats,
    supergroup,
    synonyms,
    town_order,
    town_payments,
    track,
)
from handlers.context import on_error, resolve_person


def register_all(app: Application) -> None:
    app.add_handler(TypeHandler(Update, resolve_person), group=-1)
    for journey in (start, help, browse, search, cart, orders, sell, my_listings, market, market_order, assist, desk,
                    desk_prompts, admin, broadcast, catalog_admin, synonyms, stats, privacy, supergroup, problems,
                    problem_desk, staff, promotions, returns, center_services,
                    service_desk):
        journey.register(app)
    for journey in (cash, handovers):
        journey.register(app)
    for journey in (buyer_reviews, review_desk, sellers):
        journey.register(app)
    shipping_desk.register(app)
    sharing.register(app)
    for journey in (town_order, town_payments):
        journey.register(app)
    track.register(app)  # /track: a buyer's deliveries (after orders, whose detail it reuses)
    delivery_prices.register(app)
    provider_refunds.register(app)  # /refunds and ✅ Refunded at the provider
    menu.register(app)  # last: it takes whatever the journeys did not
    app.add_error_handler(on_error)
