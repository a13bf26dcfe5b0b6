"""What ``/metrics`` tells Prometheus about one bot process.

Each process has its own registry (two bots in one test process do not mix their counts), and
Prometheus scrapes every replica. The backlog gauges are read from the store when scraped, so
they are the same on every replica: what all of them together still have to send.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Handler latency buckets, in seconds: a tap is answered within tens of milliseconds normally.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter("rural_updates", "Telegram updates handled, by type.", ["type"],
                               registry=self.registry)
        self.duplicates = Counter("rural_duplicate_updates", "Updates Telegram delivered again, skipped.",
                                  registry=self.registry)
        self.latency = Histogram("rural_handler_seconds", "Time to handle one update, by handler.", ["handler"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.limited = Counter("rural_limited_updates",
                               "Updates not handled because their sender went past USER_RATE in this process, by type.",
                               ["type"], registry=self.registry)
        self.errors = Counter("rural_errors", "Updates that failed, by cause.", ["cause"], registry=self.registry)
        self.api_calls = Counter("rural_bot_api_calls", "Bot API calls, by method and result.",
                                 ["method", "result"], registry=self.registry)
        self.backlog = Gauge("rural_outbox_backlog", "Messages due and not yet sent, by queue.", ["queue"],
                             registry=self.registry)
        self.database_up = Gauge("rural_database_up", "1 when the database answered the last check.",
                                 registry=self.registry)

    def bot_api_call(self, method: str, result: str) -> None:
        self.api_calls.labels(method=method, result=result).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
