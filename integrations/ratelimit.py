"""Per-source request budgets: at most N requests a minute to one tracker.

Counted in fixed one-minute windows. With Redis (``REDIS_URL``) every web and worker
process shares the count; without it each process counts for itself, which is right for
the embedded single-process setup. A fixed window can let up to 2N requests through
around a window boundary; trackers tolerate such short bursts and answer 429 beyond
them, which the HTTP client honours.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis
from django.conf import settings

logger = logging.getLogger("integrations.http")

WINDOW_SECONDS = 60


class RequestBudget(Protocol):
    def acquire(self, key: str, per_minute: int) -> float:
        """Take one request from ``key``'s budget: 0 when granted, else the seconds until
        the next window opens (nothing is taken then)."""


class LocalRequestBudget:
    """Counts in this process; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window number, requests taken)

    def acquire(self, key: str, per_minute: int) -> float:
        with self._lock:
            now = self._clock()
            window = int(now // WINDOW_SECONDS)
            taken_window, taken = self._windows.get(key, (window, 0))
            if taken_window != window:
                taken = 0
            if taken >= per_minute:
                return (window + 1) * WINDOW_SECONDS - now
            self._windows[key] = (window, taken + 1)
            return 0.0


# Check and count in one atomic step, on Redis's clock so that workers whose clocks
# disagree still share the same windows. The key expires with its window.
_ACQUIRE_SCRIPT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window_ms = tonumber(ARGV[2])
local window = math.floor(now_ms / window_ms)
local key = KEYS[1] .. ':' .. window
local taken = tonumber(redis.call('GET', key) or '0')
if taken >= tonumber(ARGV[1]) then
  return (window + 1) * window_ms - now_ms
end
redis.call('INCR', key)
redis.call('PEXPIRE', key, window_ms)
return 0
"""


class RedisRequestBudget:
    """Counts in Redis, shared by every process that uses the same Redis."""

    key_prefix = "testmanager:http-budget:"

    def __init__(self, client: redis.Redis):
        self._acquire = client.register_script(_ACQUIRE_SCRIPT)

    def acquire(self, key: str, per_minute: int) -> float:
        try:
            wait_ms = self._acquire(keys=[self.key_prefix + key], args=[per_minute, WINDOW_SECONDS * 1000])
        except redis.RedisError as error:
            # Without Redis the budget cannot be shared; the tracker's own 429s still
            # protect it, so requests go ahead rather than every integration stopping.
            logger.warning("request budget not enforced: Redis is unavailable (%s)", type(error).__name__)
            return 0.0
        return wait_ms / 1000


_local_budget = LocalRequestBudget()


def default_request_budget() -> RequestBudget:
    """The budget every client shares: Redis when ``REDIS_URL`` is set, else this process."""
    if settings.REDIS_URL:
        return _redis_budget(settings.REDIS_URL)
    return _local_budget


@functools.cache
def _redis_budget(url: str) -> RedisRequestBudget:
    return RedisRequestBudget(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2))
