"""The lean inbox and write gate of the socket protocol behave as asyncio's Queue and Event
do for uvicorn: order kept, nothing lost to a cancelled reader, waiters woken."""

from __future__ import annotations

import asyncio

from hub.wsprotocol import _Gate, _Inbox


async def test_inbox_keeps_order_and_waits() -> None:
    """Items come out in the order they went in; a reader waits for the next one."""
    inbox = _Inbox()
    assert inbox.empty()
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert inbox.qsize() == 2
    assert [await inbox.get(), await inbox.get()] == [1, 2]
    assert inbox.empty()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait(3)
    assert await asyncio.wait_for(reader, 5) == 3


async def test_inbox_loses_nothing_to_a_cancelled_reader() -> None:
    """A reader cancelled after it was woken leaves the item for the next read."""
    inbox = _Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("x")
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    assert await asyncio.wait_for(inbox.get(), 5) == "x"


async def test_gate_blocks_while_cleared_and_wakes_every_waiter() -> None:
    """wait() passes while set, waits while cleared, and set() wakes all waiters."""
    gate = _Gate()
    gate.set()
    assert await gate.wait()
    gate.clear()
    assert not gate.is_set()
    waiters = [asyncio.create_task(gate.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    gate.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 5) == [True, True, True]
