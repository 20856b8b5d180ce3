"""Short-lived HS256 access tokens (pyjwt) carrying the user, the session and a type claim."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from auth.errors import InvalidToken

ALGORITHM = "HS256"
ACCESS = "access"


@dataclass(frozen=True)
class AccessClaims:
    """The verified content of an access token."""

    user_id: str
    session_id: str
    expires_at: int


class TokenIssuer:
    """Issues and verifies access tokens with one secret."""

    def __init__(self, secret: str, ttl: int) -> None:
        self._secret = secret
        self.ttl = ttl

    def issue(self, user_id: str, session_id: str, now: float | None = None,
              jti: str | None = None) -> tuple[str, int]:
        """A new access token and its expiry (unix seconds). The same ``now`` and ``jti``
        give the same token again (a retried refresh answers the pair it got first)."""
        issued = int(now if now is not None else time.time())
        expires = issued + self.ttl
        token = jwt.encode(
            {"sub": user_id, "sid": session_id, "typ": ACCESS, "iat": issued, "exp": expires,
             "jti": jti or uuid.uuid4().hex},
            self._secret,
            algorithm=ALGORITHM,
        )
        return token, expires

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid, unexpired access token; InvalidToken otherwise.

        Only HS256 with our key is accepted, so ``alg: none`` and foreign keys fail.
        """
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "iat", "sub", "typ", "sid"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from None
        if claims.get("typ") != ACCESS:
            raise InvalidToken(f"expected an access token, got type {claims.get('typ')!r}")
        if not isinstance(claims["sub"], str) or not isinstance(claims["sid"], str):
            raise InvalidToken("the token's subject or session is not a string")
        return AccessClaims(claims["sub"], claims["sid"], int(claims["exp"]))
