"""A small Server-Sent Events reader for tests, over a real httpx stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.client import TIMEOUT


@dataclass
class Event:
    """One event: its id and its data decoded as JSON."""

    id: int
    data: dict[str, Any]


@dataclass
class EventStream:
    """What one open stream has delivered so far."""

    response: httpx.Response
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    ended: bool = False
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        """Parse the stream until it ends."""
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line == "":
                    if "data" in fields:
                        self.events.append(Event(int(fields["id"]), json.loads(fields["data"])))
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                self._arrived.set()
        except httpx.HTTPError:
            pass
        finally:
            self.ended = True
            self._arrived.set()

    async def wait(self, count: int = 0, comments: int = 0, ended: bool = False,
                   timeout: float = TIMEOUT) -> list[Event]:
        """Wait until ``count`` events (and ``comments`` comments, or the end) arrived."""
        async with asyncio.timeout(timeout):
            while (len(self.events) < count or len(self.comments) < comments
                   or (ended and not self.ended)):
                if self.ended and not ended:
                    raise AssertionError(f"stream ended after {len(self.events)} events")
                self._arrived.clear()
                await self._arrived.wait()
        return self.events


@asynccontextmanager
async def open_stream(url: str, token: str, since: int | None = None,
                      last_event_id: int | None = None) -> AsyncIterator[EventStream]:
    """GET /api/changes/stream and read it in the background while the block runs."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    params = {"since": since} if since is not None else {}
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(TIMEOUT, read=None)) as http:
        async with http.stream("GET", "/api/changes/stream", headers=headers,
                               params=params) as response:
            assert response.status_code == 200, (await response.aread()).decode()
            stream = EventStream(response)
            reader = asyncio.create_task(stream.read())
            try:
                yield stream
            finally:
                reader.cancel()
                try:
                    await reader
                except asyncio.CancelledError:
                    pass
