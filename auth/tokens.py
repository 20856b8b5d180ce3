"""Short-lived HS256 access tokens (pyjwt) carrying the user, the session and a type claim."""

from __future__ import annotations

import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.utils import base64url_decode, base64url_encode

from auth.errors import InvalidToken

ALGORITHM = "HS256"
ACCESS = "access"
# The header segment of every token ``issue`` writes, and the claims it puts in the payload.
_ISSUED_HEADER = jwt.encode({}, "h" * 32, algorithm=ALGORITHM).partition(".")[0]
_ISSUED_CLAIMS = frozenset({"sub", "sid", "typ", "iat", "exp", "jti"})


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
        self._key = secret.encode()
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
        claims = self._as_issued(token)
        if claims is None:
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

    def _as_issued(self, token: str) -> dict[str, Any] | None:
        """The claims of a token exactly as ``issue`` writes them, signed with our key and
        valid now (all that pyjwt's decode would accept unchanged); None for anything else,
        which ``jwt.decode`` then judges and explains.

        pyjwt's decode costs about 45 us, mostly in its options and checks for claims our
        tokens never carry; a device's hello checks one token, so this is a tenth of a
        hello's CPU. tests/unit/test_tokens.py holds it to pyjwt's answers."""
        header, _, rest = token.partition(".")
        if header != _ISSUED_HEADER:
            return None
        payload, dot, signature = rest.partition(".")
        if not dot:
            return None
        # The signature in the one form ``issue`` writes (pyjwt tolerates others: it judges).
        expected = base64url_encode(hmac.digest(self._key, f"{header}.{payload}".encode(),
                                                "sha256"))
        if not hmac.compare_digest(expected, signature.encode()):
            return None
        try:
            claims = json.loads(base64url_decode(payload))
        except ValueError:
            return None
        if type(claims) is not dict or claims.keys() != _ISSUED_CLAIMS:
            return None
        iat, exp = claims["iat"], claims["exp"]
        if type(iat) is not int or type(exp) is not int or not all(
                type(claims[name]) is str for name in ("sub", "sid", "typ", "jti")):
            return None
        # pyjwt: expired when exp <= now, not yet valid when iat > now.
        now = time.time()
        if not iat <= now < exp:
            return None
        return claims
