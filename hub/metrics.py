"""Prometheus metrics of one hub process (its own registry, so several hubs fit in one test)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


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
        self.command_latency = Histogram(
            "todohub_command_latency_seconds", "Time from a command's arrival to its answer",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.group_size = Histogram(
            "todohub_commit_group_size", "Commands written in one transaction",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=self.registry,
        )
        self.deliveries = Counter(
            "todohub_deliveries", "Change frames sent to sockets", registry=self.registry
        )
        self.overflows = Counter(
            "todohub_send_queue_overflows", "Sockets closed because their send queue overflowed",
            registry=self.registry,
        )
        self.broker_errors = Counter(
            "todohub_broker_errors", "Failed broker publishes", registry=self.registry
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
