"""Reaching the real services of scale-out tests: PostgreSQL, Redis and private redis-servers.

Each test run gets its own PostgreSQL database (created here, dropped with ``force`` at the
end) and each test its own Redis key prefix, so runs never see each other's rows or keys.
Fault tests never touch the machine's shared Redis: they start a private ``redis-server`` on a
free port and stop it by its process id.

Addresses come from ``TODOHUB_TEST_POSTGRES`` (an admin URL, default the local ``postgres``
user) and ``TODOHUB_TEST_REDIS``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

PG_ADMIN_URL = os.environ.get(
    "TODOHUB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TODOHUB_TEST_REDIS", "redis://127.0.0.1:6379/0")
PROBE_TIMEOUT = 3.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_prefix() -> str:
    """A Redis key and channel prefix of its own for one test."""
    return f"todohub-test-{uuid.uuid4().hex[:12]}:"


async def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used (a visible skip reason), or None when it answers."""
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=PROBE_TIMEOUT)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc.__class__.__name__}: {exc})"
    await conn.close()
    return None


async def create_database() -> str:
    """Create an empty database for this run; returns its name."""
    name = f"todohub_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=PROBE_TIMEOUT)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    """Drop a database made by :func:`create_database`, closing its remaining sessions."""
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=PROBE_TIMEOUT)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def database_url(name: str) -> str:
    """The SQLAlchemy (asyncpg) URL of a database on the test server."""
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def redis_problem(url: str = REDIS_URL) -> str | None:
    """Why Redis at ``url`` cannot be used (a visible skip reason), or None when it answers."""
    client = Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT,
                            socket_timeout=PROBE_TIMEOUT)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        return f"Redis at {url} is not reachable ({exc.__class__.__name__}: {exc})"
    finally:
        await client.aclose()
    return None


async def delete_keys(prefix: str, url: str = REDIS_URL) -> None:
    """Remove every key under ``prefix`` (a test's leftovers)."""
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def redis_server_binary() -> str | None:
    """The redis-server executable, or None."""
    return shutil.which("redis-server")


@dataclass
class RedisServer:
    """A private redis-server on a free port, without persistence; restartable on that port."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL of database 0 on this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        binary = redis_server_binary()
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / f"redis-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server on {self.port} exited with "
                                   f"{self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server on {self.port} did not answer in 10 s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server by its pid (SIGTERM, SIGKILL after 10 s) and wait for it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


async def wait_until(check: Callable[[], object], timeout: float, what: str,
                     interval: float = 0.05) -> None:
    """Poll ``check`` (returning a truth value, or an awaitable of one) until it is true."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)
