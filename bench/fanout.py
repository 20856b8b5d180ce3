"""Fan-out: U users x D devices; device 0 of each user sends creates at a total rate R, and
every other device must receive each change once, in order, quickly.

Each create carries its send time in its title (``t:<perf_counter_ns>:<n>``); all devices
live in this one process, so the receiving device subtracts it from the time the bytes
arrived. The schedule is open-loop: command k leaves at ``start + k / R`` whatever the hub
does, and how late the generator itself was is reported (``send lag``).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import metrics
from bench.devices import open_devices
from bench.hubproc import HubOptions, running_hub
from bench.metrics import HubMetrics
from bench.probes import FanoutDevice, Tally, send_on_schedule
from bench.profiling import Profiler, is_cprofile
from bench.stats import CpuMeter, Latency, verdict


@dataclass
class FanoutConfig:
    """What to run."""

    users: int = 1000
    devices: int = 2
    rate: float = 1000.0
    duration: float = 10.0
    warmup: float = 1.0  # latencies of commands sent in the first seconds are not counted
    drain: float = 15.0  # seconds to wait for the last acks and deliveries
    database_url: str = ""
    redis_url: str = ""
    workers: int = 1
    deflate: bool = False  # offer permessage-deflate, as browsers do
    source_addresses: int = 1
    connect_concurrency: int = 200
    hub_args: tuple[str, ...] = ()
    # Profile the hub: FILE.prof is cProfile over the hub's whole life (one process); any
    # other name is py-spy during the timed run (.svg flamegraph, .json speedscope, else raw).
    profile: str | None = None
    data_dir: str | None = None
    target: str = ""  # "" this checkout's hub, "floor", or another checkout's path


@dataclass
class FanoutResult:
    """What was measured."""

    config: FanoutConfig
    setup: str
    sockets: int
    register_s: float
    connect_s: float
    commands_sent: int
    commands_acked: int
    command_errors: dict[str, int]
    deliveries_expected: int
    deliveries_received: int
    deliveries_lost: int
    deliveries_repeated: int
    out_of_order: int
    own_expected: int
    own_received: int
    latency: Latency
    ack_latency: Latency
    send_lag: Latency
    elapsed_s: float
    deliveries_per_s: float
    hub_peak_memory_kib: int
    hub_cpu_cores: float
    hub_system_cores: float
    generator_cpu_cores: float
    other_cpu_cores: float
    sockets_closed: int
    bottleneck: str
    hub_metrics: HubMetrics | None = None
    profile: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every command acked; every change delivered once and in order."""
        return (self.commands_acked == self.commands_sent and self.deliveries_lost == 0
                and self.deliveries_repeated == 0 and self.out_of_order == 0
                and self.own_received == self.own_expected and not self.command_errors)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def report(self) -> str:
        c = self.config
        lines = [
            f"fanout: {c.users} users x {c.devices} devices = {self.sockets} sockets, "
            f"{c.rate:g} creates/s for {c.duration:g} s ({self.setup})",
            f"  setup            register {self.register_s:.1f} s, open sockets "
            f"{self.connect_s:.1f} s",
            f"  commands         sent {self.commands_sent}, acked {self.commands_acked}, "
            f"errors {self.command_errors or 0}",
            f"  deliveries       expected {self.deliveries_expected}, received "
            f"{self.deliveries_received}, lost {self.deliveries_lost}, repeated "
            f"{self.deliveries_repeated}, out of order {self.out_of_order}",
            f"  sender's own     expected {self.own_expected}, received {self.own_received}",
            f"  fan-out latency  {self.latency.row()}",
            f"  ack latency      {self.ack_latency.row()}",
            f"  send lag         {self.send_lag.row()}",
            f"  deliveries/s     {self.deliveries_per_s:.0f} (all change frames, "
            f"{self.elapsed_s:.1f} s)",
            f"  hub              peak memory {self.hub_peak_memory_kib / 1024:.1f} MiB, "
            f"CPU {self.hub_cpu_cores:.2f} cores ({self.hub_system_cores:.2f} in the kernel)",
            f"  generator        CPU {self.generator_cpu_cores:.2f} cores; other processes "
            f"{self.other_cpu_cores:.2f} cores",
            f"  sockets closed   {self.sockets_closed}",
            *([f"  hub's view       {self.hub_metrics.row()}"
               + (" (one process)" if c.workers > 1 else "")] if self.hub_metrics else []),
            f"  bottleneck       {self.bottleneck}",
            "  result           "
            + ("OK: nothing lost, repeated or reordered" if self.ok else "FAILED"),
        ]
        if self.profile:
            lines.append(f"  profile          {self.profile}")
        lines += [f"  note             {n}" for n in self.notes]
        return "\n".join(lines)


