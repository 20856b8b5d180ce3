"""The write path, for sockets and REST alike: apply a command in a transaction, commit,
publish every change to the room of each member it reached, answer.

Commands that arrive while a transaction is in flight go together into the next one (group
commit), written with a fixed number of statements (storage.writer.GroupWriter); a refused
command leaves no trace and does not undo its neighbours, and a command that makes the
writer fail is found by writing the group again one by one, and answered alone. Under light
load a group is one command and nothing waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError, StatementError

from hub.brokers.base import Broker
from hub.errors import ErrorCode, HubError
from hub.metrics import Metrics
from hub.rooms import change_message, room_name
from storage.engine import Database
from storage.errors import CommandRejected
from storage.list_commands import is_list_command
from storage.types import Applied, Change, Command, Limits
from storage.writer import GroupWriter

log = logging.getLogger("todohub.dispatch")

# Publishes of different users in flight at once (Redis: one pooled connection each).
PUBLISHERS = 8


# Called once with a command's outcome: its Applied, or the error that refused it.
Reply = Callable[[Applied | None, Exception | None], None]


class _Pending:
    """A queued command and whom to tell its outcome: a future (``submit``) or a reply
    called in commit order (``send``)."""

    __slots__ = ("user_id", "command", "device", "future", "reply", "started", "result",
                 "error")

    def __init__(self, user_id: str, command: Command, device: str,
                 future: asyncio.Future[Applied] | None, reply: Reply | None) -> None:
        self.user_id, self.command, self.device = user_id, command, device
        self.future, self.reply = future, reply
        self.started = time.perf_counter()
        self.result: Applied | None = None
        self.error: Exception | None = None

    @property
    def settled(self) -> bool:
        """Whether its outcome was already given."""
        return self.future.done() if self.future is not None else self.reply is None

    def settle(self, result: Applied | None, error: Exception | None) -> None:
        """Give the outcome, once: the result when there is one, else the error."""
        future, reply = self.future, self.reply
        if future is not None:
            if not future.done():
                if result is not None:
                    future.set_result(result)
                else:
                    future.set_exception(error or HubError(ErrorCode.INTERNAL,
                                                           "internal error"))
            return
        if reply is None:
            return
        self.reply = None
        try:
            reply(result, error)
        except Exception:
            # As a future's callback would be: one device's failure is not its neighbours'.
            log.exception("answering a command failed")


def _unavailable(exc: Exception) -> bool:
    """Whether a failed write means the database is away (the client retries the command)
    rather than a bug: a value the database refused (DataError), or an error of ours that
    SQLAlchemy wrapped on its way (a StatementError that is not a driver error)."""
    if isinstance(exc, DataError):
        return False
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError):
        return False
    return isinstance(exc, SQLAlchemyError | OSError)


class Dispatcher:
    """Runs the single writer loop of this process, and the loop that publishes what it
    committed and answers.

    The two are apart so that the next transaction starts while the last one's changes are
    still being published (with Redis, a round trip per change); they stay in commit order,
    and a command is answered only once its changes are published.
    """

    def __init__(self, db: Database, broker: Broker, metrics: Metrics, max_group: int,
                 limits: Limits | None = None) -> None:
        self._db = db
        self._broker = broker
        self._metrics = metrics
        self._max_group = max_group
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        # Committed groups, in commit order: (sorted by user, as received).
        self._outbox: asyncio.Queue[tuple[list[_Pending], list[_Pending]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._accepting = True
        self._busy = False
        self._publishing = False
        self.limits = limits or Limits()
        self._writer = GroupWriter(db, limits=self.limits)

    async def start(self) -> None:
        """Start the writer loop and the publishing loop."""
        self._task = asyncio.create_task(self._run(), name="todohub-writer")
        self._publisher = asyncio.create_task(self._publish_loop(), name="todohub-publisher")

    async def stop(self, grace: float) -> None:
        """Refuse new commands, let queued and in-flight ones finish for up to ``grace``
        seconds, then stop."""
        self._accepting = False
        deadline = time.monotonic() + grace
        while (self._busy or self._publishing or not self._queue.empty()
               or not self._outbox.empty()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for task in (self._task, self._publisher):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        await self._writer.close()
        left = [self._queue.get_nowait() for _ in range(self._queue.qsize())]
        while not self._outbox.empty():
            left += self._outbox.get_nowait()[1]
        for pending in left:
            pending.settle(None, HubError(ErrorCode.UNAVAILABLE,
                                          "the hub is shutting down; retry"))

    def submit(self, user_id: str, command: Command, device: str) -> asyncio.Future[Applied]:
        """Queue ``command``; the future gives its Applied or raises HubError."""
        future: asyncio.Future[Applied] = asyncio.get_running_loop().create_future()
        self._enqueue(_Pending(user_id, command, device, future, None))
        return future

    def send(self, user_id: str, command: Command, device: str, reply: Reply) -> None:
        """Queue ``command``; ``reply`` is called once with its Applied (and no error) or
        with the HubError that refused it, in commit order, right after its changes are
        published (so an ack leaves in the same turn as its change frames)."""
        self._enqueue(_Pending(user_id, command, device, None, reply))

    def _enqueue(self, pending: _Pending) -> None:
        if not self._accepting:
            pending.settle(None, HubError(ErrorCode.UNAVAILABLE, "the hub is shutting down"))
            return
        self._queue.put_nowait(pending)

    async def execute(self, user_id: str, command: Command, device: str) -> Applied:
        """Apply ``command`` and wait for its answer."""
        return await self.submit(user_id, command, device)

    async def _run(self) -> None:
        carried: _Pending | None = None
        while True:
            group = [carried or await self._queue.get()]
            carried = None
            # List commands and membership writes go in groups of their own (their own
            # transaction, storage.list_commands), todo commands together.
            kind = is_list_command(group[0].command)
            while len(group) < self._max_group and not self._queue.empty():
                pending = self._queue.get_nowait()
                if is_list_command(pending.command) != kind:
                    carried = pending
                    break
                group.append(pending)
            self._busy = True
            try:
                self._outbox.put_nowait((await self._write(group), group))
            except asyncio.CancelledError:
                self._fail_all(group + ([carried] if carried else []), HubError(
                    ErrorCode.UNAVAILABLE, "the hub is shutting down; retry"))
                raise
            except Exception:
                log.exception("writer loop failed on a group of %d commands", len(group))
                self._fail_all(group, HubError(ErrorCode.INTERNAL, "internal error"))
            finally:
                self._busy = False

    async def _publish_loop(self) -> None:
        while True:
            ordered, group = await self._outbox.get()
            self._publishing = True
            try:
                await self._publish_group(ordered)
                for pending in group:
                    self._answer(pending)
            except asyncio.CancelledError:
                self._fail_all(group, HubError(ErrorCode.UNAVAILABLE,
                                               "the hub is shutting down; retry"))
                raise
            except Exception:
                log.exception("publishing a group of %d commands failed", len(group))
                self._fail_all(group, HubError(ErrorCode.INTERNAL, "internal error"))
            finally:
                self._publishing = False

    async def _publish_group(self, ordered: list[_Pending]) -> None:
        """Publish the group's changes: one user's in seq order, different users' side by
        side, a few at a time (with Redis each publish is a round trip on a pooled
        connection; a broker that never waits takes them one after another)."""
        by_user: dict[str, list[tuple[int, str]]] = {}
        for pending in ordered:
            if pending.result is not None:
                for user_id, seq, frame in pending.result.changes:
                    by_user.setdefault(user_id, []).append((seq, frame))
        users = iter(by_user.items())

        async def publisher() -> None:
            for user_id, frames in users:
                for seq, frame in frames:
                    await self._publish(user_id, seq, frame)

        if len(by_user) == 1 or self._broker.immediate:
            await publisher()
        elif by_user:
            await asyncio.gather(*(publisher()
                                   for _ in range(min(PUBLISHERS, len(by_user)))))

    @staticmethod
    def _fail_all(group: list[_Pending], error: HubError) -> None:
        for pending in group:
            pending.settle(None, error)

    async def _write(self, group: list[_Pending]) -> list[_Pending]:
        """Commit the group; returns it in the order its changes are to be published.

        Whatever goes wrong while writing a group (the database, or a command the rules did
        not foresee), no command may fail its neighbours: the group is written again one
        command at a time, and only the ones that fail alone are answered with an error."""
        self._metrics.group_size.observe(len(group))
        # One lock order for every process (PostgreSQL row locks): by user, stable within one.
        ordered = sorted(group, key=lambda p: p.user_id)
        try:
            await self._transaction(ordered)
        except Exception as exc:
            if len(ordered) == 1:
                self._fail(ordered[0], exc)
            else:
                log.warning("group commit of %d failed (%s); writing them one by one",
                            len(ordered), exc.__class__.__name__)
                for pending in ordered:
                    pending.result = pending.error = None
                    try:
                        await self._transaction([pending])
                    except Exception as single:
                        self._fail(pending, single)
        return ordered

    async def _transaction(self, group: list[_Pending]) -> None:
        # One transaction with a fixed number of statements for the whole group.
        outcomes = await self._writer.write(
            [(pending.user_id, pending.command, pending.device) for pending in group]
        )
        for pending, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, CommandRejected):
                pending.error = HubError(outcome.code, outcome.message, outcome.details,
                                         outcome.todo, list=outcome.list)
            else:
                pending.result = outcome

    def _fail(self, pending: _Pending, exc: Exception) -> None:
        pending.result = None
        if _unavailable(exc):
            log.warning("database write failed (%s: %s); answering unavailable",
                        exc.__class__.__name__, str(exc).splitlines()[0] if str(exc) else "")
            pending.error = HubError(ErrorCode.UNAVAILABLE,
                                     "the database is not available; retry")
        else:
            log.error("writing a %s command of user %s failed; answering internal",
                      pending.command.kind, pending.user_id, exc_info=exc)
            pending.error = HubError(ErrorCode.INTERNAL, "internal error")

    async def publish(self, changes: list[Change]) -> None:
        """Publish changes committed outside the writer (an account's departure)."""
        for user_id, seq, frame in changes:
            await self._publish(user_id, seq, frame)

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
        if pending.settled:
            return
        if pending.result is not None:
            result = "duplicate" if pending.result.duplicate else "ok"
            self._count(kind, result)
            pending.settle(pending.result, None)
        else:
            error = pending.error or HubError(ErrorCode.INTERNAL, "internal error")
            code = error.code.value if isinstance(error, HubError) else "internal"
            self._count(kind, code)
            pending.settle(None, error)

    def _count(self, kind: str, result: str) -> None:
        self._metrics.command(kind, result).inc()
