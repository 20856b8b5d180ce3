"""The hub's CPU per hello, in this process, without the network: the whole path of a
resuming device from its upgrade request to ``synced``, as ``bench hellos`` drives it, but
with each socket's transport a recorder, so that neither the kernel nor a load generator
shares the count, and a change of a few microseconds shows.

A hub is started to register the users and give each one change, then stopped; its data
folder is opened here (``hub.app.build_context``) under the hub's own application and
uvicorn's protocols as the hub configures them (``hub.serving``). In waves of
``concurrency``, each socket gets its upgrade request, then (after its 101) a hello one
change behind its user's head; the loop runs until every socket of the wave has its
``synced``, and the wave's sockets are dropped (kept, with ``--keep``).
``time.process_time`` over the waves, after the first tenth, is the CPU per hello.
``python -m bench.hellocpu [--users N] [--concurrency N] [--rounds N] [--profile FILE.prof]``

With every hello of a wave arriving together, their reads are one group and their frames
one write each turn: ``--concurrency 1`` is the other end, one hello at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import cProfile
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from websockets.frames import Frame, Opcode

from bench.handshake import REQUEST, Transport
from bench.hellopath import _prepare

T = TypeVar("T")


def client_frame(data: dict[str, Any]) -> bytes:
    """``data`` as a client's (masked) text frame."""
    return Frame(Opcode.TEXT, json.dumps(data).encode()).serialize(mask=True)


def hello_frame(token: str, since: int, device: str = "d") -> bytes:
    """A hello resuming after ``since``."""
    return client_frame({"type": "hello", "protocol": 1, "token": token, "device": device,
                         "since": since})


class InProcess:
    """The hub's application under uvicorn's protocols as the hub configures them, on this
    loop, with sockets whose transports record what is written (``open``)."""

    def __init__(self, hub: Any, config: Any, state: Any) -> None:
        self.hub, self._config, self._state = hub, config, state
        self._keys = [base64.b64encode(os.urandom(16)) for _ in range(256)]
        self._opened = 0

    def open(self) -> Transport:
        """A new connection that has sent its upgrade request."""
        transport = Transport()
        protocol = self._config.http_protocol_class(
            config=self._config, server_state=self._state, app_state={},
            _loop=asyncio.get_running_loop())
        transport.protocol = protocol
        protocol.connection_made(transport)
        protocol.data_received(REQUEST % self._keys[self._opened % len(self._keys)])
        self._opened += 1
        return transport

    async def drop(self, transports: list[Transport]) -> None:
        """Close the connections and wait for their tasks to end."""
        for transport in transports:
            transport.protocol.connection_lost(None)
        await until(lambda: not self._state.tasks)


@contextlib.asynccontextmanager
async def in_process(data_dir: Path, users: int, todos: int,
                     ) -> AsyncIterator[tuple[InProcess, list[str]]]:
    """A hub started to register ``users`` with ``todos`` each and stopped, its data folder
    opened in this process; with the users' access tokens."""
    import uvicorn
    from uvicorn.server import ServerState

    from hub.app import build_context, close_context, create_app
    from hub.config import Settings
    from hub.serving import uvicorn_options

    tokens = await _prepare(data_dir, users, todos)
    settings = Settings(data_dir=str(data_dir), access_ttl=3600, log_level="warning")
    hub = await build_context(settings)
    try:
        app = create_app(settings)
        app.state.hub = hub
        config = uvicorn.Config(app, lifespan="off", **uvicorn_options(settings))
        config.load()
        yield InProcess(hub, config, ServerState()), tokens
    finally:
        await close_context(hub)


async def cpu_per_hello(users: int, concurrency: int, rounds: int, profile: str | None,
                        data_dir: Path, keep: bool = False) -> list[float]:
    """CPU microseconds per hello of each wave after the first tenth; raises RuntimeError
    when a wave's sockets are not all synced."""
    async with in_process(data_dir, users, 1) as (served, tokens):
        hub = served.hub
        hellos = []
        for token in tokens:
            head = await hub.catchup.head(hub.issuer.verify(token).user_id)
            hellos.append(hello_frame(token, max(0, head - 1)))
        profiler = cProfile.Profile() if profile else None
        times: list[float] = []
        for wave in range(rounds):
            if profiler and wave == rounds // 10:
                profiler.enable()
            began = time.process_time()
            sockets: list[tuple[Transport, bytes]] = []
            for n in range(concurrency):
                sockets.append((served.open(), hellos[(wave * concurrency + n) % len(hellos)]))
            await until(lambda: all(t.written for t, _ in sockets))
            for transport, hello in sockets:
                transport.protocol.data_received(hello)
            await until(lambda: all(b'"synced"' in b"".join(t.written) for t, _ in sockets))
            if not keep:
                await served.drop([t for t, _ in sockets])
            times.append((time.process_time() - began) / concurrency * 1e6)
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        return times[rounds // 10:]


async def until(done: Any, turns: int = 100_000) -> None:
    """Run the loop until ``done()``; RuntimeError after ``turns`` turns."""
    for _ in range(turns):
        if done():
            return
        await asyncio.sleep(0)
    raise RuntimeError("the hub did not answer in process")


def run_in_folder(work: Callable[[Path], Coroutine[Any, Any, T]]) -> T:
    """Run ``work(a hub's data folder)`` to its end, on uvloop when it is installed; the
    folder is temporary."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        run: Any = asyncio.run
    else:
        run = uvloop.run
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        result: T = run(work(Path(folder) / "hub"))
        return result


def main(argv: list[str] | None = None) -> int:
    """Run the waves and print the CPU per hello."""
    parser = argparse.ArgumentParser(prog="python -m bench.hellocpu")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=200, help="waves")
    parser.add_argument("--profile", metavar="FILE.prof", default=None)
    parser.add_argument("--keep", action="store_true",
                        help="keep every socket open, as bench hellos does")
    args = parser.parse_args(argv)
    times = run_in_folder(lambda data_dir: cpu_per_hello(
        args.users, args.concurrency, args.rounds, args.profile, data_dir, args.keep))
    print(f"hello: {args.rounds} waves of {args.concurrency} resuming hellos in process, "
          f"CPU per hello median {statistics.median(times):.1f} us, "
          f"best wave {min(times):.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
