"""When and how long to wait before trying a registry request again.

Exponential backoff with full jitter (AWS's recommendation: spreads parallel clients apart), and a
server's ``Retry-After`` honoured over our own guess, within a cap (30 s) so a confused or hostile
server cannot park a CI job for an hour; the client says so in a line whenever it waits that long.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Statuses worth another try: rate limited, or the server (or a proxy in front of it) failed.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` retries after the first try; delays base·2ⁿ (jittered), at most ``cap`` seconds."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.cap, self.base * (2**attempt))
        # Full jitter, but never less than a tenth of the ceiling so a retry is not immediate.
        return float(ceiling * (0.1 + 0.9 * self.jitter()))

    def wait(self, attempt: int, retry_after: float | None = None) -> None:
        self.sleep(self.delay(attempt, retry_after))


NO_RETRY = RetryPolicy(attempts=0)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date; None when absent/garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
