"""The client's pure modules (static/ops.js), run in the browser on hand-made data."""

from __future__ import annotations

from typing import Any

from tests.browser.helpers import DeviceFactory
from tests.servers import RunningHub


def run(open_device: DeviceFactory, hub: RunningHub, body: str) -> Any:
    """Evaluate ``body`` (an async function body with ``ops`` in scope) in a page of the app."""
    device = open_device(hub.url, wait_live=False)
    return device.page.evaluate(f'async () => {{ const ops = await import("/ops.js"); {body} }}')


def test_replay_shows_pending_ops_over_the_server_state(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Creates append, updates merge (completed sets status), deletes hide; order then id."""
    result = run(
        open_device,
        hub,
        """
        const base = {
          a: {id: "a", title: "A", order: 1, completed: false, status: "pending", version: 3},
          b: {id: "b", title: "B", order: 2, completed: false, status: "pending", version: 1},
        };
        const pending = [
          {type: "create", id: "op1", todo: {id: "c", title: "C", order: 2}},
          {type: "update", id: "op2", todo_id: "a", patch: {completed: true}},
          {type: "batch", id: "op3", ops: [{type: "delete", todo_id: "b"}]},
        ];
        return ops.replay(base, pending).map(
          (t) => [t.id, t.title, t.completed, t.status, Boolean(t.pendingSync)]);
        """,
    )
    assert result == [
        ["a", "A", True, "completed", True],
        ["c", "C", False, "pending", True],
    ]


def test_expected_version_counts_every_pending_op_on_the_todo(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A title edit's if_version is the base version plus one per pending op on that todo."""
    result = run(
        open_device,
        hub,
        """
        const base = {a: {id: "a", version: 4}};
        const pending = [
          {type: "update", id: "1", todo_id: "a", patch: {completed: true}},
          {type: "batch", id: "2", ops: [{type: "update", todo_id: "a", patch: {}},
                                         {type: "update", todo_id: "x", patch: {}}]},
          {type: "create", id: "3", todo: {id: "n", title: "new"}},
        ];
        return [ops.expectedVersion(base, pending, "a"), ops.expectedVersion(base, pending, "n"),
                ops.expectedVersion(base, [], "a")];
        """,
    )
    assert result == [6, 1, 4]


def test_prune_drops_only_what_aims_at_deleted_todos(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Sub-ops on todos gone from the server are dropped; a trimmed batch keeps its op id."""
    result = run(
        open_device,
        hub,
        """
        const base = {a: {id: "a", version: 1}};
        const pending = [
          {type: "update", id: "u-gone", todo_id: "gone", patch: {completed: true}},
          {type: "delete", id: "d-gone", todo_id: "gone"},
          {type: "create", id: "c-new", todo: {id: "new", title: "N"}},
          {type: "batch", id: "b1", ops: [{type: "update", todo_id: "a", patch: {}},
                                          {type: "update", todo_id: "gone", patch: {}},
                                          {type: "update", todo_id: "new", patch: {}}]},
          {type: "batch", id: "b2", ops: [{type: "delete", todo_id: "gone"}]},
        ];
        const {kept, dropped} = ops.prunePending(base, pending);
        return [dropped, kept.map((op) => [op.id, (op.ops ?? [op]).length])];
        """,
    )
    assert result == [2, [["c-new", 1], ["b1", 2]]]


def test_batches_hold_at_most_one_hundred_operations(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Toggle-all over 250 todos is sent as batches of 100, 100 and 50, each its own op id."""
    result = run(
        open_device,
        hub,
        """
        const subs = Array.from({length: 250}, (_, i) => ({type: "delete", todo_id: `t${i}`}));
        const made = ops.batches(subs);
        return [made.map((b) => b.ops.length), new Set(made.map((b) => b.id)).size];
        """,
    )
    assert result == [[100, 100, 50], 3]


def test_merge_takes_the_newer_base_and_the_union_of_pending_ops(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Two tabs of one profile: newer seq wins the base, pending ops are united by op id."""
    result = run(
        open_device,
        hub,
        """
        const mine = {userId: "u", seq: 5, todos: {a: {id: "a"}}, tombstones: {},
                      pending: [{id: "1"}, {id: "2"}]};
        const theirs = {userId: "u", seq: 7, todos: {b: {id: "b"}}, tombstones: {},
                        pending: [{id: "2"}, {id: "3"}]};
        const merged = ops.mergeStates(mine, theirs);
        return [merged.seq, Object.keys(merged.todos), merged.pending.map((op) => op.id),
                ops.mergeStates(merged, theirs), ops.mergeStates(mine, {...theirs, userId: "v"})];
        """,
    )
    assert result == [7, ["b"], ["1", "2", "3"], None, None]


def test_pending_list_ops_show_before_the_hub_answers(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A list made here shows (owned here), a rename shows, a deleted list and its todos go;
    the inbox stays first."""
    result = run(
        open_device,
        hub,
        """
        const lists = {
          i: {id: "i", name: "Inbox", inbox: true, role: "owner", version: 1},
          g: {id: "g", name: "Groceries", inbox: false, role: "editor", version: 2},
          w: {id: "w", name: "Work", inbox: false, role: "owner", version: 1},
        };
        const todos = {
          a: {id: "a", title: "A", order: 1, list_id: "w", version: 1},
          b: {id: "b", title: "B", order: 2, list_id: "g", version: 1},
        };
        const pending = [
          {type: "list_create", id: "1", list: {id: "n", name: "Attic"}},
          {type: "list_update", id: "2", list_id: "g", patch: {name: "Food"}},
          {type: "list_delete", id: "3", list_id: "w"},
          {type: "create", id: "4", todo: {id: "c", title: "C", order: 3, list_id: "n"}},
        ];
        return [ops.replayLists(lists, pending).map((l) => [l.id, l.name, l.role]),
                ops.replay(todos, pending).map((t) => [t.id, t.list_id])];
        """,
    )
    assert result == [
        [["i", "Inbox", "owner"], ["n", "Attic", "owner"], ["g", "Food", "editor"]],
        [["b", "g"], ["c", "n"]],
    ]


def test_prune_drops_ops_on_lists_that_are_gone(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Once the hub's lists are known, list ops and todo creates or moves aimed at a list
    that is gone are dropped and reported; those aimed at a list made here stay."""
    result = run(
        open_device,
        hub,
        """
        const todos = {a: {id: "a", title: "A", list_id: "i", version: 1}};
        const lists = {i: {id: "i"}};
        const pending = [
          {type: "list_update", id: "1", list_id: "gone", patch: {name: "x"}},
          {type: "create", id: "2", todo: {id: "c", title: "C", list_id: "gone"}},
          {type: "list_create", id: "3", list: {id: "n", name: "New"}},
          {type: "create", id: "4", todo: {id: "d", title: "D", list_id: "n"}},
          {type: "update", id: "5", todo_id: "a", patch: {list_id: "gone"}},
          {type: "update", id: "6", todo_id: "a", patch: {list_id: "n"}},
        ];
        const {kept, lost} = ops.prunePending(todos, pending, lists);
        return [kept.map((op) => op.id), lost.length];
        """,
    )
    assert result == [["3", "4", "6"], 3]
