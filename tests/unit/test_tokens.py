"""The access token check gives pyjwt's answer for every token: its own shortcut for tokens
exactly as issued must accept only what ``jwt.decode`` accepts, with the same claims, and
leave every other token (and every error message) to pyjwt."""

from __future__ import annotations

import base64
import json
import random
import time

import jwt
import pytest

from auth.errors import InvalidToken
from auth.tokens import ALGORITHM, AccessClaims, TokenIssuer

SECRET = "s" * 64
OPTIONS = {"require": ["exp", "iat", "sub", "typ", "sid"]}


def _reference(token: str) -> AccessClaims | str:
    """What the check answered when pyjwt judged every token: the claims or the error."""
    try:
        claims = jwt.decode(token, SECRET, algorithms=[ALGORITHM], options=OPTIONS)  # type: ignore[arg-type]
    except jwt.ExpiredSignatureError:
        return "the token has expired"
    except jwt.InvalidTokenError as exc:
        return f"the token is not valid: {exc}"
    if claims.get("typ") != "access":
        return f"expected an access token, got type {claims.get('typ')!r}"
    if not isinstance(claims["sub"], str) or not isinstance(claims["sid"], str):
        return "the token's subject or session is not a string"
    return AccessClaims(claims["sub"], claims["sid"], int(claims["exp"]))


def _answer(issuer: TokenIssuer, token: str) -> AccessClaims | str:
    try:
        return issuer.verify(token)
    except InvalidToken as exc:
        return str(exc)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tokens(rng: random.Random) -> list[str]:
    """Tokens as issued, expired, not yet valid, re-signed with other claims or another key,
    with other headers, and with each segment mangled."""
    now = int(time.time())
    issuer = TokenIssuer(SECRET, 900)
    good, _ = issuer.issue("user-1", "session-1")
    claims = {"sub": "user-1", "sid": "session-1", "typ": "access", "iat": now, "exp": now + 60,
              "jti": "j"}
    variants = [
        {}, {"exp": now - 1}, {"exp": now}, {"iat": now + 30}, {"iat": "12"}, {"iat": 1.5},
        {"iat": True}, {"exp": float(now + 60)}, {"exp": "soon"}, {"typ": "refresh"},
        {"sub": 7}, {"sid": None}, {"jti": 3}, {"aud": "x"}, {"iss": "me"}, {"nbf": now + 99},
        {"nbf": now - 1}, {"extra": 1},
    ]
    tokens = [good, issuer.issue("u", "s", now=now - 10_000)[0]]
    for change in variants:
        body = {**claims, **change}
        tokens.append(jwt.encode(body, SECRET, algorithm=ALGORITHM))
        tokens.append(jwt.encode(body, "another key, long enough for HS256", algorithm=ALGORITHM))
        tokens.append(jwt.encode(body, SECRET, algorithm="HS512"))
        tokens.append(jwt.encode(body, SECRET, algorithm=ALGORITHM, headers={"kid": "1"}))
    missing = {k: v for k, v in claims.items() if k != "jti"}
    tokens.append(jwt.encode(missing, SECRET, algorithm=ALGORITHM))
    header, payload, signature = good.split(".")
    unsigned = _b64(b'{"alg":"none","typ":"JWT"}')
    tokens += [
        f"{header}.{payload}", f"{header}.{payload}.{signature}.x", f"{header}.{payload}.",
        f"{header}.{payload}.{signature}=", f"{header}.{payload}.{signature}==",
        f"{header}.{payload}.{signature[:-1]}", f"{header}..{signature}", "",
        f"{unsigned}.{payload}.",
        f"{header}.{_b64(json.dumps(claims).encode())}.{signature}",
        f"{header}.{payload}.{signature}\u00e9",
        f"{header}.{payload}\u00e9.{signature}",
    ]
    for _ in range(300):
        chars = list(good)
        for _ in range(rng.randint(1, 3)):
            spot = rng.randrange(len(chars))
            chars[spot] = rng.choice("ABCxyz019-_.=+/ \u00e9")
        tokens.append("".join(chars))
    return tokens


def test_every_token_gets_pyjwts_answer() -> None:
    """Accepted with the same claims, or refused with the same message, as pyjwt alone."""
    issuer = TokenIssuer(SECRET, 900)
    for token in _tokens(random.Random(12)):
        assert _answer(issuer, token) == _reference(token), token


def test_the_shortcut_takes_only_tokens_as_issued() -> None:
    """What the shortcut takes, pyjwt's decode accepts with the same claims."""
    issuer = TokenIssuer(SECRET, 900)
    good, _ = issuer.issue("user-1", "session-1")
    assert issuer._as_issued(good) is not None
    taken = [t for t in _tokens(random.Random(3)) if issuer._as_issued(t) is not None]
    assert len(taken) >= 3  # as issued, a refresh type, one minted by the test
    for token in taken:
        assert issuer._as_issued(token) == jwt.decode(
            token, SECRET, algorithms=[ALGORITHM], options=OPTIONS)  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", ["k" * 32, "\u00e9t\u00e9 secret " * 4])
def test_other_secrets(secret: str) -> None:
    """The key is the secret's UTF-8, as pyjwt takes it."""
    issuer = TokenIssuer(secret, 900)
    token, expires = issuer.issue("u", "s")
    assert issuer._as_issued(token) is not None
    assert issuer.verify(token) == AccessClaims("u", "s", expires)
    assert jwt.decode(token, secret, algorithms=[ALGORITHM])["sub"] == "u"
