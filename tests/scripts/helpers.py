"""Helpers for tests of the scripts' surface: personal access tokens over a real hub."""

from __future__ import annotations

from typing import Any

import httpx

from tests.client import TIMEOUT, HubAddress, bearer


async def make_token(hub: HubAddress, tokens: dict[str, Any], scope: str = "write",
                     name: str = "script", expires_in: int | None = None) -> dict[str, Any]:
    """Make a personal access token with a login's access token; returns the 201 answer."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        answer = await http.post("/api/tokens", headers=bearer(tokens),
                                 json={"name": name, "scope": scope, "expires_in": expires_in})
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def pat(token: str) -> dict[str, str]:
    """The Authorization header of a personal access token."""
    return {"Authorization": f"Bearer {token}"}
