"""Settings from the environment and an optional ``.env`` file.

A bad setting is reported as one line naming it (``SettingsError``); the CLI turns that into
exit status 2 without a traceback.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from locales import available_locales
from services.cart import MAX_CART_LINES
from services.parcels import QuietHours
from services.rate_limit import UserRate

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/rural-bot.sqlite3"
# Telegram tokens look like "123456789:AAH...": a numeric bot id, a colon, then the secret.
_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
# What Telegram accepts as a webhook's secret_token.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Settings:
    bot_token: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_base_url: str | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_Hans"
    quiet_hours: str = "21:00-08:00"
    logistics_token: str | None = None
    listen_host: str = "127.0.0.1"
    listen_port: int = 8088
    webhook_url: str | None = None  # the public URL Telegram posts updates to (rural-bot webhook)
    webhook_secret: str | None = None  # Telegram sends it back in X-Telegram-Bot-Api-Secret-Token
    # Promotion messages a second, over all processes: about Telegram's 30, a little under it so
    # that the jitter of real sends never puts 31 into one second.
    broadcast_rate: float = 29.0
    # Seconds a claim on outbox messages and promotion copies lasts unless its holder renews it:
    # how long the messages a dead process held wait before another process sends them.
    outbox_lease: float = 120.0
    cart_max_lines: int = MAX_CART_LINES  # different products in one cart
    # How long a process holds an update it took: one it did not finish by then (it died) is
    # handled again when Telegram sends it again.
    update_claim_seconds: float = 60.0
    # Updates one person may have handled: 5 a second sustained, 10 at once; None: no limit.
    user_rate: UserRate | None = UserRate(5.0, 10)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_token(self) -> str:
        if not self.bot_token:
            raise SettingsError("BOT_TOKEN is not set: get one from @BotFather and set BOT_TOKEN")
        return self.bot_token

    def require_webhook(self) -> tuple[str, str]:
        if not self.webhook_url:
            raise SettingsError("WEBHOOK_URL is not set: the public https:// URL Telegram should post updates to")
        if not self.webhook_secret:
            raise SettingsError("WEBHOOK_SECRET is not set: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return self.webhook_url, self.webhook_secret


def normalize_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver the store uses."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://"):]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise SettingsError(
        f"DATABASE_URL is invalid: {url!r} is neither a sqlite:/// nor a postgresql:// URL"
    )


def load_settings(environ: dict[str, str] | None = None, env_file: str | Path = ".env") -> Settings:
    """Read settings; the process environment wins over the ``.env`` file."""
    values: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    token = values.get("BOT_TOKEN", "").strip() or None
    if token is not None and not _TOKEN_RE.match(token):
        raise SettingsError("BOT_TOKEN is invalid: expected the form 123456789:ABC... from @BotFather")

    database_url = normalize_database_url(values.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL)

    base_url = values.get("TELEGRAM_BASE_URL", "").strip() or None
    if base_url is not None and not re.match(r"^https?://[^\s/]+", base_url):
        raise SettingsError(f"TELEGRAM_BASE_URL is invalid: {base_url!r} is not an http(s) URL")

    admin_ids: set[int] = set()
    for part in values.get("ADMIN_IDS", "").replace(" ", "").split(","):
        if not part:
            continue
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise SettingsError(f"ADMIN_IDS is invalid: {part!r} is not a Telegram user id")
        admin_ids.add(int(part))

    timezone = values.get("TIMEZONE", "").strip() or "Asia/Shanghai"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"TIMEZONE is invalid: {timezone!r} is not an IANA time zone") from None

    default_locale = values.get("DEFAULT_LOCALE", "").strip() or "zh_Hans"
    if default_locale not in available_locales():
        known = ", ".join(sorted(available_locales()))
        raise SettingsError(f"DEFAULT_LOCALE is invalid: {default_locale!r} (available: {known})")

    quiet_hours = values.get("QUIET_HOURS", "").strip() or "21:00-08:00"
    try:
        QuietHours.parse(quiet_hours)
    except ValueError:
        raise SettingsError(f"QUIET_HOURS is invalid: {quiet_hours!r} (expected e.g. 21:00-08:00)") from None

    listen_port = values.get("LISTEN_PORT", "").strip() or "8088"
    if not listen_port.isdigit() or not 0 < int(listen_port) < 65536:
        raise SettingsError(f"LISTEN_PORT is invalid: {listen_port!r} is not a port number")

    webhook_url = values.get("WEBHOOK_URL", "").strip() or None
    if webhook_url is not None and not re.match(r"^https?://[^\s/]+(/\S*)?$", webhook_url):
        raise SettingsError(f"WEBHOOK_URL is invalid: {webhook_url!r} is not an http(s) URL")
    webhook_secret = values.get("WEBHOOK_SECRET", "").strip() or None
    if webhook_secret is not None and not _SECRET_RE.match(webhook_secret):
        raise SettingsError("WEBHOOK_SECRET is invalid: use 1-256 characters of A-Z, a-z, 0-9, _ and -")

    rate = _number(values, "BROADCAST_RATE", "29", "messages a second, e.g. 30", lambda n: 0 < n <= 1000)
    lease = _number(values, "OUTBOX_LEASE", "120", "seconds from 1 to 3600, e.g. 120", lambda n: 1 <= n <= 3600)
    claim_seconds = _number(values, "UPDATE_CLAIM_SECONDS", "60", "seconds, e.g. 60", lambda n: 0 < n <= 3600)
    raw_user_rate = values.get("USER_RATE", "").strip() or "5/10"
    try:
        user_rate = UserRate.parse(raw_user_rate)
    except ValueError:
        raise SettingsError(f"USER_RATE is invalid: {raw_user_rate!r} (updates a second/burst, e.g. 5/10; "
                            "0 or off: no limit)") from None
    cart_max_lines = values.get("CART_MAX_LINES", "").strip() or str(MAX_CART_LINES)
    if not cart_max_lines.isdigit() or not 1 <= int(cart_max_lines) <= 1000:
        raise SettingsError(f"CART_MAX_LINES is invalid: {cart_max_lines!r} (a number of lines from 1 to 1000)")

    return Settings(
        cart_max_lines=int(cart_max_lines),
        user_rate=user_rate,
        update_claim_seconds=claim_seconds,
        broadcast_rate=rate,
        outbox_lease=lease,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        quiet_hours=quiet_hours,
        logistics_token=values.get("LOGISTICS_TOKEN", "").strip() or None,
        listen_host=values.get("LISTEN_HOST", "").strip() or "127.0.0.1",
        listen_port=int(listen_port),
        bot_token=token,
        database_url=database_url,
        telegram_base_url=base_url,
        admin_ids=frozenset(admin_ids),
        timezone=timezone,
        default_locale=default_locale,
    )


def _number(values: dict[str, str], name: str, default: str, hint: str, accept: Callable[[float], bool]) -> float:
    """The setting ``name`` as a number that ``accept`` takes; else one line says what it should be."""
    raw = values.get(name, "").strip() or default
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if not accept(number):
        raise SettingsError(f"{name} is invalid: {raw!r} ({hint})")
    return number
