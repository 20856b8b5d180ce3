"""The per-socket sender: repeats dropped, gaps filled from the log, overflow closes 1013."""

from __future__ import annotations

import asyncio

from hub.sender import Sender

LOG = {seq: f"change-{seq}" for seq in range(1, 50)}


class Sink:
    """Collects what a Sender sends and how it closes."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None

    async def send(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def fill(after: int, upto: int) -> list[tuple[int, str]]:
    """Pages of two from the fake log."""
    return [(s, LOG[s]) for s in range(after + 1, upto + 1)][:2]


async def head() -> int:
    return 12


def make(sink: Sink, max_queue: int = 100) -> Sender:
    return Sender(sink.send, sink.close, fill, head, max_queue)


async def _run(sender: Sender, synced: int) -> asyncio.Task[None]:
    async def catch_up(send: object) -> int:
        return synced

    task = asyncio.create_task(sender.run(catch_up))
    await asyncio.sleep(0)
    return task


async def test_repeats_are_dropped_and_gaps_filled_in_order() -> None:
    """Out-of-order and repeated deliveries come out as consecutive seqs, each once."""
    sink = Sink()
    sender = make(sink)
    for seq in (3, 1, 7, 7, 2, 8, 5):
        sender.push_change(seq, LOG[seq])
    sender.push("ack")
    task = await _run(sender, synced=0)
    sender.close(1000)
    await asyncio.wait_for(task, 2)
    assert sink.sent == [LOG[s] for s in range(1, 9)] + ["ack"]
    assert sink.closed == (1000, "")


async def test_changes_before_synced_are_repeats() -> None:
    """Live changes queued during catch-up at or below synced's seq are not sent again."""
    sink = Sink()
    sender = make(sink)
    for seq in (4, 5, 6):
        sender.push_change(seq, LOG[seq])
    task = await _run(sender, synced=5)
    sender.close(1000)
    await asyncio.wait_for(task, 2)
    assert sink.sent == [LOG[6]]


async def test_check_log_delivers_what_the_broker_lost() -> None:
    """After a broker outage, check_log sends everything up to the log's head."""
    sink = Sink()
    sender = make(sink)
    task = await _run(sender, synced=9)
    sender.check_log()
    sender.close(1000)
    await asyncio.wait_for(task, 2)
    assert sink.sent == [LOG[10], LOG[11], LOG[12]]


async def test_overflow_closes_1013_at_once() -> None:
    """A queue past its bound is dropped and the socket closed with 1013."""
    sink = Sink()
    sender = make(sink, max_queue=3)
    for seq in range(1, 6):
        sender.push_change(seq, LOG[seq])
    task = await _run(sender, synced=0)
    await asyncio.wait_for(task, 2)
    assert sink.closed is not None and sink.closed[0] == 1013
    assert sink.sent == []
