"""Argon2 password hashing through passlib, run off the event loop."""

from __future__ import annotations

import asyncio
import string
import warnings

from passlib.context import CryptContext

from auth.errors import WeakPassword

MIN_LENGTH = 8
MAX_LENGTH = 256


class Hasher:
    """Hashes and verifies passwords with argon2id at the configured cost."""

    def __init__(self, time_cost: int = 2, memory_cost: int = 19456, parallelism: int = 1) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__time_cost=time_cost,
            argon2__memory_cost=memory_cost,
            argon2__parallelism=parallelism,
        )
        # A hash to verify against when the user does not exist, so that an unknown user
        # costs as much time as a wrong password. Computing it also loads passlib's argon2
        # backend, which reads argon2.__version__ (deprecated by argon2-cffi): quiet that once.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Accessing argon2.__version__", DeprecationWarning)
            self._decoy = self._context.hash("decoy password")

    async def hash(self, password: str) -> str:
        """The argon2 hash of ``password`` (computed in a worker thread)."""
        return await asyncio.to_thread(self._context.hash, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Whether ``password`` matches ``hashed``; None (no user) always fails, at full cost."""
        if hashed is None:
            await asyncio.to_thread(self._context.verify, password, self._decoy)
            return False
        return await asyncio.to_thread(self._context.verify, password, hashed)


def check_strength(password: str) -> None:
    """Raise WeakPassword when the password is too short, too long, or of one character class."""
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
