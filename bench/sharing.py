"""Sharing: M members x D devices write R creates/s in total for T seconds, either all into
one list the M members share or each into their own inbox (the same load on private lists).

Shared: every create reaches all M x D devices; private: the writer's own D devices. The
latency of a write is from its sending to its arrival at the last device that must get it
(the slowest member's device), so the shared run shows what fan-out to every member costs.
Each create carries its send time in its title (``t:<perf_counter_ns>:<k>``); all devices
live in this process. Every device also checks its stream: each seq once, consecutive.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.accounts import Account, register_users
from bench.devices import Device, open_devices
from bench.hubproc import HubOptions, running_hub
from bench.stats import CpuMeter, Latency, verdict

MODES = ("shared", "private")


@dataclass
class SharingConfig:
    """What to run."""

    members: int = 10
    devices: int = 2
    rate: float = 200.0
    duration: float = 30.0
    warmup: float = 1.0  # latencies of writes sent in the first seconds are not counted
    drain: float = 15.0
    modes: tuple[str, ...] = MODES
    database_url: str = ""
    redis_url: str = ""
    workers: int = 1
    hub_args: tuple[str, ...] = ()
    data_dir: str | None = None


class _Tally:
    """What every device of one run saw."""

    def __init__(self) -> None:
        self.count_after_ns = 0
        self.sent: dict[int, int] = {}  # k -> send time
        self.arrivals: dict[int, list[int]] = {}  # k -> arrival times, one per device
        self.acks: dict[int, int] = {}  # k -> ack time
        self.repeats = 0
        self.out_of_order = 0


class _Probe(Device):
    """A device that records when each create arrived and checks its seqs."""

    def __init__(self, account: Account, user: int, index: int, tally: _Tally) -> None:
        super().__init__(account, user, index)
        self.tally = tally
        self.last_seq: int | None = None
        self.seen: set[int] = set()

    def on_synced(self, seq: int) -> None:
        self.last_seq = seq

    def on_frame(self, frame: dict[str, Any], now_ns: int) -> None:
        kind = frame.get("type")
        if kind == "change":
            seq = frame["seq"]
            if seq in self.seen:
                self.tally.repeats += 1
                return
            self.seen.add(seq)
            if self.last_seq is not None and seq != self.last_seq + 1:
                self.tally.out_of_order += 1
            self.last_seq = seq
            todo = frame.get("todo") or {}
            title = todo.get("title", "")
            if frame["op"] == "create" and title.startswith("t:"):
                k = int(title.split(":", 2)[2])
                self.tally.arrivals.setdefault(k, []).append(now_ns)
        elif kind == "ack" and str(frame.get("id", "")).startswith("s"):
            self.tally.acks[int(frame["id"][1:])] = now_ns


@dataclass
class SharingRun:
    """One mode's numbers."""

    mode: str
    sockets: int
    writes_sent: int
    writes_acked: int
    errors: dict[str, int]
    deliveries_expected: int
    deliveries_received: int
    deliveries_lost: int
    deliveries_repeated: int
    out_of_order: int
    last_device: Latency  # write -> the last device that must get it
    ack: Latency
    hub_cpu_cores: float
    bottleneck: str

    @property
    def ok(self) -> bool:
        """Every write acked and delivered to every device once, in order."""
        return (self.writes_acked == self.writes_sent and not self.errors
                and self.deliveries_lost == 0 and self.deliveries_repeated == 0
                and self.out_of_order == 0)


