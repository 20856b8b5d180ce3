"""One socket's outgoing side: a bounded queue drained by one writer task.

Fan-out only appends to the queue and never awaits a socket, so a slow device never slows its
room; a device whose queue overflows is closed with 1013 and resumes with ``since``.

The writer also keeps the device's place in its user's change log (``next_seq``): a change
below it is a repeat and dropped, a change above it means a gap, which is filled from the log
before sending on. Everything a socket receives goes through here, in one task.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from hub.errors import CloseCode

log = logging.getLogger("todohub.sender")

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]
# (after, upto) -> change frames with after < seq <= upto, in order (a page may be shorter).
Fill = Callable[[int, int], Awaitable[list[tuple[int, str]]]]
Head = Callable[[], Awaitable[int]]
CatchUp = Callable[[Send], Awaitable[int]]

_CHECK = object()


class Sender:
    """The queue and writer of one socket.

    An idle socket holds no queue and no wake-up object (20,000 of them are the point): the
    queue exists while frames wait, and the writer makes a future only when it goes to sleep.
    """

    __slots__ = ("_send", "_close", "_fill", "_head", "_max", "_items", "_waiter", "_closing",
                 "_on_overflow", "_on_delivery", "next_seq")

    def __init__(
        self,
        send: Send,
        close: Close,
        fill: Fill,
        head: Head,
        max_queue: int,
        on_overflow: Callable[[], None] = lambda: None,
        on_delivery: Callable[[int], None] = lambda n: None,
    ) -> None:
        self._send, self._close, self._fill, self._head = send, close, fill, head
        self._max = max_queue
        self._items: deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._closing: tuple[int, str] | None = None
        self._on_overflow = on_overflow
        self._on_delivery = on_delivery
        self.next_seq = 0  # set by catch-up; before it every change waits in the queue

    def push_change(self, seq: int, text: str) -> None:
        """Queue a change frame of this user (may be a repeat or leave a gap)."""
        self._put((seq, text))

    def push(self, text: str) -> None:
        """Queue a frame that is not a change (ack, error, presence...)."""
        self._put(text)

    def check_log(self) -> None:
        """Ask the writer to look in the log for changes it has not delivered."""
        self._put(_CHECK)

    def close(self, code: int, reason: str = "") -> None:
        """Close the socket once what is already queued is sent (at once after an overflow);
        later calls are ignored."""
        if self._closing is None:
            self._closing = (code, reason)
            self._wake()

    @property
    def closing(self) -> bool:
        """Whether a close was requested."""
        return self._closing is not None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _put(self, item: Any) -> None:
        if self._closing is not None:
            return
        items = self._items
        if items is None:
            items = self._items = deque()
        if len(items) >= self._max:
            items.clear()
            self._on_overflow()
            log.warning("send queue of a socket overflowed (%d frames); closing it with 1013",
                        self._max)
            self.close(CloseCode.TRY_AGAIN, "send queue overflow")
            return
        items.append(item)
        self._wake()

    async def run(self, catch_up: CatchUp) -> None:
        """Send the catch-up, then drain the queue until the socket closes."""
        try:
            synced = await catch_up(self._send)
            del catch_up  # what it read is not kept for the socket's life
            self.next_seq = synced + 1
            while True:
                items = self._items
                if self._closing is not None and (
                    not items or self._closing[0] == CloseCode.TRY_AGAIN
                ):
                    break
                if not items:
                    self._items = items = None  # an idle socket keeps no queue
                    self._waiter = asyncio.get_running_loop().create_future()
                    try:
                        await self._waiter
                    finally:
                        self._waiter = None
                    continue
                item = items.popleft()
                if isinstance(item, str):
                    await self._send(item)
                elif item is _CHECK:
                    await self._deliver_upto(await self._head())
                else:
                    seq, text = item
                    if seq < self.next_seq:
                        continue
                    if seq > self.next_seq:
                        await self._deliver_upto(seq - 1)
                        if seq < self.next_seq:
                            continue
                    await self._send(text)
                    self.next_seq = seq + 1
                    self._on_delivery(1)
            code, reason = self._closing
            await self._close(code, reason)
        except (OSError, RuntimeError, ConnectionError) as exc:
            # The client went away mid-write: nothing to do but stop.
            log.debug("socket writer stopped: %s", exc)

    async def _deliver_upto(self, upto: int) -> None:
        """Send every change from ``next_seq`` to ``upto`` from the log."""
        while self.next_seq <= upto:
            frames = await self._fill(self.next_seq - 1, upto)
            if not frames:
                log.warning(
                    "change log has no change after seq %d (wanted up to %d); skipping ahead",
                    self.next_seq - 1, upto,
                )
                self.next_seq = upto + 1
                return
            for seq, text in frames:
                if seq >= self.next_seq:
                    await self._send(text)
                    self.next_seq = seq + 1
                    self._on_delivery(1)
