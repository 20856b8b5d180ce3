"""The interface of attempt counters: moving windows per key, reserved before the work.

A caller names the rules an attempt must pass (``Rule(key, limit, window)``: at most
``limit`` attempts per ``key`` within the last ``window`` seconds) and calls
:meth:`Attempts.reserve` *before* the costly part (hashing a password). Either every rule has
room, and the attempt is recorded under every key at once (atomically: thirty parallel
attempts never all pass a limit of five), or none is recorded and the caller gets the seconds
to wait. An attempt that turned out fine (a correct password) is given back with
:meth:`Attempts.release`, so only failures count; one that should not count against a key any
more (the pair of address and username after a success) is forgotten with :meth:`clear`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """At most ``limit`` attempts of ``key`` in ``window`` seconds; a limit of 0 is no limit."""

    key: str
    limit: int
    window: float


@dataclass(frozen=True)
class Reservation:
    """One recorded attempt: its id under each key it counts against."""

    attempt: str
    keys: tuple[str, ...]


class Attempts(ABC):
    """Counts attempts per key in moving windows."""

    async def start(self) -> None:
        """Connect (Redis); nothing for the in-process counters."""

    async def stop(self) -> None:
        """Disconnect."""

    @abstractmethod
    async def reserve(self, rules: Sequence[Rule]) -> Reservation | float:
        """Record one attempt under every rule's key when all have room, else the seconds
        until the fullest has room again (nothing recorded)."""

    @abstractmethod
    async def release(self, reservation: Reservation) -> None:
        """Take a recorded attempt back (it does not count any more)."""

    @abstractmethod
    async def clear(self, key: str) -> None:
        """Forget every attempt of ``key``."""
