"""The one logging set-up: one handler at the root that never lets a secret out.

Every record, from any logger (the libraries' included), is rendered by `RedactingFormatter`:
the whole rendered text — message, arguments, exception and stack — has each configured secret
(the bot token, the webhook secret, the database password; as written and URL-encoded)
replaced by its name in brackets. The libraries' per-request and per-run chatter (httpx's
"HTTP Request: POST …/bot<token>/getUpdates", APScheduler's "Running job …") is demoted to
DEBUG, so it shows only with LOG_LEVEL=DEBUG — and redacted there too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO
from urllib.parse import quote

from bot.webhook import webhook_secret
from qotd.settings import Settings

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"

# Loggers whose INFO lines are per request or per run: below INFO they go.
CHATTY = ("httpx", "httpcore", "apscheduler", "alembic.runtime")  # its migrations, its plugins
# Warnings about a choice made on purpose, and said in the docs: written as INFO. granian calls
# its embedded mode, which `qotd serve` runs on (docs/web.md, "The HTTP server"), experimental.
KNOWN_WARNINGS = {("_granian", "Embedded server is experimental!")}

# A secret shorter than this is not replaced (it would replace ordinary letters everywhere).
MIN_SECRET = 4


class Redactor:
    """Replace each secret (and its URL-encoded form) in a text by `[NAME]`."""

    def __init__(self, secrets: Mapping[str, str]):
        pairs: dict[str, str] = {}
        for name, secret in secrets.items():
            if len(secret) < MIN_SECRET:
                continue
            for form in (secret, quote(secret, safe=""), quote(secret)):
                pairs.setdefault(form, f"[{name}]")
        self.pairs = sorted(pairs.items(), key=lambda p: -len(p[0]))  # the longest form first

    def __call__(self, text: str) -> str:
        for secret, name in self.pairs:
            if secret in text:
                text = text.replace(secret, name)
        return text


def secrets_of(settings: Settings) -> dict[str, str]:
    """Every secret in `settings`, the webhook secret derived from the token included."""
    found = settings.secrets()
    if settings.bot_token and "WEBHOOK_SECRET" not in found:
        found["WEBHOOK_SECRET"] = webhook_secret(settings)
    return found


class RedactingFormatter(logging.Formatter):
    """A formatter whose every rendered line has the secrets replaced."""

    def __init__(self, redact: Redactor, fmt: str = FORMAT):
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class Demote(logging.Filter):
    """Pass the chatty loggers' INFO records as DEBUG, and only if the threshold lets DEBUG out."""

    def __init__(self, threshold: int, loggers: Iterable[str] = CHATTY):
        super().__init__()
        self.threshold, self.loggers = threshold, tuple(loggers)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.name.startswith(self.loggers):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        elif record.levelno == logging.WARNING and (record.name, record.getMessage()) in KNOWN_WARNINGS:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return record.levelno >= self.threshold


class _Handler(logging.StreamHandler):
    """The root handler `configure` installs (and replaces when it is called again).

    Without a stream of its own it writes to whatever `sys.stderr` is at each record (a test's
    capture, a redirected stderr), never to a stream that has since been closed.
    """

    def __init__(self, stream: TextIO | None = None):
        super().__init__(stream or sys.stderr)
        self.follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self.follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


def configure(settings: Settings, stream: TextIO | None = None) -> Redactor:
    """Set up the root logger for `settings`: one redacting handler; return its redactor.

    Handlers someone else put on the root (pytest's capture) stay; an earlier one of ours goes.
    """
    redact = Redactor(secrets_of(settings))
    level = logging.getLevelName(settings.log_level)
    handler = _Handler(stream)
    handler.setFormatter(RedactingFormatter(redact))
    handler.addFilter(Demote(level))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _Handler) or type(old) is logging.StreamHandler:  # ours, or basicConfig's
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # theirs go through this handler too
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.captureWarnings(True)
    return redact


def secrets_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The secrets in a raw environment, for the lines printed before the settings are read."""
    found = {name: env[name].strip() for name in ("BOT_TOKEN", "WEBHOOK_SECRET") if env.get(name, "").strip()}
    url = env.get("DATABASE_URL", "")
    if "@" in url and "://" in url:
        credentials = url.split("://", 1)[1].rsplit("@", 1)[0]
        if ":" in credentials:
            found["DATABASE_URL password"] = credentials.split(":", 1)[1]
    return found
