"""Operations: /health (database and broker) and /metrics (Prometheus)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.rest.common import JSON, hub_of


async def health(request: Request) -> Response:
    """200 when the database and the broker answer, 503 when one does not."""
    hub = hub_of(request)
    database = "ok"
    try:
        async with asyncio.timeout(3):
            async with hub.db.read() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        database = f"down: {exc.__class__.__name__}"
    try:
        async with asyncio.timeout(3):
            broker = "ok" if await hub.broker.healthy() else "down"
    except Exception as exc:
        broker = f"down: {exc.__class__.__name__}"
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


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
