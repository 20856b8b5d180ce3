"""Metrics counted as plain numbers expose what prometheus_client counting them directly
would: the same samples, after one read or several."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from hub.metrics import GROUP_BUCKETS, LATENCY_BUCKETS, Metrics

LATENCIES = [0.0, 0.0005, 0.001, 0.0010001, 0.0025, 0.004, 0.05, 0.3, 1.0, 2.5, 2.6, 40.0]
GROUPS = [1, 1, 2, 3, 4, 5, 16, 17, 256, 257, 1000]
COMMANDS = [("create", "ok"), ("create", "ok"), ("update", "conflict"), ("batch", "duplicate")]


def _samples(text: bytes) -> list[str]:
    # The _created samples are the time each metric was made.
    return [line for line in text.decode().splitlines() if "_created" not in line]


def _direct() -> CollectorRegistry:
    registry = CollectorRegistry()
    latency = Histogram("todohub_command_latency_seconds", "", buckets=LATENCY_BUCKETS,
                        registry=registry)
    groups = Histogram("todohub_commit_group_size", "", buckets=GROUP_BUCKETS,
                       registry=registry)
    commands = Counter("todohub_commands", "", ["type", "result"], registry=registry)
    deliveries = Counter("todohub_deliveries", "", registry=registry)
    for value in LATENCIES:
        latency.observe(value)
    for size in GROUPS:
        groups.observe(size)
    for kind, result in COMMANDS:
        commands.labels(kind, result).inc()
    deliveries.inc(7)
    return registry



def test_tallied_metrics_expose_what_direct_counting_does() -> None:
    metrics = Metrics()
    for value in LATENCIES[:5]:
        metrics.command_latency.observe(value)
    for size in GROUPS[:5]:
        metrics.group_size.observe(size)
    for kind, result in COMMANDS[:2]:
        metrics.command(kind, result).inc()
    metrics.deliveries.inc(3)
    metrics.render()  # a read between the counts folds the first part in
    for value in LATENCIES[5:]:
        metrics.command_latency.observe(value)
    for size in GROUPS[5:]:
        metrics.group_size.observe(size)
    for kind, result in COMMANDS[2:]:
        metrics.command(kind, result).inc()
    for _ in range(4):
        metrics.deliveries.inc()

    wanted = [line for line in _samples(generate_latest(_direct())) if not line.startswith("#")]
    got = _samples(metrics.render())
    for line in wanted:
        assert line in got
    assert _samples(metrics.render()) == got  # reading again adds nothing
