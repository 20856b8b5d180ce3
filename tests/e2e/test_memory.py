"""Memory at rest: a hub process that served sign-ins and sockets gives the memory back."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx

from tests.client import PASSWORD, Device
from tests.scale.cluster import HubProcess
from tests.services import free_port

USERS_PER_CYCLE = 16
SOCKETS_PER_USER = 10
CYCLES = 3
# Generous (measured: about 13 MiB here). A hub whose allocator keeps argon2's 19 MiB per
# hashing thread and what the sockets left grew by about 160 MiB on this load.
GROWTH_BOUND_MIB = 40


def rss_mib(pid: int) -> float:
    """The resident set size of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def _cycle(hub: HubProcess, users: int = USERS_PER_CYCLE,
                 sockets: int = SOCKETS_PER_USER) -> None:
    """Register and sign in users (full-cost hashes), open sockets for each, close them all."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=60) as http:

        async def sign_in() -> str:
            name = f"m-{uuid.uuid4().hex[:10]}"
            body = {"username": name, "password": PASSWORD}
            assert (await http.post("/api/auth/register", json=body)).status_code == 201
            answer = await http.post("/api/auth/login", json=body)
            assert answer.status_code == 200
            token: str = answer.json()["access_token"]
            return token

        tokens = await asyncio.gather(*(sign_in() for _ in range(users)))
    devices = await asyncio.gather(*(Device.connect(hub, token, f"d{n}")
                                     for token in tokens for n in range(sockets)))
    await asyncio.gather(*(device.close() for device in devices))


async def test_rss_stays_bounded_over_cycles_of_sign_ins_and_sockets(tmp_path: Path) -> None:
    """Cycles of sign-ins (at the production argon2 cost) and socket connect/close leave the
    hub's resident memory within a bound of what it held after one sign-in and one socket."""
    hub = HubProcess(free_port(), ["--data-dir", str(tmp_path / "data"), "--log-level",
                                   "warning", "--register-rate", "0"], tmp_path / "hub.log")
    hub.spawn()
    try:
        await hub.wait_healthy()
        assert hub.process is not None
        await _cycle(hub, users=1, sockets=1)  # loads what loads lazily
        warm = rss_mib(hub.process.pid)
        seen = []
        for _ in range(CYCLES):
            await _cycle(hub)
            seen.append(rss_mib(hub.process.pid))
        print(f"RSS after one sign-in {warm:.1f} MiB, after each cycle {seen}")
        assert max(seen) - warm < GROWTH_BOUND_MIB, (warm, seen)
    finally:
        hub.stop()
    assert "Traceback" not in hub.tail(10**7)
