"""Every bad input about lists gets its coded error and changes nothing: unknown and foreign
lists, limits, names, spent, expired and revoked invitations, the inbox rules."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.client import Device, register
from tests.lists import api, inbox_of, invite, join, make_list, new_id, shared_list
from tests.servers import RunningHub

MISSING = "00000000-0000-4000-8000-00000000dead"


async def _quiet(device: Device) -> None:
    """Nothing more arrives on the device's stream (a ping round trip flushes it)."""
    before = len(device.changes())
    await device.send({"type": "ping"})
    await device.wait_for("pong")
    assert len(device.changes()) == before, device.changes()[before:]


async def test_unknown_and_foreign_lists_are_not_found(hub: RunningHub) -> None:
    """Another user's list, or a todo in it, looks exactly like a missing one: on the socket,
    over REST, for a create with a client id taken by a todo the user cannot see."""
    ann, eve = await register(hub), await register(hub)
    private = await make_list(hub, ann, "Ann's")
    ann_dev = await Device.connect(hub, ann["access_token"], "ann")
    todo = (await ann_dev.create("hidden", list_id=private["id"]))["todo"]
    eve_dev = await Device.connect(hub, eve["access_token"], "eve")
    eve_inbox = await inbox_of(hub, eve)
    mine = (await eve_dev.create("eve's"))["todo"]
    before = len(ann_dev.changes())
    for list_id in (private["id"], MISSING):
        for frame in (
            {"type": "create", "todo": {"title": "x", "list_id": list_id}},
            {"type": "update", "todo_id": mine["id"], "patch": {"list_id": list_id}},
            {"type": "list_update", "list_id": list_id, "patch": {"name": "x"}},
            {"type": "list_delete", "list_id": list_id},
        ):
            answer = await eve_dev.command(frame)
            assert answer["code"] == "not_found", (frame, answer)
            assert answer["message"] == f"no list with id {list_id}"
        for method, path, body in (
            ("GET", f"/api/lists/{list_id}", None),
            ("PATCH", f"/api/lists/{list_id}", {"name": "x"}),
            ("DELETE", f"/api/lists/{list_id}", None),
            ("POST", f"/api/lists/{list_id}/invites", {}),
            ("GET", f"/api/lists/{list_id}/invites", None),
            ("GET", f"/api/todos?list_id={list_id}", None),
            ("GET", f"/api/todos/stats?list_id={list_id}", None),
            ("DELETE", f"/api/lists/{list_id}/members/{eve['user']['id']}", None),
        ):
            response = await api(hub, eve, method, path, body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["error"]["code"] == "not_found"
    for frame in (
        {"type": "update", "todo_id": todo["id"], "patch": {"title": "x"}},
        {"type": "delete", "todo_id": todo["id"]},
        {"type": "batch", "ops": [{"type": "delete", "todo_id": todo["id"]}]},
    ):
        assert (await eve_dev.command(frame))["code"] == "not_found"
    taken = await eve_dev.command({"type": "create", "todo": {"id": todo["id"], "title": "x",
                                                               "list_id": eve_inbox}})
    assert taken["code"] == "not_found"
    own = await eve_dev.command({"type": "create", "todo": {"id": mine["id"], "title": "x"}})
    assert own["code"] == "conflict"
    taken_list = await eve_dev.command({"type": "list_create",
                                        "list": {"id": private["id"], "name": "x"}})
    assert taken_list["code"] == "not_found"
    await _quiet(ann_dev)
    assert len(ann_dev.changes()) == before
    await ann_dev.close()
    await eve_dev.close()


async def test_limits_and_names(hub_factory: Callable[..., RunningHub]) -> None:
    """Too many members, too many lists and a bad name are refused and change nothing."""
    hub = hub_factory(max_list_members=2, max_lists=1)
    ann, bob, cat = await register(hub), await register(hub), await register(hub)
    made = await make_list(hub, ann, "  Two at most  ")
    assert made["name"] == "Two at most"
    second = await api(hub, ann, "POST", "/api/lists", {"name": "one too many"})
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"
    offer = await invite(hub, ann, made["id"], "editor", max_uses=5)
    await join(hub, bob, offer["token"])
    full = await api(hub, cat, "POST", "/api/invites/accept", {"token": offer["token"]})
    assert full.status_code == 409 and full.json()["error"]["code"] == "conflict"
    for body in ({"name": "x" * 101}, {"name": "   "}, {"name": 5}, {}, {"name": "a", "x": 1}):
        response = await api(hub, ann, "POST", "/api/lists", body)
        assert response.status_code == 422, (body, response.text)
    ann_dev = await Device.connect(hub, ann["access_token"], "ann")
    long = await ann_dev.command({"type": "list_update", "list_id": made["id"],
                                  "patch": {"name": "y" * 101}})
    assert long["code"] == "validation" and long["details"][0]["field"] == "patch.name"
    for body in ({"role": "owner"}, {"role": "editor", "max_uses": 0},
                 {"role": "viewer", "expires_in": 10}, {"role": "editor", "colour": "red"}):
        response = await api(hub, ann, "POST", f"/api/lists/{made['id']}/invites", body)
        assert response.status_code == 422, (body, response.text)
    shown = (await api(hub, ann, "GET", f"/api/lists/{made['id']}")).json()
    assert shown["name"] == "Two at most" and len(shown["members"]) == 2
    assert shown["version"] == 2
    await _quiet(ann_dev)
    await ann_dev.close()


async def test_spent_expired_and_revoked_invitations(hub: RunningHub) -> None:
    """An unknown, used-up, expired or revoked token answers 404, the same way, to preview
    and accept; a member accepting again keeps their role and spends nothing."""
    ann, bob, cat = await register(hub), await register(hub), await register(hub)
    made = await make_list(hub, ann, "Spent")
    once = await invite(hub, ann, made["id"], "viewer")
    await join(hub, bob, once["token"])
    expired = await invite(hub, ann, made["id"], "editor", expires_in=60)
    path = Path(hub.settings.data_dir) / "todohub.db"
    with sqlite3.connect(path) as db:  # an hour has passed, for this invitation
        db.execute("UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000Z' "
                   "WHERE id = ?", (expired["id"],))
    revoked = await invite(hub, ann, made["id"], "editor")
    gone = await api(hub, ann, "DELETE", f"/api/lists/{made['id']}/invites/{revoked['id']}")
    assert gone.status_code == 204
    again = await api(hub, ann, "DELETE", f"/api/lists/{made['id']}/invites/{revoked['id']}")
    assert again.status_code == 404
    answers = []
    for token in (once["token"], expired["token"], revoked["token"], "no-such-token"):
        for route in ("preview", "accept"):
            response = await api(hub, cat, "POST", f"/api/invites/{route}", {"token": token})
            assert response.status_code == 404, (token, route, response.text)
            answers.append(response.json())
    assert all(answer == answers[0] for answer in answers)
    open_one = await invite(hub, ann, made["id"], "editor")
    stays = await join(hub, bob, open_one["token"])
    assert stays["role"] == "viewer"
    listed = await api(hub, ann, "GET", f"/api/lists/{made['id']}/invites")
    assert [i["id"] for i in listed.json()["invites"]] == [open_one["id"]]
    assert "token" not in listed.json()["invites"][0]
    bad = await api(hub, cat, "POST", "/api/invites/accept", {"token": 7})
    assert bad.status_code == 422
    members = (await api(hub, ann, "GET", f"/api/lists/{made['id']}")).json()["members"]
    assert {m["user"]["id"] for m in members} == {ann["user"]["id"], bob["user"]["id"]}


async def test_the_inbox_rules(hub: RunningHub) -> None:
    """Exactly one inbox, made with the account: renamable, never deleted, left or shared."""
    ann = await register(hub)
    found = (await api(hub, ann, "GET", "/api/lists")).json()["lists"]
    assert [(x["name"], x["inbox"], x["role"]) for x in found] == [("Inbox", True, "owner")]
    inbox = found[0]["id"]
    renamed = await api(hub, ann, "PATCH", f"/api/lists/{inbox}", {"name": "Mine"},
                        headers={"If-Match": "1"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Mine"
    stale = await api(hub, ann, "PATCH", f"/api/lists/{inbox}", {"name": "Old"},
                      headers={"If-Match": "1"})
    assert stale.status_code == 412 and stale.json()["error"]["list"]["version"] == 2
    refusals: list[tuple[str, str, Any]] = [
        ("DELETE", f"/api/lists/{inbox}", None),
        ("DELETE", f"/api/lists/{inbox}/members/{ann['user']['id']}", None),
        ("POST", f"/api/lists/{inbox}/invites", {"role": "editor"}),
    ]
    for method, path, body in refusals:
        response = await api(hub, ann, method, path, body)
        assert response.status_code == 403, (method, path, response.text)
    assert (await api(hub, ann, "GET", f"/api/lists/{inbox}")).json()["name"] == "Mine"


async def test_retries_batches_and_deletes_of_lists(hub: RunningHub) -> None:
    """list_create retried with its op id answers the first ack; a batch refused in one op
    changes nothing; deleting a shared list removes it from every member with reason
    deleted and no per-todo deletes."""
    ann, bob = await register(hub), await register(hub)
    ann_dev = await Device.connect(hub, ann["access_token"], "ann")
    op_id = new_id()
    first = await ann_dev.command({"type": "list_create", "id": op_id,
                                   "list": {"name": "Work"}})
    assert first["type"] == "ack" and first["list"]["role"] == "owner"
    again = await ann_dev.command({"type": "list_create", "id": op_id,
                                   "list": {"name": "Work"}})
    assert again["duplicate"] is True and again["list"] == first["list"]
    list_id = first["list"]["id"]
    listed = (await api(hub, ann, "GET", "/api/lists")).json()["lists"]
    assert [x["name"] for x in listed] == ["Inbox", "Work"]
    offer = await invite(hub, ann, list_id)
    await join(hub, bob, offer["token"])
    bob_dev = await Device.connect(hub, bob["access_token"], "bob")
    todo = (await bob_dev.create("report", list_id=list_id))["todo"]
    refused = await bob_dev.command({"type": "batch", "ops": [
        {"type": "update", "todo_id": todo["id"], "patch": {"completed": True}},
        {"type": "create", "todo": {"title": "x", "list_id": MISSING}},
    ]})
    assert refused["code"] == "not_found" and refused["message"].startswith("ops.1:")
    stats = await api(hub, bob, "GET", f"/api/todos/stats?list_id={list_id}")
    assert stats.json()["total"] == 1 and stats.json()["completed"] == 0
    bob_seen = len(bob_dev.changes())
    deleted = await ann_dev.command({"type": "list_delete", "list_id": list_id})
    assert deleted["type"] == "ack" and deleted["list"]["deleted"] is True
    removed = await bob_dev.wait_for("change", op="list_removed")
    assert removed["reason"] == "deleted"
    await _quiet(bob_dev)
    assert len(bob_dev.changes()) == bob_seen + 1
    assert (await api(hub, bob, "GET", f"/api/todos/{todo['id']}")).status_code == 404
    await ann_dev.close()
    await bob_dev.close()


async def test_stats_and_filters_cover_every_list(hub: RunningHub) -> None:
    """Without list_id, listing and stats cover every list the user belongs to."""
    ann, bob = await register(hub), await register(hub)
    list_id = await shared_list(hub, ann, [(bob, "editor")])
    for tokens, body in ((ann, {"title": "a"}), (bob, {"title": "b"}),
                         (bob, {"title": "c", "list_id": list_id})):
        assert (await api(hub, tokens, "POST", "/api/todos", body)).status_code == 201
    assert (await api(hub, bob, "GET", "/api/todos/stats")).json()["total"] == 2
    assert (await api(hub, ann, "GET", "/api/todos")).json()["total"] == 2
    bad = await api(hub, ann, "GET", "/api/todos?list_id=nope")
    assert bad.status_code == 422
