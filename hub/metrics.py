"""Prometheus metrics of one hub process (its own registry, so several hubs fit in one test).

The per-command counters and histograms are counted as plain numbers on the event loop's
thread and folded into their prometheus metrics when the metrics are read: prometheus_client
takes a lock for every increment, about six per command. What is exposed is the same.
"""

from __future__ import annotations

from bisect import bisect_left

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Tally:
    """Increments of a counter (or of one labelled child), kept until ``flush``."""

    __slots__ = ("_target", "_count")

    def __init__(self, target: Counter) -> None:
        self._target = target
        self._count = 0.0

    def inc(self, amount: float = 1) -> None:
        """Count ``amount`` more."""
        self._count += amount

    def flush(self) -> None:
        """Add what was counted to the counter."""
        if self._count:
            count, self._count = self._count, 0.0
            self._target.inc(count)


class Observations:
    """Observations of a histogram, counted per bucket until ``flush``."""

    __slots__ = ("_target", "_bounds", "_counts", "_sum")

    def __init__(self, target: Histogram, buckets: tuple[float, ...]) -> None:
        self._target = target
        self._bounds = (*buckets, float("inf"))
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        """Observe ``value`` (in the first bucket whose bound is at least it)."""
        self._sum += value
        self._counts[bisect_left(self._bounds, value)] += 1

    def flush(self) -> None:
        """Add what was observed to the histogram."""
        counts, self._counts = self._counts, [0] * len(self._bounds)
        total, self._sum = self._sum, 0.0
        if not any(counts):
            return
        # prometheus_client has no public way to add many observations at once.
        self._target._sum.inc(total)
        for bucket, count in zip(self._target._buckets, counts, strict=True):
            if count:
                bucket.inc(count)


class Metrics:
    """The counters, gauges and histograms the hub updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sockets_open = Gauge(
            "todohub_sockets_open", "WebSocket sessions open", registry=self.registry
        )
        self.commands = Counter(
            "todohub_commands", "Commands handled, by type and result",
            ["type", "result"], registry=self.registry,
        )
        self._latency = Histogram(
            "todohub_command_latency_seconds", "Time from a command's arrival to its answer",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self._group_size = Histogram(
            "todohub_commit_group_size", "Commands written in one transaction",
            buckets=GROUP_BUCKETS, registry=self.registry,
        )
        self._deliveries = Counter(
            "todohub_deliveries", "Change frames sent to sockets", registry=self.registry
        )
        self.overflows = Counter(
            "todohub_send_queue_overflows", "Sockets closed because their send queue overflowed",
            registry=self.registry,
        )
        self.broker_errors = Counter(
            "todohub_broker_errors", "Failed broker publishes", registry=self.registry
        )
        self.command_latency = Observations(self._latency, LATENCY_BUCKETS)
        self.group_size = Observations(self._group_size, GROUP_BUCKETS)
        self.deliveries = Tally(self._deliveries)
        self._commands: dict[tuple[str, str], Tally] = {}

    def command(self, kind: str, result: str) -> Tally:
        """The count of commands of ``kind`` that ended with ``result``."""
        tally = self._commands.get((kind, result))
        if tally is None:
            tally = self._commands[(kind, result)] = Tally(self.commands.labels(kind, result))
        return tally

    def flush(self) -> None:
        """Fold what was counted into the prometheus metrics."""
        self.command_latency.flush()
        self.group_size.flush()
        self.deliveries.flush()
        for tally in self._commands.values():
            tally.flush()

    def render(self) -> bytes:
        """The text exposition format."""
        self.flush()
        return generate_latest(self.registry)
