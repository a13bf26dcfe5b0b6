"""Structured logs: one JSON object per line, and what each update was.

Every line carries the time, level, logger and event; a line written while an update is being
handled also carries its ``update_id``, the sender's ``user_id`` and the ``handler`` that took it
(``UpdateTrace``, kept in a context variable). ``rural-bot`` writes one ``update handled`` line per
update, with its ``duration_ms``.

Logs never hold the bot token, phone numbers or what people wrote: the code logs ids, not texts,
the store hides SQL parameters in its errors, and ``redact`` blanks a token, a phone number or a
URL's password that would still slip into a line (an exception's text, a library's message, a
logged URL with them percent-encoded).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

# A plus sign, a colon, a space or a dash as they appear in a logged URL or form: written as such,
# percent-encoded (%2B, %3A, %20, %2D; in any letter case) or percent-encoded twice (%252B: a
# URL inside a URL's query).
_PLUS = r"(?:\+|%(?:25)?2[Bb])"
_COLON = r"(?::|%(?:25)?3[Aa])"
_GAP = r"(?:[\s-]|%(?:25)?20|%(?:25)?2[Dd])"
# A Chinese mobile number (with or without +86 / spaces / dashes) or any +country number.
# It starts after no word character (nor a dot), or right after a percent-escape ("=" is %3D).
_PHONE = re.compile(rf"(?:(?<![\w.%])|(?<=%[0-9A-Fa-f]{{2}}))"
                    rf"(?:{_PLUS}?86{_GAP}?)?1[3-9]\d(?:{_GAP}?\d{{4}}){{2}}(?!\d)"
                    rf"|{_PLUS}\d(?:\d|{_GAP}){{6,16}}\d")
# A Telegram bot token: the bot id, a colon, the secret (whose letters need no encoding).
_TOKEN = re.compile(rf"\d{{3,}}{_COLON}[A-Za-z0-9_-]{{20,}}")
# The password in a URL such as a DATABASE_URL: scheme://user:password@host.
_URL_PASSWORD = re.compile(r"(?<=://)([^:/@\s]*):[^@\s]+@")


@dataclass
class UpdateTrace:
    update_id: int | None
    user_id: int | None
    kind: str
    handler: str | None = None


_trace: contextvars.ContextVar[UpdateTrace | None] = contextvars.ContextVar("update_trace", default=None)


def current_trace() -> UpdateTrace | None:
    return _trace.get()


def begin_trace(trace: UpdateTrace) -> contextvars.Token:
    return _trace.set(trace)


def end_trace(token: contextvars.Token) -> None:
    _trace.reset(token)


def redact(text: str) -> str:
    return _PHONE.sub("[phone]", _TOKEN.sub("[token]", _URL_PASSWORD.sub(r"\1:[password]@", text)))


class JsonLines(logging.Formatter):
    """``{"ts", "level", "logger", "event", [update_id, user_id, handler], extras..., [error]}``"""

    EXTRAS = ("duration_ms", "update_type", "outcome", "method", "status", "path")

    def format(self, record: logging.LogRecord) -> str:
        line: dict = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact(record.getMessage()),
        }
        trace = current_trace()
        if trace is not None:
            line.update(update_id=trace.update_id, user_id=trace.user_id, handler=trace.handler)
        for key in self.EXTRAS:
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO, stream=None) -> logging.Handler:
    """Send every log line to ``stream`` (standard error) as JSON."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # the pump's wake-up every 5 s is not news
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return handler
