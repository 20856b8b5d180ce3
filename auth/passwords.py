"""Argon2 password hashing through passlib on a small fixed pool of threads, and the rules a
new password must meet."""

from __future__ import annotations

import asyncio
import functools
import string
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import TypeVar

from passlib.context import CryptContext

from auth.errors import WeakPassword

T = TypeVar("T")

MIN_LENGTH = 8
MAX_LENGTH = 256


class Hasher:
    """Hashes and verifies passwords with argon2id at the configured cost.

    Each hash takes ``memory_cost`` KiB in the thread that computes it, and the allocator
    tends to keep that memory for the thread afterwards: so hashing runs on ``threads``
    threads of its own (not on the event loop's default pool, which grows to dozens), and
    ``after_burst`` (if given) is called in a hashing thread whenever the last hash in
    flight finishes, to hand memory back (see hub/allocator.py).
    """

    def __init__(self, time_cost: int = 2, memory_cost: int = 19456, parallelism: int = 1,
                 threads: int = 2, after_burst: Callable[[], None] | None = None) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__time_cost=time_cost,
            argon2__memory_cost=memory_cost,
            argon2__parallelism=parallelism,
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="todohub-hash")
        self._after_burst = after_burst
        self._in_flight = 0
        self._lock = threading.Lock()
        # A hash to verify against when the user does not exist, so that an unknown user
        # costs as much time as a wrong password. Computing it also loads passlib's argon2
        # backend, which reads argon2.__version__ (deprecated by argon2-cffi): quiet that once.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Accessing argon2.__version__", DeprecationWarning)
            self._decoy = self._context.hash("decoy password")

    def _run(self, work: Callable[[], T]) -> T:
        with self._lock:
            self._in_flight += 1
        try:
            return work()
        finally:
            with self._lock:
                self._in_flight -= 1
                idle = self._in_flight == 0
            if idle and self._after_burst is not None:
                self._after_burst()

    async def _off_loop(self, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run, work)

    async def hash(self, password: str) -> str:
        """The argon2 hash of ``password`` (computed in a hashing thread)."""
        return await self._off_loop(functools.partial(self._context.hash, password))

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Whether ``password`` matches ``hashed``; None (no user) always fails, at full cost."""
        if hashed is None:
            await self._off_loop(functools.partial(self._context.verify, password, self._decoy))
            return False
        return await self._off_loop(functools.partial(self._context.verify, password, hashed))

    def close(self) -> None:
        """Stop the hashing threads (after the hashes in flight)."""
        self._pool.shutdown(wait=True)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The most common passwords (lower case) that the other rules would let through, from
    zxcvbn's list shipped in auth/data (licence beside it)."""
    text = resources.files("auth").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def check_strength(password: str) -> None:
    """Raise WeakPassword when the password is too short, too long, of one character class,
    or one of the most commonly used passwords (in any letter case)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"must be at most {MAX_LENGTH} characters")
    classes = {
        "lower" if c in string.ascii_lowercase
        else "upper" if c in string.ascii_uppercase
        else "digit" if c in string.digits
        else "other"
        for c in password
    }
    if len(classes) < 2:
        raise WeakPassword(
            "must mix at least two kinds of characters (lower case, upper case, digits, others)"
        )
    if password.lower() in common_passwords():
        raise WeakPassword("is one of the most commonly used passwords; choose another")
