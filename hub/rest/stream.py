"""GET /api/changes/stream: the user's changes as Server-Sent Events, for scripts.

One event per change, ``id: <seq>`` and the change frame (exactly as on the socket) in
``data``; heartbeat comments keep proxies from timing the stream out. ``since`` (or the
``Last-Event-ID`` header a reconnecting EventSource sends, which wins) says where to start;
without either the stream starts at the current seq. The rules are the socket's: a
``since`` older than the log answers 409, as GET /api/changes does.

sse-starlette does the event framing, the heartbeats, noticing a client that went away and
ending streams when the server shuts down (uvicorn would otherwise wait for them, then
cancel them with an error in the log). The change log is the truth: a room member only
wakes the stream, which then reads what follows its last event from the log, so a missed,
repeated or reordered broker message can neither lose nor double an event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import anyio
from sqlalchemy.exc import SQLAlchemyError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from auth.errors import InvalidToken
from auth.tokens import AccessClaims
from hub.authn import authenticate, bearer_token, is_personal
from hub.catchup import check_retained
from hub.context import HubContext
from hub.rest.common import hub_of, signed_in, whole_number
from hub.rest.queries import SEQ_MAX, StreamQuery
from hub.rest.spec import Operation, query_of, routes_of

log = logging.getLogger("todohub.stream")
# Longest single wait, so that a token's expiry is noticed even when nothing happens.
WAIT_MAX = 3600.0


class _Wakeup:
    """A room member that wakes one stream; revocation of its token ends it."""

    def __init__(self, claims: AccessClaims) -> None:
        self.event = asyncio.Event()
        self.ended = False
        # Every session ended: the token survives a logout of all, not a deleted account.
        self.recheck = False
        self._session_id = claims.session_id
        self._personal = is_personal(claims)

    def deliver_change(self, seq: int, text: str) -> None:
        self.event.set()

    def deliver(self, text: str) -> None:
        """Presence is not a change."""

    def check_log(self) -> None:
        self.event.set()

    def revoke(self, session_id: str | None) -> None:
        if session_id is None and self._personal:
            self.recheck = True
            self.event.set()
        elif session_id is None or session_id == self._session_id:
            self.ended = True
            self.event.set()


def _since(request: Request) -> int | None:
    header = request.headers.get("last-event-id", "").strip()
    if header:
        return whole_number(header, "Last-Event-ID", 0, 0, SEQ_MAX)
    return query_of(StreamQuery, request).since


async def _events(hub: HubContext, user_id: str, token: str, claims: AccessClaims,
                  since: int) -> AsyncIterator[ServerSentEvent]:
    member = _Wakeup(claims)
    last = since
    await hub.rooms.join(user_id, member)
    try:
        while not member.ended:
            member.event.clear()
            try:
                if member.recheck:
                    member.recheck = False
                    await authenticate(hub.db, hub.issuer, token)
                page = await hub.catchup.fill(user_id, last, SEQ_MAX)
            except InvalidToken:
                return
            except (SQLAlchemyError, OSError) as exc:
                log.warning("database unavailable while streaming changes (%s); ending the "
                            "stream after seq %d so the client resumes", exc.__class__.__name__,
                            last)
                return
            for seq, frame in page:
                yield ServerSentEvent(data=frame, id=str(seq))
                last = seq
            if page:
                continue
            left = claims.expires_at - time.time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(member.event.wait(), min(left, WAIT_MAX))
            except TimeoutError:
                pass
    finally:
        # Also when the client went away and the stream is being cancelled.
        with anyio.CancelScope(shield=True):
            await hub.rooms.leave(user_id, member)


async def stream(request: Request) -> Response:
    """Server-Sent Events of the user's changes after ``since`` / ``Last-Event-ID``."""
    hub = hub_of(request)
    user, claims = await signed_in(request)
    token = bearer_token(request.headers.get("authorization")) or ""
    since = _since(request)
    seq, pruned = await hub.catchup.position(user.id)
    if since is None:
        since = seq
    check_retained(since, pruned)
    heartbeat = hub.settings.sse_heartbeat
    return EventSourceResponse(_events(hub, user.id, token, claims, since), ping=heartbeat,
                               sep="\n", send_timeout=30)


operations = [
    Operation("GET", "/api/changes/stream", stream, {200: "events"}, "changes",
              query=StreamQuery, headers=("Last-Event-ID",), errors=(409,)),
]
routes = routes_of(operations)
