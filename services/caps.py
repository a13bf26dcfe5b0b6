"""What one person may ask of the others at once: the caps that keep a desk and the admins' figures
readable however much someone taps. Each is a setting (bot/config.py); the services that own the
rules take them as a plain value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Caps:
    # A villager's orders waiting for a center's decision (MAX_PENDING_ORDERS): each is a card a
    # partner must read and decide, so a few at once is a need and dozens a mistake or a prank.
    pending_orders: int = 5
    # A seller's listings waiting for the partner's review (MAX_LISTINGS_IN_REVIEW).
    listings_in_review: int = 3
    # How soon one listing may go back to review again (REVIEW_AGAIN_MINUTES): each time posts a
    # new card on the desk, and a price raised by one fen at a time would flood it.
    review_again_after: timedelta = timedelta(hours=1)
    # The same search that found nothing, from the same person, is recorded once in this many
    # days, counted in their center's time (SEARCH_MISS_DAYS): /stats counts people, not taps.
    search_miss_days: int = 1


CAPS = Caps()
