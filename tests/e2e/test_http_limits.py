"""The bare hub ends slow HTTP clients: request heads and bodies have deadlines, heads a size."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from tests.servers import RunningHub

DEADLINE = 20.0  # far beyond the configured timeouts: only a hang reaches it


async def _open(hub: RunningHub) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", hub.port)


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the hub sends until it closes the connection."""
    async with asyncio.timeout(DEADLINE):
        return await reader.read()


async def test_slow_header_clients_are_cut_off(hub_factory: Callable[..., RunningHub]) -> None:
    """Clients that never finish their request head (silent, or one byte now and then) are
    closed with 408 after header_timeout, while a normal request is served meanwhile."""
    hub = hub_factory(header_timeout=1.0)
    slow = [await _open(hub) for _ in range(20)]
    for n, (_, writer) in enumerate(slow):
        if n % 2:
            writer.write(b"GET /api/auth/me HTTP/1.1\r\nHost: x\r\n")
            await writer.drain()

    async def trickle(writer: asyncio.StreamWriter) -> None:
        for _ in range(100):
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
            await asyncio.sleep(0.2)

    trickler = asyncio.create_task(trickle(slow[1][1]))
    async with httpx.AsyncClient(base_url=hub.url) as http:
        assert (await http.get("/livez")).status_code == 200
    answers = await asyncio.gather(*(_until_closed(reader) for reader, _ in slow))
    trickler.cancel()
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408"), answer
    for _, writer in slow:
        writer.close()


async def test_slow_bodies_and_huge_heads(hub_factory: Callable[..., RunningHub]) -> None:
    """A body that stops half way is closed after body_timeout; a head above
    max_header_bytes answers 431; a kept-alive connection gets the head deadline again."""
    hub = hub_factory(body_timeout=1.0, header_timeout=1.0, max_header_bytes=4096,
                      keep_alive_timeout=30)
    reader, writer = await _open(hub)
    writer.write(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                 b"\r\nContent-Length: 100\r\n\r\n{\"username\":")
    await writer.drain()
    await _until_closed(reader)
    writer.close()

    reader, writer = await _open(hub)
    writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 8000 + b"\r\n")
    await writer.drain()
    assert (await _until_closed(reader)).startswith(b"HTTP/1.1 431")
    writer.close()

    reader, writer = await _open(hub)
    writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    async with asyncio.timeout(DEADLINE):
        first = await reader.readuntil(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    writer.write(b"GET /livez HTTP/1.1\r\n")
    await writer.drain()
    rest = await _until_closed(reader)
    assert b"HTTP/1.1 408" in rest
    writer.close()
