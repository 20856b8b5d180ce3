"""An Idempotency-Key names one request: repeating that request answers what it first
answered; reusing the key with another request (method, path, If-Match or body) answers 422
naming the key and changes nothing. Socket command ids carry no request and keep answering
their first ack."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx

from tests.client import Device, bearer, register
from tests.servers import RunningHub


async def _client(hub: RunningHub) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    tokens = await register(hub)
    return httpx.AsyncClient(base_url=hub.url, headers=bearer(tokens), timeout=10), tokens


async def _seq(http: httpx.AsyncClient) -> int:
    return int((await http.get("/api/todos", params={"per_page": 1})).json()["seq"])


def _refused_for_key(response: httpx.Response, key: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation"
    assert repr(key) in error["message"]
    assert error["details"] == [{"field": "Idempotency-Key",
                                 "reason": "already used with a different request"}]


async def test_a_reused_key_with_another_body_is_refused(hub: RunningHub) -> None:
    """The same key with another body answers 422 and writes nothing; the same body again
    (keys in another order, other spacing) answers the first answer."""
    http, _ = await _client(hub)
    first = await http.post("/api/todos", json={"title": "milk", "priority": "high"},
                            headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201
    other = await http.post("/api/todos", json={"title": "bread", "priority": "high"},
                            headers={"Idempotency-Key": "k1"})
    _refused_for_key(other, "k1")
    again = await http.post("/api/todos", headers={"Idempotency-Key": "k1",
                                                   "Content-Type": "application/json"},
                            content=b'{ "priority" : "high", "title": "milk" }')
    assert again.status_code == 201 and again.json() == first.json()
    todo_id = first.json()["id"]
    # Another method or path, or another If-Match, is another request too.
    _refused_for_key(await http.delete(f"/api/todos/{todo_id}",
                                       headers={"Idempotency-Key": "k1"}), "k1")
    patched = await http.patch(f"/api/todos/{todo_id}", json={"title": "oat milk"},
                               headers={"Idempotency-Key": "k2", "If-Match": "1"})
    assert patched.status_code == 200
    _refused_for_key(await http.patch(f"/api/todos/{todo_id}", json={"title": "oat milk"},
                                      headers={"Idempotency-Key": "k2", "If-Match": "2"}), "k2")
    listing = (await http.get("/api/todos")).json()
    assert listing["seq"] == 2 and [t["title"] for t in listing["items"]] == ["oat milk"]
    await http.aclose()


async def test_a_socket_command_id_keeps_answering_its_first_ack(hub: RunningHub) -> None:
    """Socket commands carry no request fingerprint: a reused id answers the first ack, even
    with other fields; and a REST request reusing that id as its key gets that answer too
    (the id was stored without a request to compare with)."""
    http, tokens = await _client(hub)
    device = await Device.connect(hub, str(tokens["access_token"]), "phone")
    first = await device.command({"type": "create", "id": "s1", "todo": {"title": "a"}})
    again = await device.command({"type": "create", "id": "s1", "todo": {"title": "b"}})
    assert first["type"] == again["type"] == "ack"
    assert again["todo"] == first["todo"] and again["seq"] == first["seq"]
    over_rest = await http.post("/api/todos", json={"title": "c"},
                                headers={"Idempotency-Key": "s1"})
    assert over_rest.status_code == 201 and over_rest.json() == first["todo"]
    assert await _seq(http) == 1
    await device.close()
    await http.aclose()


def _request(rng: random.Random, todo_ids: list[str]) -> tuple[str, str, Any, str | None]:
    """A random write: (method, path, body or None, If-Match or None), from small sets so
    that the same request comes back often."""
    roll = rng.random()
    if roll < 0.4 or not todo_ids:
        return "POST", "/api/todos", {"title": rng.choice(["a", "b"])}, None
    if roll < 0.6:
        return "POST", "/api/todos/batch", {"ops": [
            {"type": "create", "todo": {"title": rng.choice(["a", "b"])}}
            for _ in range(rng.randint(1, 2))]}, None
    todo_id = rng.choice(todo_ids)
    if_match = rng.choice([None, None, "1", "2"])
    if roll < 0.85:
        return "PATCH", f"/api/todos/{todo_id}", {"title": rng.choice(["x", "y"])}, if_match
    return "DELETE", f"/api/todos/{todo_id}", None, if_match


async def test_generated_key_reuse_answers_first_or_422(hub: RunningHub) -> None:
    """Random writes over REST with keys from a small pool: each key's first successful
    request fixes it; the same request again answers the same status and body, any other
    request with that key answers 422 naming it, and the user's log only grows by the
    writes that were new."""
    http, _ = await _client(hub)
    rng = random.Random(8)
    todo_ids: list[str] = []
    first: dict[str, tuple[tuple[str, str, str, str | None], int, Any]] = {}
    seq = 0
    for _ in range(80):
        method, path, body, if_match = _request(rng, todo_ids)
        key = rng.choice(["k0", "k1", "k2", "k3", "k4", None])
        headers = {} if key is None else {"Idempotency-Key": key}
        if if_match is not None:
            headers["If-Match"] = if_match
        response = await http.request(method, path, json=body, headers=headers)
        answer = response.json() if response.content else None
        request = (method, path, json.dumps(body, sort_keys=True), if_match)
        known = first.get(key) if key is not None else None
        if known is not None and known[0] != request:
            _refused_for_key(response, str(key))
            assert await _seq(http) == seq, "a refused reuse wrote something"
            continue
        if known is not None:
            assert (response.status_code, answer) == known[1:], (method, path, key)
            continue
        if response.status_code >= 300:
            assert response.status_code in (404, 412), response.text
            continue
        if key is not None:
            first[key] = (request, response.status_code, answer)
        if method == "POST" and path.endswith("batch"):
            seq += len(answer["seqs"])
            todo_ids += [t["id"] for t in answer["todos"]]
        else:
            seq += 1
            if method == "POST":
                todo_ids.append(answer["id"])
    assert await _seq(http) == seq
    assert any(k for k in first), "no key was used"
    await http.aclose()
