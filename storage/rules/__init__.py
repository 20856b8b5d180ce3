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

Todos are keyed ``(scope, todo id)``. The scope is the owner's user id today; with lists it
becomes the todo's list, and ``View.recipients(scope)`` (today: the owner alone) becomes the
list's members: the outcome of a command is already a list of ``Change`` entries, one per
recipient and change, each with the recipient's own seq. The top order (a create without an
order goes after the scope's highest) is exact: the scope's todos read by key are in the
state, and the read gives the highest order of the others (``Loaded.tops``).

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

from collections.abc import Sequence
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
    "Rule", "StoredOp", "TodoKey", "View", "Wants", "Writes", "apply_group", "needs",
]

RULES: dict[str, Rule] = {**TODO_RULES}


def needs(items: Sequence[Item]) -> Needs:
    """What ``items`` read before they can be applied."""
    wants = Wants()
    for user_id, command, _ in items:
        for op in command.ops:
            RULES[op.type].reads(user_id, op, wants)
    keyed = {scope for scope, _ in wants.keys}
    return Needs(
        users=sorted({user_id for user_id, _, _ in items}),
        op_ids=sorted({c.op_id for _, c, _ in items if c.op_id is not None}),
        scopes=sorted(keyed), todo_ids=sorted({todo_id for _, todo_id in wants.keys}),
        top_scopes=sorted(wants.tops - keyed), keyed_top_scopes=sorted(wants.tops & keyed),
    )


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
    if command.op_id is not None:
        stored = state.stored.get((user_id, command.op_id))
        if stored is not None:
            if _other_request(stored, command):
                return CommandRejected(
                    "validation",
                    f"the idempotency key {command.op_id!r} was already used with a different "
                    "request; send a new key for a new request",
                    [{"field": "Idempotency-Key", "reason": "already used with a different "
                      "request"}],
                )
            return Applied(answer=loads(stored.answer), duplicate=True)
    view = View(state, clock(), new_id)
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
    recipients = [view.recipients(effect.scope) for effect in effects]
    for users in recipients:
        for recipient in users:
            if recipient not in state.seqs:  # not locked and read: the rule's reads are wrong
                raise RuntimeError(f"recipient {recipient} was not read for this group")
    view.merge()
    changes: list[Change] = []
    own_seqs: list[int] = []
    for effect, users in zip(effects, recipients, strict=True):
        for recipient in users:
            seq = state.seqs[recipient] = state.seqs[recipient] + 1
            state.dirty_users.add(recipient)
            frame = change_frame(seq, effect.op, effect.todo, device, command.op_id, view.now)
            changes.append(Change(recipient, seq, frame))
            state.changes.append({"user_id": recipient, "seq": seq, "op": effect.op,
                                  "todo_id": effect.todo["id"], "frame": frame, "at": view.now})
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


def _other_request(stored: StoredOp, command: Command) -> bool:
    """Whether a used operation id comes back with a different request. Only requests that
    carry a fingerprint are compared (REST); a command without one (a socket's retry), or an
    id stored without one, is a retry."""
    return (command.fingerprint is not None and stored.fingerprint is not None
            and stored.fingerprint != command.fingerprint)


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
    return {
        "todo_delete": deletes, "todo_update": updates, "todo_insert": inserts,
        "user_seq": [{"id": user_id, "seq": state.seqs[user_id]}
                     for user_id in sorted(state.dirty_users)],
        "change": state.changes, "operation": state.operations,
    }
