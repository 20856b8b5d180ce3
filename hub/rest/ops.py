"""Operations: /livez (the process answers), /readyz and /health (database and broker),
/metrics (Prometheus)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from hub.context import HubContext
from hub.rest import answers
from hub.rest.common import JSON, hub_of
from hub.rest.spec import Operation, routes_of

CHECK_TIMEOUT = 3.0


async def _checks(hub: HubContext) -> tuple[str, str]:
    """The state of the database and of the broker: "ok" or "down: <why>"."""
    database = "ok"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with hub.db.read() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        database = f"down: {exc.__class__.__name__}"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            broker = "ok" if await hub.broker.healthy() else "down"
    except Exception as exc:
        broker = f"down: {exc.__class__.__name__}"
    return database, broker


async def livez(request: Request) -> Response:
    """200 whenever the process answers: restart it only when this fails (a Redis outage
    does not make a hub that still serves its sockets dead)."""
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    """200 when the database and the broker answer, 503 when one does not (send no new
    clients here for now)."""
    database, broker = await _checks(hub_of(request))
    ok = database == "ok" and broker == "ok"
    return JSON({"status": "ok" if ok else "unavailable", "database": database,
                 "broker": broker}, status_code=200 if ok else 503)


async def health(request: Request) -> Response:
    """200 when the database and the broker answer, 503 when one does not; with the number
    of open sockets."""
    hub = hub_of(request)
    database, broker = await _checks(hub)
    ok = database == "ok" and broker == "ok"
    return JSON(
        {"status": "ok" if ok else "degraded", "database": database, "broker": broker,
         "sockets": int(hub.metrics.sockets_open._value.get())},
        status_code=200 if ok else 503,
    )


async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process."""
    return Response(hub_of(request).metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")


operations = [
    Operation("GET", "/livez", livez, {200: answers.Live}, "operations", signed_in=False),
    Operation("GET", "/readyz", readyz, {200: answers.Ready, 503: answers.Ready},
              "operations", signed_in=False),
    Operation("GET", "/health", health, {200: answers.Health, 503: answers.Health},
              "operations", signed_in=False),
    Operation("GET", "/metrics", metrics, {200: "text"}, "operations", signed_in=False),
]
routes = routes_of(operations)
