"""Where a hello's time goes: each step of the hello path timed alone, in this process, on a
hub's own database (SQLite, in-process broker), one hello after another.

A hub is started to register the users (and give each ``todos`` todos through a socket),
then stopped; the same data folder is opened here with ``hub.app.build_context`` and, for
each user, the steps a socket's hello takes are run in turn and timed: the token check
(``TokenIssuer.verify``), the session lookup (``authenticate`` without the token check),
joining the room and presence and publishing presence, the catch-up reads and the frames'
encoding (``CatchUp.run`` with a send that only collects the text). What the sockets cost
(handshake, ASGI, frames on the wire) is the rest of the hub's CPU per hello in
``bench hellos``.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.hubproc import HubOptions, running_hub
from bench.storm import CatchUpDevice, _close, _open_all, _write

Step = Callable[[], Awaitable[object]]


async def _prepare(data_dir: Path, users: int, todos: int) -> list[str]:
    async with running_hub(HubOptions(), data_dir) as hub:
        accounts = await hub.accounts(users)
        writers = [CatchUpDevice(a, i, 0) for i, a in enumerate(accounts)]
        _, errors = await _open_all(hub, writers, 100, 1, 60.0)
        if errors:
            raise RuntimeError(errors[0])
        if todos:
            await _write(writers, todos, 60.0)
        await _close(writers)
        return [a.token for a in accounts]


async def run_hellopath(users: int = 300, todos: int = 50) -> str:
    """Time each step of the hello path for ``users`` hellos resuming (since = head - 1) and
    as many taking a snapshot; the report, in microseconds per hello."""
    from hub.app import build_context, close_context
    from hub.authn import authenticate
    from hub.config import Settings

    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        data_dir = Path(folder) / "hub"
        tokens = await _prepare(data_dir, users, todos)
        hub = await build_context(Settings(data_dir=str(data_dir), access_ttl=3600))
        try:
            times: dict[str, list[float]] = {}

            def timed(name: str, started: float) -> None:
                times.setdefault(name, []).append((time.perf_counter() - started) * 1e6)

            sink: list[str] = []

            async def send(text: str) -> None:
                sink.append(text)

            for n, token in enumerate(tokens):
                t = time.perf_counter()
                claims = hub.issuer.verify(token)
                timed("token check (pyjwt verify)", t)
                t = time.perf_counter()
                user, _ = await authenticate(hub.db, hub.issuer, token)
                timed("session lookup (authenticate, incl. verify)", t)
                t = time.perf_counter()
                await hub.presence.join(user.id, f"c{n}", {"device": "d", "agent": "",
                                                          "since": "x"})
                await hub.publish_presence(user.id)
                timed("presence join + publish", t)
                head = await hub.catchup.head(user.id)
                since = max(0, head - 1)
                t = time.perf_counter()
                state = await hub.catchup.begin(user.id, since, claims.session_id)
                timed("hello read, resuming one behind (session, position, changes)", t)
                t = time.perf_counter()
                await hub.catchup.run(send, user.public(), "d", since, state,
                                      claims.expires_at, 25.0)
                timed("catch-up frames, resuming one behind (encodes)", t)
                t = time.perf_counter()
                state = await hub.catchup.begin(user.id, None, claims.session_id)
                timed(f"hello read, snapshot of {todos} todos (session, position, snapshot)", t)
                t = time.perf_counter()
                await hub.catchup.run(send, user.public(), "d", None, state,
                                      claims.expires_at, 25.0)
                timed(f"catch-up frames, snapshot of {todos} todos (encodes)", t)
                await hub.presence.leave(user.id, f"c{n}")
                await hub.publish_presence(user.id)
        finally:
            await close_context(hub)
    lines = [f"hello path, step by step ({users} hellos one after another, SQLite; "
             f"microseconds, median and p90)"]
    for name, values in times.items():
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        lines.append(f"  {name:<66} {statistics.median(values):>8.0f} {p90:>8.0f}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(asyncio.run(run_hellopath()))
