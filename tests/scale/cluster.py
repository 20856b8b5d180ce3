"""Hub processes for scale tests (real OS processes of the ``todohub`` command) and the checks
that devices hold exactly the database's state."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.client import Device
from tests.services import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
HUB_MODULE = "hub"
START_TIMEOUT = 30.0


@dataclass
class Address:
    """Where devices and scripts reach a hub (a process, or nginx in front of several)."""

    port: int

    @property
    def url(self) -> str:
        """The HTTP base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL."""
        return f"ws://127.0.0.1:{self.port}/ws"


@dataclass
class HubProcess(Address):
    """One ``todohub serve`` OS process; its output goes to ``log``."""

    args: list[str] = field(default_factory=list)
    log: Path = Path("hub.log")
    process: subprocess.Popen[bytes] | None = None

    def spawn(self, module: str = HUB_MODULE) -> None:
        """Start the process (does not wait for it to serve)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TODOHUB_")}
        env["PYTHONPATH"] = str(REPO_ROOT)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), *self.args],
                cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until GET /health answers 200 (database and broker up)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"hub on {self.port} exited with "
                                       f"{self.process.returncode}\n{self.tail()}")
                try:
                    if (await http.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"hub on {self.port} not healthy in {timeout} s\n"
                                       f"{self.tail()}")
                await asyncio.sleep(0.1)

    def signal(self, signum: int) -> None:
        """Send a signal to the process."""
        assert self.process is not None
        self.process.send_signal(signum)

    async def wait_exit(self, timeout: float = 15.0) -> int:
        """Wait for the process to end; its return code."""
        assert self.process is not None
        async with asyncio.timeout(timeout):
            while self.process.poll() is None:
                await asyncio.sleep(0.05)
        return self.process.returncode

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s; always waits."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self, size: int = 4000) -> str:
        """The end of the process's output."""
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else ""


class Replica:
    """A device's view of the list, built only from what its sockets received."""

    def __init__(self) -> None:
        self.todos: dict[str, dict[str, Any]] = {}
        self.seqs: list[int] = []
        self.synced = 0
        self._in_snapshot = False

    def take(self, device: Device) -> Replica:
        """Apply every snapshot and change frame of one socket, in arrival order."""
        for frame in device.frames:
            if frame["type"] == "snapshot":
                if not self._in_snapshot:
                    self.todos = {}
                self.todos.update({t["id"]: t for t in frame["todos"]})
                self._in_snapshot = frame["more"]
            elif frame["type"] == "synced":
                self.synced = frame["seq"]
            elif frame["type"] == "change":
                self.seqs.append(frame["seq"])
                if "todo" not in frame:  # a list changed; list_removed drops its todos
                    if frame["op"] == "list_removed":
                        gone = frame["list"]["id"]
                        self.todos = {i: t for i, t in self.todos.items()
                                      if t.get("list_id") != gone}
                elif frame["todo"].get("deleted"):
                    self.todos.pop(frame["todo"]["id"], None)
                else:
                    self.todos[frame["todo"]["id"]] = frame["todo"]
        return self

    @property
    def last(self) -> int:
        """The seq this device would resume from."""
        return max([self.synced, *self.seqs])

    def view(self) -> dict[str, tuple[int, str, str]]:
        """Each todo's version, title and status."""
        return {i: (t["version"], t["title"], t["status"]) for i, t in self.todos.items()}


def last_seq(*sockets: Device) -> int:
    """The highest seq a device's sockets received (synced or change)."""
    replica = Replica()
    for socket in sockets:
        replica.take(socket)
    return replica.last


async def wait_seq(device: Device, seq: int, timeout: float = 20.0) -> None:
    """Wait until the socket received the change (or synced) with ``seq``."""

    def arrived() -> bool:
        if device.closed.done():
            raise AssertionError(f"socket closed {device.closed.result()} at seq "
                                 f"{last_seq(device)}, waiting for {seq}")
        return last_seq(device) >= seq

    await wait_until(arrived, timeout, f"seq {seq} on a device (at {last_seq(device)})")


@dataclass
class DatabaseState:
    """A user's rows: seq, change-log seqs, and the version, title and status of each todo
    in the lists they belong to."""

    seq: int
    log: list[int]
    todos: dict[str, tuple[int, str, str]]


async def database_state(admin_url: str, database: str, user_id: str) -> DatabaseState:
    """Read a user's state straight from PostgreSQL."""
    conn = await asyncpg.connect(admin_url.rsplit("/", 1)[0] + "/" + database)
    try:
        seq = await conn.fetchval("SELECT seq FROM users WHERE id = $1", user_id)
        log = [r["seq"] for r in await conn.fetch(
            "SELECT seq FROM changes WHERE user_id = $1 ORDER BY seq", user_id)]
        rows = await conn.fetch(
            "SELECT id, version, title, status FROM todos WHERE list_id IN "
            "(SELECT list_id FROM list_members WHERE user_id = $1)", user_id)
    finally:
        await conn.close()
    return DatabaseState(seq, log, {r["id"]: (r["version"], r["title"], r["status"])
                                    for r in rows})


def assert_device_matches(replica: Replica, state: DatabaseState, since: int = 0) -> None:
    """The device saw every seq after ``since`` exactly once, in order, and holds the DB."""
    assert replica.seqs == list(range(since + 1, state.seq + 1)), (
        f"expected seqs {since + 1}..{state.seq} once each, got {_runs(replica.seqs)}")
    assert replica.view() == state.todos


def _runs(seqs: list[int]) -> str:
    """A short description of a seq list: its runs of consecutive numbers."""
    if not seqs:
        return "nothing"
    parts, start, prev = [], seqs[0], seqs[0]
    for seq in [*seqs[1:], None]:
        if seq is None or seq != prev + 1:
            parts.append(f"{start}..{prev}" if start != prev else str(start))
            if seq is not None:
                start = seq
        if seq is not None:
            prev = seq
    return ", ".join(parts)
