"""A broadcast's terms, with nothing of Telegram's client: how fast it sends and how hard it
retries (`Pacing`, inside bot/limits.py's table), how far back it looks (`LOOK_BACK_DAYS`),
what a run did (`Report`), and the clock it runs on by default (`utcnow`).

The scheduler holds these whether or not there is a bot: a start-up without BOT_TOKEN imports
this module and not bot/delivery/broadcast.py, so it loads neither PTB nor httpx (see
docs/architecture.md). The sending is bot/delivery/broadcast.py.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from bot.budget import Budget
from bot.delivery.ledger import BLOCKED, FAILED, SENT, UNCERTAIN
from bot.limits import TELEGRAM, broadcast_rate

LOOK_BACK_DAYS = 8  # pending rows of older dates are not looked at (the catch-up policy skips them)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Pacing:
    """How fast to send and how hard to retry."""

    rate: float = broadcast_rate(paid=False)
    paid: bool = False
    concurrency: int = 32
    max_attempts: int = 5  # for 5xx and connection failures
    backoff: float = 0.5  # seconds, doubled per attempt (with jitter), at most 30
    max_retry_after: int = 10  # 429s answered for one message before it is recorded failed
    batch: int = 1000  # ledger rows read at a time
    grace: float = 6.0  # seconds in-flight requests get to finish on stop
    progress_every: float = 5.0
    # The bot's one budget, shared with the replies (bot/budget.py); None: pace at `rate` alone.
    budget: Budget | None = None

    @classmethod
    def for_settings(cls, paid: bool, **changes) -> Pacing:
        defaults = {"rate": broadcast_rate(paid=True), "paid": True, "concurrency": 128} if paid else {}
        return cls(**(defaults | changes))

    @property
    def limit(self) -> float:
        return TELEGRAM.paid_bot_wide if self.paid else TELEGRAM.bot_wide


@dataclass
class Report:
    sent: int = 0
    blocked: int = 0
    migrated: int = 0
    failed: int = 0
    uncertain: int = 0
    handed_back: int = 0  # claimed but stopped before the request: pending again
    retry_after: int = 0  # 429 answers received
    retries: int = 0  # resends after 5xx or connection failures
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def count(self, status: str) -> None:
        """Count one send that ended in `status` (sent, blocked, failed or uncertain)."""
        counter = {SENT: "sent", BLOCKED: "blocked", FAILED: "failed", UNCERTAIN: "uncertain"}[status]
        setattr(self, counter, getattr(self, counter) + 1)

    @property
    def done(self) -> int:
        return self.sent + self.blocked + self.migrated + self.failed + self.uncertain

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.blocked} blocked, {self.migrated} migrated, {self.failed} failed, "
            f"{self.uncertain} uncertain, {self.retry_after} answered 429, {self.retries} retried, "
            f"in {self.elapsed:.1f}s"
        )
