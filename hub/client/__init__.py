"""A Python client for todohub: ``Hub`` (blocking) and ``AsyncHub`` (asyncio).

::

    from hub.client import Hub

    with Hub("http://127.0.0.1:8000", "thp_...") as hub:
        todo = hub.todos.create("Buy milk", tags=["home"])
        hub.todos.update(todo["id"], completed=True, if_version=todo["version"])
        for change in hub.watch():
            print(change["seq"], change["op"], change["todo"]["title"])
"""

from __future__ import annotations

from hub.client._calls import Retry
from hub.client.aio import AsyncHub
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
from hub.client.sync import Hub
from hub.client.types import BatchResult, Change, Todo

__all__ = [
    "ApiError", "AsyncHub", "BatchResult", "Change", "ClientError", "Conflict", "Forbidden",
    "Hub", "Invalid", "NotFound", "RateLimited", "Retry", "Todo", "Unauthorized",
    "Unreachable",
]
