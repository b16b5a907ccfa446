"""Configuration: read once from the environment (or a mapping tests pass in), then frozen."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

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
    (
        "TIMEZONE",
        "UTC",
        'IANA timezone whose calendar date is "the day": today\'s quote changes at midnight there, '
        "for every reader.",
    ),
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
    (
        "FEED_DAYS",
        "30",
        "Days of history in the feeds (the home page shows up to 7 of them; the archive, every day).",
    ),
    ("LOG_LEVEL", "INFO", "Python logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL."),
    (
        "CHANNEL_FORMAT",
        "text",
        "How channels get the daily post: `text`, or `card` (the quote's share image, the text as "
        "its caption; needs PUBLIC_URL; a text over 1,024 characters goes as text).",
    ),
    (
        "EDIT_SENT",
        "channels",
        "Which sent messages a correction edits: `channels` (channel posts), `all` (private chats "
        "and groups too) or `none`.",
    ),
    (
        "FEED_DIR",
        "(none)",
        "Folder where the scheduler keeps rss.xml, atom.xml and feed.json, rewritten atomically "
        "when they change (for a static host or a CDN).",
    ),
    (
        "IMPORT_MAX_BYTES",
        "10485760",
        "Largest import file (bytes, 10 MB) `qotd quotes import` and Telegram /import take; "
        "checked before parsing.",
    ),
    (
        "REDIS_URL",
        "(none)",
        "Redis holding the bot's one message budget, shared by all replicas (replies and the "
        "broadcast together under Telegram's limit); without it, see REPLICAS.",
    ),
    (
        "REPLICAS",
        "1",
        "Without REDIS_URL: how many `qotd serve` replicas run; each takes 1/REPLICAS of Telegram's limits.",
    ),
    (
        "WEB_SERVER",
        "granian",
        "HTTP server of `qotd serve` (one process): granian (Rust HTTP, the cached answers over RSGI), "
        "or uvicorn (h11: also closes connections that never send a request; a third of the speed).",
    ),
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
    channel_format: str  # "text" or "card"
    edit_sent: str  # "channels", "all" or "none"
    feed_dir: Path | None
    import_max_bytes: int
    redis_url: str | None
    replicas: int
    web_server: str
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
        public_url = _url(raw, "PUBLIC_URL").rstrip("/") if (raw := get("PUBLIC_URL")) else None
        return cls(
            data_dir=data_dir,
            database_url=_database(need("DATABASE_URL").replace("$DATA_DIR", str(data_dir)), "DATABASE_URL"),
            timezone=_zone(need("TIMEZONE"), "TIMEZONE"),
            publish_time=_time(need("PUBLISH_TIME"), "PUBLISH_TIME"),
            bot_token=_token(get("BOT_TOKEN"), "BOT_TOKEN"),
            public_url=public_url,
            webhook_secret=_secret(get("WEBHOOK_SECRET"), "WEBHOOK_SECRET"),
            telegram_api_url=_api_url(need("TELEGRAM_API_URL"), "TELEGRAM_API_URL"),
            admin_ids=frozenset(_ints(get("ADMIN_IDS"), "ADMIN_IDS")),
            channel_ids=tuple(_chats(get("CHANNEL_IDS"), "CHANNEL_IDS")),
            port=_int(need("PORT"), "PORT", 1, 65535),
            catch_up_hours=_float(need("CATCH_UP_HOURS"), "CATCH_UP_HOURS"),
            allow_paid_broadcast=_bool(need("ALLOW_PAID_BROADCAST"), "ALLOW_PAID_BROADCAST"),
            retry_uncertain=_bool(need("RETRY_UNCERTAIN"), "RETRY_UNCERTAIN"),
            feed_days=_int(need("FEED_DAYS"), "FEED_DAYS", 1, 3660),
            log_level=_level(need("LOG_LEVEL"), "LOG_LEVEL"),
            channel_format=_channel_format(need("CHANNEL_FORMAT"), public_url),
            edit_sent=_choice(need("EDIT_SENT"), "EDIT_SENT", ("channels", "all", "none")),
            feed_dir=_folder(get("FEED_DIR"), "FEED_DIR"),
            import_max_bytes=_int(need("IMPORT_MAX_BYTES"), "IMPORT_MAX_BYTES", 1, 2**40),
            redis_url=_redis(get("REDIS_URL"), "REDIS_URL"),
            replicas=_int(need("REPLICAS"), "REPLICAS", 1, 1000),
            web_server=_choice(need("WEB_SERVER"), "WEB_SERVER", WEB_SERVERS),
            leader_lease_seconds=_lease(need("LEADER_LEASE_SECONDS"), "LEADER_LEASE_SECONDS"),
        )

    def secrets(self) -> dict[str, str]:
        """Return every secret these settings hold, by the name a log may show instead of it."""
        found: dict[str, str] = {}
        if self.bot_token:
            found["BOT_TOKEN"] = self.bot_token
        if self.webhook_secret:
            found["WEBHOOK_SECRET"] = self.webhook_secret
        password = sa.engine.make_url(self.database_url).password
        if password:
            found["DATABASE_URL password"] = str(password)
        return found

    def now(self) -> dt.datetime:
        """Return the current time (the one place the clock is read for commands)."""
        return dt.datetime.now(dt.UTC)

    def today(self, now: dt.datetime) -> dt.date:
        """Return the calendar date of `now` in the service's timezone."""
        return now.astimezone(self.timezone).date()


