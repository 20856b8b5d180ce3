"""The shapes the hub answers with, as typed dictionaries (extra keys may appear)."""

from __future__ import annotations

from typing import Any, TypedDict


class Todo(TypedDict, total=False):
    """A todo as the hub sends it."""

    id: str
    title: str
    description: str | None
    status: str
    completed: bool
    priority: str
    due_at: str | None
    tags: list[str]
    order: float
    created_at: str
    updated_at: str
    completed_at: str | None
    version: int
    list_id: str
    assignee: str | None
    deleted: bool


class Origin(TypedDict, total=False):
    """Which device and operation made a change."""

    device: str
    op: str | None


class Change(TypedDict, total=False):
    """A change event, as on the socket and in the change stream."""

    type: str
    seq: int
    op: str
    todo: Todo
    list: dict[str, Any]
    origin: Origin
    at: str


class BatchResult(TypedDict):
    """The answer of a batch: one seq and one todo per operation."""

    seqs: list[int]
    todos: list[Todo]
