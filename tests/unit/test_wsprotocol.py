"""The lean inbox and write gate of the socket protocol behave as asyncio's Queue and Event
do for uvicorn: order kept, nothing lost to a cancelled reader, waiters woken; a text frame
made here is the frame websockets makes."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from hub.wsprotocol import _Gate, _Gathered, _Inbox, text_frame


def _websockets_frame(payload: bytes) -> bytes:
    return Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


def test_text_frame_is_websockets_frame_at_every_length_boundary() -> None:
    """At each size where the length's encoding changes, the bytes are websockets' own, and
    a client's parser reads the payload back."""
    for size in (0, 1, 125, 126, 127, 0xFFFF, 0x10000, 0x10001, 200_000):
        payload = b"x" * size
        made = text_frame(payload)
        assert made == _websockets_frame(payload), size
        reader = StreamReader()
        reader.feed_data(made)
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            frame = done.value
        assert frame.opcode is Opcode.TEXT and frame.fin and frame.data == payload


@given(st.text(max_size=3000))
def test_text_frame_is_websockets_frame_for_any_text(text: str) -> None:
    """Any text, encoded, framed as websockets frames it."""
    payload = text.encode()
    assert text_frame(payload) == _websockets_frame(payload)


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


class _Transport:
    """Records what is written and when it closes."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.written.append(b"<close>")
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_writes_of_one_turn_go_out_together_and_in_order() -> None:
    """Three frames written in one turn are one write; a close sends what is pending first;
    nothing is written after the close; other calls reach the transport."""
    transport = _Transport()
    gathered = _Gathered(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    for frame in (b"welcome", b"change", b"synced"):
        gathered.write(frame)
    assert transport.written == []
    await asyncio.sleep(0)
    assert transport.written == [b"welcomechangesynced"]
    gathered.write(b"last")
    gathered.close()
    gathered.write(b"too late")
    await asyncio.sleep(0)
    assert transport.written == [b"welcomechangesynced", b"last", b"<close>"]
    assert gathered.get_extra_info("socket") == "info:socket"
