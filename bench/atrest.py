"""At rest: the hub's resident memory after a burst of sign-ins with its real password
hashing, once the burst is over.

The hub runs with its default argon2 costs (the other benchmarks lower them), so each hash
takes argon2's memory on a hashing thread; users register and log in (two hashes each),
each opens a socket that syncs and closes, and the hub then idles for ``hold`` seconds.
Reported: resident memory (VmRSS) before the burst, its peak (VmHWM), and at rest.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.accounts import register_users
from bench.devices import open_devices
from bench.hubproc import HubOptions, running_hub

# The hub's own defaults (hub.config), in place of the cheap costs bench.hubproc asks for.
DEFAULT_HASHING = ("--argon2-time-cost", "2", "--argon2-memory-cost", "19456")
TARGET_MIB = 100.0
SIGN_INS_AT_ONCE = 32


@dataclass
class AtRestConfig:
    """What to run."""

    users: int = 200
    hold: float = 5.0  # seconds of quiet before the memory at rest is read
    database_url: str = ""
    hub_args: tuple[str, ...] = ()
    data_dir: str | None = None


@dataclass
class AtRestResult:
    """What was measured."""

    config: AtRestConfig
    setup: str
    signed_in: int
    sign_in_s: float
    synced: int
    rss_before_kib: int
    rss_peak_kib: int
    rss_at_rest_kib: int
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every user signed in and synced a socket."""
        return not self.errors and self.signed_in == self.synced == self.config.users

    def report(self) -> str:
        """A plain-text account of the run."""
        mib = 1024
        at_rest = self.rss_at_rest_kib / mib
        verdict = "met" if at_rest < TARGET_MIB else "not met"
        lines = [
            f"at rest: {self.setup}, default password hashing",
            f"  {self.signed_in} users registered and logged in in {self.sign_in_s:.1f} s "
            f"({SIGN_INS_AT_ONCE} at a time), {self.synced} sockets synced and closed",
            f"  hub memory before: {self.rss_before_kib / mib:.1f} MiB, "
            f"peak: {self.rss_peak_kib / mib:.1f} MiB, "
            f"at rest after {self.config.hold:g} s: {at_rest:.1f} MiB "
            f"(target under {TARGET_MIB:g} MiB: {verdict})",
        ]
        lines += [f"  error: {error}" for error in self.errors]
        lines.append("  OK" if self.ok else "  FAILED")
        return "\n".join(lines)


async def run_at_rest(config: AtRestConfig) -> AtRestResult:
    """Start a hub with its default hashing, sign ``users`` in, let it rest, measure."""
    options = HubOptions(database_url=config.database_url,
                         extra_args=(*DEFAULT_HASHING, *config.hub_args))
    with tempfile.TemporaryDirectory(prefix="todohub-bench-") as scratch:
        data_dir = Path(config.data_dir) if config.data_dir else Path(scratch)
        async with running_hub(options, data_dir) as hub:
            before = hub.memory_kib()
            started = time.perf_counter()
            accounts = await register_users(hub.url, config.users, SIGN_INS_AT_ONCE)
            sign_in_s = time.perf_counter() - started
            errors: list[str] = []
            synced = 0
            try:
                async with open_devices(hub.host, hub.port, accounts, 1) as devices:
                    synced = len(devices)
            except RuntimeError as exc:
                errors.append(str(exc))
            await asyncio.sleep(config.hold)
            return AtRestResult(
                config=config, setup=options.label, signed_in=len(accounts),
                sign_in_s=sign_in_s, synced=synced, rss_before_kib=before,
                rss_peak_kib=hub.peak_memory_kib(), rss_at_rest_kib=hub.memory_kib(),
                errors=errors,
            )
