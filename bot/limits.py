"""Telegram's limits, in one table, and the share of them each part of the service takes.

`TELEGRAM` is the one table of what Telegram allows a bot; every user of a limit takes it from
there with its own margin, named beside it: the replies (`REPLY_MARGIN`, in `LimitSettings`),
the daily broadcast (`broadcast_rate` and `broadcast_burst`, from `BROADCAST_MARGIN`,
`PAID_BROADCAST_MARGIN`, `BROADCAST_BURST_SHARE` and `BROADCAST_MIN_BURST`, used by
bot/delivery/broadcast.py and bot/budget.py), message lengths (bot/messages.py).

Two guards keep the replies in their share (bot/replies.py, on bot/throttle.py's token buckets):

* UserThrottle, before any handler: each user may send `user_burst` commands at once and
  `user_rate` a second after that; further updates are dropped (the user is told once). A user
  hammering the bot costs one cheap check per update and no replies. Inline queries, which
  come with every keystroke, have a budget of their own (`inline_burst`, `inline_rate`).
* ReplyLimiter, PTB's rate limiter for requests the handlers mark as replies (rate_limit_args
  REPLY): every reply waits for its chat's bucket (Telegram's 1/s, and 20/minute in groups and
  channels, less REPLY_MARGIN: 0.9/s with a burst of 3, 18/minute), for the replies' cap,
  `reply_rate` a second, and for the bot-wide bucket it shares with the broadcast (the bot's
  one budget, bot/budget.py: replies first, the broadcast in what they leave, together at
  `bot_wide` x BROADCAST_MARGIN, across replicas).

A reply that still meets a 429 waits Telegram's retry_after, empties the buckets it counts
against for that long, and is retried (at most `max_retries` times).
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telegram.error import RetryAfter

# PTB 22 warns each time it builds a RetryAfter (retry_after becomes a timedelta in PTB 23)
# unless the process opts in, as every process that loads the bot does here (a setting of
# its own stays); retry_after_seconds reads both kinds. Without it a warning on each 429, and
# where warnings are errors (the tests) a reply's 429 became a failed update, not a retry.
os.environ.setdefault("PTB_TIMEDELTA", "true")


@dataclass(frozen=True)
class TelegramLimits:
    """What Telegram allows one bot (Bot API FAQ "My bot is hitting limits", and the methods' docs)."""

    per_chat: float = 1.0  # messages a second to one private chat
    per_group: float = 20.0 / 60.0  # messages a second to one group or channel
    bot_wide: float = 30.0  # messages a second, all chats together
    paid_bot_wide: float = 1000.0  # with allow_paid_broadcast (paid in Telegram Stars)
    message_length: int = 4096  # a message's text after entity parsing, in UTF-16 code units
    caption_length: int = 1024  # a photo's or a document's caption, counted the same way
    callback_answer_length: int = 200  # the text of an answerCallbackQuery
    download_size: int = 20 * 1024 * 1024  # getFile: the largest file a bot may download, in bytes


TELEGRAM = TelegramLimits()

# Replies keep 10% under the per-chat limits, so a reply our bucket lets through is never one
# Telegram's bucket (started a little later) refuses.
REPLY_MARGIN = 0.9
# The broadcast paces just under the bot-wide limit, and these are the numbers it uses (the
# pacer's bot-wide bucket, bot/delivery/broadcast.py; the shared budget, bot/budget.py; the
# figures in docs/delivery.md "Rate" come from here). The one rule: rate x 1 s + burst stays
# under the limit + 1, so no window of one second can hold more whole messages than Telegram
# allows (the emulator's buckets, like Telegram's, start full and refill at the limit, so this
# is the stricter of the two readings):
#   free:  0.995 x 30/s   = 29.85/s, burst 1.1 (the least):  29.85 + 1.1 = 30.95 -> 30 messages;
#   paid:  0.99 x 1000/s  = 990/s,   burst 1% = 9.9:         990 + 9.9  = 999.9 -> 999 messages.
# The burst is what makes up for a wake-up that comes late on a busy loop (a token not taken on
# time is lost once the bucket is full): 9.9 tokens are 10 ms at 990/s; at 30/s the rule leaves
# 0.1 token, 3 ms. A broadcast's start-up and its last answers also cost it a little of the
# rate (its figure is sent / wall time), which is why the margins are as thin as the rule lets
# them be: 96% with a 4% burst could never reach 97% of 1000/s.
BROADCAST_MARGIN = 0.995
PAID_BROADCAST_MARGIN = 0.99
BROADCAST_BURST_SHARE = 0.01
BROADCAST_MIN_BURST = 1.1


def broadcast_rate(paid: bool) -> float:
    """The broadcast's default pace, messages a second (replies included when they share it)."""
    return TELEGRAM.paid_bot_wide * PAID_BROADCAST_MARGIN if paid else TELEGRAM.bot_wide * BROADCAST_MARGIN


def broadcast_burst(rate: float) -> float:
    """The burst of the broadcast's bot-wide bucket at `rate` (see the rule above)."""
    return max(BROADCAST_MIN_BURST, rate * BROADCAST_BURST_SHARE)


@dataclass(frozen=True)
class LimitSettings:
    reply_rate: float = 5.0  # replies a second, all chats together
    reply_burst: float = 10.0
    chat_rate: float = TELEGRAM.per_chat * REPLY_MARGIN  # replies a second to one private chat
    chat_burst: float = 3.0
    group_rate: float = TELEGRAM.per_group * REPLY_MARGIN  # replies a second to one group or channel
    group_burst: float = 5.0
    user_rate: float = 0.5  # updates a second one user may send
    user_burst: float = 8.0
    # Inline queries come with every keystroke (clients debounce a little) and their answers
    # are not messages, so they get a budget of their own.
    inline_rate: float = 3.0
    inline_burst: float = 20.0
    max_retries: int = 2

    @property
    def broadcast_rate(self) -> float:
        """What the daily broadcast may use while replies take their whole share."""
        return TELEGRAM.bot_wide - self.reply_rate


def retry_after_seconds(exc: RetryAfter) -> float:
    """Return Telegram's retry_after in seconds (PTB 22 warns on reading it unless PTB_TIMEDELTA is set)."""
    # PTB is imported here, not above: the table is read by a start-up without a token (the
    # scheduler's pacing), which loads no Telegram; whoever holds a RetryAfter has PTB loaded.
    from telegram.warnings import PTBDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
