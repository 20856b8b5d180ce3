"""The hub's CPU per WebSocket handshake, in this process, without the network: uvicorn's
protocols as the hub configures them (``hub.serving``), the hub's application with its /ws
endpoint, and a socket whose session only waits for the close.

Each round makes the HTTP protocol a transport that records what is written, feeds it one
upgrade request (as a browser or the benchmarks' client sends it), runs the loop until the
101 response is written, then drops the connection. ``time.process_time`` over the rounds
is the handshake's CPU (uvicorn's HTTP parsing, the upgrade, the WebSocket handshake and the
response, the ASGI scope and task, the endpoint's origin check and accept), nothing else.
``python -m bench.handshake [--rounds N] [--profile FILE.prof]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import os
import statistics
import sys
import time
from types import SimpleNamespace
from typing import Any

REQUEST = (
    b"GET /ws HTTP/1.1\r\n"
    b"Host: 127.0.0.1:8000\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: %s\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    b"User-Agent: Python/3.11 websockets/17.4\r\n"
    b"\r\n"
)


class Transport:
    """Enough of an asyncio transport for uvicorn's protocols; keeps what is written (also
    the handshake tests' transport)."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False
        self.protocol: Any = None

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def writelines(self, data: list[bytes]) -> None:
        for item in data:
            self.write(item)

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol

    def get_protocol(self) -> Any:
        return self.protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default)

    def get_write_buffer_size(self) -> int:
        return 0


class _Waiting:
    """A session that does nothing but wait for its socket to close."""

    def __init__(self, websocket: Any, hub: Any) -> None:
        self.ws = websocket

    async def run(self) -> None:
        await self.ws.receive()


async def _rounds(rounds: int, profile: str | None) -> list[float]:
    import uvicorn
    from uvicorn.server import ServerState

    import hub.websocket
    from hub.app import create_app
    from hub.config import Settings
    from hub.serving import uvicorn_options

    settings = Settings(data_dir="/nonexistent")
    app = create_app(settings)
    app.state.hub = SimpleNamespace(settings=settings)
    setattr(hub.websocket, "Session", _Waiting)  # noqa: B010 (the endpoint's session)
    options = {**uvicorn_options(settings), "log_level": "warning"}
    config = uvicorn.Config(app, lifespan="off", **options)
    config.load()
    state = ServerState()
    loop = asyncio.get_running_loop()
    keys = [base64.b64encode(os.urandom(16)) for _ in range(256)]
    times: list[float] = []
    profiler = cProfile.Profile() if profile else None
    batch = 100
    for start in range(0, rounds, batch):
        if profiler:
            profiler.enable()
        began = time.process_time()
        for n in range(start, min(rounds, start + batch)):
            transport = Transport()
            protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=state, app_state={}, _loop=loop)
            transport.protocol = protocol
            protocol.connection_made(transport)  # type: ignore[arg-type]
            protocol.data_received(REQUEST % keys[n % len(keys)])
            for _ in range(20):
                if transport.written:
                    break
                await asyncio.sleep(0)
            assert transport.written and transport.written[0].startswith(
                b"HTTP/1.1 101 "), transport.written
            transport.protocol.connection_lost(None)
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        times.append((time.process_time() - began) / batch * 1e6)
        if profiler:
            profiler.disable()
    while state.tasks:
        await asyncio.sleep(0)
    if profiler and profile:
        profiler.dump_stats(profile)
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print the CPU per handshake."""
    parser = argparse.ArgumentParser(prog="python -m bench.handshake")
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--profile", metavar="FILE.prof", default=None)
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        times = asyncio.run(_rounds(args.rounds, args.profile))
    else:
        times = uvloop.run(_rounds(args.rounds, args.profile))
    times = times[len(times) // 10:]  # the first batches warm up
    print(f"handshake: {args.rounds} upgrades in process, CPU per handshake "
          f"median {statistics.median(times):.1f} us, "
          f"best batch {min(times):.1f} us (batches of 100)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
