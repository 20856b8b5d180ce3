"""GET /api/changes: the change log after ``since``, long-polling when there is nothing yet."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.catchup import check_retained
from hub.rest import answers
from hub.rest.common import JSON, hub_of, signed_in
from hub.rest.queries import ChangesQuery
from hub.rest.spec import Operation, query_of, routes_of
from storage.changes import frames_between, log_position
from storage.codec import loads


class _Waiter:
    """A room member that only notices that something arrived."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def deliver_change(self, seq: int, text: str) -> None:
        self.event.set()

    def deliver(self, text: str) -> None:
        """Presence is not a change."""

    def check_log(self) -> None:
        self.event.set()

    def revoke(self, session_id: str | None) -> None:
        self.event.set()


async def _read(request: Request, user_id: str, since: int, limit: int) -> dict[str, Any] | None:
    async with hub_of(request).db.read(consistent=True) as conn:
        seq, pruned = await log_position(conn, user_id)
        check_retained(since, pruned)
        if since >= seq:
            return None if since == seq else {"changes": [], "seq": seq}
        frames = await frames_between(conn, user_id, since, seq, limit)
    return {"changes": [loads(frame) for _, frame in frames], "seq": seq}


async def changes(request: Request) -> Response:
    """Changes after ``since`` (at most ``limit``), waiting up to ``wait`` s for the first."""
    hub = hub_of(request)
    user, _ = await signed_in(request)
    query = query_of(ChangesQuery, request)
    since, limit = query.since, query.limit
    wait = min(float(query.wait), hub.settings.long_poll_max)
    result = await _read(request, user.id, since, limit)
    if result is None and wait > 0:
        waiter = _Waiter()
        await hub.rooms.join(user.id, waiter)
        try:
            # Read again after joining, so a change committed meanwhile is not waited past.
            result = await _read(request, user.id, since, limit)
            if result is None:
                try:
                    await asyncio.wait_for(waiter.event.wait(), wait)
                except TimeoutError:
                    pass
                result = await _read(request, user.id, since, limit)
        finally:
            await hub.rooms.leave(user.id, waiter)
    if result is None:
        async with hub.db.read() as conn:
            seq, _ = await log_position(conn, user.id)
        result = {"changes": [], "seq": seq}
    return JSON(result)


operations = [
    Operation("GET", "/api/changes", changes, {200: answers.Changes}, "changes",
              query=ChangesQuery, errors=(409,)),
]
routes = routes_of(operations)
