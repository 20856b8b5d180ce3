"""The fan-out benchmark's load: an open-loop schedule of creates, and devices that time
and check every change they receive."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.accounts import Account
from bench.devices import Device


class Tally:
    """Counts shared by every device of a run."""

    def __init__(self) -> None:
        self.count_after_ns = 0
        self.acks = 0
        self.fanout = 0
        self.own = 0
        self.repeats = 0
        self.out_of_order = 0
        self.latencies: list[int] = []
        self.ack_latencies: list[int] = []
        self.first_ns = 0
        self.last_ns = 0


class FanoutDevice(Device):
    """Checks every change: once, in seq order; measures its latency."""

    def __init__(self, account: Account, user: int, index: int, tally: Tally) -> None:
        super().__init__(account, user, index)
        self.tally = tally
        self.seen: set[int] = set()
        self.last_seq: int | None = None

    def on_synced(self, seq: int) -> None:
        self.last_seq = seq

    def on_frame(self, frame: dict[str, Any], now_ns: int) -> None:
        kind = frame.get("type")
        tally = self.tally
        if kind == "change":
            seq = frame["seq"]
            if seq in self.seen:
                tally.repeats += 1
                return
            self.seen.add(seq)
            if self.last_seq is not None and seq != self.last_seq + 1:
                tally.out_of_order += 1
            self.last_seq = seq
            sent_ns = int(frame["todo"]["title"].split(":", 2)[1])
            if tally.first_ns == 0:
                tally.first_ns = now_ns
            tally.last_ns = now_ns
            if frame["origin"]["device"] == self.name:
                tally.own += 1
            else:
                tally.fanout += 1
                if sent_ns >= tally.count_after_ns:
                    tally.latencies.append(now_ns - sent_ns)
        elif kind == "ack":
            tally.acks += 1
            sent_ns = int(frame["todo"]["title"].split(":", 2)[1])
            if sent_ns >= tally.count_after_ns:
                tally.ack_latencies.append(now_ns - sent_ns)


async def send_on_schedule(senders: list[FanoutDevice], rate: float, duration: float,
                lags: list[int]) -> int:
    """Send creates on an open-loop schedule; returns how many were sent."""
    total = int(rate * duration)
    interval = 1e9 / rate
    start = time.perf_counter_ns()
    count = len(senders)
    k = 0
    while k < total:
        now = time.perf_counter_ns()
        due = start + int(k * interval)
        if now < due:
            await asyncio.sleep((due - now) / 1e9)
            continue
        while k < total and start + int(k * interval) <= now:
            device = senders[k % count]
            sent = time.perf_counter_ns()
            sock = device.sock
            if sock is not None and sock.open:
                sock.send(f'{{"type":"create","id":"c{k}","todo":{{"title":"t:{sent}:{k}"}}}}')
            lags.append(sent - (start + int(k * interval)))
            k += 1
        # Let the receiving side run between bursts.
        await asyncio.sleep(0)
    return total
