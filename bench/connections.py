"""Connections: N idle authenticated sockets in one hub; memory per socket and the time to
open them all.

Memory per socket is the growth of the hub's resident memory (VmRSS) from before the first
socket opens (users already registered) to after the last is synced and the sockets have
idled for ``hold`` seconds, divided by N.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import resource
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.devices import open_devices
from bench.hubproc import HubOptions, HubProcess, raise_fd_limit, running_hub
from bench.profiling import Profiler, is_cprofile

# Files a hub (or this process) holds besides its sockets: listener, epoll, database files,
# pipes, standard streams; with some room to spare.
FD_HEADROOM = 64


@dataclass
class ConnectionsConfig:
    """What to run."""

    count: int = 20000
    devices: int = 2  # sockets per user
    concurrency: int = 256  # handshakes in flight at once
    hold: float = 5.0  # seconds the sockets stay open and idle before measuring
    source_addresses: int = 1
    deflate: bool = False  # offer permessage-deflate, as browsers do
    database_url: str = ""
    redis_url: str = ""
    workers: int = 1
    hub_args: tuple[str, ...] = ()
    profile: str | None = None  # profile the hub while the sockets open (see bench.profiling)
    data_dir: str | None = None
    target: str = ""  # "" this checkout's hub, "floor", or another checkout's path


@dataclass
class ConnectionsResult:
    """What was measured."""

    config: ConnectionsConfig
    setup: str
    users: int
    register_s: float
    opened: int
    open_s: float
    still_open: int
    hub_rss_before_kib: int
    hub_rss_after_kib: int
    hub_peak_kib: int
    hub_open_cpu_s: float
    hub_idle_cpu_cores: float
    generator_rss_kib: int
    fd_limit: int
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every socket opened and stayed open."""
        return self.opened == self.config.count and self.still_open == self.opened

    @property
    def per_socket_kib(self) -> float:
        """The hub's memory growth per socket."""
        return (self.hub_rss_after_kib - self.hub_rss_before_kib) / max(1, self.opened)

    @property
    def all_in_kib(self) -> float:
        """The hub's whole resident memory per socket (an upper bound)."""
        return self.hub_rss_after_kib / max(1, self.opened)

    @property
    def open_rate(self) -> float:
        return self.opened / self.open_s if self.open_s else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(per_socket_kib=self.per_socket_kib, all_in_kib=self.all_in_kib,
                    open_rate=self.open_rate, ok=self.ok)
        return data

    def report(self) -> str:
        c = self.config
        return "\n".join([
            f"connections: {c.count} idle sockets ({self.users} users x {c.devices} devices; "
            f"{self.setup}{'; permessage-deflate' if c.deflate else ''})",
            f"  setup            register {self.register_s:.1f} s",
            f"  open             {self.opened} synced in {self.open_s:.1f} s "
            f"({self.open_rate:.0f} sockets/s, {c.concurrency} handshakes at once)",
            f"  still open       {self.still_open} after {c.hold:g} s idle",
            f"  hub memory       {self.hub_rss_before_kib / 1024:.1f} MiB before, "
            f"{self.hub_rss_after_kib / 1024:.1f} MiB after (peak "
            f"{self.hub_peak_kib / 1024:.1f} MiB)",
            f"  per socket       {self.per_socket_kib:.1f} KiB (growth); "
            f"{self.all_in_kib:.1f} KiB all-in",
            f"  hub CPU          {self.hub_open_cpu_s:.1f} s to open them; "
            f"{self.hub_idle_cpu_cores:.3f} cores while idle",
            f"  generator memory {self.generator_rss_kib / 1024:.0f} MiB",
            f"  result           {'OK' if self.ok else 'FAILED'}",
            *(f"  note             {n}" for n in self.notes),
        ])


def check_fd_limit(count: int) -> int:
    """Raise the open-file limit; refuse (with the reason) a count it cannot hold."""
    limit = raise_fd_limit()
    if count + FD_HEADROOM > limit:
        raise SystemExit(
            f"bench connections: {count} sockets need about {count + FD_HEADROOM} open files in "
            f"the hub and in this process, but the limit here is {limit} (ulimit -Hn) and "
            f"only a process with CAP_SYS_RESOURCE can raise it. Use --count "
            f"{limit - FD_HEADROOM} or less, or raise the hard limit (ulimit -Hn, "
            f"LimitNOFILE=, docker --ulimit nofile=)."
        )
    return limit


async def run_connections(config: ConnectionsConfig) -> ConnectionsResult:
    """Start a hub, open ``count`` idle sockets, measure, close them, stop the hub."""
    limit = check_fd_limit(config.count)
    options = HubOptions(config.database_url, config.redis_url, config.workers,
                         tuple(config.hub_args),
                         config.profile if is_cprofile(config.profile) else None,
                         config.target)
    with contextlib.ExitStack() as stack:
        data_dir = (Path(config.data_dir) if config.data_dir else
                    Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))))
        async with running_hub(options, data_dir / "hub") as hub:
            return await _measure(config, hub, options, limit)
    raise AssertionError("unreachable")  # pragma: no cover


async def _measure(config: ConnectionsConfig, hub: HubProcess, options: HubOptions,
                   limit: int) -> ConnectionsResult:
    users = math.ceil(config.count / config.devices)
    t0 = time.perf_counter()
    accounts = await hub.accounts(users)
    register_s = time.perf_counter() - t0
    await asyncio.sleep(1.0)  # let the hub finish what registration left behind
    before = hub.memory_kib()
    profiler = None
    if config.profile and not is_cprofile(config.profile):
        profiler = Profiler(hub.pid, config.profile, config.workers > 1)
        await profiler.started()
    notes: list[str] = []
    cpu0 = hub.cpu_seconds()
    t0 = time.perf_counter()
    async with open_devices(
        hub.host, hub.port, accounts, config.devices, concurrency=config.concurrency,
        source_addresses=config.source_addresses, deflate=config.deflate, total=config.count,
        timeout=120.0,
    ) as devices:
        open_s = time.perf_counter() - t0
        cpu1 = hub.cpu_seconds()
        if profiler is not None and (complaint := await profiler.stop()):
            notes.append(complaint)
        await asyncio.sleep(config.hold)
        idle_cpu = (hub.cpu_seconds() - cpu1) / config.hold if config.hold else 0.0
        after = hub.memory_kib()
        peak = hub.peak_memory_kib()
        still_open = sum(1 for d in devices if d.sock is not None and d.sock.open)
        generator_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ConnectionsResult(
        config=config, setup=options.label, users=users, register_s=register_s,
        opened=len(devices), open_s=open_s, still_open=still_open, hub_rss_before_kib=before,
        hub_rss_after_kib=after, hub_peak_kib=peak, hub_open_cpu_s=cpu1 - cpu0,
        hub_idle_cpu_cores=idle_cpu, generator_rss_kib=generator_rss, fd_limit=limit,
        notes=notes,
    )
