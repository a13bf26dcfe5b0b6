"""Text primitives shared by catalog.search and catalog.lexicon: normalising, cutting into tokens
(runs of Chinese characters, runs of other letters and digits) and pinyin."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

__all__ = ["CJK_RE", "TOKEN_RE", "is_cjk", "name_tokens", "normalize", "pinyin_of", "query_pinyin"]

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN_RE = re.compile(rf"[{CJK}]+|[^\W_{CJK}]+")
CJK_RE = re.compile(rf"[{CJK}]")


def normalize(text: str) -> str:
    """NFKC, casefold and collapse whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def is_cjk(token: str) -> bool:
    return CJK_RE.match(token) is not None


def pinyin_of(run: str) -> tuple[str, ...]:
    """Toneless pinyin, exactly one syllable per character of a Chinese run."""
    syllables = lazy_pinyin(run, style=Style.NORMAL, errors=list)
    if len(syllables) != len(run):
        syllables = [lazy_pinyin(c, style=Style.NORMAL, errors=lambda s: [s])[0] for c in run]
    return tuple(syllables)


query_pinyin = lru_cache(maxsize=4096)(pinyin_of)


def name_tokens(names: Iterable[str]) -> tuple[list[list[str]], list[str]]:
    """The tokens of each name, but units of measure (升 in 5升, 米 in 3米) apart."""
    tokens: list[list[str]] = []
    measures: list[str] = []
    for name in names:
        text, mine = normalize(name), []
        for m in TOKEN_RE.finditer(text):
            unit = len(m[0]) <= 2 and m.start() and text[m.start() - 1].isdigit() and is_cjk(m[0])
            (measures if unit else mine).append(m[0])
        tokens.append(mine)
    return tokens, measures
