"""Users for a benchmark, registered and logged in before any timing starts."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx
import jwt

PASSWORD = "Bench-pass-42"


@dataclass(frozen=True)
class Account:
    """A registered user and an access token for its sockets."""

    username: str
    user_id: str
    token: str


# A kept-alive connection that the hub closes as idle (after its keep-alive timeout) just as
# the client sends on it loses that request: the client sees the connection end without an
# answer. Such a request is sent again on a new connection, this many times at most.
RESENDS = 3


async def post_with_resends(http: httpx.AsyncClient, path: str,
                            body: dict[str, str]) -> tuple[httpx.Response, bool]:
    """POST ``body`` to ``path``, sent again when the connection ended without an answer:
    the answer, and whether the request was sent more than once (so that an earlier
    attempt may have been applied)."""
    for attempt in range(RESENDS + 1):
        try:
            return await http.post(path, json=body), attempt > 0
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            if attempt == RESENDS:
                raise
    raise AssertionError("unreachable")


async def register_users(base_url: str, count: int, concurrency: int = 32) -> list[Account]:
    """Register ``count`` users and log each in, ``concurrency`` at a time; in order."""
    run = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits) as http:

        async def one(index: int) -> Account:
            username = f"b{run}-{index}"
            body = {"username": username, "password": PASSWORD}
            async with gate:
                created, resent = await post_with_resends(http, "/api/auth/register", body)
                # A 409 to a resend is the earlier attempt's registration (names are unique
                # to this run).
                if created.status_code != 201 and not (resent and created.status_code == 409):
                    raise RuntimeError(f"register {username}: expected 201, got "
                                       f"{created.status_code} {created.text[:200]}")
                answer, _ = await post_with_resends(http, "/api/auth/login", body)
                if answer.status_code != 200:
                    raise RuntimeError(f"login {username}: expected 200, got "
                                       f"{answer.status_code} {answer.text[:200]}")
            data = answer.json()
            return Account(username, data["user"]["id"], data["access_token"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def mint_accounts(secret: str, count: int) -> list[Account]:
    """``count`` users known only by their tokens, signed with ``secret`` (for the floor)."""
    run = uuid.uuid4().hex[:8]
    now = int(time.time())
    accounts = []
    for index in range(count):
        user_id = f"u{run}-{index}"
        token = jwt.encode({"sub": user_id, "sid": user_id, "typ": "access", "iat": now,
                            "exp": now + 3600}, secret, algorithm="HS256")
        accounts.append(Account(f"b{run}-{index}", user_id, token))
    return accounts
