"""``todohub serve`` as an OS process: --workers, and graceful shutdown closing with 1012."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.client import Device, register
from tests.scale.cluster import (
    REPO_ROOT,
    HubProcess,
    Replica,
    assert_device_matches,
    database_state,
    wait_seq,
)
from tests.scale.conftest import Cluster, Postgres
from tests.services import free_port

CHEAP_HASHING = ["--argon2-time-cost", "1", "--argon2-memory-cost", "1024"]


@pytest.mark.parametrize("broker", [[], ["--redis-url", "memory://"]], ids=["none", "memory"])
def test_several_workers_with_the_memory_broker_are_refused(
    tmp_path: Path, broker: list[str]
) -> None:
    """``serve --workers 2`` without a Redis URL exits with 2 and says what to do."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TODOHUB_")}
    result = subprocess.run(
        [sys.executable, "-m", "hub", "serve", "--workers", "2", "--data-dir", str(tmp_path),
         "--port", str(free_port()), *broker],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "--workers 2 needs the Redis broker" in result.stderr
    assert "TODOHUB_REDIS_URL" in result.stderr
    assert not (tmp_path / "todohub.db").exists()  # refused before touching anything


async def test_sigterm_closes_sockets_with_1012(tmp_path: Path) -> None:
    """SIGTERM on a hub process closes its devices' sockets with 1012, then the process ends."""
    hub = HubProcess(free_port(), ["--data-dir", str(tmp_path / "data"), *CHEAP_HASHING],
                     tmp_path / "hub.log")
    hub.spawn(module="hub")
    try:
        await hub.wait_healthy()
        tokens = await register(hub)
        devices = [await Device.connect(hub, tokens["access_token"], f"d{n}") for n in range(2)]
        hub.signal(signal.SIGTERM)
        for device in devices:
            code, _ = await device.wait_closed()
            assert code == 1012
        # uvicorn re-raises the captured SIGTERM once its graceful shutdown is complete.
        assert await hub.wait_exit() == -signal.SIGTERM
        assert "Traceback" not in hub.tail(10**7), hub.tail()
    finally:
        hub.stop()


async def test_workers_share_changes_through_redis(
    cluster_on: Callable[[str], Cluster], shared_redis: str, postgres: Postgres
) -> None:
    """``serve --workers 2`` on PostgreSQL and Redis: devices, wherever the kernel put their
    sockets, all see every change in order."""
    (supervisor,) = await cluster_on(shared_redis).start(1, "--workers", "2")
    tokens = await register(supervisor)
    devices = [await Device.connect(supervisor, tokens["access_token"], f"d{n}")
               for n in range(6)]
    for n, device in enumerate(devices):
        await device.create(f"from d{n}")
    state = await database_state(postgres.admin_url, postgres.name, tokens["user"]["id"])
    assert state.seq == 6
    for device in devices:
        await wait_seq(device, 6)
        assert_device_matches(Replica().take(device), state)
        await device.close()
