"""Lists, sharing and assignment over real sockets and REST against a real hub: fan-out to
every device of every member, roles, invitations, ownership, removal, moves, assignment."""

from __future__ import annotations

from typing import Any

import httpx

from tests.client import PASSWORD, Device, register
from tests.lists import (
    api,
    assert_gap_free,
    inbox_of,
    invite,
    join,
    make_list,
    new_id,
    seen_in,
    shared_list,
)
from tests.servers import RunningHub


async def _sync_point(devices: list[Device]) -> None:
    """A ping round trip on each socket: whatever was published before has arrived."""
    for device in devices:
        await device.send({"type": "ping"})
        await device.wait_for("pong")


async def _wait_todo(device: Device, todo_id: str, op: str) -> dict[str, Any]:
    """The todo of the next ``op`` change of ``todo_id`` the device gets."""
    while True:
        change = await device.wait_for("change", op=op)
        if change["todo"]["id"] == todo_id:
            todo: dict[str, Any] = change["todo"]
            return todo


async def test_every_write_reaches_all_six_devices_once_and_in_order(hub: RunningHub) -> None:
    """Three users with two devices each share a list: every write by any member, over the
    socket or REST, reaches all six devices exactly once and in order; each inbox stays
    private."""
    users = [await register(hub) for _ in range(3)]
    list_id = await shared_list(hub, users[0], [(users[1], "editor"), (users[2], "editor")])
    devices = [[await Device.connect(hub, u["access_token"], f"d{n}-{k}") for k in range(2)]
               for n, u in enumerate(users)]
    every = [d for pair in devices for d in pair]
    ids: list[str] = []
    for round_ in range(3):
        for n, pair in enumerate(devices):
            made = await pair[round_ % 2].create(f"r{round_} by {n}", list_id=list_id)
            assert made["type"] == "ack", made
            ids.append(made["todo"]["id"])
            rest = await api(hub, users[n], "POST", "/api/todos",
                             {"title": f"rest r{round_} by {n}", "list_id": list_id})
            assert rest.status_code == 201, rest.text
            ids.append(rest.json()["id"])
            private = await pair[0].create(f"private {n}")
            assert private["todo"]["list_id"] != list_id
    for n, todo_id in enumerate(ids[:6]):
        pair = devices[n % 3]
        done = await pair[1].command({"type": "update", "todo_id": todo_id,
                                      "patch": {"completed": True}})
        assert done["type"] == "ack", done
    gone = await api(hub, users[2], "DELETE", f"/api/todos/{ids[-1]}")
    assert gone.status_code == 204
    last = await devices[1][0].create("last", list_id=list_id)
    for device in every:
        await device.wait_for("change", op="create", todo=last["todo"])
    expected = seen_in(every[0], list_id)
    assert len(expected) == len(ids) + 6 + 1 + 1
    for device in every:
        assert seen_in(device, list_id) == expected
        assert_gap_free(device)
    for n, pair in enumerate(devices):
        for device in pair:
            private = [c["todo"]["title"] for c in device.changes()
                       if c["todo"].get("title", "").startswith("private")]
            assert private == [f"private {n}"] * 3
    for device in every:
        await device.close()


