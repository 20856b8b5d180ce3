"""Reconnecting devices: a restart storm and the hello rate.

``storm``: N sockets connected; every device but each user's first leaves, the first writes
``missed`` creates (acked, so committed); the hub is restarted; once it answers again every
device reconnects at once with the ``since`` it last saw. Measured: the time from the hub
answering to the last ``synced``, each socket's connect-to-synced time, errors; checked: each
device gets exactly the changes after its since, once, in order, and synced at its user's head.

``hellos``: sockets opened ``concurrency`` at a time and timed from connect to ``synced``, for
devices resuming with a recent since (one change to replay) or taking a snapshot of ``todos``
todos; the rate, each hello's time and the hub's CPU per hello.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.accounts import Account
from bench.connections import check_fd_limit
from bench.devices import Device, open_device, source_address
from bench.hubproc import HubOptions, HubProcess, running_hub
from bench.profiling import Profiler, is_cprofile
from bench.stats import Latency
from bench.wsclient import close_all


class CatchUpDevice(Device):
    """Follows its user's seq; checks that changes come once and in order."""

    def __init__(self, account: Account, user: int, index: int) -> None:
        super().__init__(account, user, index)
        self.last_seq = 0
        self.changes = 0
        self.repeated = 0
        self.out_of_order = 0
        self.snapshot_todos = 0
        self.acks = 0
        self.acked: asyncio.Event = asyncio.Event()
        self.want_acks = 0
        self.hello_ns = 0

    def reset(self, since: int | None) -> None:
        """Before a new connection."""
        self.synced = asyncio.get_running_loop().create_future()
        self.since = since
        self.changes = self.snapshot_todos = 0

    def on_synced(self, seq: int) -> None:
        if seq != self.last_seq and self.since is not None:
            self.out_of_order += 1  # synced must be at the last change replayed
        self.last_seq = seq

    def on_frame(self, frame: dict[str, Any], now_ns: int) -> None:
        kind = frame.get("type")
        if kind == "change":
            seq = int(frame["seq"])
            if seq <= self.last_seq:
                self.repeated += 1
            elif seq != self.last_seq + 1:
                self.out_of_order += 1
            self.last_seq = max(self.last_seq, seq)
            self.changes += 1
        elif kind == "snapshot":
            self.last_seq = int(frame["seq"])
            self.snapshot_todos += len(frame.get("todos", ()))
        elif kind == "ack":
            self.acks += 1
            if self.acks >= self.want_acks:
                self.acked.set()


def _devices(accounts: Sequence[Account], per_user: int, total: int) -> list[CatchUpDevice]:
    return [CatchUpDevice(account, user, index)
            for user, account in enumerate(accounts) for index in range(per_user)][:total]


async def _open_all(hub: HubProcess, devices: Sequence[CatchUpDevice], concurrency: int,
                    source_addresses: int, timeout: float) -> tuple[list[int], list[str]]:
    """Open every device, ``concurrency`` at a time: each one's connect-to-synced time (ns)
    and the errors."""
    gate = asyncio.Semaphore(concurrency)
    times: list[int] = []
    errors: list[str] = []

    async def one(position: int, device: CatchUpDevice) -> None:
        async with gate:
            t0 = time.perf_counter_ns()
            try:
                await open_device(device, hub.host, hub.port,
                                  source_address(position, source_addresses), False, timeout)
            except Exception as exc:  # noqa: BLE001 (counted and reported)
                errors.append(repr(exc)[:200])
                return
            times.append(time.perf_counter_ns() - t0)

    await asyncio.gather(*(one(i, d) for i, d in enumerate(devices)))
    return times, errors


async def _write(devices: Sequence[CatchUpDevice], creates: int, timeout: float) -> None:
    """Each device sends ``creates`` creates at once and waits for their acks and for the
    changes they make (which come back to the sender too)."""
    goal = {id(d): d.last_seq + creates for d in devices}
    for device in devices:
        device.acked.clear()
        device.want_acks = device.acks + creates
        for k in range(creates):
            device.send(f'{{"type":"create","id":"w{device.user}-{device.acks}-{k}",'
                        f'"todo":{{"title":"todo {k}"}}}}')
    await asyncio.wait_for(asyncio.gather(*(d.acked.wait() for d in devices)), timeout)
    deadline = time.monotonic() + timeout
    while any(d.last_seq < goal[id(d)] for d in devices):
        if time.monotonic() > deadline:
            raise TimeoutError("the writers' own changes did not all come back")
        await asyncio.sleep(0.01)


async def _close(devices: Sequence[CatchUpDevice]) -> None:
    await close_all([d.sock for d in devices if d.sock is not None])
    for device in devices:
        device.sock = None


@dataclass
class StormConfig:
    """What to run."""

    count: int = 2000
    devices: int = 2  # sockets per user
    missed: int = 2  # creates each user's first device makes while the others are away
    concurrency: int = 100000  # reconnects in flight at once (default: all)
    open_concurrency: int = 200  # for the first opening
    source_addresses: int = 1
    timeout: float = 120.0
    database_url: str = ""
    redis_url: str = ""
    workers: int = 1
    hub_args: tuple[str, ...] = ()
    data_dir: str | None = None
    target: str = ""


