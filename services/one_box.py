"""One search box: the same words find the catalog's products and the market's produce together.

A villager who typed "苹果" found something if the shop has it or a neighbour sells it, so a search
is recorded as a miss (services/search.py) only when both find nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.listings import ListingView
from services.market import MarketSearch
from services.search import Asker, CatalogSearch, SearchResult

# How many of each a result shows: a phone's screen, and well within Telegram's 100 buttons.
CATALOG_SHOWN = 8
MARKET_SHOWN = 4


@dataclass(frozen=True, slots=True)
class Found:
    catalog: SearchResult
    market: list[ListingView]  # at most ``MARKET_SHOWN``, on the market now
    more_in_market: bool  # the market has more for these words than ``market`` holds

    @property
    def found(self) -> bool:
        return self.catalog.found or bool(self.market)


async def search(catalog: CatalogSearch, market: MarketSearch, query: str, *, asker: Asker | None = None,
                 catalog_shown: int = CATALOG_SHOWN, market_shown: int = MARKET_SHOWN) -> Found:
    """Products and produce for ``query``; a search by ``asker`` that finds neither is their miss."""
    listings = await market.search(query, market_shown + 1)
    products = await catalog.search(query, catalog_shown, asker=None if listings else asker)
    return Found(products, listings[:market_shown], len(listings) > market_shown)
