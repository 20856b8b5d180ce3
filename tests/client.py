"""A small device client for tests: a real websockets connection speaking the protocol."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, Protocol

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class HubAddress(Protocol):
    """Where a hub answers: a RunningHub, or a hub process started another way."""

    @property
    def url(self) -> str: ...

    @property
    def ws_url(self) -> str: ...


TIMEOUT = 10.0
PASSWORD = "Correct-horse-1"


async def register(hub: HubAddress, username: str | None = None,
                   password: str = PASSWORD) -> dict[str, Any]:
    """Register a user and log in; returns the login answer (tokens and user)."""
    username = username or f"user-{uuid.uuid4().hex[:10]}"
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        created = await http.post("/api/auth/register",
                                  json={"username": username, "password": password})
        assert created.status_code == 201, created.text
        answer = await http.post("/api/auth/login",
                                 json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    """The Authorization header of a login answer."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}


class Device:
    """One device's socket: sends frames, keeps every frame received, waits for conditions."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._cursor = 0
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        self.closed: asyncio.Future[tuple[int | None, str]] = (
            asyncio.get_running_loop().create_future()
        )

    @classmethod
    async def connect(cls, hub: HubAddress, token: str | None, device: str = "dev",
                      since: int | None = None, hello: bool = True,
                      **options: Any) -> Device:
        """Open a socket; unless ``hello`` is False, send hello and wait for synced."""
        ws = await connect(hub.ws_url, open_timeout=TIMEOUT, **options)
        self = cls(ws)
        if hello:
            await self.send({"type": "hello", "protocol": 1, "token": token, "device": device,
                             "since": since})
            await self.wait_for("synced")
        return self

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                self.frames.append(json.loads(message))
                self._arrived.set()
        except ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result((self.ws.close_code, self.ws.close_reason or ""))
            self._arrived.set()

    async def send(self, frame: dict[str, Any] | str) -> None:
        """Send a frame (a dict is encoded as JSON)."""
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def wait_for(self, kind: str, timeout: float = TIMEOUT, **match: Any) -> dict[str, Any]:
        """The next frame of ``kind`` (matching ``match``) after the cursor; moves past it."""
        async with asyncio.timeout(timeout):
            while True:
                for index in range(self._cursor, len(self.frames)):
                    frame = self.frames[index]
                    if frame.get("type") == kind and all(frame.get(k) == v
                                                          for k, v in match.items()):
                        self._cursor = index + 1
                        return frame
                if self.closed.done():
                    raise AssertionError(f"socket closed {self.closed.result()} while waiting "
                                         f"for {kind}; got {self.frames[self._cursor:]}")
                self._arrived.clear()
                await self._arrived.wait()

    async def command(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a command (an id is added when missing) and return its ack or error."""
        frame = {"id": str(uuid.uuid4()), **frame}
        start = len(self.frames)
        await self.send(frame)
        async with asyncio.timeout(TIMEOUT):
            while True:
                for existing in self.frames[start:]:
                    if existing.get("id") == frame["id"] and existing["type"] in ("ack", "error"):
                        return existing
                if self.closed.done():
                    raise AssertionError(f"socket closed {self.closed.result()}")
                self._arrived.clear()
                await self._arrived.wait()

    async def create(self, title: str, **fields: Any) -> dict[str, Any]:
        """Create a todo and return the ack."""
        ack = await self.command({"type": "create", "todo": {"title": title, **fields}})
        assert ack["type"] == "ack", ack
        return ack

    def changes(self) -> list[dict[str, Any]]:
        """Every change frame received so far."""
        return [f for f in self.frames if f.get("type") == "change"]

    async def wait_changes(self, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Wait until at least ``count`` change frames arrived; return them all."""
        async with asyncio.timeout(timeout):
            while len(self.changes()) < count:
                if self.closed.done():
                    raise AssertionError(f"socket closed {self.closed.result()}")
                self._arrived.clear()
                await self._arrived.wait()
        return self.changes()

    async def wait_closed(self, timeout: float = TIMEOUT) -> tuple[int | None, str]:
        """The close code and reason, once the hub closed the socket."""
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self.closed)

    async def close(self) -> None:
        """Close the socket and stop reading."""
        await self.ws.close()
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            pass
