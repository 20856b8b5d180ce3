"""A TCP proxy owned by a test, which can drop a connection at the worst moment: after the
hub answered, before the client read the answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tests.services import free_port


class DroppingProxy:
    """Forwards 127.0.0.1:<port> to the hub; ``drop_answers`` answers are swallowed and
    their connections cut."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.drop_answers = 0
        self.dropped = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        writers = [writer]
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            writers.append(up_writer)

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                           answers: bool) -> None:
                while data := await src.read(65536):
                    if answers and self.drop_answers > 0:
                        self.drop_answers -= 1
                        self.dropped += 1
                        writer.transport.abort()
                        up_writer.transport.abort()
                        return
                    dst.write(data)
                    await dst.drain()
                dst.close()

            await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True),
                                 return_exceptions=True)
        except OSError:
            pass
        finally:
            # Both ends are closed and waited for on every way out, a cancellation by stop()
            # included, so no transport outlives the test's loop unclosed.
            for each in writers:
                each.close()
            for each in writers:
                with contextlib.suppress(BaseException):
                    await each.wait_closed()
            self._tasks.discard(task)


@contextlib.asynccontextmanager
async def dropping_proxy(target_port: int) -> AsyncIterator[DroppingProxy]:
    """A running DroppingProxy in front of ``target_port``."""
    proxy = DroppingProxy(target_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
