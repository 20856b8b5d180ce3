"""Benchmark devices: a socket per device that says hello, waits for ``synced``, then hands
each frame (parsed, with its arrival time) to the benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from bench.accounts import Account
from bench.stats import loads
from bench.wsclient import BenchSocket, close_all


class Device:
    """One device of one user."""

    def __init__(self, account: Account, user: int, index: int) -> None:
        self.account = account
        self.user = user
        self.index = index
        self.name = f"d{index}"
        self.sock: BenchSocket | None = None
        self.synced: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.since: int | None = None  # the hello's since
        self.errors: dict[str, int] = {}

    def on_text(self, text: str, now_ns: int) -> None:
        frame = loads(text)
        assert isinstance(frame, dict)
        kind = frame.get("type")
        if kind == "synced":
            if not self.synced.done():
                self.synced.set_result(frame["seq"])
            self.on_synced(frame["seq"])
        elif kind == "error":
            code = str(frame.get("code"))
            self.errors[code] = self.errors.get(code, 0) + 1
            self.on_frame(frame, now_ns)
        else:
            self.on_frame(frame, now_ns)

    def on_synced(self, seq: int) -> None:
        """Catch-up is over: what follows is live."""

    def on_frame(self, frame: dict[str, Any], now_ns: int) -> None:
        """Any frame other than ``synced``."""

    def send(self, text: str) -> None:
        assert self.sock is not None
        self.sock.send(text)


async def open_device(
    device: Device, host: str, port: int, local_addr: tuple[str, int] | None, deflate: bool,
    timeout: float,
) -> None:
    """Connect ``device``, say hello and wait for its ``synced``."""
    url = f"ws://{host}:{port}/ws"
    sock = await BenchSocket.connect(url, device.on_text, host, port, local_addr, deflate,
                                     timeout)
    device.sock = sock
    sock.send(json.dumps({"type": "hello", "protocol": 1, "token": device.account.token,
                          "device": device.name, "since": device.since}))
    try:
        async with asyncio.timeout(timeout):
            await asyncio.shield(device.synced)
    except TimeoutError:
        raise TimeoutError(f"no synced within {timeout:g} s (close code "
                           f"{sock.close_code})") from None


def source_address(index: int, count: int) -> tuple[str, int] | None:
    """Spread client sockets over 127.0.0.2 .. 127.0.0.<count+1> when ``count`` > 1."""
    if count <= 1:
        return None
    return (f"127.0.0.{2 + index % count}", 0)


@contextlib.asynccontextmanager
async def open_devices(
    host: str, port: int, accounts: Sequence[Account], per_user: int,
    factory: Callable[[Account, int, int], Device] = Device, concurrency: int = 200,
    source_addresses: int = 1, deflate: bool = False, timeout: float = 60.0,
    total: int | None = None,
) -> AsyncIterator[list[Device]]:
    """Open ``per_user`` synced devices for every account (in the order user, device), or
    the first ``total`` of them; all are closed on exit."""
    devices = [factory(account, user, index)
               for user, account in enumerate(accounts) for index in range(per_user)]
    if total is not None:
        devices = devices[:total]
    gate = asyncio.Semaphore(concurrency)

    async def one(position: int, device: Device) -> None:
        async with gate:
            await open_device(device, host, port, source_address(position, source_addresses),
                        deflate, timeout)

    try:
        results = await asyncio.gather(
            *(one(i, d) for i, d in enumerate(devices)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise RuntimeError(f"{len(failures)} of {len(devices)} sockets failed to open; "
                               f"first: {failures[0]!r}") from failures[0]
        yield devices
    finally:
        await close_all([d.sock for d in devices if d.sock is not None])
