"""The hub's own view, read from its /metrics: commit group sizes and the time from a
command's arrival at the writer to its answer (which excludes the network and the sockets)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import httpx

_SAMPLE = re.compile(r'^(\w+)(?:\{([^}]*)\})? ([0-9.e+-]+|\+Inf|NaN)$', re.M)


@dataclass(frozen=True)
class HubMetrics:
    """Totals since the hub started (of one process when there are several)."""

    groups: int
    mean_group: float
    commands: int
    writer_p50_ms: float  # estimated from histogram buckets
    writer_p99_ms: float

    def row(self) -> str:
        return (f"{self.groups} commits, mean group {self.mean_group:.1f} commands; "
                f"command in the writer p50 ~{self.writer_p50_ms:.1f} ms, "
                f"p99 ~{self.writer_p99_ms:.1f} ms")


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Linear interpolation inside the cumulative bucket that holds quantile ``q``."""
    if not buckets or buckets[-1][1] == 0:
        return math.nan
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            span = count - lower_count
            share = (rank - lower_count) / span if span else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def parse(text: str) -> HubMetrics:
    """HubMetrics from the Prometheus text format."""
    sums: dict[str, float] = {}
    latency: list[tuple[float, float]] = []
    for name, labels, value in _SAMPLE.findall(text):
        number = float(value) if value not in ("+Inf", "NaN") else math.inf
        if name in ("todohub_commit_group_size_sum", "todohub_commit_group_size_count",
                    "todohub_command_latency_seconds_count"):
            sums[name] = number
        elif name == "todohub_command_latency_seconds_bucket":
            bound = re.search(r'le="([^"]+)"', labels or "")
            if bound:
                latency.append((float(bound.group(1)), number))
    latency.sort()
    groups = int(sums.get("todohub_commit_group_size_count", 0))
    commands = int(sums.get("todohub_command_latency_seconds_count", 0))
    mean = sums.get("todohub_commit_group_size_sum", 0.0) / groups if groups else math.nan
    return HubMetrics(groups, mean, commands, _quantile(latency, 0.5) * 1000,
                      _quantile(latency, 0.99) * 1000)


async def read(url: str) -> HubMetrics | None:
    """The hub's metrics at ``url``, or None when it does not answer."""
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5.0) as http:
            answer = await http.get("/metrics")
    except httpx.HTTPError:
        return None
    return parse(answer.text) if answer.status_code == 200 else None
