"""Throughput: persisted commands per second, on SQLite and on PostgreSQL, with one hub
process and with two.

Every user has one socket that keeps ``window`` creates in flight (a new one leaves as each
ack arrives), so the hub is never idle and its group commit sees full queues. An ack is
sent after the commit, so acked means persisted; afterwards each user's todo count is read
back over REST and must equal its acks, and each user's acked seqs must be 1..n.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import metrics, postgres
from bench.accounts import Account, register_users
from bench.devices import Device, open_devices
from bench.hubproc import HubOptions, HubProcess, running_hub
from bench.stats import CpuMeter, Latency

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class ThroughputConfig:
    """What to run: every combination of ``backends`` and ``workers``."""

    backends: tuple[str, ...] = ("sqlite", "postgres")
    workers: tuple[int, ...] = (1, 2)
    users: int = 100
    window: int = 16  # creates in flight per socket
    duration: float = 10.0
    commands: int | None = None  # stop after this many instead of after ``duration``
    postgres_url: str = DEFAULT_POSTGRES
    redis_url: str = DEFAULT_REDIS  # the broker when there are several processes
    hub_args: tuple[str, ...] = ()
    data_dir: str | None = None


@dataclass
class ThroughputRow:
    """One setup's numbers, or why it was skipped."""

    backend: str
    workers: int
    setup: str
    skipped: str | None = None
    sent: int = 0
    acked: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    per_second: float = 0.0
    ack_latency: Latency | None = None
    persisted: int = 0
    persisted_ok: bool = False
    seqs_ok: bool = False
    mean_group: float | None = None
    hub_cpu_cores: float = 0.0
    generator_cpu_cores: float = 0.0
    other_cpu_cores: float = 0.0
    hub_peak_memory_kib: int = 0

    @property
    def ok(self) -> bool:
        """Skipped, or every command acked, persisted once, in seq order."""
        return self.skipped is not None or (
            self.acked == self.sent and not self.errors and self.persisted_ok and self.seqs_ok
        )

    def line(self) -> str:
        head = f"  {self.setup:42s}"
        if self.skipped:
            return f"{head} skipped: {self.skipped}"
        group = f", mean group {self.mean_group:.1f}" if self.mean_group else ""
        lat = self.ack_latency.row() if self.ack_latency else ""
        return (
            f"{head} {self.per_second:7.0f} commands/s over {self.elapsed_s:.1f} s ({self.acked} "
            f"acked of {self.sent} in all{group})\n"
            f"  {'':42s} persisted {self.persisted} ({'ok' if self.persisted_ok else 'MISMATCH'}),"
            f" seqs {'ok' if self.seqs_ok else 'WRONG'}, errors {self.errors or 0}\n"
            f"  {'':42s} ack {lat}\n"
            f"  {'':42s} hub {self.hub_cpu_cores:.2f} cores, peak "
            f"{self.hub_peak_memory_kib / 1024:.0f} MiB; generator "
            f"{self.generator_cpu_cores:.2f}; other processes {self.other_cpu_cores:.2f}"
        )


@dataclass
class ThroughputResult:
    """Every setup's row."""

    config: ThroughputConfig
    rows: list[ThroughputRow]

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def report(self) -> str:
        c = self.config
        amount = f"{c.commands} creates" if c.commands else f"{c.duration:g} s"
        return "\n".join([
            f"throughput: {c.users} sockets x {c.window} creates in flight, {amount} per setup",
            *(row.line() for row in self.rows),
            f"  result           {'OK' if self.ok else 'FAILED'}",
        ])


class _Pipe(Device):
    """A device that keeps ``window`` creates in flight until told to stop."""

    def __init__(self, account: Account, user: int, index: int, run: _Run) -> None:
        super().__init__(account, user, index)
        self.run = run
        self.sent = 0
        self.acked = 0
        self.seqs: list[int] = []
        self.sent_at: dict[str, int] = {}

    def send_next(self) -> None:
        if not self.run.take():
            return
        op_id = f"c{self.sent}"
        self.sent += 1
        self.sent_at[op_id] = time.perf_counter_ns()
        self.send(f'{{"type":"create","id":"{op_id}","todo":{{"title":"throughput {self.sent}"}}}}')

    def on_frame(self, frame: dict[str, Any], now_ns: int) -> None:
        kind = frame.get("type")
        if kind == "ack":
            self.acked += 1
            self.seqs.append(frame["seq"])
            sent = self.sent_at.pop(frame["id"], None)
            if sent is not None:
                self.run.latencies.append(now_ns - sent)
            self.run.answered()
            self.send_next()
        elif kind == "error":
            self.sent_at.pop(str(frame.get("id")), None)
            self.run.answered()
            self.send_next()