async def test_joining_writes_the_list_and_its_todos_into_the_new_members_stream(
    hub: RunningHub,
) -> None:
    """A member who joins gets a list change then one create per todo, live and on resume;
    the others get the new member list."""
    ann, bob = await register(hub), await register(hub)
    made = await make_list(hub, ann, "Groceries")
    ann_dev = await Device.connect(hub, ann["access_token"], "ann")
    for title in ("milk", "eggs"):
        await ann_dev.create(title, list_id=made["id"])
    bob_dev = await Device.connect(hub, bob["access_token"], "bob")
    head = bob_dev.frames[0]["seq"]
    offer = await invite(hub, ann, made["id"], "viewer")
    joined = await join(hub, bob, offer["token"])
    assert joined["role"] == "viewer" and len(joined["members"]) == 2
    shown = await bob_dev.wait_for("change", op="list")
    assert shown["list"]["id"] == made["id"] and shown["list"]["role"] == "viewer"
    creates = [await bob_dev.wait_for("change", op="create") for _ in range(2)]
    assert [c["todo"]["title"] for c in creates] == ["milk", "eggs"]
    members = await ann_dev.wait_for("change", op="list")
    assert {m["role"] for m in members["list"]["members"]} == {"owner", "viewer"}
    assert members["list"]["role"] == "owner"
    later = await Device.connect(hub, bob["access_token"], "bob-2", since=head)
    assert [c["op"] for c in later.changes()] == ["list", "create", "create"]
    fresh = await Device.connect(hub, bob["access_token"], "bob-3")
    snapshot = fresh.frames[1]
    assert {x["name"] for x in snapshot["lists"]} == {"Inbox", "Groceries"}
    assert {t["title"] for t in snapshot["todos"]} == {"milk", "eggs"}
    for device in (ann_dev, bob_dev, later, fresh):
        await device.close()


