"""Words admins teach the search (services.synonyms), on SQLite and PostgreSQL: what is checked,
what is stored, and that every index built afterwards, in this process or another, finds a
product by the taught word."""

from __future__ import annotations

import pytest

from services import synonyms
from services.search import CatalogSearch
from services.synonyms import BadSynonym
from store.models import CatalogVersion, Synonym
from support.store import count

ADMIN = 900
UREA = "尿素 40kg"


async def found(search: CatalogSearch, query: str) -> list[str]:
    return [p.names["zh"] for p in (await search.search(query)).products]


async def version(store) -> int:
    async with store.read() as session:
        return (await session.get(CatalogVersion, 1)).version


async def test_a_taught_word_finds_the_product_in_this_process_and_in_another(demo_store, clock):
    here, there = CatalogSearch(demo_store, clock), CatalogSearch(demo_store, clock)
    assert await found(here, "白疙瘩") == [] and await found(there, "白疙瘩") == []
    before = await version(demo_store)

    added = await synonyms.add(demo_store, clock.now(), ADMIN, " 白疙瘩 ", "尿素", here.finds)

    assert (added.word, added.means, added.replaced) == ("白疙瘩", "尿素", None)
    assert await version(demo_store) == before + 1  # every process's index rebuilds
    here.forget()  # what bot/app.py's hook does after the commit
    there.forget()  # what VERSION_CHECK_SECONDS does in another process
    assert UREA in await found(here, "白疙瘩")
    assert UREA in await found(there, "白疙瘩")
    assert await found(here, "尿素") == [UREA]  # the shipped words still work
    assert "土豆种薯" in await found(here, "洋芋")
    assert await synonyms.list_all(demo_store) == [synonyms.SynonymView("白疙瘩", "尿素")]


async def test_teaching_a_word_again_replaces_it_and_removing_it_forgets_it(demo_store, clock):
    search = CatalogSearch(demo_store, clock)
    await synonyms.add(demo_store, clock.now(), ADMIN, "白疙瘩", "尿素", search.finds)
    again = await synonyms.add(demo_store, clock.now(), ADMIN, "白疙瘩", "复合肥", search.finds)
    assert again.replaced == "尿素"
    assert await count(demo_store, Synonym) == 1
    search.forget()
    assert await found(search, "白疙瘩") == ["复合肥 50公斤"]

    assert await synonyms.remove(demo_store, "白疙瘩") is True
    assert await synonyms.remove(demo_store, "白疙瘩") is False
    search.forget()
    assert await found(search, "白疙瘩") == []


@pytest.mark.parametrize(("word", "means", "reason"), [
    ("", "尿素", synonyms.TOO_LONG),
    ("白" * 21, "尿素", synonyms.TOO_LONG),
    ("白疙瘩", "尿" * 21, synonyms.TOO_LONG),
    ("尿素", " 尿素", synonyms.SAME),
    ("Urea", "urea", synonyms.SAME),
    ("白疙瘩", "榴莲", synonyms.NOT_FOUND),  # the catalog finds nothing by it: neither would the word
])
async def test_a_bad_pair_is_refused_and_nothing_changes(demo_store, clock, word, means, reason):
    search = CatalogSearch(demo_store, clock)
    before = await version(demo_store)
    with pytest.raises(BadSynonym) as refused:
        await synonyms.add(demo_store, clock.now(), ADMIN, word, means, search.finds)
    assert refused.value.message == reason
    assert await count(demo_store, Synonym) == 0 and await version(demo_store) == before


async def test_a_csv_file_adds_every_row_or_none(demo_store, clock):
    search = CatalogSearch(demo_store, clock)
    assert synonyms.is_synonyms_csv("word,means\n白疙瘩,尿素\n".encode())
    assert not synonyms.is_synonyms_csv(b"sku,category\n")

    bad = await synonyms.import_csv(demo_store, clock.now(), ADMIN, (
        "word,means\n白疙瘩,尿素\n榴莲果,榴莲\n白疙瘩,复合肥\n同,同\n").encode(), search.finds)
    assert [(e.line, e.message) for e in bad.errors] == [
        (3, synonyms.NOT_FOUND), (4, "“{value}” is already on line {other}."), (5, synonyms.SAME)]
    assert await count(demo_store, Synonym) == 0

    good = await synonyms.import_csv(demo_store, clock.now(), ADMIN,
                                     "\ufeffword,means\n白疙瘩,尿素\n肥田粉,复合肥\n".encode(), search.finds)
    assert (good.ok, good.created, good.updated) == (True, 2, 0)
    search.forget()
    assert UREA in await found(search, "白疙瘩") and "复合肥 50公斤" in await found(search, "肥田粉")


async def test_a_miss_is_suggested_as_a_word_of_the_product_a_fuzzy_guess_picks(demo_store, clock):
    search = CatalogSearch(demo_store, clock)
    suggested = await synonyms.suggestions(["肥田粉", "尿素", "light soy", "x" * 21, "250", "<b>x</b>"], search.guess)
    assert list(suggested) == ["肥田粉"]  # 尿素 is found; the others are no one word to follow /synonym
    word = suggested["肥田粉"]
    assert await search.finds(word) and len(word) <= synonyms.MAX_CHARS
    assert synonyms.word_of({"zh_Hans": "东北大米 5kg", "en": "Rice 5 kg"}) == "东北大米"
    assert synonyms.word_of({"en": "5 kg Rice"}) == "kg"
