"""Real hubs for tests: uvicorn on a free port in a background thread, with its own loop."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from hub.app import create_app
from hub.config import Settings
from hub.serving import uvicorn_options

# Cheap password hashing for tests that register many users (production keeps the defaults).
TEST_SETTINGS: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 1024,
    "prune_interval": 0.0,
    "shutdown_grace": 1.0,
    # Tests register many users from 127.0.0.1; the register limit has tests of its own.
    "register_rate": 0.0,
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningHub:
    """A hub serving on 127.0.0.1."""

    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.settings.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def stop(self) -> None:
        """Shut the server down (sockets get 1012) and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=20)


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration the command line uses, for a given app."""
    options = {**uvicorn_options(settings), "log_level": "warning", "timeout_graceful_shutdown": 2}
    return uvicorn.Config(app, lifespan="on", **options)


def start_hub(**overrides: Any) -> RunningHub:
    """Start a hub with test settings plus ``overrides``; returns once it accepts requests."""
    values = {**TEST_SETTINGS, "port": free_port(), **overrides}
    settings = Settings.from_env(env={}, **values)
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    thread = threading.Thread(target=server.run, name=f"hub-{settings.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"hub on port {settings.port} did not start")
        time.sleep(0.01)
    return RunningHub(settings, server, thread)