@dataclass
class StormResult:
    """What was measured."""

    config: StormConfig
    setup: str
    sockets: int
    restart_s: float
    all_synced_s: float
    synced: int
    hello: Latency
    errors: list[str]
    changes_expected: int
    changes_received: int
    repeated: int
    out_of_order: int
    behind: int  # devices whose synced seq is not their user's head
    hub_cpu_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.synced / self.all_synced_s if self.all_synced_s else 0.0

    @property
    def ok(self) -> bool:
        """Every device back, synced at its head, every missed change once and in order."""
        return (self.synced == self.sockets and not self.errors and self.repeated == 0
                and self.out_of_order == 0 and self.behind == 0
                and self.changes_received == self.changes_expected)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate, "ok": self.ok}

    def report(self) -> str:
        c = self.config
        return "\n".join([
            f"storm: {self.sockets} sockets ({c.devices} per user) reconnect at once after a "
            f"restart ({self.setup})",
            f"  restart          {self.restart_s:.1f} s until the hub answered again",
            f"  all synced       {self.synced} in {self.all_synced_s:.2f} s after it answered "
            f"({self.rate:.0f} sockets/s)",
            f"  per socket       connect to synced {self.hello.row()}",
            f"  missed changes   expected {self.changes_expected}, received "
            f"{self.changes_received}, repeated {self.repeated}, out of order "
            f"{self.out_of_order}; devices not at head {self.behind}",
            f"  errors           {len(self.errors)}"
            + (f" (first: {self.errors[0]})" if self.errors else ""),
            f"  hub CPU          {self.hub_cpu_s:.1f} s for the storm",
            "  result           " + ("OK: nothing lost or repeated" if self.ok else "FAILED"),
            *(f"  note             {n}" for n in self.notes),
        ])


async def run_storm(config: StormConfig) -> StormResult:
    """Start a hub, connect, restart it, reconnect everything; what was measured."""
    check_fd_limit(config.count)
    options = HubOptions(config.database_url, config.redis_url, config.workers,
                         tuple(config.hub_args), None, config.target)
    with contextlib.ExitStack() as stack:
        data_dir = (Path(config.data_dir) if config.data_dir else
                    Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))))
        async with running_hub(options, data_dir / "hub") as hub:
            return await _storm(config, hub, options)
    raise AssertionError("unreachable")  # pragma: no cover


async def _storm(config: StormConfig, hub: HubProcess, options: HubOptions) -> StormResult:
    accounts = await hub.accounts(math.ceil(config.count / config.devices))
    devices = _devices(accounts, config.devices, config.count)
    _, errors = await _open_all(hub, devices, config.open_concurrency,
                                config.source_addresses, config.timeout)
    if errors:
        raise RuntimeError(f"{len(errors)} sockets failed to open; first: {errors[0]}")
    writers = [d for d in devices if d.index == 0]
    await _close([d for d in devices if d.index != 0])
    await _write(writers, config.missed, config.timeout)
    head = {d.user: d.last_seq for d in writers}
    expected = sum(head[d.user] - d.last_seq for d in devices)

    t0 = time.perf_counter()
    await hub.stop()
    for device in devices:
        if device.sock is not None:
            device.sock.abort()
        device.sock = None
        device.reset(device.last_seq)
    await hub.start()
    answered = time.perf_counter()
    cpu0 = hub.cpu_seconds()
    times, errors = await _open_all(hub, devices, config.concurrency,
                                    config.source_addresses, config.timeout)
    all_synced = time.perf_counter() - answered
    cpu = hub.cpu_seconds() - cpu0
    result = StormResult(
        config=config, setup=options.label, sockets=len(devices), restart_s=answered - t0,
        all_synced_s=all_synced, synced=len(times), hello=Latency.of_ns(times), errors=errors,
        changes_expected=expected, changes_received=sum(d.changes for d in devices),
        repeated=sum(d.repeated for d in devices),
        out_of_order=sum(d.out_of_order for d in devices),
        behind=sum(1 for d in devices if d.last_seq != head[d.user]), hub_cpu_s=cpu,
    )
    await _close(devices)
    return result


@dataclass
class HellosConfig:
    """What to run."""

    count: int = 2000
    devices: int = 2
    mode: str = "since"  # since: resume one change behind; snapshot: since null
    todos: int = 50  # todos per user for the snapshot mode
    concurrency: int = 50
    source_addresses: int = 1
    timeout: float = 120.0
    database_url: str = ""
    redis_url: str = ""
    workers: int = 1
    hub_args: tuple[str, ...] = ()
    data_dir: str | None = None
    target: str = ""
    # FILE.prof: a cProfile of the hub's whole life; another name: py-spy over the hellos
    profile: str | None = None