def _choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value.lower() not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value.lower()


# Telegram's tokens: the bot's numeric id, a colon, and 35 characters of A-Z a-z 0-9 _ -.
TOKEN_PATTERN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,64}")
# Telegram's rule for a webhook's secret_token: 1-256 characters of A-Z a-z 0-9 _ -.
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASES = ("sqlite", "postgresql")
WEB_SERVERS = ("granian", "uvicorn")


def _url(value: str, name: str) -> str:
    """An absolute http(s) URL: a scheme, a host, no spaces."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ConfigError(
            f"{name}={value!r} is not an absolute http(s) URL; write it as https://host[:port][/path]"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{name}={value!r} must not have a query or fragment; write the base URL only")
    return value


def _api_url(value: str, name: str) -> str:
    url = _url(value, name).rstrip("/")
    path = urlsplit(url).path
    if path.endswith("/bot") or re.search(r"/bot[0-9]+:", path):
        root = url[: url.rindex("/bot")]
        raise ConfigError(
            f"{name}={value!r} ends in the /bot path the bot adds itself (with the token); "
            f"write {name}={root or 'https://api.telegram.org'}"
        )
    return url


def _token(value: str | None, name: str) -> str | None:
    if value is not None and not TOKEN_PATTERN.fullmatch(value):
        # The value is a secret, wrong or not: the message never shows it.
        raise ConfigError(
            f"{name} is not a bot token: @BotFather gives one as <digits>:<35 letters, digits, _ or ->"
        )
    return value


def _secret(value: str | None, name: str) -> str | None:
    if value is not None and not SECRET_PATTERN.fullmatch(value):
        raise ConfigError(f"{name} must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
    return value


def _level(value: str, name: str) -> str:
    level = value.upper()
    if level not in LEVELS:
        raise ConfigError(f"{name}={value!r} is not a log level: use one of {', '.join(LEVELS)}")
    assert isinstance(logging.getLevelName(level), int)
    return level


def _database(value: str, name: str) -> str:
    """A URL of a database qotd can use: SQLite or PostgreSQL (as SQLAlchemy or a platform writes it)."""
    try:
        url = sa.engine.make_url(value)
    except sa.exc.ArgumentError:
        raise ConfigError(
            f"{name} is not a database URL; write sqlite:///path/to/file.sqlite3 "
            "or postgresql://user:password@host:5432/name"
        ) from None
    backend = {"postgres": "postgresql"}.get(url.get_backend_name(), url.get_backend_name())
    if backend not in DATABASES:
        raise ConfigError(f"{name} names a {backend} database; qotd runs on sqlite:///… or postgresql://…")
    driver = url.drivername.partition("+")[2]  # (get_driver_name would import the dialect)
    if backend == "postgresql" and driver and driver != "psycopg":
        raise ConfigError(f"{name} asks for the {driver} driver; qotd uses psycopg 3: write postgresql://…")
    if backend == "sqlite" and not url.database:
        raise ConfigError(f"{name} names no SQLite file; write sqlite:///path/to/file.sqlite3")
    return value


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


def _redis(value: str | None, name: str) -> str | None:
    """A Redis URL redis-py takes: redis://, rediss:// (TLS) or unix:// (a socket)."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ConfigError(f"{name}={value!r} is not a Redis URL; write redis://host:6379/0")
    return value


def _folder(value: str | None, name: str) -> Path | None:
    """A folder the service writes into: it may not exist yet, but it must not be a file."""
    if value is None:
        return None
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name}={value!r} is a file, not a folder; name a folder to write into")
    return path


def _channel_format(value: str, public_url: str | None) -> str:
    if value not in ("text", "card"):
        raise ConfigError(f"CHANNEL_FORMAT={value!r} is not text or card")
    if value == "card" and public_url is None:
        raise ConfigError("CHANNEL_FORMAT=card needs PUBLIC_URL: Telegram fetches the card from the site")
    return value


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
