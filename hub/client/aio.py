"""``AsyncHub``: the asyncio client, and the one copy of every method's logic.

Each method builds its request in hub.client._calls and sends it through
:meth:`AsyncHub.call` (retries and typed errors); ``watch`` drives hub.client._watch over a
socket. How bytes travel is a carrier (hub.client._io): asyncio here, blocking for
:class:`hub.client.Hub`, which runs these same methods without an event loop.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from typing import Any, Unpack, cast

import httpx
from websockets.exceptions import InvalidHandshake

from hub.client import _calls as calls
from hub.client._io import AsyncCarrier, Carrier
from hub.client._watch import Backoff, WatchState
from hub.client.errors import Unreachable
from hub.client.types import (
    BatchResult,
    Change,
    Invitation,
    InvitePreview,
    List,
    Role,
    Stats,
    Todo,
    TodoFields,
    TodoFilters,
    TodoPatch,
)

# Failures after which the request cannot have reached the hub, so any request may be resent.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


class AsyncHub:
    """A todohub at ``url`` (``http://host:port``), used with ``token`` (a personal access
    token, ``thp_...``, or an access JWT). Every write carries an idempotency key made
    here, and a write that fails on the way (connection refused, dropped, timed out) is sent
    again with the same key, so it is applied once."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0,
                 retry: calls.Retry | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 carrier: Carrier | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.retry = retry or calls.Retry()
        self.timeout = timeout
        self._io = carrier or AsyncCarrier(self.url, timeout, transport)
        self._user_id: str | None = None
        self.todos = AsyncTodos(self)
        self.lists = AsyncLists(self)

    async def __aenter__(self) -> AsyncHub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._io.close()

    async def call(self, call: calls.Call) -> Any:
        """Send a request, retrying what may be retried; the decoded answer or ApiError."""
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = await self._io.request(call, self.token)
            except httpx.TransportError as exc:
                resend = call.replayable or isinstance(exc, _NOT_SENT)
                if attempt >= self.retry.attempts or not resend:
                    raise Unreachable(f"the hub at {self.url} did not answer: "
                                      f"{exc.__class__.__name__} {exc}".strip()) from None
                await self._io.sleep(self.retry.delay(attempt))
                continue
            if 200 <= answer.status < 300:
                return calls.result_of(answer.status, answer.content)
            error = calls.error_of(answer.status, answer.headers, answer.content)
            if attempt >= self.retry.attempts or not calls.should_retry(
                    answer.status, answer.headers):
                raise error
            await self._io.sleep(self.retry.delay(attempt, error.retry_after))

    async def me(self) -> dict[str, Any]:
        """The user the token belongs to."""
        user = cast(dict[str, Any], await self.call(calls.me()))
        self._user_id = str(user["id"])
        return user

    async def user_id(self) -> str:
        """The id of the token's user (asked once)."""
        return self._user_id or str((await self.me())["id"])

    async def watch(self, since: int | None = None, *, device: str | None = None,
                    retries: int = 5) -> AsyncIterator[Change]:
        """Yield every change of the user after ``since`` (None: from now), live, for as
        long as the caller iterates: todo changes and list changes (``op`` ``list`` and
        ``list_removed``, see :class:`hub.client.Change`). Reconnects with backoff and
        resumes where it was, so nothing is missed or repeated. Gives up (Unreachable) only
        when the first ``retries`` attempts all fail; once connected, it keeps trying. A loop
        that stops early closes the socket at once when it iterates inside
        ``contextlib.aclosing(hub.watch())``."""
        state = WatchState(self.token, since, device)
        backoff = Backoff()
        address = calls.ws_url(self.url)
        failures = 0
        while True:
            closed: tuple[int | None, str] = (None, "")
            try:
                async with self._io.connect(address) as ws:
                    await ws.send(state.hello())
                    while (message := await ws.receive()) is not None:
                        for change in state.receive(message):
                            yield change
                        if state.synced:
                            backoff.reset()
                    closed = ws.closed_with()
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                if state.sessions == 0:
                    failures += 1
                    if failures >= retries:
                        raise Unreachable(f"the hub at {self.url} did not answer: "
                                          f"{exc.__class__.__name__} {exc}".strip()) from None
            state.closed(*closed)
            await self._io.sleep(backoff.next())


