"""Commands over a real socket: idempotent retries, versions, batches, validation, bad frames."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.client import Device, register
from tests.servers import RunningHub


async def _device(hub: RunningHub) -> Device:
    tokens = await register(hub)
    return await Device.connect(hub, tokens["access_token"], "dev")


async def test_retried_op_id_changes_nothing_and_answers_the_first_ack(hub: RunningHub) -> None:
    """Sending a command again with the same id applies nothing and repeats the first ack."""
    device = await _device(hub)
    frame = {"type": "create", "id": "op-1", "todo": {"title": "once"}}
    first = await device.command(frame)
    await device.wait_for("change", seq=1)
    again = await device.command(frame)
    assert again["duplicate"] is True
    assert {k: v for k, v in again.items() if k != "duplicate"} == first
    # A retried update whose todo was deleted since still gets its original ack.
    todo_id = first["todo"]["id"]
    update = {"type": "update", "id": "op-2", "todo_id": todo_id, "patch": {"title": "twice"}}
    first_update = await device.command(update)
    assert (await device.command({"type": "delete", "todo_id": todo_id}))["type"] == "ack"
    retried = await device.command(update)
    assert retried["seq"] == first_update["seq"] and retried["duplicate"] is True
    await device.send({"type": "ping"})
    await device.wait_for("pong")
    assert [c["seq"] for c in device.changes()] == [1, 2, 3]
    await device.close()


async def test_if_version_conflict_answers_the_current_todo(hub: RunningHub) -> None:
    """An update with a stale if_version changes nothing and carries the current todo."""
    device = await _device(hub)
    todo = (await device.create("versioned"))["todo"]
    ok = await device.command({"type": "update", "todo_id": todo["id"], "if_version": 1,
                               "patch": {"title": "v2"}})
    assert ok["todo"]["version"] == 2
    stale = await device.command({"type": "update", "todo_id": todo["id"], "if_version": 1,
                                  "patch": {"title": "lost"}})
    assert stale["type"] == "error" and stale["code"] == "conflict"
    assert stale["todo"]["title"] == "v2" and stale["todo"]["version"] == 2
    # Two devices changing different fields both win.
    merged = await device.command({"type": "update", "todo_id": todo["id"],
                                   "patch": {"priority": "urgent"}})
    assert merged["todo"]["title"] == "v2" and merged["todo"]["priority"] == "urgent"
    await device.close()


async def test_batch_is_atomic(hub: RunningHub) -> None:
    """A batch applies all operations with consecutive seqs, or none when one fails."""
    device = await _device(hub)
    a = (await device.create("a"))["todo"]
    b = (await device.create("b"))["todo"]
    ok = await device.command({"type": "batch", "ops": [
        {"type": "update", "todo_id": a["id"], "patch": {"completed": True}},
        {"type": "delete", "todo_id": b["id"]},
    ]})
    assert ok["type"] == "ack" and ok["seqs"] == [3, 4]
    assert ok["todos"][0]["completed"] is True and ok["todos"][1]["deleted"] is True
    failed = await device.command({"type": "batch", "ops": [
        {"type": "update", "todo_id": a["id"], "patch": {"title": "never"}},
        {"type": "delete", "todo_id": b["id"]},
    ]})
    assert failed["type"] == "error" and failed["code"] == "not_found"
    assert "ops.1" in failed["message"]
    too_many = await device.command({"type": "batch", "ops": [
        {"type": "create", "todo": {"title": str(i)}} for i in range(101)
    ]})
    assert too_many["code"] == "validation"
    check = await device.command({"type": "update", "todo_id": a["id"], "patch": {}})
    assert check["todo"]["title"] == "a"
    await device.close()


async def test_delete_raises_version_and_second_delete_is_not_found(hub: RunningHub) -> None:
    """A delete sends a tombstone with version + 1; deleting again answers not_found."""
    device = await _device(hub)
    todo = (await device.create("gone soon"))["todo"]
    ack = await device.command({"type": "delete", "todo_id": todo["id"]})
    assert ack["todo"] == {"id": todo["id"], "deleted": True, "version": 2}
    change = await device.wait_for("change", seq=2)
    assert change["op"] == "delete" and change["todo"]["deleted"] is True
    again = await device.command({"type": "delete", "todo_id": todo["id"]})
    assert again["code"] == "not_found"
    await device.close()


INVALID_TODOS: list[tuple[dict[str, Any], str]] = [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": 5}, "title"),
    ({}, "title"),
    ({"title": "ok", "description": "d" * 5001}, "description"),
    ({"title": "ok", "status": "done"}, "status"),
    ({"title": "ok", "priority": "asap"}, "priority"),
    ({"title": "ok", "due_at": "2026-11-23T08:00:00"}, "due_at"),
    ({"title": "ok", "due_at": "tomorrow"}, "due_at"),
    ({"title": "ok", "tags": [str(i) for i in range(11)]}, "tags"),
    ({"title": "ok", "tags": [""]}, "tags"),
    ({"title": "ok", "tags": ["t" * 51]}, "tags"),
    ({"title": "ok", "tags": "home"}, "tags"),
    ({"title": "ok", "order": "first"}, "order"),
    ({"title": "ok", "order": True}, "order"),
    ({"title": "ok", "colour": "red"}, "colour"),
    ({"title": "ok", "id": "not-a-uuid"}, "id"),
    ({"title": "ok", "status": "completed", "completed": False}, ""),
]


@pytest.mark.parametrize(("todo", "field"), INVALID_TODOS)
async def test_each_todo_rule_rejects_with_field_details(
    hub: RunningHub, todo: dict[str, Any], field: str
) -> None:
    """Every rule of the contract's todo section answers validation naming the field."""
    device = await _device(hub)
    answer = await device.command({"type": "create", "todo": todo})
    assert answer["type"] == "error" and answer["code"] == "validation", answer
    assert answer["details"], answer
    assert any(d["field"] == f"todo.{field}".rstrip(".") or d["field"].startswith(
        f"todo.{field}") for d in answer["details"]), answer["details"]
    await device.close()


