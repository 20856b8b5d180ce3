"""Small measuring helpers: percentiles, CPU of this process and of the whole machine."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

try:  # orjson is optional: it only makes the load generator cheaper.
    import orjson  # type: ignore[import-not-found, unused-ignore]

    def loads(text: str | bytes) -> object:
        """Parse JSON (orjson when installed)."""
        return orjson.loads(text)
except ImportError:  # pragma: no cover
    import json

    def loads(text: str | bytes) -> object:
        """Parse JSON (orjson when installed)."""
        return json.loads(text)


@dataclass(frozen=True)
class Latency:
    """Percentiles of a set of durations, in milliseconds."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of_ns(cls, samples: Sequence[int]) -> Latency:
        """Summarise durations given in nanoseconds (nearest-rank percentiles)."""
        if not samples:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        ordered = sorted(samples)
        n = len(ordered)

        def rank(q: float) -> float:
            return ordered[max(0, math.ceil(q * n) - 1)] / 1e6

        return cls(n, rank(0.50), rank(0.95), rank(0.99), ordered[-1] / 1e6,
                   sum(ordered) / n / 1e6)

    def row(self) -> str:
        """``p50 / p95 / p99 / max`` for a report."""
        return (f"p50 {self.p50:.2f}  p95 {self.p95:.2f}  p99 {self.p99:.2f}  "
                f"max {self.max:.2f} ms  (n={self.count})")


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine spent busy so far (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()
    except OSError:
        return math.nan
    # user nice system idle iowait irq softirq steal ...
    values = [int(v) for v in parts[1:9]]
    busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
    return busy / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuWindow:
    """CPU used over a wall-clock window by this process, the hub and the whole machine."""

    wall: float = 0.0
    generator: float = 0.0
    hub: float = 0.0
    machine: float = 0.0
    hub_system: float = 0.0

    def cores(self, seconds: float) -> float:
        return seconds / self.wall if self.wall > 0 else math.nan

    @property
    def generator_cores(self) -> float:
        return self.cores(self.generator)

    @property
    def hub_cores(self) -> float:
        return self.cores(self.hub)

    @property
    def hub_system_cores(self) -> float:
        """The hub's CPU in the kernel."""
        return self.cores(self.hub_system)

    @property
    def other_cores(self) -> float:
        """Cores busy with anything else on the machine (noise from neighbours)."""
        return self.cores(max(0.0, self.machine - self.generator - self.hub))


class CpuMeter:
    """Start, then stop, to fill a CpuWindow."""

    def __init__(self, hub_cpu: Callable[[], float],
                 hub_system: Callable[[], float] = lambda: 0.0) -> None:
        self._hub_cpu = hub_cpu  # the hub's CPU seconds so far
        self._hub_system = hub_system  # the part of it in the kernel
        self._start = (0.0, 0.0, 0.0, 0.0, 0.0)

    def _now(self) -> tuple[float, float, float, float, float]:
        return (time.perf_counter(), time.process_time(),
                self._hub_cpu(), machine_busy_seconds(), self._hub_system())

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> CpuWindow:
        end = self._now()
        wall, gen, hub, machine, system = (b - a for a, b in zip(self._start, end, strict=True))
        return CpuWindow(wall, gen, hub, machine, system)


def verdict(cpu: CpuWindow, workers: int, lag_p99_ms: float, lag_limit_ms: float = 5.0) -> str:
    """Say plainly what limited the run: the generator, the hub, the machine, or nothing."""
    cores = os.cpu_count() or 1
    total = cpu.generator_cores + cpu.hub_cores + cpu.other_cores
    notes = []
    if cpu.generator_cores > 0.8:
        notes.append(
            f"the LOAD GENERATOR is the bottleneck: it used {cpu.generator_cores:.2f} of the one "
            "core it can use, so these numbers understate the hub"
        )
    elif lag_p99_ms > lag_limit_ms:
        notes.append(
            f"the load generator fell behind its schedule (p99 {lag_p99_ms:.1f} ms late) while "
            f"using only {cpu.generator_cores:.2f} core: it was starved of CPU, not busy"
        )
    if cpu.hub_cores > 0.85 * workers:
        notes.append(f"the hub is CPU-bound ({cpu.hub_cores:.2f} cores over {workers} "
                     f"process{'es' if workers > 1 else ''})")
    if total > 0.9 * cores:
        notes.append(f"the machine is saturated ({total:.2f} of {cores} cores busy, "
                     f"{cpu.other_cores:.2f} of them by other processes)")
    if not notes:
        return (f"nothing saturated: hub {cpu.hub_cores:.2f} cores, generator "
                f"{cpu.generator_cores:.2f}, other processes {cpu.other_cores:.2f} of {cores}")
    return "; ".join(notes)