async def test_a_viewers_writes_are_refused_and_change_nothing(hub: RunningHub) -> None:
    """A viewer's create, update, delete, move and batch are forbidden (403 over REST) and
    leave no trace on any device."""
    ann, vic = await register(hub), await register(hub)
    list_id = await shared_list(hub, ann, [(vic, "viewer")])
    ann_dev = await Device.connect(hub, ann["access_token"], "ann")
    todo = (await ann_dev.create("read me", list_id=list_id))["todo"]
    vic_dev = await Device.connect(hub, vic["access_token"], "vic")
    vic_inbox = await inbox_of(hub, vic)
    mine = (await vic_dev.create("my own"))["todo"]
    before_ann, before_vic = len(ann_dev.changes()), len(vic_dev.changes())
    attempts: list[dict[str, Any]] = [
        {"type": "create", "todo": {"title": "nope", "list_id": list_id}},
        {"type": "update", "todo_id": todo["id"], "patch": {"title": "nope"}},
        {"type": "update", "todo_id": todo["id"], "patch": {"list_id": vic_inbox}},
        {"type": "update", "todo_id": mine["id"], "patch": {"list_id": list_id}},
        {"type": "delete", "todo_id": todo["id"]},
        {"type": "batch", "ops": [{"type": "create", "todo": {"title": "ok"}},
                                  {"type": "delete", "todo_id": todo["id"]}]},
        {"type": "list_update", "list_id": list_id, "patch": {"name": "mine"}},
        {"type": "list_delete", "list_id": list_id},
    ]
    for attempt in attempts:
        answer = await vic_dev.command(attempt)
        assert answer["type"] == "error" and answer["code"] == "forbidden", (attempt, answer)
    for method, path, body in (
        ("POST", "/api/todos", {"title": "nope", "list_id": list_id}),
        ("POST", "/api/todos/batch", {"ops": [{"type": "delete", "todo_id": todo["id"]}]}),
        ("PATCH", f"/api/todos/{todo['id']}", {"title": "nope"}),
        ("DELETE", f"/api/todos/{todo['id']}", None),
        ("PATCH", f"/api/lists/{list_id}", {"name": "mine"}),
        ("POST", f"/api/lists/{list_id}/invites", {"role": "editor"}),
        ("PATCH", f"/api/lists/{list_id}/members/{ann['user']['id']}", {"role": "viewer"}),
        ("DELETE", f"/api/lists/{list_id}/members/{ann['user']['id']}", None),
    ):
        response = await api(hub, vic, method, path, body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    await _sync_point([ann_dev, vic_dev])
    assert len(ann_dev.changes()) == before_ann and len(vic_dev.changes()) == before_vic
    current = await api(hub, vic, "GET", f"/api/todos/{todo['id']}")
    assert current.json()["version"] == 1 and current.json()["title"] == "read me"
    await ann_dev.close()
    await vic_dev.close()


async def test_an_invitation_accepted_by_a_guest(hub: RunningHub) -> None:
    """A guest previews an invitation, accepts it, and sees the list live."""
    ann = await register(hub)
    made = await make_list(hub, ann, "Holiday")
    offer = await invite(hub, ann, made["id"], "editor", max_uses=1, expires_in=3600)
    assert offer["url"].endswith(f"/#/invite/{offer['token']}") and offer["uses_left"] == 1
    async with httpx.AsyncClient(base_url=hub.url) as http:
        guest = (await http.post("/api/auth/guest")).json()
    guest_dev = await Device.connect(hub, guest["access_token"], "guest")
    preview = await api(hub, guest, "POST", "/api/invites/preview", {"token": offer["token"]})
    assert preview.status_code == 200
    assert preview.json()["list"] == {"id": made["id"], "name": "Holiday"}
    assert preview.json()["role"] == "editor"
    assert preview.json()["invited_by"]["id"] == ann["user"]["id"]
    await join(hub, guest, offer["token"])
    await guest_dev.wait_for("change", op="list")
    ann_dev = await Device.connect(hub, ann["access_token"], "ann")
    made_by_guest = await guest_dev.create("passport", list_id=made["id"])
    seen = await ann_dev.wait_for("change", op="create")
    assert seen["todo"]["id"] == made_by_guest["todo"]["id"]
    spent = await api(hub, guest, "POST", "/api/invites/preview", {"token": offer["token"]})
    assert spent.status_code == 404
    listed = await api(hub, ann, "GET", f"/api/lists/{made['id']}/invites")
    assert listed.json() == {"invites": []}
    await guest_dev.close()
    await ann_dev.close()


async def test_ownership_handed_over(hub: RunningHub) -> None:
    """The owner makes an editor the owner: the old owner becomes an editor, every device
    sees the roles change, and only the new owner may now rename the list."""
    ann, bob = await register(hub), await register(hub)
    list_id = await shared_list(hub, ann, [(bob, "editor")])
    ann_dev = await Device.connect(hub, ann["access_token"], "ann")
    bob_dev = await Device.connect(hub, bob["access_token"], "bob")
    leave = await api(hub, ann, "DELETE", f"/api/lists/{list_id}/members/{ann['user']['id']}")
    assert leave.status_code == 403
    handed = await api(hub, ann, "PATCH", f"/api/lists/{list_id}/members/{bob['user']['id']}",
                       {"role": "owner"})
    assert handed.status_code == 200, handed.text
    assert handed.json()["role"] == "editor"
    assert (await ann_dev.wait_for("change", op="list"))["list"]["role"] == "editor"
    assert (await bob_dev.wait_for("change", op="list"))["list"]["role"] == "owner"
    refused = await ann_dev.command({"type": "list_update", "list_id": list_id,
                                     "patch": {"name": "Ann's"}})
    assert refused["code"] == "forbidden"
    renamed = await bob_dev.command({"type": "list_update", "list_id": list_id,
                                     "patch": {"name": "Bob's"}, "if_version": 3})
    assert renamed["type"] == "ack" and renamed["list"]["name"] == "Bob's", renamed
    assert (await ann_dev.wait_for("change", op="list"))["list"]["name"] == "Bob's"
    left = await api(hub, ann, "DELETE", f"/api/lists/{list_id}/members/{ann['user']['id']}")
    assert left.status_code == 204
    removed = await ann_dev.wait_for("change", op="list_removed")
    assert removed["reason"] == "left" and removed["list"] == {"id": list_id}
    await ann_dev.close()
    await bob_dev.close()


async def test_a_removed_member_catches_up_with_list_removed_and_sees_nothing_after(
    hub: RunningHub,
) -> None:
    """A member removed while their device is offline gets list_removed on reconnect with
    since, and none of the list's later changes; their old op ids no longer show it."""
    ann, bob = await register(hub), await register(hub)
    list_id = await shared_list(hub, ann, [(bob, "editor")])
    bob_dev = await Device.connect(hub, bob["access_token"], "bob")
    op_id = new_id()
    made = await bob_dev.command({"type": "create", "id": op_id,
                                  "todo": {"title": "bob's", "list_id": list_id}})
    await bob_dev.wait_for("change", op="create")
    rest_key = new_id()
    by_rest = await api(hub, bob, "POST", "/api/todos", {"title": "x", "list_id": list_id},
                        headers={"Idempotency-Key": rest_key})
    assert by_rest.status_code == 201
    await bob_dev.wait_for("change", op="create", todo=by_rest.json())
    since = bob_dev.changes()[-1]["seq"]
    await bob_dev.close()
    removed = await api(hub, ann, "DELETE", f"/api/lists/{list_id}/members/{bob['user']['id']}")
    assert removed.status_code == 204
    ann_dev = await Device.connect(hub, ann["access_token"], "ann")
    after = await ann_dev.create("after removal", list_id=list_id)
    assert after["type"] == "ack"
    back = await Device.connect(hub, bob["access_token"], "bob", since=since)
    assert [(c["op"], c.get("reason")) for c in back.changes()] == [("list_removed", "removed")]
    await ann_dev.create("still later", list_id=list_id)
    await _sync_point([back])
    assert len(back.changes()) == 1
    retried = await back.command({"type": "create", "id": op_id,
                                  "todo": {"title": "bob's", "list_id": list_id}})
    assert retried["type"] == "error" and retried["code"] == "not_found"
    touched = await back.command({"type": "update", "todo_id": made["todo"]["id"],
                                  "patch": {"title": "still mine?"}})
    assert touched["code"] == "not_found"
    assert (await api(hub, bob, "GET", f"/api/lists/{list_id}")).status_code == 404
    again = await api(hub, bob, "POST", "/api/todos", {"title": "x", "list_id": list_id},
                      headers={"Idempotency-Key": rest_key})
    assert again.status_code == 404
    await back.close()
    await ann_dev.close()


async def test_a_todo_moved_out_of_a_shared_list(hub: RunningHub) -> None:
    """Moving a todo into one's inbox drops it from the other members' devices (a delete),
    and it keeps its id in the mover's inbox."""
    ann, bob = await register(hub), await register(hub)
    list_id = await shared_list(hub, ann, [(bob, "editor")])
    ann_dev = await Device.connect(hub, ann["access_token"], "ann")
    bob_dev = await Device.connect(hub, bob["access_token"], "bob")
    todo = (await ann_dev.create("mine after all", list_id=list_id))["todo"]
    await bob_dev.wait_for("change", op="create")
    inbox = await inbox_of(hub, ann)
    moved = await ann_dev.command({"type": "update", "todo_id": todo["id"],
                                   "patch": {"list_id": inbox}})
    assert moved["type"] == "ack" and moved["todo"]["list_id"] == inbox
    assert moved["todo"]["id"] == todo["id"] and moved["todo"]["version"] == 2
    mine = await ann_dev.wait_for("change", op="update")
    assert mine["todo"]["list_id"] == inbox
    gone = await bob_dev.wait_for("change", op="delete")
    assert gone["todo"] == {"id": todo["id"], "deleted": True, "version": 2}
    back = await ann_dev.command({"type": "update", "todo_id": todo["id"],
                                  "patch": {"list_id": list_id}})
    assert back["type"] == "ack"
    again = await bob_dev.wait_for("change", op="create")
    assert again["todo"]["id"] == todo["id"] and again["todo"]["version"] == 3
    listed = await api(hub, bob, "GET", f"/api/todos?list_id={list_id}")
    assert [t["id"] for t in listed.json()["items"]] == [todo["id"]]
    await ann_dev.close()
    await bob_dev.close()


async def test_an_assignee_who_leaves_is_unassigned_on_every_device(hub: RunningHub) -> None:
    """Assignments of a member who leaves are cleared, as changes every member's devices
    see; the assignee filter follows."""
    ann, bob = await register(hub), await register(hub)
    list_id = await shared_list(hub, ann, [(bob, "editor")])
    ann_devs = [await Device.connect(hub, ann["access_token"], f"ann{k}") for k in range(2)]
    bob_dev = await Device.connect(hub, bob["access_token"], "bob")
    bob_id = bob["user"]["id"]
    first = (await ann_devs[0].create("for bob", list_id=list_id, assignee=bob_id))["todo"]
    second = (await ann_devs[0].create("for ann", list_id=list_id))["todo"]
    assigned = await api(hub, ann, "PATCH", f"/api/todos/{second['id']}",
                         {"assignee": ann["user"]["id"]})
    assert assigned.status_code == 200 and assigned.json()["assignee"] == ann["user"]["id"]
    mine = await api(hub, bob, "GET", "/api/todos?assignee=me")
    assert [t["id"] for t in mine.json()["items"]] == [first["id"]]
    none = await api(hub, bob, "GET", f"/api/todos?assignee=none&list_id={list_id}")
    assert none.json()["items"] == []
    stranger = await register(hub)
    refused = await ann_devs[0].command({"type": "update", "todo_id": second["id"],
                                         "patch": {"assignee": stranger["user"]["id"]}})
    assert refused["code"] == "validation"
    left = await api(hub, bob, "DELETE", f"/api/lists/{list_id}/members/{bob_id}")
    assert left.status_code == 204
    for device in ann_devs:
        cleared = await _wait_todo(device, first["id"], "update")
        assert cleared["assignee"] is None and cleared["version"] == 2
    await bob_dev.wait_for("change", op="list_removed", reason="left")
    unassigned = await api(hub, ann, "GET", f"/api/todos?assignee=none&list_id={list_id}")
    assert [t["id"] for t in unassigned.json()["items"]] == [first["id"]]
    for device in (*ann_devs, bob_dev):
        await device.close()


async def test_a_deleted_account_leaves_its_lists_on_every_members_device(
    hub: RunningHub,
) -> None:
    """Deleting an account deletes the lists it owns for their members (list_removed,
    deleted) and takes it out of the others, unassigning it, live on the members' devices."""
    ann, bob, cat = await register(hub), await register(hub), await register(hub)
    owned = await shared_list(hub, ann, [(bob, "editor")], "ann's")
    joined = await shared_list(hub, cat, [(ann, "editor"), (bob, "viewer")], "cat's")
    bob_dev = await Device.connect(hub, bob["access_token"], "bob")
    cat_dev = await Device.connect(hub, cat["access_token"], "cat")
    task = (await cat_dev.create("for ann", list_id=joined, assignee=ann["user"]["id"]))["todo"]
    await bob_dev.wait_for("change", op="create")
    gone = await api(hub, ann, "DELETE", "/api/auth/me", {"password": PASSWORD})
    assert gone.status_code == 204, gone.text
    removed = await bob_dev.wait_for("change", op="list_removed")
    assert removed["list"] == {"id": owned} and removed["reason"] == "deleted"
    shown = await cat_dev.wait_for("change", op="list")
    assert [m["user"]["id"] for m in shown["list"]["members"]] == [cat["user"]["id"],
                                                                    bob["user"]["id"]]
    cleared = await _wait_todo(cat_dev, task["id"], "update")
    assert cleared["assignee"] is None
    # bob's stream holds the same update, before or after the list_removed (the two lists
    # are handled in id order).
    await _sync_point([bob_dev])
    assert [c["todo"] for c in bob_dev.changes() if c["op"] == "update"] == [cleared]
    assert_gap_free(bob_dev)
    assert_gap_free(cat_dev)
    assert (await api(hub, bob, "GET", f"/api/lists/{owned}")).status_code == 404
    for device in (bob_dev, cat_dev):
        await device.close()
