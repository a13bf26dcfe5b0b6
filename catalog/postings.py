"""Posting-list arithmetic for catalog.search: a query unit's {doc: score} from its posting lists
(sorted ``array``s of internal doc numbers, best list first), read within a budget or probed."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

__all__ = ["probe", "unit_scores"]


def unit_scores(lists: list[tuple[float, array]], budget: int) -> dict[int, float]:
    """{doc: best score} over a unit's posting lists (best first), reading at most `budget` postings."""
    chosen = []
    for score, postings in lists:
        if budget <= 0:
            break
        if len(postings) > budget:
            postings = postings[:budget]
        chosen.append((score, postings))
        budget -= len(postings)
    out: dict[int, float] = {}
    for score, postings in reversed(chosen):  # best last, so it overwrites weaker scores
        out.update(dict.fromkeys(postings, score))
    return out


def probe(candidates: Iterable[int], lists: list[tuple[float, array]]) -> dict[int, float]:
    """Like unit_scores, but only for `candidates`, found by bisecting the posting lists."""
    out = {}
    for doc in candidates:
        for score, postings in lists:
            i = bisect_left(postings, doc)
            if i < len(postings) and postings[i] == doc:
                out[doc] = score
                break
    return out