@dataclass
class HellosResult:
    """What was measured."""

    config: HellosConfig
    setup: str
    sockets: int
    elapsed_s: float
    synced: int
    hello: Latency
    errors: list[str]
    wrong: int  # devices that did not get exactly what their hello asked for
    hub_cpu_s: float
    hub_system_cpu_s: float = 0.0  # the part of hub_cpu_s spent in the kernel
    generator_cpu_s: float = 0.0  # this process's CPU over the same time

    @property
    def rate(self) -> float:
        return self.synced / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def cpu_ms_per_hello(self) -> float:
        return self.hub_cpu_s * 1000 / self.synced if self.synced else math.nan

    @property
    def ok(self) -> bool:
        return self.synced == self.sockets and not self.errors and self.wrong == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate, "cpu_ms_per_hello": self.cpu_ms_per_hello,
                "ok": self.ok}

    def report(self) -> str:
        c = self.config
        what = ("resuming one change behind" if c.mode == "since"
                else f"taking a snapshot of {c.todos} todos")
        return "\n".join([
            f"hellos: {self.sockets} devices {what}, {c.concurrency} at a time ({self.setup})",
            f"  rate             {self.synced} synced in {self.elapsed_s:.2f} s "
            f"({self.rate:.0f} sockets/s)",
            f"  per hello        connect to synced {self.hello.row()}",
            f"  hub CPU          {self.hub_cpu_s:.2f} s ({self.cpu_ms_per_hello:.2f} ms per "
            f"hello; kernel {self.hub_system_cpu_s:.2f} s), generator "
            f"{self.generator_cpu_s:.2f} s",
            f"  errors           {len(self.errors)}"
            + (f" (first: {self.errors[0]})" if self.errors else ""),
            f"  wrong catch-up   {self.wrong}",
            "  result           " + ("OK" if self.ok else "FAILED"),
        ])


async def run_hellos(config: HellosConfig) -> HellosResult:
    """Start a hub, give each user its todos, time the hellos; what was measured."""
    if config.mode not in ("since", "snapshot"):
        raise SystemExit(f"bench hellos: --mode is since or snapshot, not {config.mode!r}")
    check_fd_limit(config.count)
    options = HubOptions(config.database_url, config.redis_url, config.workers,
                         tuple(config.hub_args),
                         config.profile if is_cprofile(config.profile) else None, config.target)
    with contextlib.ExitStack() as stack:
        data_dir = (Path(config.data_dir) if config.data_dir else
                    Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))))
        async with running_hub(options, data_dir / "hub") as hub:
            return await _hellos(config, hub, options)
    raise AssertionError("unreachable")  # pragma: no cover


async def _hellos(config: HellosConfig, hub: HubProcess, options: HubOptions) -> HellosResult:
    accounts = await hub.accounts(math.ceil(config.count / config.devices))
    creates = config.todos if config.mode == "snapshot" else 1
    writers = _devices(accounts, 1, len(accounts))
    for start in range(0, len(writers), 200):
        group = writers[start:start + 200]
        _, errors = await _open_all(hub, group, 200, config.source_addresses, config.timeout)
        if errors:
            raise RuntimeError(f"setup: {len(errors)} sockets failed; first: {errors[0]}")
        await _write(group, creates, config.timeout)
        await _close(group)
    heads = {w.user: w.last_seq for w in writers}
    devices = _devices(accounts, config.devices, config.count)
    for device in devices:
        device.reset(heads[device.user] - 1 if config.mode == "since" else None)
    await asyncio.sleep(0.5)  # let the hub finish closing the setup's sockets
    profiler = None
    if config.profile and not is_cprofile(config.profile):
        profiler = Profiler(hub.pid, config.profile, config.workers > 1)
        await profiler.started()
    cpu0, system0, own0 = hub.cpu_seconds(), hub.system_cpu_seconds(), time.process_time()
    t0 = time.perf_counter()
    times, errors = await _open_all(hub, devices, config.concurrency,
                                    config.source_addresses, config.timeout)
    elapsed = time.perf_counter() - t0
    cpu, own = hub.cpu_seconds() - cpu0, time.process_time() - own0
    system = hub.system_cpu_seconds() - system0
    if profiler is not None and (complaint := await profiler.stop()):
        errors.append(complaint)
    if config.mode == "since":
        wrong = sum(1 for d in devices if d.changes != 1 or d.last_seq != heads[d.user])
    else:
        wrong = sum(1 for d in devices
                    if d.snapshot_todos != config.todos or d.last_seq != heads[d.user])
    wrong += sum(d.repeated + d.out_of_order for d in devices)
    result = HellosResult(config=config, setup=options.label, sockets=len(devices),
                          elapsed_s=elapsed, synced=len(times), hello=Latency.of_ns(times),
                          errors=errors, wrong=wrong, hub_cpu_s=cpu,
                          hub_system_cpu_s=system, generator_cpu_s=own)
    await _close(devices)
    return result
