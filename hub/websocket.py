"""The /ws endpoint: refuse foreign origins at the handshake (403), then run a Session."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from hub.context import HubContext
from hub.session import Session


def origin_allowed(origin: str | None, host: str | None, allowed: frozenset[str]) -> bool:
    """Whether a handshake's Origin may connect: absent, the hub's own host, or configured."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in allowed or "*" in allowed:
        return True
    return bool(host) and urlsplit(origin).netloc.lower() == (host or "").lower()


async def websocket_endpoint(websocket: WebSocket) -> None:
    """Accept a device's socket and serve it."""
    hub: HubContext = websocket.app.state.hub
    if not origin_allowed(
        websocket.headers.get("origin"), websocket.headers.get("host"), hub.settings.origins
    ):
        await websocket.close(code=1008)  # before accept: the server answers HTTP 403
        return
    await websocket.accept()
    await Session(websocket, hub).run()
