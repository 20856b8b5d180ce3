"""uvicorn's options from the settings: one place for the command line and the tests."""

from __future__ import annotations

import functools
from typing import Any

from hub.config import Settings
from hub.httpguard import GuardedHttpToolsProtocol
from hub.wsprotocol import LeanWebSocketProtocol


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` (without the app)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "http": functools.partial(
            GuardedHttpToolsProtocol, header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout, max_header_bytes=settings.max_header_bytes),
        "ws": LeanWebSocketProtocol,  # websockets-sansio, lighter per idle socket
        "ws_max_size": settings.max_frame,
        "ws_per_message_deflate": settings.ws_deflate,
        "ws_ping_interval": settings.ping_interval or None,
        "ws_ping_timeout": settings.ping_timeout or None,
        "log_level": settings.log_level,
        # X-Forwarded-For is believed only from these addresses (uvicorn's default would be
        # the FORWARDED_ALLOW_IPS variable, or 127.0.0.1).
        "proxy_headers": True,
        "forwarded_allow_ips": settings.trusted_proxies,
        "limit_concurrency": settings.limit_concurrency or None,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_graceful_shutdown": max(1, int(settings.shutdown_grace)),
    }
