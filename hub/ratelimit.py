"""Token buckets and failure counters with an injected clock (pure, no I/O)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

Clock = Callable[[], float]


class TokenBucket:
    """Allows ``rate`` events per second with bursts of ``burst``."""

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def take(self) -> bool:
        """Spend one token; False when the bucket is empty. A rate of 0 means unlimited."""
        if self.rate <= 0:
            return True
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def wait_time(self) -> float:
        """Seconds until the next token."""
        if self.rate <= 0 or self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) / self.rate


class KeyedBuckets:
    """One token bucket per key (a client address), the oldest forgotten past ``max_keys``."""

    def __init__(
        self, rate: float, burst: int, clock: Clock = time.monotonic, max_keys: int = 10000
    ) -> None:
        self.rate, self.burst, self._clock, self._max = rate, burst, clock, max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str) -> tuple[bool, float]:
        """Spend a token of ``key``'s bucket: (allowed, seconds to wait when not)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self._clock)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        allowed = bucket.take()
        return allowed, bucket.wait_time()


class FailureCounter:
    """Counts failures per key inside a sliding window (repeated failed logins)."""

    def __init__(
        self, limit: int, window: float, clock: Clock = time.monotonic, max_keys: int = 10000
    ) -> None:
        self.limit, self.window, self._clock, self._max = limit, window, clock, max_keys
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def _recent(self, key: str) -> list[float]:
        now = self._clock()
        stamps = [t for t in self._failures.get(key, []) if now - t < self.window]
        if stamps:
            self._failures[key] = stamps
        else:
            self._failures.pop(key, None)
        return stamps

    def blocked_for(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        stamps = self._recent(key)
        if self.limit <= 0 or len(stamps) < self.limit:
            return 0.0
        return max(0.0, self.window - (self._clock() - stamps[-self.limit]))

    def fail(self, key: str) -> None:
        """Record a failure of ``key``."""
        stamps = self._recent(key)
        stamps.append(self._clock())
        self._failures[key] = stamps
        self._failures.move_to_end(key)
        if len(self._failures) > self._max:
            self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        """Forget ``key``'s failures (after a success)."""
        self._failures.pop(key, None)
