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
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from locales import available_locales
from services.caps import CAPS, Caps
from services.cart import MAX_CART_LINES
from services.rate_limit import UserRate
from services.reminders import RETURN_AFTER, QuietHours

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/rural-bot.sqlite3"
# Telegram tokens look like "123456789:AAH...": a numeric bot id, a colon, then the secret.
_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
# What Telegram accepts as a webhook's secret_token.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# A payment provider token from @BotFather: "<provider id>:TEST:<secret>" or ":LIVE:".
_PROVIDER_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z]{2,8}:\S{4,}$")
# A shared secret shorter than this can be guessed; `openssl rand -hex 16` makes one of 32.
MIN_SECRET_LENGTH = 16


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
    metrics_token: str | None = None  # when set, /metrics wants it as a bearer token
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
    # What one person may ask of the others at once (services/caps.py says why each exists).
    max_pending_orders: int = CAPS.pending_orders
    max_listings_in_review: int = CAPS.listings_in_review
    review_again_minutes: float = CAPS.review_again_after.total_seconds() / 60
    search_miss_days: int = CAPS.search_miss_days
    # Updates one person may have handled: 5 a second sustained, 10 at once; None: no limit.
    user_rate: UserRate | None = UserRate(5.0, 10)
    # Days a parcel waits for pickup before the desk is asked to send it back (services/returns.py).
    return_after_days: int = RETURN_AFTER.days
    # Telegram Payments: the provider token from @BotFather (Payments). None: no online payment;
    # town buyers type their address and pay the carrier on delivery.
    payment_provider_token: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def caps(self) -> Caps:
        return Caps(pending_orders=self.max_pending_orders, listings_in_review=self.max_listings_in_review,
                    review_again_after=timedelta(minutes=self.review_again_minutes),
                    search_miss_days=self.search_miss_days)

    def require_token(self) -> str:
        if not self.bot_token:
            raise SettingsError("BOT_TOKEN is not set: get one from @BotFather and set BOT_TOKEN")
        return self.bot_token

    def require_webhook(self) -> tuple[str, str]:
        if not self.webhook_url:
            raise SettingsError("WEBHOOK_URL is not set: the public https:// URL Telegram should post updates to")
        if not self.webhook_secret:
            raise SettingsError(f"WEBHOOK_SECRET is not set: {MIN_SECRET_LENGTH}-256 characters of A-Z, a-z, 0-9, "
                                "_ and -")
        return self.webhook_url, self.webhook_secret


def without_password(url: str) -> str:
    """A database URL as it may be shown in a message or a log: its password, if any, is ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not even a URL: hide whatever sits between "user:" and "@"
        return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", url)


def normalize_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver the store uses. A bad URL is named
    without its password."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            url = "postgresql+asyncpg://" + url[len(prefix):]
            break
    else:
        if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
            url = "sqlite+aiosqlite://" + url[len("sqlite://"):]
    if not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        raise SettingsError(
            f"DATABASE_URL is invalid: {without_password(url)!r} is neither a sqlite:/// nor a postgresql:// URL")
    try:
        make_url(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy says ArgumentError or ValueError (a bad port)
        reason = "a port must be a number" if isinstance(exc, ValueError) else "it cannot be parsed"
        raise SettingsError(f"DATABASE_URL is invalid: {without_password(url)!r} ({reason})") from None
    return url


def secret_setting(values: dict[str, str], name: str) -> str | None:
    """A shared secret from the setting ``name`` (a bearer token, a webhook's secret): unset, or
    at least MIN_SECRET_LENGTH characters. The error names the setting, never the value."""
    secret = values.get(name, "").strip() or None
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(f"{name} is invalid: shorter than {MIN_SECRET_LENGTH} characters; use a random one at "
                            "least that long (e.g. the output of `openssl rand -hex 16`)")
    return secret


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
    webhook_secret = secret_setting(values, "WEBHOOK_SECRET")
    if webhook_secret is not None and not _SECRET_RE.match(webhook_secret):
        raise SettingsError(f"WEBHOOK_SECRET is invalid: use {MIN_SECRET_LENGTH}-256 characters of A-Z, a-z, 0-9, "
                            "_ and -")

    metrics_token = secret_setting(values, "METRICS_TOKEN")

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

    def whole(low: int, high: int) -> Callable[[float], bool]:
        return lambda n: n.is_integer() and low <= n <= high

    pending_orders = _number(values, "MAX_PENDING_ORDERS", str(CAPS.pending_orders),
                             "orders, a whole number from 1 to 1000", whole(1, 1000))
    in_review = _number(values, "MAX_LISTINGS_IN_REVIEW", str(CAPS.listings_in_review),
                        "listings, a whole number from 1 to 1000", whole(1, 1000))
    review_again = _number(values, "REVIEW_AGAIN_MINUTES", f"{CAPS.review_again_after.total_seconds() / 60:g}",
                           "minutes from 0 to 10080, e.g. 60",
                           lambda n: 0 <= n <= 10080)
    miss_days = _number(values, "SEARCH_MISS_DAYS", str(CAPS.search_miss_days),
                        "days, a whole number from 0 to 365; 0 records every one", whole(0, 365))

    return_after_days = _number(values, "RETURN_AFTER_DAYS", str(RETURN_AFTER.days),
                                "days, a whole number from 1 to 365", whole(1, 365))

    provider_token = values.get("PAYMENT_PROVIDER_TOKEN", "").strip() or None
    if provider_token is not None and not _PROVIDER_TOKEN_RE.match(provider_token):
        raise SettingsError("PAYMENT_PROVIDER_TOKEN is invalid: expected the form 123456789:TEST:... (or :LIVE:) "
                            "that @BotFather gives under Payments")

    return Settings(
        payment_provider_token=provider_token,
        return_after_days=int(return_after_days),
        max_pending_orders=int(pending_orders),
        max_listings_in_review=int(in_review),
        review_again_minutes=review_again,
        search_miss_days=int(miss_days),
        cart_max_lines=int(cart_max_lines),
        user_rate=user_rate,
        update_claim_seconds=claim_seconds,
        broadcast_rate=rate,
        outbox_lease=lease,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        quiet_hours=quiet_hours,
        logistics_token=secret_setting(values, "LOGISTICS_TOKEN"),
        metrics_token=metrics_token,
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