@dataclass
class SharingResult:
    """Both modes, side by side."""

    config: SharingConfig
    setup: str
    runs: list[SharingRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(run.ok for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def report(self) -> str:
        c = self.config
        lines = [f"sharing: {c.members} members x {c.devices} devices, {c.rate:g} writes/s "
                 f"for {c.duration:g} s ({self.setup})"]
        for run in self.runs:
            lines += [
                f"  {run.mode:<8} writes sent {run.writes_sent}, acked {run.writes_acked}, "
                f"errors {run.errors or 0}; deliveries expected {run.deliveries_expected}, "
                f"received {run.deliveries_received}, lost {run.deliveries_lost}, repeated "
                f"{run.deliveries_repeated}, out of order {run.out_of_order}",
                f"           write -> last device  {run.last_device.row()}",
                f"           ack                   {run.ack.row()}",
                f"           hub CPU {run.hub_cpu_cores:.2f} cores; {run.bottleneck}",
            ]
        lines.append("  result   " + ("OK: nothing lost, repeated or reordered" if self.ok
                                      else "FAILED"))
        return "\n".join(lines)


async def _share(url: str, accounts: list[Account]) -> str:
    """A list of the first member that every other member joined by invitation."""
    owner = {"Authorization": f"Bearer {accounts[0].token}"}
    async with httpx.AsyncClient(base_url=url, timeout=60.0) as http:
        made = await http.post("/api/lists", json={"name": "bench"}, headers=owner)
        made.raise_for_status()
        list_id = str(made.json()["id"])
        offer = await http.post(f"/api/lists/{list_id}/invites", headers=owner,
                                json={"role": "editor", "max_uses": max(1, len(accounts))})
        offer.raise_for_status()
        for account in accounts[1:]:
            joined = await http.post("/api/invites/accept", json={"token": offer.json()["token"]},
                                     headers={"Authorization": f"Bearer {account.token}"})
            joined.raise_for_status()
    return list_id


async def _send(senders: list[_Probe], tally: _Tally, rate: float, duration: float,
                list_id: str | None) -> int:
    """Creates on an open-loop schedule, round robin over the senders."""
    total = int(rate * duration)
    interval = 1e9 / rate
    start = time.perf_counter_ns()
    where = f',"list_id":"{list_id}"' if list_id else ""
    k = 0
    while k < total:
        now = time.perf_counter_ns()
        due = start + int(k * interval)
        if now < due:
            await asyncio.sleep((due - now) / 1e9)
            continue
        while k < total and start + int(k * interval) <= now:
            sock = senders[k % len(senders)].sock
            sent = time.perf_counter_ns()
            tally.sent[k] = sent
            if sock is not None and sock.open:
                sock.send(f'{{"type":"create","id":"s{k}","todo":{{"title":"t:{sent}:{k}"'
                          f'{where}}}}}')
            k += 1
        await asyncio.sleep(0)
    return total


async def _run_mode(config: SharingConfig, mode: str, hub: Any) -> SharingRun:
    accounts = await register_users(hub.url, config.members)
    list_id = await _share(hub.url, accounts) if mode == "shared" else None
    tally = _Tally()
    async with open_devices(hub.host, hub.port, accounts, config.devices,
                            lambda account, user, index: _Probe(account, user, index, tally)
                            ) as devices:
        probes = [d for d in devices if isinstance(d, _Probe)]
        senders = [d for d in probes if d.index == 0]
        meter = CpuMeter(hub.cpu_seconds, hub.system_cpu_seconds)
        meter.start()
        tally.count_after_ns = time.perf_counter_ns() + int(config.warmup * 1e9)
        sent = await _send(senders, tally, config.rate, config.duration, list_id)
        per_write = len(probes) if mode == "shared" else config.devices

        def settled() -> bool:
            errors = sum(sum(d.errors.values()) for d in senders)
            return (len(tally.acks) + errors >= sent
                    and sum(len(a) for a in tally.arrivals.values()) >= len(tally.acks)
                    * per_write)

        deadline = time.monotonic() + config.drain
        while not settled() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        cpu = meter.stop()
        errors: dict[str, int] = {}
        for d in probes:
            for code, n in d.errors.items():
                errors[code] = errors.get(code, 0) + n
    expected = len(tally.acks) * per_write
    received = sum(len(tally.arrivals.get(k, [])) for k in tally.acks)
    last, acked = [], []
    for k, at in tally.acks.items():
        sent_ns = tally.sent[k]
        if sent_ns < tally.count_after_ns:
            continue
        acked.append(at - sent_ns)
        arrivals = tally.arrivals.get(k, [])
        if len(arrivals) == per_write:
            last.append(max(arrivals) - sent_ns)
    return SharingRun(
        mode=mode, sockets=len(probes), writes_sent=sent, writes_acked=len(tally.acks),
        errors=errors, deliveries_expected=expected, deliveries_received=received,
        deliveries_lost=max(0, expected - received), deliveries_repeated=tally.repeats,
        out_of_order=tally.out_of_order, last_device=Latency.of_ns(last),
        ack=Latency.of_ns(acked), hub_cpu_cores=cpu.hub_cores,
        bottleneck=verdict(cpu, config.workers, 0.0),
    )


async def run_sharing(config: SharingConfig) -> SharingResult:
    """For each mode: a hub with a fresh database, the load, the numbers."""
    options = HubOptions(config.database_url, config.redis_url, config.workers,
                         tuple(config.hub_args))
    result = SharingResult(config, options.label)
    with contextlib.ExitStack() as stack:
        base = (Path(config.data_dir) if config.data_dir else
                Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))))
        for mode in config.modes:
            async with running_hub(options, base / f"hub-{mode}") as hub:
                result.runs.append(await _run_mode(config, mode, hub))
    return result
