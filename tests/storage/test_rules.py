"""The rules alone, without a database: a group against rows in memory."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from storage import rules
from storage.errors import CommandRejected
from storage.rules import Loaded
from storage.types import Applied, Command, parse_op

NOW = "2026-01-01T00:00:00.000Z"


def _todo(owner: str, todo_id: str, order: float) -> dict[str, Any]:
    return {"user_id": owner, "id": todo_id, "title": "t", "description": None,
            "status": "pending", "priority": "medium", "due_at": None, "tags": "[]",
            "order": order, "created_at": NOW, "updated_at": NOW, "completed_at": None,
            "version": 1}


def _apply(items: list[rules.Item], loaded: Loaded) -> tuple[list[rules.Outcome], Any]:
    ids = (f"00000000-0000-0000-0000-{n:012d}" for n in itertools.count(1))
    return rules.apply_group(items, loaded, lambda: NOW, lambda: next(ids))


def _op(data: dict[str, Any]) -> Any:
    return parse_op(data)


def test_a_create_after_deleting_the_top_goes_after_the_new_top() -> None:
    """The top order follows a delete earlier in the group: the group reads the scope's
    todos by key and the highest order of the others."""
    top = "00000000-0000-0000-0000-00000000000a"
    items = [("ann", Command("d", [_op({"type": "delete", "todo_id": top})]), "phone"),
             ("ann", Command("c", [_op({"type": "create", "todo": {"title": "x"}})]), "phone")]
    needs = rules.needs(items)
    assert needs.keyed_top_scopes == ["ann"] and needs.todo_ids == [top]
    loaded = Loaded(seqs={"ann": 4}, stored={}, todos=[_todo("ann", top, 9.0)],
                    tops={"ann": 2.0})
    (deleted, created), writes = _apply(items, loaded)
    assert isinstance(created, Applied) and created.answer["todo"]["order"] == 3.0
    assert created.answer["seq"] == 6 and [c.seq for c in created.changes] == [6]
    assert writes["todo_delete"] == [{"user_id": "ann", "id": top}]
    assert writes["user_seq"] == [{"id": "ann", "seq": 6}]


def test_a_refused_batch_leaves_no_trace() -> None:
    """A batch refused at its second op stages nothing; the next command sees the state as
    it was."""
    missing = "00000000-0000-0000-0000-0000000000ff"
    batch = Command("b", [_op({"type": "create", "todo": {"title": "a"}}),
                          _op({"type": "delete", "todo_id": missing})], batch=True)
    plain = Command("p", [_op({"type": "create", "todo": {"title": "b"}})])
    loaded = Loaded(seqs={"ann": 0}, stored={}, todos=[], tops={"ann": None})
    (refused, applied), writes = _apply([("ann", batch, "d"), ("ann", plain, "d")], loaded)
    assert isinstance(refused, CommandRejected) and refused.code == "not_found"
    assert refused.message.startswith("ops.1: ")
    assert isinstance(applied, Applied) and applied.answer["seq"] == 1
    assert [row["title"] for row in writes["todo_insert"]] == ["b"]
    assert [row["op_id"] for row in writes["operation"]] == ["p"]


def test_an_operation_id_with_another_fingerprint_is_refused() -> None:
    """A stored id answers a retry without a fingerprint or with the same one, and refuses
    another request's."""
    create = [_op({"type": "create", "todo": {"title": "a"}})]
    loaded = Loaded(seqs={"ann": 1}, stored={("ann", "k"): rules.StoredOp('{"seq":1}', "f1")},
                    todos=[], tops={"ann": None})
    outcomes, writes = _apply([("ann", Command("k", create), "d"),
                               ("ann", Command("k", create, fingerprint="f1"), "rest"),
                               ("ann", Command("k", create, fingerprint="f2"), "rest")], loaded)
    assert [isinstance(o, Applied) and o.duplicate for o in outcomes] == [True, True, False]
    refused = outcomes[2]
    assert isinstance(refused, CommandRejected) and "'k'" in refused.message
    assert not writes["change"] and not writes["todo_insert"]


def test_a_change_goes_to_every_recipient_with_their_own_seq(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outcome is one Change per recipient and change, each in the recipient's own log
    (the seam shared lists fill: View.recipients); the answer carries the author's seq."""
    monkeypatch.setattr(rules.View, "recipients", lambda self, scope: ["ann", "bob"])
    items = [("ann", Command("c", [_op({"type": "create", "todo": {"title": "x"}})]), "d")]
    loaded = Loaded(seqs={"ann": 3, "bob": 10}, stored={}, todos=[], tops={"ann": None})
    (applied,), writes = _apply(items, loaded)
    assert isinstance(applied, Applied)
    assert [(c.user_id, c.seq) for c in applied.changes] == [("ann", 4), ("bob", 11)]
    assert applied.answer["seq"] == 4
    assert [(r["user_id"], r["seq"]) for r in writes["change"]] == [("ann", 4), ("bob", 11)]
    assert writes["user_seq"] == [{"id": "ann", "seq": 4}, {"id": "bob", "seq": 11}]


def test_a_recipient_not_read_is_a_bug_not_a_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule whose recipients were not locked and read fails loudly."""
    monkeypatch.setattr(rules.View, "recipients", lambda self, scope: ["ann", "carl"])
    items = [("ann", Command("c", [_op({"type": "create", "todo": {"title": "x"}})]), "d")]
    loaded = Loaded(seqs={"ann": 0}, stored={}, todos=[], tops={"ann": None})
    with pytest.raises(RuntimeError, match="carl"):
        _apply(items, loaded)
