"""Helpers for tests of lists and sharing: REST calls as a signed-in user, sharing a list by
invitation, and what a device has seen of one list."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.client import TIMEOUT, Device, HubAddress, bearer


async def api(hub: HubAddress, tokens: dict[str, Any], method: str, path: str,
              body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    """One REST request as the user of ``tokens``."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        return await http.request(method, path, json=body,
                                  headers={**bearer(tokens), **(headers or {})})


async def make_list(hub: HubAddress, tokens: dict[str, Any], name: str) -> dict[str, Any]:
    """A new list of the user (over REST)."""
    made = await api(hub, tokens, "POST", "/api/lists", {"name": name})
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


async def invite(hub: HubAddress, owner: dict[str, Any], list_id: str, role: str = "editor",
                 **options: Any) -> dict[str, Any]:
    """An invitation to the list, made by its owner."""
    made = await api(hub, owner, "POST", f"/api/lists/{list_id}/invites",
                     {"role": role, **options})
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


async def join(hub: HubAddress, tokens: dict[str, Any], token: str) -> dict[str, Any]:
    """Accept an invitation."""
    accepted = await api(hub, tokens, "POST", "/api/invites/accept", {"token": token})
    assert accepted.status_code == 200, accepted.text
    result: dict[str, Any] = accepted.json()
    return result


async def shared_list(hub: HubAddress, owner: dict[str, Any],
                      members: list[tuple[dict[str, Any], str]],
                      name: str = "Shared") -> str:
    """A list of ``owner`` that each of ``members`` (tokens, role) joined by invitation."""
    made = await make_list(hub, owner, name)
    for tokens, role in members:
        offer = await invite(hub, owner, made["id"], role)
        await join(hub, tokens, offer["token"])
    return str(made["id"])


async def inbox_of(hub: HubAddress, tokens: dict[str, Any]) -> str:
    """The id of the user's inbox."""
    found = await api(hub, tokens, "GET", "/api/lists")
    assert found.status_code == 200, found.text
    return str(next(x["id"] for x in found.json()["lists"] if x["inbox"]))


def seen_in(device: Device, list_id: str) -> list[tuple[str, str, int]]:
    """(op, todo id, version) of every todo change the device got for todos of the list:
    creates and updates that carry the list, deletes of todos it had seen there."""
    ids: set[str] = set()
    seen = []
    for change in device.changes():
        todo = change.get("todo")
        if todo is None:
            continue
        if todo.get("list_id") == list_id:
            ids.add(todo["id"])
            seen.append((change["op"], todo["id"], todo["version"]))
        elif change["op"] == "delete" and todo["id"] in ids:
            seen.append(("delete", todo["id"], todo["version"]))
    return seen


def assert_gap_free(device: Device) -> None:
    """The device's changes have consecutive seqs, each once."""
    seqs = [change["seq"] for change in device.changes()]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True, seqs


def new_id() -> str:
    """A client-made id."""
    return str(uuid.uuid4())
