"""Typo-tolerant, multilingual product search (Chinese, English and pinyin).

How the index works
-------------------
Every product text (names in all languages, keywords, "extra" category words)
is normalised (NFKC + casefold) and split into tokens: runs of Chinese
characters and runs of other letters/digits.  Each token yields *terms*:

* a Latin word ``fertilizer``; ``50kg`` also yields ``50`` and ``kg``;
* a Chinese run ``复合化肥`` yields the whole run, its characters and its
  character bigrams (复合, 合化, 化肥), so that any Chinese substring can be
  found; and its pinyin: each syllable, the joined pairs of adjacent syllables
  (``fuhe``, ``hehua``, ``huafei``) and the joined whole run (``fuhehuafei``).

Terms live in separate namespaces (a one-character prefix) where one string
can mean different things: a syllable ``an`` is not the word ``an``, and a
pinyin pair from inside a longer run (``huafei`` in 复合化肥) is weaker than a
whole word (``huafei`` for 化肥).

The inverted index maps term -> sorted ``array`` of doc numbers, one dict per
field tier (name > keyword > extra); docs are numbered shortest-name first, so
ties (and posting lists cut short for common terms) favour concise names.

Each product is also indexed with the words the lexicon (catalog.lexicon,
catalog/data/synonyms.csv) has for its names: 洋芋 for 土豆种薯.  A Chinese run
also yields its head phrases (suffixes at a jieba word boundary), so 手机 is the
head of 老人手机 but only a substring of 手机壳.

A query is cut into *units*: one per Latin word, one per Chinese bigram of each
jieba word (or lone character).  Each unit has alternative terms, each with a quality: exact
word, pinyin syllable, the join of two adjacent query words (``hua fei`` ->
``huafei``), prefix (bisect in the sorted Latin vocabulary), fuzzy (rapidfuzz
OSA distance against only the vocabulary words of similar length), whole
Chinese run vs substring, and the pinyin of a Chinese bigram so that a wrong
homophone still matches.  Run-together pinyin (``fuhehuafei``) is segmented
into syllables and matched pair by pair.  A doc scores 1 + quality*weight/n
per unit it matches, so matching more units always wins and better matches
break ties.  Units are evaluated rarest first; a unit much more common than the
candidates found so far only *probes* those candidates (bisect) instead of
reading its postings, and units share a posting budget, so a query never
scans the whole catalog.

``search`` uses confident alternatives only; ``suggest`` adds looser ones.
The index is never mutated after ``build``, so threads can share it.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter

from rapidfuzz import process
from rapidfuzz.distance import OSA

from catalog.lexicon import Lexicon, heads, segment, shipped
from catalog.postings import probe, unit_scores
from catalog.text import TOKEN_RE, is_cjk, name_tokens, normalize, pinyin_of, query_pinyin

__all__ = ["Hit", "SearchDoc", "SearchIndex", "normalize"]

_PARTS_RE = re.compile(r"\d+|\D+")
_SYL, _RUN, _PAIR, _HEAD = "\x01", "\x02", "\x03", "\x04"  # namespaces: syllable, whole Chinese run,
# inner pinyin pair, head phrase of a Chinese run (a suffix at a word boundary: 手机 of 老人手机)

_WEIGHTS = (1.0, 0.9, 0.5)  # name, keyword, extra

Q_EXACT = 1.0
Q_HEAD = 0.97  # the head of a longer Chinese run: 手机 in 老人手机, not in 手机壳
Q_SUBSTRING = 0.85  # part of a longer Chinese run: 化肥 in 复合化肥 (or its pinyin)
Q_SYLLABLE = 0.8  # Latin query word equals one pinyin syllable
Q_HOMOPHONE = 0.75  # Chinese query bigram matched through its pinyin
Q_CHAR_PINYIN = 0.5  # loose: lone Chinese character matched through its pinyin
Q_CHAR = 0.4  # loose: one character of a Chinese bigram

MAX_QUERY_CHARS = 64
MAX_TOKENS = 8
MAX_CJK_RUN = 8
MAX_UNITS = 12
PREFIX_SCAN, PREFIX_TERMS, FUZZY_TERMS = 200, 16, 12
QUERY_BUDGET = 20_000  # postings a query may read, shared between its units
MIN_UNIT_BUDGET = 2_000

Alts = list[tuple[float, str]]  # one query unit: alternative (quality, term)


@dataclass(frozen=True, slots=True)
class SearchDoc:
    id: int
    names: Mapping[str, str]
    keywords: Sequence[str] = ()
    extra: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    doc_id: int
    score: float


def _token_terms(token: str) -> tuple[tuple[str, ...], str]:
    """(index terms, whole-run pinyin or "") of one token."""
    if not is_cjk(token):
        parts = _PARTS_RE.findall(token)
        return ((token, *parts) if len(parts) > 1 else (token,)), ""
    py = pinyin_of(token)
    whole = "".join(py)
    terms = {_RUN + token, whole, *token, *(_SYL + s for s in py)}
    terms.update(_HEAD + h for h in heads(token)[1:])  # the whole run is _RUN already
    terms.update(token[i : i + 2] for i in range(len(token) - 1))
    if len(token) > 2:
        terms.update(_PAIR + py[i] + py[i + 1] for i in range(len(py) - 1))
    return tuple(terms), whole


def _positions(words: Sequence[str]) -> list[tuple[int, str]]:
    """(offset in the run, word) of each word."""
    out, at = [], 0
    for word in words:
        out.append((at, word))
        at += len(word)
    return out


class SearchIndex:
    """Immutable search index over SearchDocs; create it with SearchIndex.build()."""

    __slots__ = ("_ids", "_postings", "_vocab", "_by_len", "_syllables", "_pinyin_terms")

    def __init__(self, ids, postings, vocab, by_len, syllables, pinyin_terms):
        self._ids: array = ids  # internal doc number -> SearchDoc.id
        self._postings: tuple[dict[str, array], ...] = postings  # per field tier: term -> doc numbers
        self._vocab: list[str] = vocab  # sorted Latin terms (pinyin pairs without namespace), for prefixes
        self._by_len: dict[int, list[str]] = by_len  # the same by length, for fuzzy lookups
        self._syllables: frozenset[str] = syllables
        self._pinyin_terms: frozenset[str] = pinyin_terms  # vocabulary entries that are joined pinyin

    @classmethod
    def build(cls, docs: Iterable[SearchDoc], lexicon: Lexicon | None = None) -> SearchIndex:
        """The index of ``docs``, each also found by the words ``lexicon`` (default: the shipped
        catalog/data/synonyms.csv) has for its names."""
        lexicon = shipped() if lexicon is None else lexicon

        def name_len(doc: SearchDoc) -> int:
            return min((len(n) for n in doc.names.values() if n.strip()), default=1 << 20)

        ordered = sorted(docs, key=lambda d: (name_len(d), d.id))
        postings: tuple[dict[str, array], ...] = ({}, {}, {})
        pinyin_terms: set[str] = set()
        # memos live only during the build: pypinyin is slow, and tokens, keywords and
        # category words repeat a lot (names are mostly unique, so they are not memoised)
        token_memo: dict[str, tuple[str, ...]] = {}
        text_memo: dict[str, frozenset[str]] = {}

        def text_terms(text: str, memo: bool, tokens: list[str] | None = None) -> frozenset[str]:
            if memo and text in text_memo:
                return text_memo[text]
            found: set[str] = set()
            for token in TOKEN_RE.findall(normalize(text)) if tokens is None else tokens:
                if token not in token_memo:
                    token_memo[token], whole = _token_terms(token)
                    if whole:
                        pinyin_terms.add(whole)
                found.update(token_memo[token])
            if memo:
                text_memo[text] = frozenset(found)
            return found

        syn_memo: dict[frozenset[str], frozenset[str]] = {}

        def synonym_terms(words: frozenset[str]) -> frozenset[str]:
            """Fewer terms than a keyword's: the whole word, its bigrams and its pinyin."""
            if words not in syn_memo:
                found = set()
                for token in TOKEN_RE.findall(" ".join(words)):
                    if is_cjk(token):
                        whole = "".join(query_pinyin(token))
                        pinyin_terms.add(whole)
                        found.update((_RUN + token, whole), (token[i : i + 2] for i in range(len(token) - 1)))
                    else:
                        found.add(token)
                syn_memo[words] = frozenset(found)
            return syn_memo[words]

        for number, doc in enumerate(ordered):
            best: dict[str, int] = {}  # term -> best (lowest) tier in this doc
            names, measures = name_tokens(doc.names.values())
            head_words, other_words = lexicon.words_for_tokens(names)
            for tokens in names:
                best.update(dict.fromkeys(text_terms("", False, tokens), 0))
            for term in text_terms("", False, measures):  # 米 of 3米 is a length, not rice
                best.setdefault(term, 2)
            for tier, texts in ((1, doc.keywords), (2, doc.extra)):
                for text in texts:
                    for term in text_terms(text, memo=True):
                        if best.get(term, 3) > tier:
                            best[term] = tier
            for tier, words in ((1, head_words), (2, other_words)):
                for term in synonym_terms(words) if words else ():
                    if best.get(term, 3) > tier:
                        best[term] = tier
            for term, tier in best.items():
                lists = postings[tier]
                if term not in lists:
                    lists[term] = array("I")
                lists[term].append(number)

        terms = set().union(*postings)
        syllables = frozenset(term[1:] for term in terms if term[0] == _SYL)
        pairs = {term[1:] for term in terms if term[0] == _PAIR}
        latin = {term for term in terms if term[0] not in (_SYL, _RUN, _PAIR, _HEAD) and not is_cjk(term)}
        vocab = sorted(latin | pairs)
        by_len: dict[int, list[str]] = {}
        for term in vocab:
            by_len.setdefault(len(term), []).append(term)
        ids = array("q", (d.id for d in ordered))
        return cls(ids, postings, vocab, by_len, syllables, frozenset(pinyin_terms | pairs))

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        """Confident matches only, best first; [] when nothing matches."""
        return self._run(query, limit, loose=False)

    def suggest(self, query: str, limit: int = 5) -> list[Hit]:
        """'Did you mean': the closest docs even for weak matches (use when search() is empty)."""
        return self._run(query, limit, loose=True)

    # -- query side -------------------------------------------------------

    def _has(self, term: str) -> bool:
        return any(term in lists for lists in self._postings)

    def _has_word(self, word: str) -> bool:
        """Is this Latin string indexed, as a word, whole-run pinyin or inner pinyin pair?"""
        return self._has(word) or self._has(_PAIR + word)

    @staticmethod
    def _word(quality: float, word: str) -> Alts:
        return [(quality, word), (quality * Q_SUBSTRING, _PAIR + word)]

    def _run(self, query: str, limit: int, loose: bool) -> list[Hit]:
        if limit <= 0 or not isinstance(query, str):
            return []
        text = normalize(query[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS]
        tokens = TOKEN_RE.findall(text)[:MAX_TOKENS]
        units = self._units(tokens, loose)[:MAX_UNITS]
        return self._rank(units, limit) if units else []

    def _units(self, tokens: list[str], loose: bool) -> list[Alts]:
        units: list[Alts] = []
        prev: str | None = None  # previous Latin token, if it formed a single unit
        for token in tokens:
            if is_cjk(token):
                units.extend(self._cjk_units(token[:MAX_CJK_RUN], loose))
                prev = None
                continue
            parts = _PARTS_RE.findall(token)
            if len(parts) > 1 and not self._has_word(token):  # "50kg" typed, "50 kg" indexed
                units.extend(self._latin_alts(p, loose) for p in parts)
                prev = None
                continue
            pinyin_units = self._pinyin_units(token)
            if pinyin_units:
                units.extend(pinyin_units)
                prev = None
                continue
            units.append(self._latin_alts(token, loose))
            if prev is not None and self._has_word(prev + token):  # "hua fei" -> "huafei"
                units[-1][:0] = units[-2][:0] = self._word(Q_EXACT, prev + token)
            prev = token
        return units

    def _latin_alts(self, token: str, loose: bool) -> Alts:
        alts: Alts = []
        exact = self._has_word(token)
        if exact:
            alts += self._word(Q_EXACT, token)
        syllable = self._has(_SYL + token)
        if syllable:
            alts.append((Q_SYLLABLE, _SYL + token))
        if len(token) >= (1 if loose else 2):
            lo = bisect_left(self._vocab, token)
            hi = bisect_left(self._vocab, token + "\uffff", lo, min(lo + PREFIX_SCAN, len(self._vocab)))
            longer = [word for word in self._vocab[lo:hi] if word != token]
            if syllable and not loose:  # docs with pinyin "hua..." already match the syllable "hua"
                longer = [word for word in longer if word not in self._pinyin_terms]
            for term in sorted(longer, key=len)[:PREFIX_TERMS]:
                alts += self._word(0.7 + 0.25 * len(token) / len(term), term)
        n = len(token)
        if loose:
            max_edits = 0 if n < 3 else 1 if n <= 4 else 2 if n <= 7 else 3
        elif exact or syllable:  # a known word: only close variants of long ones (fertiliser/-izer)
            max_edits = 1 if n >= 7 else 0
        else:
            max_edits = 0 if n < 4 else 1 if n <= 6 else 2
        if max_edits:
            found = []
            for length in range(n - max_edits, n + max_edits + 1):
                if bucket := self._by_len.get(length):
                    found += process.extract(
                        token, bucket, scorer=OSA.distance, score_cutoff=max_edits, limit=FUZZY_TERMS
                    )
            found.sort(key=itemgetter(1))
            for term, dist, _ in found[:FUZZY_TERMS]:
                if dist:
                    alts += self._word(0.9 * (1 - dist / max(n, len(term))), term)
        return alts

    def _pinyin_units(self, token: str) -> list[Alts]:
        """Units for run-together pinyin: "fuhehuafei" -> fu he hua fei -> fuhe, hehua, huafei."""
        if len(token) < 5 or not token.isascii() or not token.isalpha():
            return []
        # fewest-syllables segmentation by dynamic programming over the indexed syllables
        best: list[tuple[int, ...] | None] = [()] + [None] * len(token)
        for end in range(1, len(token) + 1):
            for start in range(max(0, end - 6), end):
                cuts = best[start]
                if cuts is not None and token[start:end] in self._syllables:
                    if best[end] is None or len(cuts) + 1 < len(best[end]):
                        best[end] = (*cuts, start)
        if best[-1] is None or len(best[-1]) < 3:
            return []
        cuts = (*best[-1], len(token))
        syllables = [token[a:b] for a, b in zip(cuts, cuts[1:])]
        pairs = [a + b for a, b in zip(syllables, syllables[1:])]
        if not all(self._has_word(p) for p in pairs):
            return []
        whole = self._word(Q_EXACT, token)  # docs with the whole word match every unit
        return [whole + self._word(Q_EXACT, p) for p in pairs]

    def _cjk_units(self, run: str, loose: bool) -> list[Alts]:
        """One unit per character bigram of each word of the run (苞谷种子: 苞谷, 种子)."""
        whole = [(Q_EXACT, _RUN + run), (Q_HEAD, _HEAD + run)]
        units = []
        for start, word in _positions(segment(run)):
            mine = whole if word == run else [*whole, (Q_EXACT, _RUN + word), (Q_HEAD, _HEAD + word)]
            if len(run) == 1:
                py = query_pinyin(run)
                units.append([*mine, (Q_SUBSTRING, run)] + ([(Q_CHAR_PINYIN, _SYL + py[0])] if loose else []))
                continue
            if len(word) == 1:  # a lone character with its neighbour, as typed: 杀虫济 -> 虫济 (chongji)
                start, word = (start - 1, run[start - 1 : start + 1]) if start else (0, run[:2])
            py = query_pinyin(word)
            for i in range(len(word) - 1):
                alts = [*mine, (Q_SUBSTRING, word[i : i + 2]), *self._word(Q_HOMOPHONE, py[i] + py[i + 1])]
                if loose:
                    alts += [(Q_CHAR, word[i]), (Q_CHAR, word[i + 1])]
                units.append(alts)
        return units

    def _rank(self, units: list[Alts], limit: int) -> list[Hit]:
        n = len(units)
        per_unit = []
        for alts in units:
            lists, seen = [], set()
            for quality, term in alts:
                if term in seen:
                    continue
                seen.add(term)
                for weight, tier in zip(_WEIGHTS, self._postings):
                    postings = tier.get(term)
                    if postings is not None:
                        lists.append((1.0 + quality * weight / n, postings))
            if lists:
                lists.sort(key=itemgetter(0), reverse=True)
                per_unit.append((sum(len(p) for _, p in lists), lists))
        if not per_unit:
            return []
        per_unit.sort(key=itemgetter(0))  # rarest unit first
        budget = max(MIN_UNIT_BUDGET, QUERY_BUDGET // len(per_unit))
        totals: dict[int, float] = {}
        for size, lists in per_unit:
            # a probe costs ~len(lists) bisects per candidate; a scan ~one dict insert per posting
            if totals and len(totals) * len(lists) * 4 < min(size, budget):
                scores = probe(totals, lists)
            else:
                scores = unit_scores(lists, budget)
            summed = {doc: totals[doc] + scores[doc] for doc in totals.keys() & scores.keys()}
            totals.update(scores)
            totals.update(summed)

        values = sorted(totals.values(), reverse=True)
        threshold = values[min(limit, len(values)) - 1]
        best = list(compress(totals, map(threshold.__le__, totals.values())))
        best.sort()  # ties: lower internal number = shorter name first
        best.sort(key=totals.__getitem__, reverse=True)
        return [Hit(self._ids[d], totals[d] / (n + 1)) for d in best[:limit]]
