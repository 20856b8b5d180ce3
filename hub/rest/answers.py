"""The shapes of what the REST routes answer, as pydantic models.

The hub builds its answers from storage's wire dicts (``todo_to_wire``, ``list_to_wire``,
``UserRecord.public`` ...), encoded once; these models describe those dicts for the API
document, and the tests check real answers against them. Every model forbids other fields,
so an answer that grows a field the document does not name fails those tests.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.errors import ErrorCode
from storage.types import Priority, Role, Status

Time = Annotated[str, Field(json_schema_extra={"format": "date-time"},
                            examples=["2026-11-23T08:00:00.000Z"])]
Uuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Detail(_Answer):
    """Which field broke which rule."""

    field: str
    reason: str


Details = list[Detail]  # named here: the field ``list`` below hides the builtin


class ErrorObject(_Answer):
    """What went wrong: a code (see the protocol), a message saying what was expected and
    what arrived, field details, and for a version conflict the current todo or list."""

    code: ErrorCode
    message: str
    details: Details | None = None
    todo: Todo | DeletedTodo | None = None
    list: TodoList | DeletedList | None = None


class ErrorBody(_Answer):
    """Every error status answers this body."""

    error: ErrorObject


class User(_Answer):
    """An account."""

    id: str
    username: str
    email: str | None
    guest: bool
    created_at: Time


class Tokens(_Answer):
    """An access JWT, its refresh token and the user they belong to."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="seconds the access token is valid")
    user: User


class Todo(_Answer):
    """A todo as every device sees it."""

    id: Uuid
    list_id: Uuid
    assignee: str | None
    title: str
    description: str | None
    status: Status
    completed: bool
    priority: Priority
    due_at: Time | None
    tags: list[str]
    order: float
    created_at: Time
    updated_at: Time
    completed_at: Time | None
    version: int


class DeletedTodo(_Answer):
    """What is left of a deleted todo (in changes and batch answers)."""

    id: Uuid
    deleted: Literal[True]
    version: int


class TodoPage(_Answer):
    """One page of todos, the total count and the user's current seq."""

    items: list[Todo]
    total: int
    page: int
    per_page: int
    pages: int
    seq: int


class BatchResult(_Answer):
    """One seq and one todo (or deleted todo) per operation, in order."""

    seqs: list[int]
    todos: list[Todo | DeletedTodo]


class Stats(_Answer):
    """Counts per status, overdue todos, and the completion rate in percent."""

    total: int
    pending: int
    in_progress: int
    completed: int
    cancelled: int
    overdue: int
    completion_rate: float = Field(ge=0, le=100)


class MemberUser(_Answer):
    """A member's account, as other members see it."""

    id: str
    username: str


class Member(_Answer):
    """One member of a list and their role."""

    user: MemberUser
    role: Role


class TodoList(_Answer):
    """A list as the reading user sees it (``role`` is the reader's own)."""

    id: Uuid
    name: str
    inbox: bool
    role: Role
    members: list[Member]
    version: int
    created_at: Time
    updated_at: Time


class DeletedList(_Answer):
    """What is left of a deleted list."""

    id: Uuid
    deleted: Literal[True]
    version: int


class Lists(_Answer):
    """The user's lists, the inbox first."""

    lists: list[TodoList]


class Invitation(_Answer):
    """An open invitation (its token is shown only when it is made)."""

    id: Uuid
    role: Literal["editor", "viewer"]
    expires_at: Time
    uses_left: int
    created_at: Time


class NewInvitation(Invitation):
    """A new invitation, with its token and the link to share."""

    token: str
    url: str


class Invitations(_Answer):
    """The open invitations of a list."""

    invites: list[Invitation]


class ListName(_Answer):
    """A list named in an invitation."""

    id: Uuid
    name: str


class InvitePreview(_Answer):
    """What an invitation offers, before joining."""

    list: ListName
    role: Literal["editor", "viewer"]
    invited_by: MemberUser
    expires_at: Time


class AccessToken(_Answer):
    """A personal access token, without its secret."""

    id: str
    name: str
    scope: Literal["read", "write"]
    created_at: Time
    expires_at: Time | None
    last_used_at: Time | None


class NewAccessToken(AccessToken):
    """A new personal access token with its secret, shown this once."""

    token: str = Field(pattern="^thp_")


class AccessTokens(_Answer):
    """The user's personal access tokens, oldest first."""

    tokens: list[AccessToken]


class Origin(_Answer):
    """Who made a change: the device (``rest`` for REST) and its operation id."""

    device: str
    op: str | None


class TodoChange(_Answer):
    """A change of a todo, exactly as the socket sends it."""

    type: Literal["change"]
    seq: int
    op: Literal["create", "update", "delete"]
    todo: Todo | DeletedTodo
    origin: Origin
    at: Time


class ListChange(_Answer):
    """A list the user belongs to was created, renamed, or its members changed."""

    type: Literal["change"]
    seq: int
    op: Literal["list"]
    list: TodoList
    origin: Origin
    at: Time


class RemovedList(_Answer):
    """The id of a list the user no longer sees."""

    id: Uuid


class ListRemovedChange(_Answer):
    """A list was deleted, or the user left it or was removed from it."""

    type: Literal["change"]
    seq: int
    op: Literal["list_removed"]
    list: RemovedList
    reason: Literal["deleted", "left", "removed"]
    origin: Origin
    at: Time


Change = Annotated[TodoChange | ListChange | ListRemovedChange, Field(discriminator="op")]


class Changes(_Answer):
    """Changes after ``since``, in order, and the user's current seq."""

    changes: list[Change]
    seq: int


class Live(_Answer):
    """The process answers."""

    status: Literal["ok"]


class Ready(_Answer):
    """Whether the database and the broker answer (``ok`` or ``down: <why>``)."""

    status: Literal["ok", "unavailable"]
    database: str
    broker: str


class Health(_Answer):
    """Ready's checks and the number of open sockets."""

    status: Literal["ok", "degraded"]
    database: str
    broker: str
    sockets: int


ErrorObject.model_rebuild()
