"""The state the command rules work on: what a group read, the group's state as accepted
commands leave it, and the ``View`` one command sees (its own staging over the group's).

Pure: no I/O. See storage.rules for the whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from storage.errors import CommandRejected
from storage.types import Applied, Command

Row = dict[str, Any]
TodoKey = tuple[str, str]  # (scope, todo id)
Item = tuple[str, Command, str]  # (user id, command, device)
Outcome = Applied | CommandRejected
Clock = Callable[[], str]
NewId = Callable[[], str]

SCOPE = "list_id"  # the todos column that holds a todo's scope: its list
_MISSING: Any = object()


class StaleRead(Exception):
    """Membership changed between the group's first reads and its locks (another process
    joined or moved something meanwhile): the group is read and applied again."""


class StoredOp(NamedTuple):
    """An operation id already used: the answer it gave (JSON text) and the fingerprint of
    the request that used it (None: a socket command, or stored before fingerprints)."""

    answer: str
    fingerprint: str | None = None


@dataclass
class Wants:
    """What the ops of a group need read, collected by each rule's ``reads``."""

    todo_ids: set[str] = field(default_factory=set)  # todos by id, in whatever list
    lists: set[str] = field(default_factory=set)  # lists named by the ops
    tops: set[str] = field(default_factory=set)  # lists whose top order a create needs
    inbox_tops: set[str] = field(default_factory=set)  # users whose inbox's top is needed


@dataclass(frozen=True)
class Needs:
    """What a group reads: every list sorted, so that locks are taken in one order.

    First the scope reads (the lists of ``todo_ids``, the actors' memberships, the members
    of every list involved), which give the users to lock: ``users`` grows from the actors
    to every member of those lists (see storage.rules.scoped)."""

    users: list[str]  # user rows to lock, with their seqs
    op_ids: list[str]  # operation ids to look up (for these users)
    todo_ids: list[str]  # todos read by id
    # The highest order per list: of all its todos where none is read by id (an index
    # probe), of those outside todo_ids where some are (they are in the state).
    top_scopes: list[str]
    keyed_top_scopes: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)  # named by the ops
    inbox_tops: list[str] = field(default_factory=list)


@dataclass
class Scope:
    """What the scope reads gave: memberships (for access, recipients and inboxes)."""

    roles: dict[str, dict[str, str]] = field(default_factory=dict)  # actor -> list -> role
    inboxes: dict[str, str] = field(default_factory=dict)  # actor -> inbox list
    members: dict[str, dict[str, str]] = field(default_factory=dict)  # list -> user -> role
    keyed: set[str] = field(default_factory=set)  # lists of the todos read by id


@dataclass
class Loaded:
    """The rows a group read, as ``Needs`` asked."""

    seqs: dict[str, int]
    stored: dict[tuple[str, str], StoredOp]  # (user id, op id)
    todos: list[Row]  # rows of the todos table, by column name
    tops: dict[str, float | None]  # per top scope (see Needs); None: no todo there
    scope: Scope = field(default_factory=Scope)


class Effect(NamedTuple):
    """What one accepted operation did: the change's op, the scope whose recipients see it,
    and the object the change carries (a wire todo). ``fanout`` (recipient, op, object),
    when given, replaces the scope's recipients: a move tells each member of either list
    what it means for them."""

    op: str
    scope: str
    todo: dict[str, Any]
    fanout: tuple[tuple[str, str, dict[str, Any]], ...] = ()


Writes = dict[str, list[Row]]  # rows per write kind (see storage.statements.WRITES)


class State:
    """The group's state: as read, then as accepted commands left it."""

    def __init__(self, loaded: Loaded) -> None:
        self.seqs = dict(loaded.seqs)
        self.stored = dict(loaded.stored)
        self.loaded: dict[TodoKey, Row] = {(row[SCOPE], row["id"]): row for row in loaded.todos}
        self.rows: dict[TodoKey, Row | None] = dict(self.loaded)
        self.ids: dict[str, set[str]] = {}  # scope -> ids of its todos in ``rows``
        self.where: dict[str, str] = {}  # todo id -> the scope it is in now
        for scope, todo_id in self.rows:
            self.ids.setdefault(scope, set()).add(todo_id)
            self.where[todo_id] = scope
        self.scope = loaded.scope
        self.tops = loaded.tops
        self.changes: list[Row] = []
        self.operations: list[Row] = []
        self.dirty_users: set[str] = set()


class View:
    """The state one command sees: the group's, with this command's staging over it."""

    def __init__(self, state: State, now: str, new_id: NewId) -> None:
        self._state = state
        self.now = now
        self.new_id = new_id
        self._rows: dict[TodoKey, Row | None] = {}

    def todo(self, key: TodoKey) -> Row | None:
        """The todo row under ``key`` as this command left it, or None."""
        row = self._rows.get(key, _MISSING)
        return self._state.rows.get(key) if row is _MISSING else row

    def existing(self, key: TodoKey) -> Row:
        """The todo row under ``key``; not_found when there is none."""
        row = self.todo(key)
        if row is None:
            raise CommandRejected("not_found", f"no todo with id {key[1]}")
        return row

    def put(self, key: TodoKey, row: Row | None) -> None:
        """Stage ``row`` (None: deleted) under ``key``."""
        self._rows[key] = row

    def top(self, scope: str) -> float | None:
        """The highest order of the scope's todos now (None: it has none)."""
        best = self._state.tops[scope]  # KeyError: the rule did not declare the top it reads
        for todo_id in self._state.ids.get(scope, set()) | {
            todo_id for s, todo_id in self._rows if s == scope
        }:
            row = self.todo((scope, todo_id))
            if row is not None and (best is None or row["order"] > best):
                best = row["order"]
        return best

    def locate(self, todo_id: str) -> TodoKey | None:
        """Where the todo with this id is now (ids are unique across lists), or None."""
        for key, row in self._rows.items():
            if key[1] == todo_id and row is not None:
                return key
        scope = self._state.where.get(todo_id)
        if scope is not None and self.todo((scope, todo_id)) is not None:
            return (scope, todo_id)
        return None

    def members(self, list_id: str) -> dict[str, str]:
        """The members of a list involved in the group, with their roles."""
        found = self._state.scope.members.get(list_id)
        if found is None:  # a list the reads did not cover: it moved or joined under us
            raise StaleRead(f"the members of list {list_id} were not read")
        return found

    def role(self, actor: str, list_id: str) -> str | None:
        """The actor's role in a list, or None when they are not a member."""
        members = self._state.scope.members.get(list_id)
        if members is not None:
            return members.get(actor)
        return self._state.scope.roles.get(actor, {}).get(list_id)

    def inbox(self, actor: str) -> str:
        """The actor's inbox."""
        return self._state.scope.inboxes[actor]

    def recipients(self, scope: str) -> list[str]:
        """The users whose logs get a change in ``scope``: the list's members."""
        return sorted(self.members(scope))

    def merge(self) -> None:
        """Make this command's staging part of the group's state."""
        for key, row in self._rows.items():
            self._state.rows[key] = row
            self._state.ids.setdefault(key[0], set()).add(key[1])
            if row is not None:
                self._state.where[key[1]] = key[0]
            elif self._state.where.get(key[1]) == key[0]:
                del self._state.where[key[1]]


class Rule(NamedTuple):
    """One operation type: what it reads, and what it does, for the command's user (the
    actor; the rule finds the scope it writes in)."""

    reads: Callable[[str, Any, Wants], None]
    apply: Callable[[View, str, Any], Effect]
