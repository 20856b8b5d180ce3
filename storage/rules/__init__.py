"""The command rules: what a command does to todos, seqs, the change log and its answer.

Pure: no I/O, no clock, no database. A group of commands (``Item``: user id, command,
device) is applied against the rows read for it, in arrival order, and gives each command's
outcome (an ``Applied`` or the ``CommandRejected`` that refused it) and the group's net
writes. Every path that writes commands goes through here: the driver fast paths
(storage.drivers.sqlite, storage.drivers.postgres), the plain SQLAlchemy path
(storage.drivers.core) and ``apply`` (a group of one).

1. ``needs(items)``: what the group must read (``Needs``: the user rows to lock, the
   operation ids, the todos by key, the scopes whose top order a create needs);
2. the driver reads them and gives them back as ``Loaded``;
3. ``apply_group(items, loaded, clock, new_id)``: the outcomes and the ``Writes`` (rows per
   write kind; storage.statements turns each kind into one SQL statement).

Each command is atomic: it works on a ``View`` that stages its rows, seqs and log entries
over the group's state, and only an accepted command's staging is merged, so a refused one
leaves no trace and every later command sees the accepted ones before it.

Todos are keyed ``(scope, todo id)``; the scope is the todo's list (ids are unique across
lists, and a todo keeps its id when it moves), and ``View.recipients(scope)`` is the list's
members: the outcome of a command is a list of ``Change`` entries, one per recipient and
change, each with the recipient's own seq. Before the user rows are locked, the scope reads
(the lists of the todos named, the actors' memberships and inboxes, the members of every list
involved) say whom to lock: ``scoped`` turns them into the group's full ``Needs``. The top
order (a create without an order goes after the list's highest) is exact: the list's todos
read by id are in the state, and the read gives the highest order of the others
(``Loaded.tops``).

List commands and membership writes (storage.list_rules) are written apart, one command per
transaction, by storage.list_commands; they share the access rules (storage.access).

The state and the ``View`` are in storage.rules.state, the todo rules in
storage.rules.todos.

Adding a command kind (a list command, a membership write):

- its operation model in storage.types (``OP_MODELS``, so that parsing knows it);
- its ``Rule`` in a module of its own (storage.rules.lists), merged into ``RULES`` under its
  type: ``reads(actor, op, wants)`` declares what it reads, ``apply(view, actor, op)``
  checks it against ``view`` (the actor is the command's user; the rule finds the scope)
  and stages its rows, giving the ``Effect`` (the change op, its scope, the wire object) or
  raising CommandRejected;
- rows of another kind (a new table, or memberships to read): a field in ``Wants``,
  ``Needs`` and ``Loaded`` with its read in storage.statements (and in the PostgreSQL union
  read), and a ``WriteKind`` in ``storage.statements.WRITES`` for what it writes (every path
  picks it up); the rule stages those rows on the ``View`` like todo rows;
- the answer shape, if it is not the todo one, in ``_answer``.

Every recipient's user row must be in ``Needs.users`` (locked, in id order, and its seq
read): once recipients are a list's members, the drivers read the memberships of the
group's lists first, then lock all their users in one order, inside the same transaction;
``_apply`` refuses to write into the log of a user it did not read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from storage.codec import dumps, loads
from storage.errors import CommandRejected
from storage.frames import change_frame
from storage.rules.state import (
    SCOPE,
    Clock,
    Effect,
    Item,
    Loaded,
    Needs,
    NewId,
    Outcome,
    Row,
    Rule,
    Scope,
    StaleRead,
    State,
    StoredOp,
    TodoKey,
    View,
    Wants,
    Writes,
)
from storage.rules.todos import TODO_RULES
from storage.types import Applied, Change, Command

__all__ = [
    "RULES", "SCOPE", "Clock", "Effect", "Item", "Loaded", "Needs", "NewId", "Outcome", "Row",
    "Rule", "Scope", "StaleRead", "StoredOp", "TodoKey", "View", "Wants", "Writes",
    "apply_group", "involved_lists", "members_locked", "needs", "reused_key", "scoped",
]

RULES: dict[str, Rule] = {**TODO_RULES}


def needs(items: Sequence[Item]) -> Needs:
    """What ``items`` read before they can be applied."""
    wants = Wants()
    for user_id, command, _ in items:
        for op in command.ops:
            RULES[op.type].reads(user_id, op, wants)
    actors = sorted({user_id for user_id, _, _ in items})
    return Needs(
        users=actors,
        op_ids=sorted({c.op_id for _, c, _ in items if c.op_id is not None}),
        todo_ids=sorted(wants.todo_ids), top_scopes=sorted(wants.tops), actors=actors,
        lists=sorted(wants.lists), inbox_tops=sorted(wants.inbox_tops),
    )


def involved_lists(needs: Needs, todo_lists: Iterable[Sequence[Any]],
                   memberships: Iterable[Sequence[Any]]) -> tuple[Scope, list[str]]:
    """From the first scope reads (todo id, list id) and the actors' memberships (user id,
    list id, role, inbox): the actors' roles and inboxes, and every list whose members the
    group must read."""
    scope = Scope()
    lists = set(needs.lists)
    scope.keyed = {list_id for _, list_id in todo_lists}
    lists |= scope.keyed
    for user_id, list_id, role, inbox in memberships:
        scope.roles.setdefault(user_id, {})[list_id] = role
        if inbox:
            scope.inboxes[user_id] = list_id
            lists.add(list_id)
    return scope, sorted(lists)


def scoped(needs: Needs, scope: Scope, members: Iterable[Sequence[Any]]) -> Needs:
    """The group's full needs once the members (list id, user id, role) of its lists are
    known: every member's user row is locked, and the inboxes' tops are read."""
    scope.members = {}
    for list_id, user_id, role in members:
        scope.members.setdefault(list_id, {})[user_id] = role
    users = set(needs.actors)
    for found in scope.members.values():
        users.update(found)
    tops = set(needs.top_scopes)
    tops.update(scope.inboxes[user_id] for user_id in needs.inbox_tops
                if user_id in scope.inboxes)
    return replace(needs, users=sorted(users), top_scopes=sorted(tops - scope.keyed),
                   keyed_top_scopes=sorted(tops & scope.keyed))


def members_locked(scope: Scope, seqs: Iterable[str]) -> None:
    """Raise StaleRead when a member read after the locks is not among the locked users."""
    locked = set(seqs)
    for found in scope.members.values():
        if not set(found) <= locked:
            raise StaleRead("a list gained a member between the group's reads and its locks")


def apply_group(items: Sequence[Item], loaded: Loaded, clock: Clock,
                new_id: NewId) -> tuple[list[Outcome], Writes]:
    """Apply ``items`` in order against ``loaded``: each command's outcome, and the net
    writes of the accepted ones. ``clock`` gives each command's time, ``new_id`` the id of
    a todo created without one."""
    state = State(loaded)
    outcomes = [_apply(state, user_id, command, device, clock, new_id)
                for user_id, command, device in items]
    return outcomes, _writes(state)


def _apply(state: State, user_id: str, command: Command, device: str, clock: Clock,
           new_id: NewId) -> Outcome:
    if user_id not in state.seqs:
        return CommandRejected("not_found", "the user no longer exists")
    view = View(state, clock(), new_id)
    if command.op_id is not None:
        stored = state.stored.get((user_id, command.op_id))
        if stored is not None:
            refused = reused_key(stored.fingerprint, command)
            if refused is not None:
                return refused
            answer = loads(stored.answer)
            for list_id in _lists_shown(answer):
                if view.role(user_id, list_id) is None:
                    # Access lost since: the answer is not shown again.
                    return CommandRejected("not_found", f"no list with id {list_id}")
            return Applied(answer=answer, duplicate=True)
    effects = []
    for index, op in enumerate(command.ops):
        try:
            effects.append(RULES[op.type].apply(view, user_id, op))
        except CommandRejected as exc:
            if command.batch:
                exc.message = f"ops.{index}: {exc.message}"
                for detail in exc.details or []:
                    detail["field"] = f"ops.{index}.{detail['field']}"
            return exc
    fanouts = [effect.fanout or tuple((recipient, effect.op, effect.todo)
                                      for recipient in view.recipients(effect.scope))
               for effect in effects]
    for fanout in fanouts:
        for recipient, _, _ in fanout:
            if recipient not in state.seqs:  # membership changed after the first reads
                raise StaleRead(f"member {recipient} was not locked for this group")
    view.merge()
    changes: list[Change] = []
    own_seqs: list[int] = []
    for fanout in fanouts:
        for recipient, kind, todo in fanout:
            seq = state.seqs[recipient] = state.seqs[recipient] + 1
            state.dirty_users.add(recipient)
            frame = change_frame(seq, kind, todo, device, command.op_id, view.now)
            changes.append(Change(recipient, seq, frame))
            state.changes.append({"user_id": recipient, "seq": seq, "op": kind,
                                  "todo_id": todo["id"], "frame": frame, "at": view.now})
            if recipient == user_id:
                own_seqs.append(seq)
    answer = _answer(command, effects, own_seqs)
    if command.op_id is not None:
        text = dumps(answer)
        state.stored[(user_id, command.op_id)] = StoredOp(text, command.fingerprint)
        state.operations.append({"user_id": user_id, "op_id": command.op_id, "answer": text,
                                 "seq": state.seqs[user_id], "created_at": view.now,
                                 "fingerprint": command.fingerprint})
    return Applied(answer=answer, changes=changes)


def _lists_shown(answer: dict[str, Any]) -> list[str]:
    """The lists a stored answer shows todos of."""
    todos = [answer.get("todo"), *(answer.get("todos") or [])]
    return sorted({todo["list_id"] for todo in todos
                   if isinstance(todo, dict) and "list_id" in todo})


def reused_key(fingerprint: str | None, command: Command) -> CommandRejected | None:
    """The refusal of a used operation id that comes back with a different request (its
    stored ``fingerprint`` differs), or None for a retry. Only requests that carry a
    fingerprint are compared (REST); a command without one (a socket's retry), or an id
    stored without one, is a retry."""
    if (command.fingerprint is None or fingerprint is None
            or fingerprint == command.fingerprint):
        return None
    return CommandRejected(
        "validation",
        f"the idempotency key {command.op_id!r} was already used with a different "
        "request; send a new key for a new request",
        [{"field": "Idempotency-Key", "reason": "already used with a different request"}],
    )


def _answer(command: Command, effects: list[Effect], own_seqs: list[int]) -> dict[str, Any]:
    if command.batch:
        return {"seqs": own_seqs, "todos": [effect.todo for effect in effects]}
    return {"seq": own_seqs[0], "todo": effects[0].todo}


def _writes(state: State) -> Writes:
    """The net effect of the group: each todo deleted, updated or inserted at most once."""
    deletes: list[Row] = []
    updates: list[Row] = []
    inserts: list[Row] = []
    for key, row in state.rows.items():
        before = state.loaded.get(key)
        if row is None:
            if before is not None:
                deletes.append({SCOPE: key[0], "id": key[1]})
        elif before is None:
            inserts.append(row)
        elif row is not before:
            updates.append(row)
    # A todo that moved to another list left one key and took another: one update (its id
    # is its key in the table).
    moved = {row["id"] for row in deletes} & {row["id"] for row in inserts}
    if moved:
        deletes = [row for row in deletes if row["id"] not in moved]
        updates += [row for row in inserts if row["id"] in moved]
        inserts = [row for row in inserts if row["id"] not in moved]
    return {
        "todo_delete": deletes, "todo_update": updates, "todo_insert": inserts,
        "user_seq": [{"id": user_id, "seq": state.seqs[user_id]}
                     for user_id in sorted(state.dirty_users)],
        "change": state.changes, "operation": state.operations,
    }
