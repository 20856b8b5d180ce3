"""CORS on the REST API: off by default, on for the configured origins only."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.client import TIMEOUT, bearer, register
from tests.servers import RunningHub

APP = "https://app.example"


async def test_preflight_and_simple_request_from_an_allowed_origin(
    hub_factory: Callable[..., RunningHub],
) -> None:
    """An allowed origin's preflight names the methods and headers a script needs, and its
    request is answered with Access-Control-Allow-Origin; other origins get neither."""
    hub = hub_factory(allowed_origins=f"{APP}, https://other.example")
    login = await register(hub)
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        preflight = await http.options("/api/todos", headers={
            "Origin": APP, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        })
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == APP
        assert "POST" in preflight.headers["access-control-allow-methods"]
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "idempotency-key" in allowed
        assert "access-control-allow-credentials" not in preflight.headers
        simple = await http.get("/api/todos", headers={"Origin": APP, **bearer(login)})
        assert simple.status_code == 200
        assert simple.headers["access-control-allow-origin"] == APP
        foreign = await http.options("/api/todos", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert foreign.status_code == 400
        assert "access-control-allow-origin" not in foreign.headers
        page = await http.get("/", headers={"Origin": APP})
        assert "access-control-allow-origin" not in page.headers


async def test_cors_is_off_without_configured_origins(hub: RunningHub) -> None:
    """Without TODOHUB_ALLOWED_ORIGINS no answer carries CORS headers."""
    login = await register(hub)
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        answer = await http.get("/api/todos", headers={"Origin": APP, **bearer(login)})
        preflight = await http.options("/api/todos", headers={
            "Origin": APP, "Access-Control-Request-Method": "POST"})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in preflight.headers
