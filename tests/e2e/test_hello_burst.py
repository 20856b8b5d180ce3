"""Hellos that arrive at once (read together, in one read transaction) get exactly what the
same hellos get one after another: welcome, the changes after their since or a snapshot, and
synced at the head; a revoked session among them is closed with 4401 and nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.client import Device, register
from tests.servers import RunningHub

# Frames that depend on the moment (presence) or the socket (welcome's device) are not
# compared; everything else must be equal.
SKIP = {"presence"}


def _catch_up(device: Device) -> list[dict[str, Any]]:
    seen = []
    for frame in device.frames:
        if frame["type"] in SKIP:
            continue
        if frame["type"] == "welcome":
            frame = {k: v for k, v in frame.items() if k not in ("expires_at",)}
        seen.append(frame)
        if frame["type"] == "synced":
            break
    return seen


async def _hellos(hub: RunningHub, asks: list[tuple[str, int | None]],
                  together: bool) -> list[Device]:
    devices = [await Device.connect(hub, None, hello=False) for _ in asks]

    async def hello(device: Device, token: str, since: int | None) -> None:
        await device.send({"type": "hello", "protocol": 1, "token": token, "device": "d",
                           "since": since})

    if together:
        await asyncio.gather(*(hello(d, t, s) for d, (t, s) in zip(devices, asks, strict=True)))
    for device, (token, since) in zip(devices, asks, strict=True):
        if not together:
            await hello(device, token, since)
        try:
            await device.wait_for("synced")
        except AssertionError:
            pass  # closed: compared by the caller
    return devices


async def test_hellos_at_once_get_what_hellos_one_by_one_get(hub: RunningHub) -> None:
    """Twenty-four hellos at once (since null, 0, one behind, at the head, past it, and a
    revoked session's) against the same hellos one after another."""
    users = [await register(hub) for _ in range(4)]
    heads = []
    for n, login in enumerate(users):
        writer = await Device.connect(hub, login["access_token"], "w")
        for k in range(n + 2):
            ack = await writer.create(f"u{n}-{k}", order=k)
        heads.append(ack["seq"])
        await writer.close()
    revoked = await register(hub)
    async with httpx.AsyncClient(base_url=hub.url) as http:
        out = await http.post("/api/auth/logout", json={"refresh_token": revoked["refresh_token"]})
        assert out.status_code == 204
    asks: list[tuple[str, int | None]] = []
    for login, head in zip(users, heads, strict=True):
        for since in (None, 0, head - 1, head, head + 3):
            asks.append((login["access_token"], since))
    asks += [(revoked["access_token"], None)] * 4
    at_once = await _hellos(hub, asks, together=True)
    one_by_one = await _hellos(hub, asks, together=False)
    for ask, a, b in zip(asks, at_once, one_by_one, strict=True):
        if ask[0] == revoked["access_token"]:
            assert (await a.wait_closed())[0] == 4401 and a.frames == []
            assert (await b.wait_closed())[0] == 4401 and b.frames == []
            continue
        assert _catch_up(a) == _catch_up(b), f"since {ask[1]}"
        assert _catch_up(a)[-1]["type"] == "synced"
    for device in at_once + one_by_one:
        await device.close()
