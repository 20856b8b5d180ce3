"""The /ws endpoint: refuse foreign origins at the handshake (403), then run a Session; and
the shortcut that takes its sockets past the HTTP middleware."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from hub.context import HubContext
from hub.session import Session


class _InvalidUtf8Line(logging.Filter):
    """uvicorn logs a client's invalid UTF-8 in a text frame with a full traceback, then
    rightly closes the socket with 1007. A client's bad bytes are not a bug of the hub: the
    record becomes one warning line, without the traceback."""

    MESSAGE = "Invalid UTF-8 sequence received from client."

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == self.MESSAGE:
            record.msg = "a client sent invalid UTF-8 in a text frame; closed its socket with 1007"
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def quiet_invalid_utf8(logger: logging.Logger | None = None) -> None:
    """Install the filter above on uvicorn's error logger (once)."""
    logger = logger or logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InvalidUtf8Line) for f in logger.filters):
        logger.addFilter(_InvalidUtf8Line())


quiet_invalid_utf8()


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


PATH = "/ws"


class SocketsFirst:
    """The application's ASGI stack, with the sockets of ``/ws`` handed straight to
    ``websocket_endpoint``.

    A socket's task lives for the socket's life, and every time it resumes (each frame it
    waits for, each read it awaits) Python resumes each coroutine frame above the endpoint:
    the error, security-header, CORS and exception middleware and the router, about ten
    frames, none of which does anything for a websocket scope (each lets it through
    unchanged). Everything else goes through ``stack`` as before.
    """

    def __init__(self, stack: ASGIApp) -> None:
        self.stack = stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == scope.get("root_path", "") + PATH:
            await websocket_endpoint(WebSocket(scope, receive=receive, send=send))
        else:
            await self.stack(scope, receive, send)