def _bottleneck(cpu_verdict: str, tally: Tally, sent: int, seen: HubMetrics | None) -> str:
    """The CPU verdict, preceded by a plain statement when the hub fell behind the rate."""
    ack = Latency.of_ns(tally.ack_latencies)
    behind = tally.acks < sent or (ack.count and ack.p50 > 250.0)
    if not behind:
        return cpu_verdict
    where = (f" (a command waits ~{seen.writer_p50_ms:.0f} ms in its writer, "
             f"commits of {seen.mean_group:.0f} commands)" if seen else "")
    return f"the HUB cannot keep up with this rate: commands queue up{where}; {cpu_verdict}"


async def run_fanout(config: FanoutConfig) -> FanoutResult:
    """Start a hub, run the fan-out benchmark against it, stop it; return what was measured."""
    cprofile = config.profile if is_cprofile(config.profile) else None
    options = HubOptions(config.database_url, config.redis_url, config.workers,
                         tuple(config.hub_args), cprofile, config.target)
    with contextlib.ExitStack() as stack:
        data_dir = (Path(config.data_dir) if config.data_dir else
                    Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))))
        async with running_hub(options, data_dir / "hub") as hub:
            return await _measure(config, hub, options)
    raise AssertionError("unreachable")  # pragma: no cover


async def _measure(config: FanoutConfig, hub: Any, options: HubOptions) -> FanoutResult:
    t0 = time.perf_counter()
    accounts = await hub.accounts(config.users)
    register_s = time.perf_counter() - t0
    tally = Tally()

    t0 = time.perf_counter()
    async with open_devices(
        hub.host, hub.port, accounts, config.devices,
        lambda account, user, index: FanoutDevice(account, user, index, tally),
        concurrency=config.connect_concurrency, source_addresses=config.source_addresses,
        deflate=config.deflate,
    ) as devices:
        connect_s = time.perf_counter() - t0
        fleet: list[FanoutDevice] = [d for d in devices if isinstance(d, FanoutDevice)]
        senders = [d for d in fleet if d.index == 0]
        lags: list[int] = []
        profiler = None
        if config.profile and not is_cprofile(config.profile):
            profiler = Profiler(hub.pid, config.profile, config.workers > 1)
            await profiler.started()
        meter = CpuMeter(hub.cpu_seconds, hub.system_cpu_seconds)
        meter.start()
        tally.count_after_ns = time.perf_counter_ns() + int(config.warmup * 1e9)
        sent = await send_on_schedule(senders, config.rate, config.duration, lags)

        def settled() -> bool:
            errors = sum(sum(d.errors.values()) for d in senders)
            return (tally.acks + errors >= sent
                    and tally.fanout >= tally.acks * (config.devices - 1)
                    and tally.own >= tally.acks)

        deadline = time.monotonic() + config.drain
        while not settled() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        cpu = meter.stop()
        peak = hub.peak_memory_kib()
        seen = await metrics.read(hub.url)
        notes: list[str] = []
        if profiler is not None and (complaint := await profiler.stop()):
            notes.append(complaint)
        errors: dict[str, int] = {}
        for d in fleet:
            for code, n in d.errors.items():
                errors[code] = errors.get(code, 0) + n
        closed = sum(1 for d in fleet if d.sock is None or not d.sock.open)

    expected = tally.acks * (config.devices - 1)
    elapsed = ((tally.last_ns - tally.first_ns) / 1e9) if tally.last_ns > tally.first_ns else 0.0
    received = tally.fanout + tally.own
    lag = Latency.of_ns(lags)
    return FanoutResult(
        config=config,
        setup=options.label,
        sockets=len(devices),
        register_s=register_s,
        connect_s=connect_s,
        commands_sent=sent,
        commands_acked=tally.acks,
        command_errors=errors,
        deliveries_expected=expected,
        deliveries_received=tally.fanout,
        deliveries_lost=max(0, expected - tally.fanout),
        deliveries_repeated=tally.repeats,
        out_of_order=tally.out_of_order,
        own_expected=tally.acks,
        own_received=tally.own,
        latency=Latency.of_ns(tally.latencies),
        ack_latency=Latency.of_ns(tally.ack_latencies),
        send_lag=lag,
        elapsed_s=elapsed,
        deliveries_per_s=received / elapsed if elapsed else 0.0,
        hub_peak_memory_kib=peak,
        hub_cpu_cores=cpu.hub_cores,
        hub_system_cores=cpu.hub_system_cores,
        generator_cpu_cores=cpu.generator_cores,
        other_cpu_cores=cpu.other_cores,
        sockets_closed=closed,
        bottleneck=_bottleneck(verdict(cpu, config.workers, lag.p99), tally, sent, seen),
        hub_metrics=seen,
        profile=config.profile,
        notes=notes,
    )
