"""A Python client for todohub: ``Hub`` (blocking) and ``AsyncHub`` (asyncio).

::

    from hub.client import Hub

    with Hub("http://127.0.0.1:8000", "thp_...") as hub:
        todo = hub.todos.create("Buy milk", tags=["home"])
        hub.todos.update(todo["id"], completed=True, if_version=todo["version"])
        groceries = hub.lists.create("Groceries")
        hub.todos.create("Oat milk", list_id=groceries["id"])
        invitation = hub.lists.invite(groceries["id"], "viewer")  # send invitation["url"]
        for change in hub.watch():
            print(change["seq"], change["op"])

``AsyncHub`` has the same methods, awaited (``async for`` for ``list`` and ``watch``).
"""

from __future__ import annotations

from hub.client._calls import Retry
from hub.client.aio import AsyncHub, AsyncLists, AsyncTodos
from hub.client.errors import (
    ApiError,
    ClientError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthorized,
    Unreachable,
)
from hub.client.sync import Hub, Lists, Todos
from hub.client.types import (
    BatchResult,
    Change,
    Invitation,
    InvitePreview,
    List,
    Member,
    Role,
    Stats,
    Todo,
    TodoFields,
    TodoFilters,
    TodoPatch,
)

__all__ = [
    "ApiError", "AsyncHub", "AsyncLists", "AsyncTodos", "BatchResult", "Change", "ClientError",
    "Conflict", "Forbidden", "Hub", "Invalid", "Invitation", "InvitePreview", "List", "Lists",
    "Member", "NotFound", "RateLimited", "Retry", "Role", "Stats", "Todo", "TodoFields",
    "TodoFilters", "TodoPatch", "Todos", "Unauthorized", "Unreachable",
]
