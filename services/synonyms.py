"""Words admins teach the search, without code: ``/synonym 洋芋 土豆`` or a CSV file with the
header ``word,means``. A product whose name holds ``means`` is also found by ``word``, on top of
the shipped lexicon (catalog/data/synonyms.csv); services.search builds its index with both.

Both words are 1 to ``MAX_CHARS`` characters and differ, and ``means`` must be something the
catalog finds today (``finds``, the search index's own answer): a synonym for a word that finds
nothing would find nothing either. A word has one meaning: adding it again replaces it. Every
change bumps the catalog version, so every process rebuilds its index with it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from catalog.csvfile import ImportReport, RowError, parse_rows, read_csv
from catalog.importer import bump_catalog_version
from catalog.text import TOKEN_RE, is_cjk, normalize
from locales import N_
from services.errors import DomainError
from store.db import Store
from store.models import Synonym

MAX_CHARS = 20
MAX_FILE_ROWS = 1000
HEADER = ("word", "means")
Finds = Callable[[str], Awaitable[bool]]  # does a search for this text find a product?

TOO_LONG = N_("“{value}” must be 1 to {limit} characters.")
SAME = N_("The two words are the same.")
NOT_FOUND = N_("The catalog finds nothing for “{value}”: the second word must be what a product is called.")


class BadSynonym(DomainError):
    """``message`` is a msgid, formatted with ``params`` after translation."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass(frozen=True, slots=True)
class SynonymView:
    word: str
    means: str


@dataclass(frozen=True, slots=True)
class Added:
    word: str
    means: str
    replaced: str | None = None  # what the word meant before


def _problem(word: str, means: str) -> BadSynonym | None:
    """What is wrong with the pair on its face (lengths, sameness), if anything."""
    for value in (word, means):
        if not 1 <= len(value) <= MAX_CHARS:
            return BadSynonym(TOO_LONG, value=value[:MAX_CHARS + 5], limit=MAX_CHARS)
    if word == means:
        return BadSynonym(SAME)
    return None


async def check(word: str, means: str, finds: Finds) -> tuple[str, str]:
    """The pair as stored (normalised), or BadSynonym saying why not."""
    word, means = normalize(word), normalize(means)
    if (problem := _problem(word, means)) is not None:
        raise problem
    if not await finds(means):
        raise BadSynonym(NOT_FOUND, value=means)
    return word, means


async def _put(session, word: str, means: str, admin_telegram_id: int, now: datetime) -> str | None:
    """Store the pair; what the word meant before, if it was there."""
    row = await session.scalar(select(Synonym).where(Synonym.word == word))
    if row is None:
        session.add(Synonym(word=word, means=means, admin_telegram_id=admin_telegram_id, created_at=now))
        return None
    before, row.means, row.admin_telegram_id, row.created_at = row.means, means, admin_telegram_id, now
    return before


async def add(store: Store, now: datetime, admin_telegram_id: int, word: str, means: str, finds: Finds) -> Added:
    word, means = await check(word, means, finds)
    async with store.write() as session:
        before = await _put(session, word, means, admin_telegram_id, now)
        await bump_catalog_version(session)
    return Added(word, means, before if before != means else None)


async def remove(store: Store, word: str) -> bool:
    """Forget the word; whether it was there."""
    async with store.write() as session:
        gone = (await session.execute(delete(Synonym).where(Synonym.word == normalize(word)))).rowcount
        if gone:
            await bump_catalog_version(session)
    return bool(gone)


async def list_all(store: Store) -> list[SynonymView]:
    async with store.read() as session:
        rows = await session.execute(select(Synonym.word, Synonym.means).order_by(Synonym.word))
        return [SynonymView(word, means) for word, means in rows]


async def pairs(store: Store) -> list[tuple[str, str]]:
    """Every admin's ``(word, means)``, for the search index's lexicon."""
    return [(s.word, s.means) for s in await list_all(store)]


# ---- a CSV file -------------------------------------------------------------------------------

def is_synonyms_csv(data: bytes) -> bool:
    """A file whose header row is ``word,means``."""
    try:
        header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")), [])
    except (UnicodeDecodeError, csv.Error):
        return False
    return tuple(name.strip().lower() for name in header) == HEADER


def _parse_row(line: int, row: dict[str, str], header: list[str]) -> tuple[dict | None, list[RowError]]:
    word, means = normalize(row["word"]), normalize(row["means"])
    if (problem := _problem(word, means)) is not None:
        return None, [RowError(line, problem.message, problem.params)]
    return {"word": word, "means": means, "line": line}, []


async def import_csv(store: Store, now: datetime, admin_telegram_id: int, data: bytes, finds: Finds) -> ImportReport:
    """Add every row of a ``word,means`` file, or none when any row is bad."""
    table = read_csv(data, HEADER)
    if isinstance(table, list):
        return ImportReport(errors=table)
    if len(table.rows) > MAX_FILE_ROWS:
        return ImportReport(errors=[RowError(0, N_("At most {limit} rows in one file."), {"limit": MAX_FILE_ROWS})])
    items, errors = parse_rows(table, _parse_row, "word", N_("“{value}” is already on line {other}."),
                               N_("The file has no rows."))
    found: dict[str, bool] = {}
    for item in items:
        if item["means"] not in found:
            found[item["means"]] = await finds(item["means"])
        if not found[item["means"]]:
            errors.append(RowError(item["line"], NOT_FOUND, {"value": item["means"]}))
    if errors:
        return ImportReport(errors=sorted(errors, key=lambda e: e.line))
    report = ImportReport()
    async with store.write() as session:
        for item in items:
            if await _put(session, item["word"], item["means"], admin_telegram_id, now) is None:
                report.created += 1
            else:
                report.updated += 1
        await bump_catalog_version(session)
    return report


# ---- suggestions from misses --------------------------------------------------------------------

def word_of(names: dict) -> str | None:
    """A word of a product's name to give as ``means``: its first Chinese run, else its first word
    with letters (None when there is none short enough)."""
    tokens = [token for name in names.values() for token in TOKEN_RE.findall(normalize(name))]
    ordered = [t for t in tokens if is_cjk(t)] + [t for t in tokens if not is_cjk(t) and not t.isdigit()]
    return next((t for t in ordered if len(t) <= MAX_CHARS), None)


def can_be_word(term: str) -> bool:
    """Whether a miss could be a synonym's word typed after /synonym: one run of Chinese or one
    word with letters, short enough."""
    return len(term) <= MAX_CHARS and TOKEN_RE.fullmatch(term) is not None and not term.isdigit()


async def suggestions(terms: list[str], guess: Callable[[str], Awaitable[dict | None]]) -> dict[str, str]:
    """For searches that found nothing: miss -> a word of the product a fuzzy guess picks for it
    (``guess``: the names of that product, None when there is none or the miss finds something
    now), ready for ``/synonym <miss> <word>``."""
    found: dict[str, str] = {}
    for term in terms:
        if can_be_word(term) and (names := await guess(term)) and (word := word_of(names)) and word != term:
            found[term] = word
    return found
