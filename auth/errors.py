"""Errors of authentication; the hub answers them with 401 or closes a socket with 4401."""

from __future__ import annotations


class InvalidToken(Exception):
    """A token that is malformed, badly signed, of the wrong type, expired or revoked."""


class InvalidCredentials(Exception):
    """A username and password that do not match (the same for an unknown user)."""


class WeakPassword(ValueError):
    """A password that does not meet the rules; the message says which."""


class TokenReused(InvalidToken):
    """A spent refresh token came back: its session (``session_id`` of ``user_id``) is revoked."""

    def __init__(self, session_id: str, user_id: str) -> None:
        super().__init__("refresh token reused: the session is revoked")
        self.session_id = session_id
        self.user_id = user_id
