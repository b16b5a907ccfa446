"""Configuration: read once from the environment (or a mapping tests pass in), then frozen."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from quotes.dates import parse_time_of_day


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and says what is wrong."""


# name, default, meaning: the README's configuration table is this list.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("DATA_DIR", "./data", "Folder of the embedded SQLite database and generated files."),
    (
        "DATABASE_URL",
        "sqlite:///$DATA_DIR/qotd.sqlite3",
        "SQLAlchemy or platform URL; `postgres://…` and `postgresql://…` use psycopg 3.",
    ),
    ("TIMEZONE", "UTC", 'IANA timezone whose calendar date is "the day".'),
    ("PUBLISH_TIME", "09:00", "Local time (HH:MM, in TIMEZONE) of the daily publish."),
    ("BOT_TOKEN", "(none)", "Telegram bot token; without it Telegram is off."),
    (
        "PUBLIC_URL",
        "(none)",
        "The site's public base URL, used in feed links and ids (else http://localhost:$PORT); "
        "with BOT_TOKEN, enables the webhook.",
    ),
    ("WEBHOOK_SECRET", "(derived from BOT_TOKEN)", "Secret Telegram sends with each webhook update."),
    ("TELEGRAM_API_URL", "https://api.telegram.org", "Bot API server (point it at the emulator)."),
    ("ADMIN_IDS", "(none)", "Comma-separated Telegram user ids of the admins."),
    ("CHANNEL_IDS", "(none)", "Comma-separated chat ids (or @names) of channels to post to."),
    ("PORT", "8000", "Port the web process binds."),
    ("CATCH_UP_HOURS", "6", "After downtime, deliveries up to this late still go out."),
    ("ALLOW_PAID_BROADCAST", "false", "Use Telegram's paid broadcasts (up to 1000 messages/s)."),
    ("RETRY_UNCERTAIN", "false", "Resend deliveries whose outcome is unknown (risks duplicates)."),
    ("FEED_DAYS", "30", "Days of history in the feeds and on the home page."),
    ("LOG_LEVEL", "INFO", "Python logging level."),
    (
        "LEADER_LEASE_SECONDS",
        "30",
        "A scheduler leader that stops renewing its lease (frozen, cut off) loses it after this long.",
    ),
)


# What each variable is when it is not set; a default written in parentheses ("(none)", "(derived
# from BOT_TOKEN)") means that nothing is set, and the code below says what follows from that.
DEFAULTS: dict[str, str | None] = {
    name: None if default.startswith("(") else default for name, default, _ in VARIABLES
}


@dataclass(frozen=True)
class Settings:
    """The service's settings, read once by `from_env`; every default comes from VARIABLES."""

    data_dir: Path
    database_url: str
    timezone: ZoneInfo
    publish_time: dt.time
    bot_token: str | None
    public_url: str | None
    webhook_secret: str | None
    telegram_api_url: str
    admin_ids: frozenset[int]
    channel_ids: tuple[int | str, ...]
    port: int
    catch_up_hours: float
    allow_paid_broadcast: bool
    retry_uncertain: bool
    feed_days: int
    log_level: str
    leader_lease_seconds: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from `env` (default: the process environment)."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else DEFAULTS[name]

        def need(name: str) -> str:
            value = get(name)
            assert value is not None, f"{name} has a default in VARIABLES"
            return value

        data_dir = Path(need("DATA_DIR"))
        return cls(
            data_dir=data_dir,
            database_url=need("DATABASE_URL").replace("$DATA_DIR", str(data_dir)),
            timezone=_zone(need("TIMEZONE"), "TIMEZONE"),
            publish_time=_time(need("PUBLISH_TIME"), "PUBLISH_TIME"),
            bot_token=get("BOT_TOKEN"),
            public_url=(get("PUBLIC_URL") or "").rstrip("/") or None,
            webhook_secret=get("WEBHOOK_SECRET"),
            telegram_api_url=need("TELEGRAM_API_URL").rstrip("/"),
            admin_ids=frozenset(_ints(get("ADMIN_IDS"), "ADMIN_IDS")),
            channel_ids=tuple(_chats(get("CHANNEL_IDS"), "CHANNEL_IDS")),
            port=_int(need("PORT"), "PORT", 1, 65535),
            catch_up_hours=_float(need("CATCH_UP_HOURS"), "CATCH_UP_HOURS"),
            allow_paid_broadcast=_bool(need("ALLOW_PAID_BROADCAST"), "ALLOW_PAID_BROADCAST"),
            retry_uncertain=_bool(need("RETRY_UNCERTAIN"), "RETRY_UNCERTAIN"),
            feed_days=_int(need("FEED_DAYS"), "FEED_DAYS", 1, 3660),
            log_level=need("LOG_LEVEL").upper(),
            leader_lease_seconds=_lease(need("LEADER_LEASE_SECONDS"), "LEADER_LEASE_SECONDS"),
        )

    def now(self) -> dt.datetime:
        """Return the current time (the one place the clock is read for commands)."""
        return dt.datetime.now(dt.UTC)

    def today(self, now: dt.datetime) -> dt.date:
        """Return the calendar date of `now` in the service's timezone."""
        return now.astimezone(self.timezone).date()


def _zone(value: str, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name}={value!r} is not an IANA timezone such as Europe/Moscow") from None


def _time(value: str, name: str) -> dt.time:
    try:
        return parse_time_of_day(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a time as HH:MM, such as 09:00") from None


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(f"{name}={number} is out of range {low}-{high}")
    return number


def _float(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number") from None
    if number < 0:
        raise ConfigError(f"{name}={value!r} must not be negative")
    return number


def _lease(value: str, name: str) -> float:
    seconds = _float(value, name)
    if not 1 <= seconds <= 3600:
        raise ConfigError(f"{name}={value!r} is out of range 1-3600 seconds")
    return seconds


def _bool(value: str, name: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r} is not true or false")


def _ints(value: str | None, name: str) -> list[int]:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    try:
        return [int(v) for v in items]
    except ValueError:
        raise ConfigError(f"{name}={value!r} must be comma-separated numeric ids") from None


def _chats(value: str | None, name: str) -> list[int | str]:
    chats: list[int | str] = []
    for item in (v.strip() for v in (value or "").split(",")):
        if not item:
            continue
        if item.startswith("@") and len(item) > 1:
            chats.append(item)
        else:
            try:
                chats.append(int(item))
            except ValueError:
                raise ConfigError(f"{name}: {item!r} is neither a numeric chat id nor an @name") from None
    return chats
