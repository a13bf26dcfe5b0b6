"""Words as villagers say them: the shipped lexicon of synonyms and dialect names, and Chinese
word segmentation (jieba, taught the lexicon's words as its domain dictionary).

The lexicon (catalog/data/synonyms.csv, ``word,means``) says that a product whose name holds
``means`` is also found by ``word``: 洋芋 -> 土豆, 打药机 -> 喷雾器, weedkiller -> herbicide,
感冒药 -> 感冒灵. ``Lexicon.words_for`` reads a product's names and gives the words to index with
it, following one more step of chaining (手纸 -> 卫生纸 -> 卷纸). A Chinese ``means`` of two or more
characters is found anywhere in a run of Chinese (电饭煲 in 美的电饭煲), one character only at the
end of a run, where Chinese puts the head noun (纸 in 卷纸, not in 纸巾); Latin ones are whole words.

``heads`` gives the head phrases of a Chinese run: its suffixes that start at a word boundary
(老人手机 -> 老人手机, 手机; 手机壳 -> 手机壳, 壳), so that 手机 ranks a phone above a phone case.
"""

from __future__ import annotations

import csv
import logging
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import jieba

from catalog.text import CJK_RE, TOKEN_RE, normalize

__all__ = ["LEXICON_PATH", "Lexicon", "heads", "segment"]

LEXICON_PATH = Path(__file__).parent / "data" / "synonyms.csv"
MAX_GRAM = 3  # Latin words in a lexicon entry

jieba.setLogLevel(logging.WARNING)
_tokenizer: jieba.Tokenizer | None = None
_tokenizer_lock = threading.Lock()


def _norm(text: str) -> str:
    return " ".join(TOKEN_RE.findall(normalize(text)))


class Lexicon:
    """``means`` (normalised) -> the words that also find it; immutable once built."""

    __slots__ = ("_words", "_longest", "_memo", "_starts")

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        words: dict[str, set[str]] = {}
        for word, means in pairs:
            word, means = _norm(word), _norm(means)
            if word and means and word != means:
                words.setdefault(means, set()).add(word)
        self._words = {means: frozenset(found) for means, found in words.items()}
        self._longest = max((len(m) for m in self._words if CJK_RE.match(m)), default=1)
        self._starts = {m.split()[0] for m in self._words if " " in m}  # first tokens of phrases
        self._memo: dict[str, frozenset[str]] = {}  # Chinese run -> its words (runs repeat a lot)

    @classmethod
    def load(cls, path: Path = LEXICON_PATH) -> Lexicon:
        with path.open(encoding="utf-8") as f:
            rows = csv.reader(line for line in f if line.strip() and not line.startswith("#"))
            next(rows, None)  # header
            return cls((row[0], row[1]) for row in rows if len(row) >= 2)

    def __len__(self) -> int:
        return len(self._words)

    def plus(self, pairs: Iterable[tuple[str, str]]) -> Lexicon:
        """This lexicon with more ``(word, means)`` pairs (an admin's, say): a new one."""
        mine = ((word, means) for means, words in self._words.items() for word in words)
        return Lexicon([*mine, *pairs])

    def terms(self) -> set[str]:
        """Every Chinese word and meaning in the lexicon (jieba's domain dictionary)."""
        found = {m for m in self._words if CJK_RE.match(m)}
        found.update(w for ws in self._words.values() for w in ws if CJK_RE.match(w))
        return {t for t in found if " " not in t}

    def words_for(self, texts: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
        """The lexicon's words for a product with these texts (its names): those for what it is
        (a head noun: 手机 for 老人手机), and the others (电话 for 手机壳, from its 手机)."""
        return self.words_for_tokens([_norm(text).split() for text in texts])

    def words_for_tokens(self, texts: Iterable[list[str]]) -> tuple[frozenset[str], frozenset[str]]:
        """words_for, for texts already normalised and cut into tokens (runs of Chinese, words)."""
        get = self._words.get
        found: set[str] = set()
        weak: set[str] = set()
        for tokens in texts:
            for i, token in enumerate(tokens):
                if token in self._starts:  # runs of tokens: "light soy sauce"
                    for k in range(2, MAX_GRAM + 1):
                        if i + k <= len(tokens) and (words := get(" ".join(tokens[i:i + k]))):
                            found |= words
                if (words := get(token)) is not None:
                    found |= words
                if len(token) > 1 and CJK_RE.match(token):
                    head, other = self._run_words(token)
                    found |= head
                    weak |= other
        for words in (found, weak):
            for word in list(words):  # one step of chaining
                words |= get(word, frozenset())
        return frozenset(found), frozenset(weak - found)

    def _run_words(self, run: str) -> tuple[frozenset[str], frozenset[str]]:
        if (memo := self._memo.get(run)) is not None:
            return memo
        get, n = self._words.get, len(run)
        head = set(get(run[-1], ()))
        for suffix in heads(run):
            head.update(get(suffix, ()))
        other: set[str] = set()
        for a in range(n):
            for b in range(a + 2, min(n, a + self._longest) + 1):
                other.update(get(run[a:b], ()))
        found = (frozenset(head), frozenset(other - head))
        if len(self._memo) < 200_000:
            self._memo[run] = found
        return found


@lru_cache(maxsize=1)
def shipped() -> Lexicon:
    return Lexicon.load()


def _jieba() -> jieba.Tokenizer:
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            for term in shipped().terms():  # teach it words it does not know, and only those:
                # a known compound keeps its parts (手机壳 = 手机 + 壳), so its head can be found
                if len(term) > 1 and all(len(w) == 1 for w in tokenizer.lcut(term, HMM=False)):
                    tokenizer.add_word(term, freq=2000)
            _tokenizer = tokenizer
        return _tokenizer


@lru_cache(maxsize=65536)
def segment(run: str) -> tuple[str, ...]:
    """The words of a run of Chinese characters (dictionary words only, no guessing of new ones)."""
    if len(run) < 3:
        return (run,)
    return tuple(_jieba().lcut(run, HMM=False))


def heads(run: str) -> tuple[str, ...]:
    """The suffixes of a Chinese run that start at a word boundary, longest first."""
    words = segment(run)
    return tuple("".join(words[i:]) for i in range(len(words)))