async def test_patch_rules(hub: RunningHub) -> None:
    """Patches follow the same rules; null is refused for required fields; NaN is not finite."""
    device = await _device(hub)
    todo = (await device.create("base", tags=["a"]))["todo"]
    for patch, field in (({"title": None}, "patch.title"), ({"bogus": 1}, "patch.bogus"),
                         ({"priority": None}, "patch.priority")):
        answer = await device.command({"type": "update", "todo_id": todo["id"], "patch": patch})
        assert answer["code"] == "validation"
        assert answer["details"][0]["field"] == field, answer
    raw = '{"type":"update","id":"nan","todo_id":"TODO","patch":{"order":NaN}}'
    await device.send(raw.replace("TODO", todo["id"]))
    nan = await device.wait_for("error", id="nan")
    assert nan["code"] == "validation"
    cleared = await device.command({"type": "update", "todo_id": todo["id"],
                                    "patch": {"description": None, "due_at": None,
                                              "status": "in_progress"}})
    assert cleared["todo"]["status"] == "in_progress" and cleared["todo"]["completed"] is False
    await device.close()


async def test_malformed_frames_get_errors_and_the_socket_stays_usable(hub: RunningHub) -> None:
    """Bad JSON, unknown types and missing ids answer errors; the socket keeps working."""
    device = await _device(hub)
    await device.send("this is not json")
    error = await device.wait_for("error")
    assert error["code"] == "bad_request" and "id" not in error
    await device.send({"type": "teleport", "id": "t1"})
    assert (await device.wait_for("error", id="t1"))["code"] == "bad_request"
    await device.send("[1, 2]")
    assert (await device.wait_for("error"))["code"] == "bad_request"
    await device.send({"type": "create", "todo": {"title": "no id"}})
    assert (await device.wait_for("error"))["code"] == "validation"
    await device.send({"type": "create", "id": "x" * 65, "todo": {"title": "long id"}})
    assert (await device.wait_for("error"))["code"] == "validation"
    await device.send({"type": "update", "id": "u1", "todo_id": str(uuid.uuid4()),
                       "patch": {"title": "x"}})
    assert (await device.wait_for("error", id="u1"))["code"] == "not_found"
    await device.send({"type": "ping"})
    await device.wait_for("pong")
    ack = await device.create("still here")
    assert ack["type"] == "ack"
    await device.close()


async def test_client_made_id_and_order(hub: RunningHub) -> None:
    """A create may carry its own UUID; reusing it answers conflict; order defaults to last+1."""
    device = await _device(hub)
    own = str(uuid.uuid4())
    ack = await device.create("mine", id=own.upper(), order=3.5)
    assert ack["todo"]["id"] == own and ack["todo"]["order"] == 3.5
    again = await device.command({"type": "create", "todo": {"title": "dup", "id": own}})
    assert again["code"] == "conflict" and again["todo"]["title"] == "mine"
    later = await device.create("later")
    assert later["todo"]["order"] == 4.5
    assert later["todo"]["created_at"].endswith("Z")
    await device.close()
