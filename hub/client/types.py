"""The shapes the hub answers with, as typed dictionaries (extra keys may appear), and the
fields a caller may give when making or changing a todo."""

from __future__ import annotations

from typing import Literal, TypedDict

Role = Literal["owner", "editor", "viewer"]


class _TodoEditable(TypedDict, total=False):
    """The fields of a todo that a create or an update may set."""

    description: str | None
    status: str
    priority: str
    due_at: str | None
    tags: list[str]
    order: float
    list_id: str
    assignee: str | None


class TodoFields(_TodoEditable, total=False):
    """What a new todo may be given besides its title (``list_id``: default the inbox;
    ``assignee``: a member's user id; ``id``: a client-made UUID)."""

    id: str


class TodoPatch(_TodoEditable, total=False):
    """The fields an update may change; a field that is absent stays as it is (give
    ``assignee=None`` to unassign, ``list_id`` to move the todo to another list)."""

    title: str
    completed: bool


class Todo(TodoPatch, total=False):
    """A todo as the hub sends it (``deleted`` only in a delete's answer and change)."""

    id: str
    created_at: str
    updated_at: str
    completed_at: str | None
    version: int
    deleted: bool


class TodoFilters(TypedDict, total=False):
    """Filters of a todo listing; ``assignee`` is ``"me"``, ``"none"`` or a user id, and
    without ``list_id`` every list of the user is covered."""

    status: str
    completed: bool
    priority: str
    tag: str
    q: str
    due_before: str
    due_after: str
    overdue: bool
    sort: str
    list_id: str
    assignee: str


class UserRef(TypedDict):
    """A user as lists show them."""

    id: str
    username: str


class Member(TypedDict):
    """A member of a list and their role."""

    user: UserRef
    role: Role


class List(TypedDict, total=False):
    """A list as the reading user sees it (``role`` is their own role)."""

    id: str
    name: str
    inbox: bool
    role: Role
    members: list[Member]
    version: int
    created_at: str
    updated_at: str
    deleted: bool


class Invitation(TypedDict, total=False):
    """An invitation to a list; ``token`` and ``url`` only in the answer that made it."""

    id: str
    token: str
    url: str
    role: Role
    expires_at: str
    uses_left: int
    created_at: str


class ListRef(TypedDict):
    """A list named in an invitation's preview."""

    id: str
    name: str


class InvitePreview(TypedDict):
    """What an invitation offers, before joining."""

    list: ListRef
    role: Role
    invited_by: UserRef
    expires_at: str


class Stats(TypedDict):
    """Counts per status, overdue, and the completion rate in percent."""

    total: int
    pending: int
    in_progress: int
    completed: int
    cancelled: int
    overdue: int
    completion_rate: float


class Origin(TypedDict, total=False):
    """Which device and operation made a change."""

    device: str
    op: str | None


class Change(TypedDict, total=False):
    """A change event, as on the socket and in the change stream: ``op`` is ``create``,
    ``update`` or ``delete`` (with ``todo``), ``list`` (with ``list``: a list of the user
    was created, renamed, or its members changed) or ``list_removed`` (with ``list``'s id
    and ``reason``: ``deleted``, ``left`` or ``removed``; its todos are gone with it)."""

    type: str
    seq: int
    op: str
    todo: Todo
    list: List
    reason: str
    origin: Origin
    at: str


class BatchResult(TypedDict):
    """The answer of a batch: one seq and one todo per operation."""

    seqs: list[int]
    todos: list[Todo]
