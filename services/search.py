"""Catalog search for villagers: the in-memory index, kept fresh, and the log of misses (a
search that finds nothing for someone records itself as their miss).

The index (catalog.search) lives in each process's memory, a ``LiveIndex``, as the market's does
(services/market.py). A catalog change anywhere bumps the ``catalog_version`` row, and the next
search in every process sees it and rebuilds: at once in the process that made the change, within
``VERSION_CHECK_SECONDS`` in the others. Building and querying run in a worker thread so the
event loop keeps serving other villagers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from dataclasses import dataclass

from sqlalchemy import select

from catalog.importer import CATALOG_CHANGED
from catalog.lexicon import Lexicon, shipped
from catalog.search import SearchDoc, SearchIndex, normalize
from locales import available_locales, translator
from services import synonyms, villagers
from services.caps import CAPS, Caps
from services.catalog import ProductView, all_products, get_products
from services.clock import Clock
from services.stats import window_start
from store.db import Store
from store.models import CatalogVersion, SearchMiss, ServiceCenter

MAX_QUERY_CHARS = 100
# How stale the index may be after a catalog change made by another process.
VERSION_CHECK_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    products: list[ProductView]
    suggestions: list[ProductView]

    @property
    def found(self) -> bool:
        return bool(self.products)


def category_words(code: str, kind: str = "category") -> list[str]:
    """A category's names in every language, so "fertilizer" also finds what is filed under it
    (``kind``: the catalog entries' prefix, "category" or "produce_category")."""
    words = {code.replace("_", " ")}
    for locale in available_locales():
        words.add(translator(locale)(f"{kind}:{code}"))
    return sorted(words)


class LiveIndex:
    """A search index in this process's memory over what the store holds, kept fresh one way. A
    search first reads the version of what is indexed from the store (at most once in
    ``VERSION_CHECK_SECONDS``: a change made by another process is seen within that) and rebuilds
    the index if it changed. A change committed in this process is seen by the next search: the
    change marks its session with ``effect`` (``store.db.mark_effect``), and bot/app.py's hook after
    the commit calls ``forget``. A subclass says what the version and the documents are."""

    effect: str  # what a change to the indexed documents marks its session with

    def __init__(self, store: Store):
        self._store = store
        self._index = SearchIndex.build([])
        self._version: Hashable | None = None
        self._lock = asyncio.Lock()
        self._checked_at = float("-inf")

    async def _current_version(self) -> Hashable:
        raise NotImplementedError

    async def _documents(self) -> list[SearchDoc]:
        raise NotImplementedError

    async def _lexicon(self) -> Lexicon | None:
        """The lexicon to build the index with (None: the shipped one)."""
        return None

    def forget(self) -> None:
        """What is indexed changed: read the version again at the next search."""
        self._checked_at = float("-inf")

    async def refresh(self, force: bool = True) -> None:
        """Rebuild the index if what it indexes changed since it was built (``force=False``: unless
        the version was read less than ``VERSION_CHECK_SECONDS`` ago, and nothing was forgotten)."""
        # One check at a time: a search that comes while another reads the version (or rebuilds)
        # waits for it, rather than searching the index that is being found out of date (a burst
        # of inline queries after a listing was approved would otherwise find nothing).
        async with self._lock:
            now = time.monotonic()
            if not force and now - self._checked_at < VERSION_CHECK_SECONDS:
                return
            self._checked_at = now
            version = await self._current_version()
            if version == self._version:
                return
            docs, lexicon = await self._documents(), await self._lexicon()
            self._index = await asyncio.to_thread(SearchIndex.build, docs, lexicon)
            self._version = version


@dataclass(frozen=True, slots=True)
class Asker:
    """Who searched: their miss is recorded in their language (``villager_id`` None: someone not
    registered)."""

    villager_id: int | None
    locale: str


class CatalogSearch(LiveIndex):
    """The catalog's products; a search that finds nothing for someone is recorded as a miss.
    ``timezone`` and ``caps`` say how often one person's same miss is recorded (``record_miss``)."""

    effect = CATALOG_CHANGED

    def __init__(self, store: Store, clock: Clock, *, timezone: str = "Asia/Shanghai", caps: Caps = CAPS):
        super().__init__(store)
        self._clock = clock
        self._timezone = timezone
        self._caps = caps

    async def _current_version(self) -> int:
        async with self._store.read() as session:
            return await session.scalar(select(CatalogVersion.version).where(CatalogVersion.id == 1)) or 0

    async def _documents(self) -> list[SearchDoc]:
        return [SearchDoc(id=p.id, names=p.names, keywords=p.keywords, extra=category_words(p.category))
                for p in await all_products(self._store)]

    async def _lexicon(self) -> Lexicon | None:
        pairs = await synonyms.pairs(self._store)
        return shipped().plus(pairs) if pairs else None

    async def finds(self, text: str) -> bool:
        """Whether a search for ``text`` finds a product (nothing is recorded)."""
        await self.refresh(force=False)
        index = self._index
        return bool(await asyncio.to_thread(index.search, text, 1))

    async def guess(self, text: str) -> dict | None:
        """The names of the product a search for ``text`` would suggest when it finds nothing;
        None when it finds something, or nothing is near."""
        await self.refresh(force=False)
        index = self._index
        if await asyncio.to_thread(index.search, text, 1):
            return None
        near = await asyncio.to_thread(index.suggest, text, 1)
        found = await get_products(self._store, [hit.doc_id for hit in near])
        return found[0].names if found else None

    async def search(self, query: str, limit: int = 8, *, asker: Asker | None = None) -> SearchResult:
        """Products for ``query``, else suggestions; a search by ``asker`` that finds nothing is
        recorded as their miss."""
        query = query.strip()[:MAX_QUERY_CHARS]
        await self.refresh(force=False)
        index = self._index
        hits = await asyncio.to_thread(index.search, query, limit)
        products = await get_products(self._store, [hit.doc_id for hit in hits])
        suggestions: list[ProductView] = []
        if not products:
            near = await asyncio.to_thread(index.suggest, query, 5)
            suggestions = await get_products(self._store, [hit.doc_id for hit in near])
            if asker is not None:
                await self.record_miss(query, asker.villager_id, asker.locale, timezone=self._timezone,
                                       caps=self._caps)
        return SearchResult(query, products, suggestions)

    async def record_miss(self, query: str, villager_id: int | None, locale: str, *,
                          timezone: str = "Asia/Shanghai", caps: Caps = CAPS) -> bool:
        """Record a search that found nothing, for the admins' figures; whether it was recorded.
        The same miss (read as the index reads it) from the same person is recorded once in
        ``caps.search_miss_days`` days, counted in their center's time (``timezone`` if they have
        none); 0 records every one."""
        query = query.strip()[:MAX_QUERY_CHARS]
        if not query:
            return False
        normalized = normalize(query)[:200]
        now = self._clock.now()
        async with self._store.write(durable=False) as session:
            if villager_id is not None and caps.search_miss_days > 0:
                person = await villagers.lock(session, villager_id)  # two of their searches at once take turns
                if person is not None and person.center_id is not None:
                    timezone = await session.scalar(
                        select(ServiceCenter.timezone).where(ServiceCenter.id == person.center_id)) or timezone
                since = window_start(now, timezone, caps.search_miss_days)
                if await session.scalar(select(SearchMiss.id).where(
                        SearchMiss.villager_id == villager_id, SearchMiss.normalized == normalized,
                        SearchMiss.at >= since).limit(1)) is not None:
                    return False
            session.add(SearchMiss(query=query, normalized=normalized, villager_id=villager_id,
                                   locale=locale, at=now))
            return True

