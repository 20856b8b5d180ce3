"""CORS for the REST API, so that a page on another origin can call it with a token.

Off unless TODOHUB_ALLOWED_ORIGINS lists origins (the same setting that admits those
origins on /ws). Starlette's CORSMiddleware does the work; no credentials mode, because the
API is called with a Bearer token, never with cookies. Only /api/ paths get CORS answers:
the browser client, /health and /metrics stay same-origin.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.config import Settings

METHODS = ["GET", "POST", "PATCH", "DELETE"]
REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-Match",
                   "Last-Event-ID"]
EXPOSED_HEADERS = ["Retry-After", "WWW-Authenticate"]
PREFLIGHT_MAX_AGE = 600


class ApiCors:
    """CORSMiddleware for /api/ paths when origins are configured; the app itself otherwise."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        origins = sorted(settings.origins)
        self.cors: ASGIApp | None = CORSMiddleware(
            app, allow_origins=origins, allow_methods=METHODS, allow_headers=REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS, max_age=PREFLIGHT_MAX_AGE,
        ) if origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.cors is not None and scope["type"] == "http"
                and str(scope.get("path", "")).startswith("/api/")):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
