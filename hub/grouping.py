"""Calls that arrive together answered together: the asks that wait while one group is in
flight go in the next, as the writer groups commands (a restart storm's hellos share reads).

A burst's asks do not arrive in one turn of the event loop (each comes out of its own
socket's handshake and sign-in), so the first group waits a few turns while more keep
coming. A turn of an idle loop takes microseconds: a lone ask barely waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

A = TypeVar("A")
R = TypeVar("R")


class Grouped(Generic[A, R]):
    """``await grouped(ask)`` is ``many([ask])[0]``, with waiting asks grouped (at most
    ``max_group`` at a time); a failure of ``many`` is raised to every ask of its group.

    Before the first group, up to ``linger`` turns of the event loop pass while asks keep
    arriving; it goes at the first turn that brought none (``linger=0`` goes at once)."""

    def __init__(self, many: Callable[[Sequence[A]], Awaitable[Sequence[R]]],
                 max_group: int, linger: int = 0) -> None:
        self._many = many
        self._max = max_group
        self._linger = linger
        self._waiting: list[tuple[A, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, ask: A) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((ask, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            await self._gather()
            while self._waiting:
                group = self._waiting[:self._max]
                del self._waiting[:self._max]
                try:
                    answers = await self._many([ask for ask, _ in group])
                except asyncio.CancelledError:
                    for _, future in group + self._waiting:
                        future.cancel()
                    raise
                except Exception as exc:  # noqa: BLE001 (each waiting ask gets it)
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), answer in zip(group, answers, strict=True):
                    if not future.done():  # its caller went away meanwhile
                        future.set_result(answer)
        finally:
            self._runner = None

    async def _gather(self) -> None:
        arrived = len(self._waiting)
        for _ in range(self._linger):
            if arrived >= self._max:
                return
            await asyncio.sleep(0)
            if len(self._waiting) == arrived:
                return
            arrived = len(self._waiting)


class PerKey:
    """``await per_key(key)`` runs ``work(key)`` once for every call with that key made in
    the same turn of the event loop (the hellos of a burst resume together): later calls
    join the pending run, and a call after the run has started starts another, so each
    call is answered by a run that began after it."""

    def __init__(self, work: Callable[[str], Awaitable[None]]) -> None:
        self._work = work
        self._pending: dict[str, asyncio.Future[None]] = {}

    async def __call__(self, key: str) -> None:
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(self._run(key))
        await asyncio.shield(pending)

    async def _run(self, key: str) -> None:
        try:
            await asyncio.sleep(0)  # the other calls of this turn join first
        finally:
            del self._pending[key]
        await self._work(key)
