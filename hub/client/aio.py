"""``AsyncHub``: the asyncio client (httpx and websockets' asyncio client)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from hub.client import _calls as calls
from hub.client._watch import Backoff, WatchState
from hub.client.errors import Unreachable
from hub.client.types import BatchResult, Change, Todo


class AsyncHub:
    """The asyncio twin of :class:`hub.client.Hub`: the same methods, awaited."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0,
                 retry: calls.Retry | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.retry = retry or calls.Retry()
        self.timeout = timeout
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)
        self.todos = AsyncTodos(self)

    async def __aenter__(self) -> AsyncHub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def call(self, call: calls.Call) -> Any:
        """Send a request, retrying what may be retried; the decoded answer or ApiError."""
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = await self._http.request(call.method, call.path, params=call.params,
                                                  content=call.content(),
                                                  headers=call.headers(self.token))
            except httpx.TransportError as exc:
                if attempt >= self.retry.attempts:
                    raise Unreachable(f"the hub at {self.url} did not answer: "
                                      f"{exc.__class__.__name__} {exc}".strip()) from None
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            if answer.is_success:
                return calls.result_of(answer.status_code, answer.content)
            error = calls.error_of(answer.status_code, answer.headers, answer.content)
            if attempt >= self.retry.attempts or not calls.should_retry(
                    answer.status_code, answer.headers):
                raise error
            await asyncio.sleep(self.retry.delay(attempt, error.retry_after))

    async def me(self) -> dict[str, Any]:
        """The user the token belongs to."""
        return cast(dict[str, Any], await self.call(calls.me()))

    async def watch(self, since: int | None = None, *, device: str | None = None,
                    retries: int = 5) -> AsyncIterator[Change]:
        """Yield every change of the user after ``since`` (None: from now), live; reconnects
        with backoff and resumes where it was, so nothing is missed or repeated. Gives up
        (Unreachable) only when the first ``retries`` attempts all fail."""
        state = WatchState(self.token, since, device)
        backoff = Backoff()
        address = calls.ws_url(self.url)
        failures = 0
        while True:
            code: int | None = None
            reason = ""
            try:
                async with connect(address, open_timeout=self.timeout, max_size=None) as ws:
                    await ws.send(state.hello())
                    try:
                        async for message in ws:
                            for change in state.receive(message):
                                yield change
                            if state.synced:
                                backoff.reset()
                    except ConnectionClosed:
                        pass
                    code, reason = ws.close_code, ws.close_reason or ""
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                if state.sessions == 0:
                    failures += 1
                    if failures >= retries:
                        raise Unreachable(f"the hub at {self.url} did not answer: "
                                          f"{exc.__class__.__name__} {exc}".strip()) from None
            state.closed(code, reason)
            await asyncio.sleep(backoff.next())


class AsyncTodos:
    """The user's todos."""

    def __init__(self, hub: AsyncHub) -> None:
        self._hub = hub

    async def list(self, **filters: Any) -> AsyncIterator[Todo]:
        """Every todo matching the filters, page after page, each once."""
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

    async def create(self, title: str, **fields: Any) -> Todo:
        """Create a todo (fields: description, priority, due_at, tags, order, id, list_id)."""
        return cast(Todo, await self._hub.call(calls.create({"title": title, **fields})))

    async def update(self, todo_id: str, *, if_version: int | None = None,
                     **patch: Any) -> Todo:
        """Change the given fields; with ``if_version``, Conflict when the todo changed."""
        return cast(Todo, await self._hub.call(calls.update(todo_id, patch, if_version)))

    async def delete(self, todo_id: str) -> None:
        """Delete a todo."""
        await self._hub.call(calls.delete(todo_id))

    async def batch(self, ops: Sequence[dict[str, Any]]) -> BatchResult:
        """Apply up to 100 operations atomically."""
        return cast(BatchResult, await self._hub.call(calls.batch([dict(op) for op in ops])))

    async def stats(self) -> dict[str, Any]:
        """Counts per status, overdue and the completion rate."""
        return cast(dict[str, Any], await self._hub.call(calls.stats()))
