"""The HTTP limits of `qotd serve` that hold against hostile clients, for both servers.

docs/web.md lists every limit. Here:

- HEAD_BYTES: a request head still incomplete at this size is refused and the connection
  closed (uvicorn on h11: 400; granian reads at most twice it: 431); a complete one over it,
  or with over 100 headers, gets 431 from the site (feed/guards.py);
- HEAD_SECONDS: a request head must be complete within this many seconds of its first byte,
  or of the previous answer on a kept-alive connection; a slow-loris client, which sends its
  headers a byte at a time, is closed after it. uvicorn also closes, after it, a connection
  that opens and sends nothing (qotd/uvicorn_http.py); granian has no such setting;
- KEEP_ALIVE_SECONDS between requests on a kept-alive connection (uvicorn; granian closes an
  idle one at HEAD_SECONDS).

The count of headers (feed/guards.py), the webhook's body size and time (bot/webhook.py) are
checked by the app. The servers' own modules (qotd/rsgi.py, qotd/uvicorn_http.py) are
imported only when chosen.
"""

from __future__ import annotations

from typing import Any

from feed.guards import MAX_HEADER_BYTES

HEAD_BYTES = MAX_HEADER_BYTES
HEAD_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5


def granian_http1() -> dict[str, Any]:
    """granian's HTTP/1 settings (`granian.http.HTTP1Settings`) for the same limits, where it has
    them: a request head must be complete within HEAD_SECONDS of its first byte, and a
    kept-alive connection idle that long is closed; a head is read into at most HEAD_BYTES
    plus a margin. A connection that opens and never sends a byte is not timed out by granian:
    that limit is uvicorn's alone (docs/web.md)."""
    return {"header_read_timeout": int(HEAD_SECONDS * 1000), "max_buffer_size": 2 * HEAD_BYTES}
