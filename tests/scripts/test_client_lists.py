"""The Python client's lists against a real hub: every list, invitation and member call,
sync and async, sharing between users with typed refusals, and watch's list changes."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import pytest

from hub.client import AsyncHub, Conflict, Forbidden, Hub, NotFound
from tests.client import register
from tests.scripts.helpers import make_token
from tests.servers import RunningHub


class _Threaded:
    """A blocking Hub (or one of its parts) seen through awaitables: each call runs in a
    worker thread, and an iterator it answers is read there whole."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._target, name)
        if not callable(found):
            return _Threaded(found)

        async def call(*args: Any, **kwargs: Any) -> Any:
            def whole() -> Any:
                answer = found(*args, **kwargs)
                return list(answer) if inspect.isgenerator(answer) else answer

            return await asyncio.to_thread(whole)

        return call


async def _all(items: Any) -> list[Any]:
    """The items of an async iterator, or of an awaitable answering a list."""
    if inspect.isawaitable(items):
        return list(await items)
    return [item async for item in items]


async def _users(hub: RunningHub, count: int) -> list[tuple[str, str]]:
    """``count`` new users: (user id, write token)."""
    found = []
    for _ in range(count):
        login = await register(hub)
        found.append((login["user"]["id"], (await make_token(hub, login))["token"]))
    return found


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_every_list_call_and_sharing_between_users(hub: RunningHub, kind: str) -> None:
    """ann makes, renames (a stale if_version is Conflict with the current list) and
    shares a list (a non-member's look is NotFound); bob previews and accepts an
    invitation by its url and sees ann's todo assigned to him; cat, a viewer, is refused
    with Forbidden until made an editor; then removal, leaving, revocation and deletion,
    each answered as the contract says."""
    (ann_id, ann_token), (bob_id, bob_token), (cat_id, cat_token) = await _users(hub, 3)
    opened: list[Hub | AsyncHub] = []

    def client(token: str) -> Any:
        opened.append(Hub(hub.url, token) if kind == "sync" else AsyncHub(hub.url, token))
        return _Threaded(opened[-1]) if kind == "sync" else opened[-1]

    ann, bob, cat = client(ann_token), client(bob_token), client(cat_token)
    try:
        (inbox,) = await ann.lists.list()
        assert inbox["inbox"] and inbox["role"] == "owner"
        made = await ann.lists.create("Groceries")
        assert made["role"] == "owner" and made["version"] == 1 and not made["inbox"]
        renamed = await ann.lists.rename(made["id"], "Food", if_version=1)
        with pytest.raises(Conflict) as stale:
            await ann.lists.rename(made["id"], "Late", if_version=1)
        assert stale.value.status == 412 and stale.value.list is not None
        assert stale.value.list["version"] == renamed["version"] == 2
        assert (await ann.lists.get(made["id"]))["name"] == "Food"
        assert [found["name"] for found in await ann.lists.list()] == ["Inbox", "Food"]

        editor = await ann.lists.invite(made["id"], "editor")
        viewer = await ann.lists.invite(made["id"], "viewer", expires_in=3600, max_uses=2)
        assert editor["url"].endswith("/#/invite/" + editor["token"])
        listed = await ann.lists.invites(made["id"])
        assert {i["id"] for i in listed} == {editor["id"], viewer["id"]}
        assert all("token" not in i for i in listed)
        with pytest.raises(NotFound):
            await bob.lists.invites(made["id"])
        offer = await bob.lists.preview(editor["url"])
        assert offer["list"] == {"id": made["id"], "name": "Food"}
        assert offer["role"] == "editor" and offer["invited_by"]["id"] == ann_id
        joined = await bob.lists.accept(editor["url"])
        assert joined["role"] == "editor" and len(joined["members"]) == 2

        todo = await ann.todos.create("Oat milk", list_id=made["id"], assignee=bob_id)
        mine = await _all(bob.todos.list(list_id=made["id"], assignee="me"))
        assert [t["id"] for t in mine] == [todo["id"]]
        assert await _all(bob.todos.list(assignee="none")) == []

        await cat.lists.accept(viewer["token"])
        with pytest.raises(Forbidden) as refused:
            await cat.todos.create("not mine to add", list_id=made["id"])
        assert refused.value.code == "forbidden" and refused.value.status == 403
        with pytest.raises(Forbidden):
            await cat.todos.update(todo["id"], title="not mine to change")
        with pytest.raises(Forbidden):
            await bob.lists.invite(made["id"])
        with pytest.raises(Forbidden):
            await bob.lists.invites(made["id"])
        await bob.todos.update(todo["id"], completed=True, if_version=todo["version"])
        counted = await cat.todos.stats(list_id=made["id"])
        assert counted["total"] == 1 and counted["completed"] == 1
        assert (await cat.todos.stats())["total"] == 1

        promoted = await ann.lists.set_role(made["id"], cat_id, "editor")
        assert {m["user"]["id"]: m["role"] for m in promoted["members"]}[cat_id] == "editor"
        await cat.todos.create("cat's", list_id=made["id"])
        await ann.lists.remove_member(made["id"], cat_id)
        with pytest.raises(NotFound):
            await cat.lists.get(made["id"])
        await bob.lists.leave(made["id"])
        assert (await ann.todos.get(todo["id"]))["assignee"] is None
        await ann.lists.revoke_invite(made["id"], viewer["id"])
        with pytest.raises(NotFound):
            await bob.lists.accept(viewer["token"])
        await ann.lists.delete(made["id"])
        with pytest.raises(NotFound):
            await ann.lists.get(made["id"])
        assert await _all(ann.todos.list(list_id=inbox["id"])) == []
    finally:
        for opened_hub in opened:
            if isinstance(opened_hub, Hub):
                opened_hub.close()
            else:
                await opened_hub.close()


async def test_watch_yields_list_changes_once_and_in_order(hub: RunningHub) -> None:
    """bob's watch sees joining (the list, then its todo), a rename, a todo and being
    removed (list_removed), each once, with seqs that leave no gap."""
    (_, ann_token), (bob_id, bob_token) = await _users(hub, 2)
    seen: list[dict[str, Any]] = []
    async with AsyncHub(hub.url, ann_token) as ann, AsyncHub(hub.url, bob_token) as bob:
        shared = await ann.lists.create("Shared")
        await ann.todos.create("before bob", list_id=shared["id"])

        async def follow() -> None:
            async with aclosing(bob.watch(since=0)) as changes:
                async for change in changes:
                    seen.append(dict(change))
                    if change["op"] == "list_removed":
                        return

        watcher = asyncio.create_task(follow())
        await bob.lists.accept((await ann.lists.invite(shared["id"]))["token"])
        await _wait_for(lambda: len(seen) == 2)
        await ann.lists.rename(shared["id"], "Renamed")
        await ann.todos.create("after bob", list_id=shared["id"])
        await _wait_for(lambda: len(seen) == 4)
        await ann.lists.remove_member(shared["id"], bob_id)
        async with asyncio.timeout(10):
            await watcher
    assert [change["seq"] for change in seen] == [1, 2, 3, 4, 5]
    assert [change["op"] for change in seen] == ["list", "create", "list", "create",
                                                 "list_removed"]
    assert seen[0]["list"]["name"] == "Shared" and seen[1]["todo"]["title"] == "before bob"
    assert seen[2]["list"]["name"] == "Renamed" and seen[3]["todo"]["title"] == "after bob"
    assert seen[4]["list"] == {"id": shared["id"]} and seen[4]["reason"] == "removed"


async def _wait_for(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not check():
            await asyncio.sleep(0.02)
