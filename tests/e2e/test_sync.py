"""Devices of one user stay in sync over real sockets; other users see nothing."""

from __future__ import annotations

import httpx

from tests.client import Device, bearer, register
from tests.servers import RunningHub


async def test_two_devices_of_one_user_stay_in_sync(hub: RunningHub) -> None:
    """A change made on one device reaches the other device, and the sender gets ack+change."""
    tokens = await register(hub)
    laptop = await Device.connect(hub, tokens["access_token"], "laptop")
    phone = await Device.connect(hub, tokens["access_token"], "phone")
    ack = await laptop.create("Buy milk", tags=["Home", "home "])
    assert ack["seq"] == 1
    assert ack["todo"]["tags"] == ["home"]
    todo_id = ack["todo"]["id"]
    change = await phone.wait_for("change")
    assert change["op"] == "create" and change["todo"]["title"] == "Buy milk"
    assert change["origin"] == {"device": "laptop", "op": ack["id"]}
    assert (await laptop.wait_for("change"))["seq"] == 1
    update = await phone.command(
        {"type": "update", "todo_id": todo_id, "patch": {"completed": True}}
    )
    assert update["type"] == "ack" and update["todo"]["status"] == "completed"
    assert update["todo"]["completed_at"] is not None
    seen = await laptop.wait_for("change", seq=2)
    assert seen["todo"]["completed"] is True and seen["todo"]["version"] == 2
    await laptop.close()
    await phone.close()


async def test_another_user_sees_nothing(hub: RunningHub) -> None:
    """A device of another user gets no change and cannot touch the first user's todo."""
    ann, bob = await register(hub), await register(hub)
    ann_dev = await Device.connect(hub, ann["access_token"], "a")
    bob_dev = await Device.connect(hub, bob["access_token"], "b")
    ack = await ann_dev.create("Secret plan")
    await ann_dev.wait_for("change")
    answer = await bob_dev.command({"type": "update", "todo_id": ack["todo"]["id"],
                                    "patch": {"title": "mine now"}})
    assert answer["type"] == "error" and answer["code"] == "not_found"
    answer = await bob_dev.command({"type": "delete", "todo_id": ack["todo"]["id"]})
    assert answer["code"] == "not_found"
    # A ping round trip after the create proves bob's socket had its chance to see it.
    await bob_dev.send({"type": "ping"})
    await bob_dev.wait_for("pong")
    assert bob_dev.changes() == []
    async with httpx.AsyncClient(base_url=hub.url) as http:
        response = await http.get(f"/api/todos/{ack['todo']['id']}", headers=bearer(bob))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    await ann_dev.close()
    await bob_dev.close()


async def test_reconnect_with_since_gets_exactly_what_was_missed(hub: RunningHub) -> None:
    """A device that comes back with since receives the missed changes, in order, once."""
    tokens = await register(hub)
    token = tokens["access_token"]
    phone = await Device.connect(hub, token, "phone")
    await phone.create("one")
    await phone.wait_changes(1)
    last = phone.changes()[-1]["seq"]
    await phone.close()
    laptop = await Device.connect(hub, token, "laptop")
    for title in ("two", "three", "four"):
        await laptop.create(title)
    ack = await laptop.command({"type": "update", "todo_id": laptop.changes()[0]["todo"]["id"]
                                if laptop.changes() else (await laptop.wait_changes(1))[0]
                                ["todo"]["id"], "patch": {"priority": "high"}})
    assert ack["type"] == "ack"
    back = await Device.connect(hub, token, "phone", since=last)
    welcome = back.frames[0]
    assert welcome["type"] == "welcome" and welcome["seq"] == 5
    seqs = [c["seq"] for c in back.changes()]
    assert seqs == [2, 3, 4, 5]
    synced = [f for f in back.frames if f["type"] == "synced"][0]
    assert synced["seq"] == 5
    assert not [f for f in back.frames if f["type"] == "snapshot"]
    # Live changes continue after the catch-up without a gap.
    await laptop.create("five")
    assert (await back.wait_for("change", seq=6))["todo"]["title"] == "five"
    await back.close()
    await laptop.close()


async def test_fresh_device_gets_a_snapshot(hub: RunningHub) -> None:
    """A device without since gets welcome, one snapshot with every todo, then synced."""
    tokens = await register(hub)
    first = await Device.connect(hub, tokens["access_token"], "first")
    snap = [f for f in first.frames if f["type"] == "snapshot"]
    assert len(snap) == 1
    inbox = snap[0].pop("lists")
    assert snap == [{"type": "snapshot", "seq": 0, "todos": [], "more": False}]
    assert [(x["name"], x["inbox"], x["role"]) for x in inbox] == [("Inbox", True, "owner")]
    await first.create("a", order=2)
    await first.create("b", order=1)
    second = await Device.connect(hub, tokens["access_token"], "second")
    kinds = [f["type"] for f in second.frames]
    assert kinds[:3] == ["welcome", "snapshot", "synced"]
    snapshot = second.frames[1]
    assert [t["title"] for t in snapshot["todos"]] == ["b", "a"]
    assert snapshot["seq"] == 2 and snapshot["more"] is False
    await first.close()
    await second.close()
