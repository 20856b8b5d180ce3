"""The write path, for sockets and REST alike: apply a command in a transaction, commit,
publish every change to the user's room, answer.

Commands that arrive while a transaction is in flight go together into the next one (group
commit), each in its own savepoint so that one refused command does not undo its neighbours.
Under light load a group is one command and nothing waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from hub.brokers.base import Broker
from hub.errors import ErrorCode, HubError
from hub.metrics import Metrics
from hub.rooms import change_message, room_name
from storage.commands import apply
from storage.engine import Database
from storage.errors import CommandRejected
from storage.types import Applied, Command

log = logging.getLogger("todohub.dispatch")


@dataclass
class _Pending:
    user_id: str
    command: Command
    device: str
    future: asyncio.Future[Applied]
    started: float = field(default_factory=time.perf_counter)
    result: Applied | None = None
    error: Exception | None = None


class Dispatcher:
    """Runs the single writer loop of this process."""

    def __init__(self, db: Database, broker: Broker, metrics: Metrics, max_group: int) -> None:
        self._db = db
        self._broker = broker
        self._metrics = metrics
        self._max_group = max_group
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._accepting = True
        self._busy = False

    async def start(self) -> None:
        """Start the writer loop."""
        self._task = asyncio.create_task(self._run(), name="todohub-writer")

    async def stop(self, grace: float) -> None:
        """Refuse new commands, let queued and in-flight ones finish for up to ``grace``
        seconds, then stop."""
        self._accepting = False
        deadline = time.monotonic() + grace
        while (self._busy or not self._queue.empty()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(
                    HubError(ErrorCode.UNAVAILABLE, "the hub is shutting down; retry")
                )

    def submit(self, user_id: str, command: Command, device: str) -> asyncio.Future[Applied]:
        """Queue ``command``; the future gives its Applied or raises HubError."""
        future: asyncio.Future[Applied] = asyncio.get_running_loop().create_future()
        if not self._accepting:
            future.set_exception(HubError(ErrorCode.UNAVAILABLE, "the hub is shutting down"))
            return future
        self._queue.put_nowait(_Pending(user_id, command, device, future))
        return future

    async def execute(self, user_id: str, command: Command, device: str) -> Applied:
        """Apply ``command`` and wait for its answer."""
        return await self.submit(user_id, command, device)

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self._max_group and not self._queue.empty():
                group.append(self._queue.get_nowait())
            self._busy = True
            try:
                await self._write(group)
            except asyncio.CancelledError:
                for pending in group:
                    if not pending.future.done():
                        pending.future.set_exception(
                            HubError(ErrorCode.UNAVAILABLE, "the hub is shutting down; retry")
                        )
                raise
            except Exception:
                log.exception("writer loop failed on a group of %d commands", len(group))
                for pending in group:
                    if not pending.future.done():
                        pending.future.set_exception(
                            HubError(ErrorCode.INTERNAL, "internal error")
                        )
            finally:
                self._busy = False

    async def _write(self, group: list[_Pending]) -> None:
        self._metrics.group_size.observe(len(group))
        # One lock order for every process (PostgreSQL row locks): by user, stable within one.
        ordered = sorted(group, key=lambda p: p.user_id)
        try:
            await self._transaction(ordered)
        except (DBAPIError, SQLAlchemyError, OSError) as exc:
            if len(ordered) == 1:
                self._fail(ordered[0], exc)
            else:
                # Keep one bad command from failing its neighbours: write each alone.
                log.warning("group commit of %d failed (%s); retrying one by one",
                            len(ordered), exc.__class__.__name__)
                for pending in ordered:
                    pending.result = pending.error = None
                    try:
                        await self._transaction([pending])
                    except (DBAPIError, SQLAlchemyError, OSError) as single:
                        self._fail(pending, single)
        for pending in ordered:
            if pending.result is not None:
                for seq, frame in pending.result.frames:
                    await self._publish(pending.user_id, seq, frame)
        for pending in group:
            self._answer(pending)

    async def _transaction(self, group: list[_Pending]) -> None:
        async with self._db.write() as conn:
            for pending in group:
                try:
                    async with conn.begin_nested():
                        pending.result = await apply(
                            conn, pending.user_id, pending.command, pending.device
                        )
                except CommandRejected as exc:
                    pending.error = HubError(exc.code, exc.message, exc.details, exc.todo)

    def _fail(self, pending: _Pending, exc: Exception) -> None:
        log.warning("database write failed (%s: %s); answering unavailable",
                    exc.__class__.__name__, str(exc).splitlines()[0] if str(exc) else "")
        pending.result = None
        pending.error = HubError(ErrorCode.UNAVAILABLE, "the database is not available; retry")

    async def _publish(self, user_id: str, seq: int, frame: str) -> None:
        try:
            await self._broker.publish(room_name(user_id), change_message(seq, frame))
        except Exception as exc:  # a broker must not raise, but a write is never failed by it
            self._metrics.broker_errors.inc()
            log.warning("publish of seq %d failed (%s); devices catch up from the log", seq, exc)

    def _answer(self, pending: _Pending) -> None:
        kind = pending.command.kind
        elapsed = time.perf_counter() - pending.started
        self._metrics.command_latency.observe(elapsed)
        if pending.future.done():
            return
        if pending.result is not None:
            result = "duplicate" if pending.result.duplicate else "ok"
            self._metrics.commands.labels(kind, result).inc()
            pending.future.set_result(pending.result)
        else:
            error = pending.error or HubError(ErrorCode.INTERNAL, "internal error")
            code = error.code.value if isinstance(error, HubError) else "internal"
            self._metrics.commands.labels(kind, code).inc()
            pending.future.set_exception(error)
