"""The floor: the least a WebSocket todo server can do, as a peer for the benchmarks.

A bare ``websockets`` server that checks the access token of the first frame (pyjwt, HS256,
the secret it is given), answers hello with welcome, one snapshot (or the changes after
``since``) and synced, and for each create does one aiosqlite insert and commit before sending
the ack and broadcasting the change to the user's sockets. Nothing else: no sessions, no
presence, no rate limits, no batching. ``python -m bench.floor --port P --data-dir D
--secret S``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aiosqlite
import jwt
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

SCHEMA = ("create table if not exists todos (user_id text not null, seq integer not null, "
          "id text not null, title text not null, device text not null, op text, "
          "primary key (user_id, seq))")


class Floor:
    """The server's state: one database connection, the open sockets and seq of each user."""

    def __init__(self, db: aiosqlite.Connection, secret: str) -> None:
        self.db = db
        self.secret = secret
        self.sockets: dict[str, set[ServerConnection]] = {}
        self.seqs: dict[str, int] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    async def seq_of(self, user_id: str) -> int:
        """The user's last seq (read once, then kept)."""
        if user_id not in self.seqs:
            async with self.db.execute("select max(seq) from todos where user_id = ?",
                                       (user_id,)) as cursor:
                row = await cursor.fetchone()
            self.seqs.setdefault(user_id, int(row[0] or 0) if row else 0)
        return self.seqs[user_id]

    async def handle(self, ws: ServerConnection) -> None:
        """Serve one socket: hello, catch-up, then creates."""
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            claims = jwt.decode(hello["token"], self.secret, algorithms=["HS256"],
                                options={"require": ["exp", "sub"]})
        except Exception:  # noqa: BLE001 (any bad hello closes the socket)
            await ws.close(4001, "unauthorized")
            return
        user_id, device = str(claims["sub"]), str(hello.get("device", ""))
        peers = self.sockets.setdefault(user_id, set())
        lock = self.locks.setdefault(user_id, asyncio.Lock())
        async with lock:  # no change slips between the catch-up read and joining
            seq = await self.seq_of(user_id)
            since = hello.get("since")
            async with self.db.execute(
                "select seq, id, title, device, op from todos where user_id = ? and seq > ? "
                "order by seq", (user_id, since if isinstance(since, int) else 0),
            ) as cursor:
                rows = list(await cursor.fetchall())
            await ws.send(json.dumps({"type": "welcome", "user": {"id": user_id},
                                      "device": device, "seq": seq}))
            if isinstance(since, int):
                for row in rows:
                    await ws.send(_change(row[0], row[1], row[2], row[3], row[4]))
            else:
                todos = [{"id": r[1], "title": r[2]} for r in rows]
                await ws.send(json.dumps({"type": "snapshot", "seq": seq, "lists": [],
                                          "todos": todos, "more": False}))
            await ws.send(json.dumps({"type": "synced", "seq": seq}))
            peers.add(ws)
        try:
            async for text in ws:
                await self.command(ws, user_id, device, json.loads(text), lock)
        except Exception:  # noqa: BLE001, S110 (the socket went away)
            pass
        finally:
            peers.discard(ws)

    async def command(self, ws: ServerConnection, user_id: str, device: str,
                      frame: dict[str, Any], lock: asyncio.Lock) -> None:
        """Persist a create, ack it, broadcast its change."""
        if frame.get("type") != "create":
            await ws.send(json.dumps({"type": "error", "id": frame.get("id"),
                                      "code": "bad_request"}))
            return
        op, title = frame.get("id"), str(frame.get("todo", {}).get("title", ""))
        async with lock:
            seq = self.seqs[user_id] = await self.seq_of(user_id) + 1
            todo_id = f"{user_id}-{seq}"
            await self.db.execute("insert into todos values (?, ?, ?, ?, ?, ?)",
                                  (user_id, seq, todo_id, title, device, op))
            await self.db.commit()
            await ws.send(json.dumps({"type": "ack", "id": op,
                                      "todo": {"id": todo_id, "title": title}}))
            change = _change(seq, todo_id, title, device, op)
            for peer in list(self.sockets.get(user_id, ())):
                try:
                    await peer.send(change)
                except Exception:  # noqa: BLE001, S110 (that peer went away)
                    pass


def _change(seq: int, todo_id: str, title: str, device: str, op: str | None) -> str:
    return json.dumps({"type": "change", "seq": seq, "op": "create",
                       "todo": {"id": todo_id, "title": title},
                       "origin": {"device": device, "op": op}})


def _health(connection: ServerConnection, request: Request) -> Response | None:
    if request.path == "/health":
        return Response(HTTPStatus.OK, "OK", Headers([("Content-Length", "2")]), b"ok")
    return None


async def main(host: str, port: int, data_dir: Path, secret: str) -> None:
    """Serve until interrupted."""
    data_dir.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(data_dir / "floor.db") as db:
        await db.execute("pragma journal_mode=wal")
        await db.execute("pragma synchronous=normal")
        await db.execute(SCHEMA)
        await db.commit()
        floor = Floor(db, secret)
        server: Server
        async with serve(floor.handle, host, port, process_request=_health,
                         compression=None, max_size=2**20) as server:
            await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(main(args.host, args.port, Path(args.data_dir), args.secret))
    except KeyboardInterrupt:
        sys.exit(0)
