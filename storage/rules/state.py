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

SCOPE = "user_id"  # the todos column that holds a todo's scope
_MISSING: Any = object()


class StoredOp(NamedTuple):
    """An operation id already used: the answer it gave (JSON text) and the fingerprint of
    the request that used it (None: a socket command, or stored before fingerprints)."""

    answer: str
    fingerprint: str | None = None


@dataclass
class Wants:
    """What the ops of a group need read, collected by each rule's ``reads``."""

    keys: set[TodoKey] = field(default_factory=set)
    tops: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Needs:
    """What a group reads: every list sorted, so that locks are taken in one order."""

    users: list[str]  # user rows to lock, with their seqs
    op_ids: list[str]  # operation ids to look up (for these users)
    scopes: list[str]  # todos read where scope in scopes and id in todo_ids
    todo_ids: list[str]
    # The highest order per scope: of all its todos where none is read by key (an index
    # probe), of those outside todo_ids where some are (they are in the state).
    top_scopes: list[str]
    keyed_top_scopes: list[str]


@dataclass
class Loaded:
    """The rows a group read, as ``Needs`` asked."""

    seqs: dict[str, int]
    stored: dict[tuple[str, str], StoredOp]  # (user id, op id)
    todos: list[Row]  # rows of the todos table, by column name
    tops: dict[str, float | None]  # per top scope (see Needs); None: no todo there


class Effect(NamedTuple):
    """What one accepted operation did: the change's op, the scope whose recipients see it,
    and the object the change carries (a wire todo)."""

    op: str
    scope: str
    todo: dict[str, Any]


Writes = dict[str, list[Row]]  # rows per write kind (see storage.statements.WRITES)


class State:
    """The group's state: as read, then as accepted commands left it."""

    def __init__(self, loaded: Loaded) -> None:
        self.seqs = dict(loaded.seqs)
        self.stored = dict(loaded.stored)
        self.loaded: dict[TodoKey, Row] = {(row[SCOPE], row["id"]): row for row in loaded.todos}
        self.rows: dict[TodoKey, Row | None] = dict(self.loaded)
        self.ids: dict[str, set[str]] = {}  # scope -> ids of its todos in ``rows``
        for scope, todo_id in self.rows:
            self.ids.setdefault(scope, set()).add(todo_id)
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

    def recipients(self, scope: str) -> list[str]:
        """The users whose logs get a change in ``scope``: today its owner alone."""
        return [scope]

    def merge(self) -> None:
        """Make this command's staging part of the group's state."""
        for key, row in self._rows.items():
            self._state.rows[key] = row
            self._state.ids.setdefault(key[0], set()).add(key[1])


class Rule(NamedTuple):
    """One operation type: what it reads, and what it does, for the command's user (the
    actor; the rule finds the scope it writes in)."""

    reads: Callable[[str, Any, Wants], None]
    apply: Callable[[View, str, Any], Effect]
