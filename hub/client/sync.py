"""``Hub``: the blocking client (httpx and websockets' sync client)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from hub.client import _calls as calls
from hub.client._watch import Backoff, WatchState
from hub.client.errors import Unreachable
from hub.client.types import BatchResult, Change, Todo


class Hub:
    """A todohub at ``url`` (``http://host:port``), used with ``token`` (a personal access
    token, ``thp_...``, or an access JWT). Every write carries an idempotency key made
    here, and a write that fails on the way (connection refused, dropped, timed out) is sent
    again with the same key, so it is applied once."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0,
                 retry: calls.Retry | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.retry = retry or calls.Retry()
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self.todos = Todos(self)

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(self, call: calls.Call) -> Any:
        """Send a request, retrying what may be retried; the decoded answer or ApiError."""
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self._http.request(call.method, call.path, params=call.params,
                                            content=call.content(),
                                            headers=call.headers(self.token))
            except httpx.TransportError as exc:
                if attempt >= self.retry.attempts:
                    raise Unreachable(f"the hub at {self.url} did not answer: "
                                      f"{exc.__class__.__name__} {exc}".strip()) from None
                time.sleep(self.retry.delay(attempt))
                continue
            if answer.is_success:
                return calls.result_of(answer.status_code, answer.content)
            error = calls.error_of(answer.status_code, answer.headers, answer.content)
            if attempt >= self.retry.attempts or not calls.should_retry(
                    answer.status_code, answer.headers):
                raise error
            time.sleep(self.retry.delay(attempt, error.retry_after))

    def me(self) -> dict[str, Any]:
        """The user the token belongs to."""
        return cast(dict[str, Any], self.call(calls.me()))

    def watch(self, since: int | None = None, *, device: str | None = None,
              retries: int = 5) -> Iterator[Change]:
        """Yield every change of the user after ``since`` (None: from now), live, for as
        long as the caller iterates; reconnects with backoff and resumes where it was, so
        nothing is missed or repeated. Gives up (Unreachable) only when the first
        ``retries`` attempts all fail; once connected, it keeps trying."""
        state = WatchState(self.token, since, device)
        backoff = Backoff()
        address = calls.ws_url(self.url)
        failures = 0
        while True:
            code: int | None = None
            reason = ""
            try:
                with connect(address, open_timeout=self.timeout, max_size=None) as ws:
                    ws.send(state.hello())
                    try:
                        for message in ws:
                            yield from state.receive(message)
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
            time.sleep(backoff.next())


class Todos:
    """The user's todos."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def list(self, **filters: Any) -> Iterator[Todo]:
        """Every todo matching the filters (status, completed, priority, tag, q, due_before,
        due_after, overdue, sort, list_id, assignee), page after page, each once."""
        query = calls.filters(**filters)
        seen: set[str] = set()
        page, pages = 1, 1
        while page <= pages:
            answer = self._hub.call(calls.list_page(query, page))
            pages = int(answer["pages"])
            for todo in answer["items"]:
                if todo["id"] not in seen:
                    seen.add(todo["id"])
                    yield cast(Todo, todo)
            page += 1

    def get(self, todo_id: str) -> Todo:
        """One todo; NotFound when there is none."""
        return cast(Todo, self._hub.call(calls.get(todo_id)))

    def create(self, title: str, **fields: Any) -> Todo:
        """Create a todo (fields: description, priority, due_at, tags, order, id, list_id)."""
        return cast(Todo, self._hub.call(calls.create({"title": title, **fields})))

    def update(self, todo_id: str, *, if_version: int | None = None, **patch: Any) -> Todo:
        """Change the given fields; with ``if_version``, Conflict when the todo changed."""
        return cast(Todo, self._hub.call(calls.update(todo_id, patch, if_version)))

    def delete(self, todo_id: str) -> None:
        """Delete a todo."""
        self._hub.call(calls.delete(todo_id))

    def batch(self, ops: Sequence[dict[str, Any]]) -> BatchResult:
        """Apply up to 100 operations (``{"type": "create" | "update" | "delete", ...}``)
        atomically."""
        return cast(BatchResult, self._hub.call(calls.batch([dict(op) for op in ops])))

    def stats(self) -> dict[str, Any]:
        """Counts per status, overdue and the completion rate."""
        return cast(dict[str, Any], self._hub.call(calls.stats()))
