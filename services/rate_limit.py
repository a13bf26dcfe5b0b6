"""One person cannot flood the bot: a token bucket for each person, in this process's memory.

Telegram lets a bot send about one message a second to a chat. A person who sends 200 messages
in a second would otherwise get 200 answers, which Telegram refuses with 429s that hold back the
answers to everyone else. So each person has a bucket of ``burst`` tokens that refills at
``per_second``: an update that finds a token is handled; one that finds none is not (the caller
answers one polite "please slow down" a minute, ``warn_due``, and otherwise nothing).

The buckets are in memory, not in the store: an update past the limit must cost no database work.
So each process has its own buckets, and a person whose updates are spread over N processes gets
at most N times the rate.

The time they follow is ``pace``, seconds from any start (``time.monotonic`` by default). It is
not the bot's clock: a test's clock stands still while its people act at machine speed. A test
gives the buckets the Bot API double's people's time instead, in which each action of a person
takes seconds and moving the test's clock counts too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# At most one "please slow down" a minute for each person.
WARN_EVERY = 60.0
# Forget the state of a person whose bucket is full again, every so many updates, so that the
# buckets of the millions who came once do not stay in memory.
SWEEP_EVERY = 4096
# A person's standing as a partner at a desk (a read from the store) is remembered this long.
DESK_STANDING_FOR = 60.0


@dataclass(frozen=True, slots=True)
class UserRate:
    """``USER_RATE``: ``5/10`` is 5 updates a second sustained, and a burst of 10."""

    per_second: float
    burst: int

    @classmethod
    def parse(cls, text: str) -> UserRate | None:
        """``RATE/BURST`` (``5/10``, ``0.5/3``); ``0`` or ``off``: no limit (None). ValueError
        for anything else."""
        text = text.strip().lower()
        if text in ("0", "off"):
            return None
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*/\s*(\d+)", text)
        if not match:
            raise ValueError(text)
        per_second, burst = float(match[1]), int(match[2])
        if not (0 < per_second <= 1000 and 1 <= burst <= 10000):
            raise ValueError(text)
        return cls(per_second, burst)

    def __str__(self) -> str:
        return f"{self.per_second:g}/{self.burst}"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned_at: float | None = None


class RateLimit:
    """The buckets of everyone this process has heard from recently. ``rate`` None: no limit."""

    def __init__(self, rate: UserRate | None, pace: Callable[[], float]):
        self.rate = rate
        self.pace = pace
        self._buckets: dict[int, _Bucket] = {}
        self._desk_standing: dict[tuple[int, int], tuple[bool, float]] = {}
        self._since_sweep = 0
        # By update id, what was decided for a polled update as it arrived, for its handler's turn.
        self.verdicts: dict[int, bool | None] = {}

    def take(self, person_id: int) -> bool:
        """Whether ``person_id`` may have this update handled (a token was taken); False: past
        the limit."""
        if self.rate is None:
            return True
        now = self.pace()
        bucket = self._buckets.get(person_id)
        if bucket is None:
            bucket = self._buckets[person_id] = _Bucket(float(self.rate.burst), now)
            self._sweep(now)
        else:
            refilled = bucket.tokens + max(0.0, now - bucket.at) * self.rate.per_second
            bucket.tokens = min(float(self.rate.burst), refilled)
            bucket.at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def warn_due(self, person_id: int) -> bool:
        """Whether ``person_id``, past the limit, is due a "please slow down" (one a minute);
        True counts as told."""
        now = self.pace()
        bucket = self._buckets.get(person_id)
        if bucket is None:
            return False
        if bucket.warned_at is not None and now - bucket.warned_at < WARN_EVERY:
            return False
        bucket.warned_at = now
        return True

    def known_desk_standing(self, person_id: int, chat_id: int) -> bool | None:
        """Whether ``person_id`` is a partner at the desk in ``chat_id``, if found out within
        ``DESK_STANDING_FOR``; None: not known, ask the store and ``remember_desk_standing``."""
        known = self._desk_standing.get((person_id, chat_id))
        if known is None or self.pace() - known[1] >= DESK_STANDING_FOR:
            return None
        return known[0]

    def remember_desk_standing(self, person_id: int, chat_id: int, at_desk: bool) -> None:
        self._desk_standing[(person_id, chat_id)] = (at_desk, self.pace())

    def _sweep(self, now: float) -> None:
        self._since_sweep += 1
        if self._since_sweep < SWEEP_EVERY:
            return
        self._since_sweep = 0
        refill = self.rate.burst / self.rate.per_second
        self._buckets = {person_id: bucket for person_id, bucket in self._buckets.items()
                         if now - bucket.at < refill
                         or (bucket.warned_at is not None and now - bucket.warned_at < WARN_EVERY)}
        self._desk_standing = {key: known for key, known in self._desk_standing.items()
                               if now - known[1] < DESK_STANDING_FOR}