class _Run:
    """The shared budget of a run: a deadline or a number of commands."""

    def __init__(self, commands: int | None) -> None:
        self.left = commands if commands is not None else math.inf
        self.open = True
        self.outstanding = 0
        self.latencies: list[int] = []
        self.last_answer = 0.0
        self.drained = asyncio.Event()

    def take(self) -> bool:
        if not self.open or self.left <= 0:
            return False
        self.left -= 1
        self.outstanding += 1
        return True

    def answered(self) -> None:
        self.outstanding -= 1
        self.last_answer = time.perf_counter()
        if self.outstanding <= 0 and (not self.open or self.left <= 0):
            self.drained.set()


async def _redis_ready(url: str) -> str | None:
    """None when the Redis broker can be used, else why not."""
    try:
        import hub.brokers.redis  # noqa: F401
    except ImportError as exc:
        return f"the Redis broker (hub/brokers/redis.py) is not available: {exc}"
    try:
        import redis.asyncio as aioredis
    except ImportError:  # pragma: no cover
        return "the redis package is not installed"
    client = aioredis.from_url(url)
    try:
        await asyncio.wait_for(client.ping(), 2.0)
    except Exception as exc:
        return f"Redis at {url} does not answer ({exc.__class__.__name__})"
    finally:
        await client.aclose()
    return None


async def _persisted(hub: HubProcess, accounts: list[Account]) -> list[int]:
    """Each user's todo count, read back over REST."""
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=hub.url, timeout=30.0) as http:

        async def count(account: Account) -> int:
            async with gate:
                answer = await http.get("/api/todos/stats", headers={
                    "Authorization": f"Bearer {account.token}"})
                answer.raise_for_status()
                return int(answer.json()["total"])

        return list(await asyncio.gather(*(count(a) for a in accounts)))


async def _one(config: ThroughputConfig, backend: str, workers: int,
               data_dir: Path) -> ThroughputRow:
    database_url = config.postgres_url if backend == "postgres" else ""
    redis_url = config.redis_url if workers > 1 else ""
    options = HubOptions(database_url, redis_url, workers, tuple(config.hub_args))
    row = ThroughputRow(backend, workers, options.label)
    if backend == "postgres" and not await postgres.reachable(config.postgres_url):
        row.skipped = f"PostgreSQL at {config.postgres_url} is not reachable"
        return row
    if workers > 1:
        why = await _redis_ready(config.redis_url)
        if why:
            row.skipped = why
            return row
    async with running_hub(options, data_dir) as hub:
        accounts = await register_users(hub.url, config.users)
        run = _Run(config.commands)
        async with open_devices(
            hub.host, hub.port, accounts, 1,
            lambda account, user, index: _Pipe(account, user, index, run),
        ) as devices:
            pipes = [d for d in devices if isinstance(d, _Pipe)]
            meter = CpuMeter(hub.cpu_seconds)
            meter.start()
            start = time.perf_counter()
            for _ in range(config.window):
                for pipe in pipes:
                    pipe.send_next()
            if config.commands is None:
                await asyncio.sleep(config.duration)
                # The rate is what was acked while the window was open; the rest drains.
                in_window = sum(p.acked for p in pipes)
                elapsed = time.perf_counter() - start
                cpu = meter.stop()
                run.open = False
                if run.outstanding <= 0:
                    run.drained.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.drained.wait(), 60.0)
            if config.commands is not None:
                cpu = meter.stop()
                elapsed = (run.last_answer or time.perf_counter()) - start
                in_window = sum(p.acked for p in pipes)
            row.hub_peak_memory_kib = hub.peak_memory_kib()
            seen = await metrics.read(hub.url)
            row.mean_group = seen.mean_group if seen else None
            counts = await _persisted(hub, accounts)
        row.sent = sum(p.sent for p in pipes)
        row.acked = sum(p.acked for p in pipes)
        for pipe in pipes:
            for code, n in pipe.errors.items():
                row.errors[code] = row.errors.get(code, 0) + n
        row.elapsed_s = elapsed
        row.per_second = in_window / elapsed if elapsed > 0 else 0.0
        row.ack_latency = Latency.of_ns(run.latencies)
        row.persisted = sum(counts)
        row.persisted_ok = all(n == p.acked for n, p in zip(counts, pipes, strict=True))
        row.seqs_ok = all(sorted(p.seqs) == list(range(1, p.acked + 1)) for p in pipes)
        row.hub_cpu_cores = cpu.hub_cores
        row.generator_cpu_cores = cpu.generator_cores
        row.other_cpu_cores = cpu.other_cores
    return row


async def run_throughput(config: ThroughputConfig) -> ThroughputResult:
    """Run every setup of ``config`` in turn, each against its own fresh hub."""
    rows = []
    with contextlib.ExitStack() as stack:
        base = (Path(config.data_dir) if config.data_dir else
                Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))))
        for backend in config.backends:
            for workers in config.workers:
                rows.append(await _one(config, backend, workers,
                                       base / f"{backend}-{workers}"))
    return ThroughputResult(config, rows)