class AsyncTodos:
    """The todos of every list the user belongs to."""

    def __init__(self, hub: AsyncHub) -> None:
        self._hub = hub

    async def list(self, **filters: Unpack[TodoFilters]) -> AsyncIterator[Todo]:
        """Every todo matching the filters (status, completed, priority, tag, q, due_before,
        due_after, overdue, sort, list_id, assignee), page after page, each once."""
        query = calls.filters(**filters)
        seen: set[str] = set()
        page, pages = 1, 1
        while page <= pages:
            answer = await self._hub.call(calls.list_page(query, page))
            pages = int(answer["pages"])
            for todo in answer["items"]:
                if todo["id"] not in seen:
                    seen.add(todo["id"])
                    yield cast(Todo, todo)
            page += 1

    async def get(self, todo_id: str) -> Todo:
        """One todo; NotFound when there is none."""
        return cast(Todo, await self._hub.call(calls.get(todo_id)))

    async def create(self, title: str, **fields: Unpack[TodoFields]) -> Todo:
        """Create a todo (in the inbox unless ``list_id`` says another list)."""
        return cast(Todo, await self._hub.call(calls.create({"title": title, **fields})))

    async def update(self, todo_id: str, *, if_version: int | None = None,
                     **patch: Unpack[TodoPatch]) -> Todo:
        """Change the given fields (``list_id`` moves it, ``assignee`` assigns it); with
        ``if_version``, Conflict when the todo changed."""
        return cast(Todo, await self._hub.call(calls.update(todo_id, dict(patch), if_version)))

    async def delete(self, todo_id: str, *, if_version: int | None = None) -> None:
        """Delete a todo."""
        await self._hub.call(calls.delete(todo_id, if_version))

    async def batch(self, ops: Sequence[dict[str, Any]]) -> BatchResult:
        """Apply up to 100 operations (``{"type": "create" | "update" | "delete", ...}``)
        atomically."""
        return cast(BatchResult, await self._hub.call(calls.batch([dict(op) for op in ops])))

    async def stats(self, list_id: str | None = None) -> Stats:
        """Counts per status, overdue and the completion rate, over one list or all."""
        return cast(Stats, await self._hub.call(calls.stats(list_id)))


class AsyncLists:
    """The user's lists, their members and invitations."""

    def __init__(self, hub: AsyncHub) -> None:
        self._hub = hub

    async def list(self) -> builtins.list[List]:
        """Every list of the user, the inbox first, then by name."""
        return cast(builtins.list[List], (await self._hub.call(calls.lists()))["lists"])

    async def get(self, list_id: str) -> List:
        """One list; NotFound when the user does not belong to it."""
        return cast(List, await self._hub.call(calls.list_get(list_id)))

    async def create(self, name: str, *, id: str | None = None) -> List:  # noqa: A002
        """Create a list owned by the user (``id``: a client-made UUID)."""
        return cast(List, await self._hub.call(calls.list_create(name, id)))

    async def rename(self, list_id: str, name: str, if_version: int | None = None) -> List:
        """Rename a list (owner); with ``if_version``, Conflict when it changed."""
        return cast(List, await self._hub.call(calls.list_rename(list_id, name, if_version)))

    async def delete(self, list_id: str, if_version: int | None = None) -> None:
        """Delete a list and every todo in it (owner)."""
        await self._hub.call(calls.list_delete(list_id, if_version))

    async def invite(self, list_id: str, role: Role = "editor", expires_in: int | None = None,
                     max_uses: int | None = None) -> Invitation:
        """A new invitation (owner); its ``token`` and ``url`` are shown only here."""
        call = calls.invite(list_id, role, expires_in, max_uses)
        return cast(Invitation, await self._hub.call(call))

    async def invites(self, list_id: str) -> builtins.list[Invitation]:
        """The list's open invitations, without tokens (owner)."""
        return cast(builtins.list[Invitation],
                    (await self._hub.call(calls.invites(list_id)))["invites"])

    async def revoke_invite(self, list_id: str, invite_id: str) -> None:
        """Revoke an invitation (owner)."""
        await self._hub.call(calls.revoke_invite(list_id, invite_id))

    async def preview(self, token: str) -> InvitePreview:
        """What an invitation (its token or url) offers, before joining."""
        return cast(InvitePreview, await self._hub.call(calls.preview(token)))

    async def accept(self, token: str) -> List:
        """Join the list of an invitation (its token or url); a member keeps their role."""
        return cast(List, await self._hub.call(calls.accept(token)))

    async def set_role(self, list_id: str, user_id: str, role: Role) -> List:
        """Give a member another role (owner); ``owner`` hands the list over."""
        return cast(List, await self._hub.call(calls.set_role(list_id, user_id, role)))

    async def remove_member(self, list_id: str, user_id: str) -> None:
        """Remove a member (owner), or oneself."""
        await self._hub.call(calls.remove_member(list_id, user_id))

    async def leave(self, list_id: str) -> None:
        """Leave a list (an owner hands it over first)."""
        await self.remove_member(list_id, await self._hub.user_id())
