"""``Hub``: the blocking client, made from :class:`hub.client.AsyncHub`'s methods.

A Hub holds an AsyncHub whose carrier does blocking I/O behind ``async`` methods that never
suspend (hub.client._io). Each of its methods is then a coroutine that runs from start to
end in one step, and :func:`run` takes that step without an event loop. So every method
here is the async one, typed the same but for the ``await``, and there is one copy of what
each method does. A Hub works inside a running event loop too (it never touches it), but
blocks it: use AsyncHub there.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import httpx

from hub.client import _calls as calls
from hub.client._io import BlockingCarrier
from hub.client.aio import AsyncHub, AsyncLists, AsyncTodos

P = ParamSpec("P")
T = TypeVar("T")


def run(awaitable: Awaitable[T]) -> T:
    """The result of an awaitable that completes without suspending."""
    steps = awaitable.__await__()
    try:
        steps.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    steps.close()
    raise RuntimeError("a blocking client call waited on the event loop; its carrier "
                       "must do blocking I/O only")


def blocking(
    method: Callable[Concatenate[Any, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Any, P], T]:
    """The blocking twin of an async method, called on the instance's ``_core``."""
    def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return run(method(self._core, *args, **kwargs))

    functools.update_wrapper(call, method)
    return call


def blocking_iter(
    method: Callable[Concatenate[Any, P], AsyncIterator[T]],
) -> Callable[Concatenate[Any, P], Generator[T, None, None]]:
    """The blocking twin of an async generator method; closing the iterator closes it."""
    def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> Generator[T, None, None]:
        items = method(self._core, *args, **kwargs)
        try:
            while True:
                try:
                    yield run(items.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            close = getattr(items, "aclose", None)
            if close is not None:
                run(close())

    functools.update_wrapper(call, method)
    return call


class Todos:
    """The todos of every list the user belongs to (see :class:`AsyncTodos`)."""

    def __init__(self, core: AsyncTodos) -> None:
        self._core = core

    list = blocking_iter(AsyncTodos.list)
    get = blocking(AsyncTodos.get)
    create = blocking(AsyncTodos.create)
    update = blocking(AsyncTodos.update)
    delete = blocking(AsyncTodos.delete)
    batch = blocking(AsyncTodos.batch)
    stats = blocking(AsyncTodos.stats)


class Lists:
    """The user's lists, their members and invitations (see :class:`AsyncLists`)."""

    def __init__(self, core: AsyncLists) -> None:
        self._core = core

    list = blocking(AsyncLists.list)
    get = blocking(AsyncLists.get)
    create = blocking(AsyncLists.create)
    rename = blocking(AsyncLists.rename)
    delete = blocking(AsyncLists.delete)
    invite = blocking(AsyncLists.invite)
    invites = blocking(AsyncLists.invites)
    revoke_invite = blocking(AsyncLists.revoke_invite)
    preview = blocking(AsyncLists.preview)
    accept = blocking(AsyncLists.accept)
    set_role = blocking(AsyncLists.set_role)
    remove_member = blocking(AsyncLists.remove_member)
    leave = blocking(AsyncLists.leave)


class Hub:
    """A todohub at ``url`` (``http://host:port``), used with ``token`` (a personal access
    token, ``thp_...``, or an access JWT): :class:`AsyncHub`'s methods, blocking. Every
    write carries an idempotency key made here, and a write that fails on the way is sent
    again with the same key, so it is applied once."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0,
                 retry: calls.Retry | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        carrier = BlockingCarrier(url.rstrip("/"), timeout, transport)
        self._core = AsyncHub(url, token, timeout=timeout, retry=retry, carrier=carrier)
        self.todos = Todos(self._core.todos)
        self.lists = Lists(self._core.lists)

    @property
    def url(self) -> str:
        """The hub's address."""
        return self._core.url

    @property
    def token(self) -> str:
        """The token the requests carry."""
        return self._core.token

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    close = blocking(AsyncHub.close)
    call = blocking(AsyncHub.call)
    me = blocking(AsyncHub.me)
    user_id = blocking(AsyncHub.user_id)
    watch = blocking_iter(AsyncHub.watch)
