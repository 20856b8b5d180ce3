"""Attempt counters of this process (one hub process, or Redis away)."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence

from hub.attempts.base import Attempts, Reservation, Rule


class MemoryAttempts(Attempts):
    """Moving windows in a dict; the least recently used keys are forgotten past ``max_keys``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self._clock, self._max = clock, max_keys
        self._stamps: OrderedDict[str, dict[str, float]] = OrderedDict()  # key -> id -> time

    def _recent(self, key: str, window: float, now: float) -> dict[str, float]:
        stamps = {a: t for a, t in self._stamps.get(key, {}).items() if now - t < window}
        self._stamps[key] = stamps
        self._stamps.move_to_end(key)
        return stamps

    async def reserve(self, rules: Sequence[Rule]) -> Reservation | float:
        """Record one attempt under every rule's key when all have room (no await inside, so
        it is atomic on the event loop)."""
        now = self._clock()
        active = [rule for rule in rules if rule.limit > 0]
        wait = 0.0
        for rule in active:
            stamps = self._recent(rule.key, rule.window, now)
            if len(stamps) >= rule.limit:
                oldest = sorted(stamps.values())[-rule.limit]
                wait = max(wait, rule.window - (now - oldest), 0.001)
        if wait > 0:
            return wait
        attempt = uuid.uuid4().hex
        for rule in active:
            self._stamps[rule.key][attempt] = now
        while len(self._stamps) > self._max:
            self._stamps.popitem(last=False)
        return Reservation(attempt, tuple(rule.key for rule in active))

    async def release(self, reservation: Reservation) -> None:
        """Take the attempt back."""
        for key in reservation.keys:
            self._stamps.get(key, {}).pop(reservation.attempt, None)

    async def clear(self, key: str) -> None:
        """Forget the key."""
        self._stamps.pop(key, None)
