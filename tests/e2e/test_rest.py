"""The REST API for scripts: todos, filters, pages, batch, idempotency, changes, health."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from tests.client import Device, bearer, register
from tests.servers import RunningHub


async def _client(hub: RunningHub) -> tuple[httpx.AsyncClient, dict[str, object]]:
    tokens = await register(hub)
    return httpx.AsyncClient(base_url=hub.url, headers=bearer(tokens), timeout=10), tokens


async def test_rest_write_reaches_a_live_socket(hub: RunningHub) -> None:
    """A todo created, patched and deleted over REST arrives on the user's open socket."""
    http, tokens = await _client(hub)
    device = await Device.connect(hub, str(tokens["access_token"]), "phone")
    created = await http.post("/api/todos", json={"title": "from a script"},
                              headers={"Idempotency-Key": "script-1"})
    assert created.status_code == 201
    todo = created.json()
    change = await device.wait_for("change", seq=1)
    assert change["todo"] == todo
    assert change["origin"] == {"device": "rest", "op": "script-1"}
    patched = await http.patch(f"/api/todos/{todo['id']}", json={"completed": True})
    assert patched.status_code == 200 and patched.json()["status"] == "completed"
    assert (await device.wait_for("change", seq=2))["todo"]["completed"] is True
    assert (await http.delete(f"/api/todos/{todo['id']}")).status_code == 204
    assert (await device.wait_for("change", seq=3))["op"] == "delete"
    await device.close()
    await http.aclose()


async def test_idempotency_key_answers_the_first_answer(hub: RunningHub) -> None:
    """A repeated Idempotency-Key changes nothing and answers what the first request did."""
    http, _ = await _client(hub)
    first = await http.post("/api/todos", json={"title": "once"},
                            headers={"Idempotency-Key": "k1"})
    again = await http.post("/api/todos", json={"title": "once"},
                            headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201 and again.json() == first.json()
    both = await asyncio.gather(*(http.post("/api/todos", json={"title": "racing"},
                                            headers={"Idempotency-Key": "k2"})
                                  for _ in range(5)))
    assert len({r.json()["id"] for r in both}) == 1
    listing = (await http.get("/api/todos")).json()
    assert listing["total"] == 2 and listing["seq"] == 2
    await http.aclose()


async def test_if_match_gives_412_on_mismatch(hub: RunningHub) -> None:
    """PATCH and DELETE with a stale If-Match answer 412 and change nothing."""
    http, _ = await _client(hub)
    todo = (await http.post("/api/todos", json={"title": "v1"})).json()
    ok = await http.patch(f"/api/todos/{todo['id']}", json={"title": "v2"},
                          headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = await http.patch(f"/api/todos/{todo['id']}", json={"title": "v3"},
                             headers={"If-Match": "1"})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "conflict"
    assert stale.json()["error"]["todo"]["title"] == "v2"
    assert (await http.delete(f"/api/todos/{todo['id']}", headers={"If-Match": "1"})
            ).status_code == 412
    assert (await http.get(f"/api/todos/{todo['id']}")).json()["title"] == "v2"
    await http.aclose()


async def test_filters_sort_and_pages(hub: RunningHub) -> None:
    """Filters narrow the list; sort orders it with ties by id; pages neither repeat nor skip."""
    http, _ = await _client(hub)
    specs = [
        {"title": "Buy milk", "priority": "high", "tags": ["home"],
         "due_at": "2000-01-01T00:00:00Z"},
        {"title": "Write report", "priority": "urgent", "description": "quarterly milk stats",
         "due_at": "2999-01-01T10:00:00+02:00"},
        {"title": "Call mum", "priority": "low", "tags": ["home", "family"], "completed": True},
        {"title": "Fix bike", "priority": "medium", "status": "in_progress"},
    ]
    for spec in specs:
        assert (await http.post("/api/todos", json=spec)).status_code == 201

    async def titles(query: str) -> list[str]:
        response = await http.get(f"/api/todos?{query}")
        assert response.status_code == 200, response.text
        return [t["title"] for t in response.json()["items"]]

    assert await titles("q=MILK&sort=title") == ["Buy milk", "Write report"]
    assert await titles("tag=home&sort=title") == ["Buy milk", "Call mum"]
    assert await titles("completed=true") == ["Call mum"]
    assert await titles("status=in_progress") == ["Fix bike"]
    assert await titles("priority=urgent") == ["Write report"]
    assert await titles("overdue=true") == ["Buy milk"]
    assert await titles("due_before=2100-01-01T00:00:00Z") == ["Buy milk"]
    assert await titles("due_after=2100-01-01T00:00:00Z") == ["Write report"]
    assert await titles("sort=-priority") == ["Write report", "Buy milk", "Fix bike", "Call mum"]
    assert (await titles("sort=due_at"))[:2] == ["Buy milk", "Write report"]
    for query in ("status=done", "sort=colour", "per_page=101", "page=0", "bogus=1",
                  "due_before=yesterday"):
        bad = await http.get(f"/api/todos?{query}")
        assert bad.status_code == 422 and bad.json()["error"]["details"], query
    for i in range(7):
        await http.post("/api/todos", json={"title": "same", "order": 1})
    seen: list[str] = []
    page = 1
    while True:
        body = (await http.get(f"/api/todos?sort=order&per_page=3&page={page}")).json()
        seen += [t["id"] for t in body["items"]]
        assert body["pages"] == 4 and body["total"] == 11
        if page == body["pages"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 11
    stats = (await http.get("/api/todos/stats")).json()
    assert stats == {"total": 11, "pending": 9, "in_progress": 1, "completed": 1,
                     "cancelled": 0, "overdue": 1, "completion_rate": round(100 / 11, 1)}
    await http.aclose()


async def test_batch_over_rest(hub: RunningHub) -> None:
    """POST /api/todos/batch applies atomically and answers seqs and todos."""
    http, _ = await _client(hub)
    a = (await http.post("/api/todos", json={"title": "a"})).json()
    ok = await http.post("/api/todos/batch", json={"ops": [
        {"type": "update", "todo_id": a["id"], "patch": {"completed": True}},
        {"type": "create", "todo": {"title": "b"}},
    ]})
    assert ok.status_code == 200 and ok.json()["seqs"] == [2, 3]
    bad = await http.post("/api/todos/batch", json={"ops": [
        {"type": "create", "todo": {"title": "c"}},
        {"type": "delete", "todo_id": str(uuid.uuid4())},
    ]})
    assert bad.status_code == 404
    assert (await http.get("/api/todos")).json()["total"] == 2
    invalid = await http.post("/api/todos/batch", json={"ops": [{"type": "create", "todo": {}}]})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["details"][0]["field"] == "ops.0.todo.title"
    await http.aclose()


async def test_errors_have_the_contract_shape(hub: RunningHub) -> None:
    """Malformed bodies, missing auth, unknown ids and huge bodies answer coded JSON errors."""
    http, _ = await _client(hub)
    cases = [
        (await http.post("/api/todos", content=b"{nope"), 400, "bad_request"),
        (await http.post("/api/todos", json=[1]), 400, "bad_request"),
        (await http.post("/api/todos", json={"title": ""}), 422, "validation"),
        (await http.get(f"/api/todos/{uuid.uuid4()}"), 404, "not_found"),
        (await http.get("/api/todos/not-a-uuid"), 404, "not_found"),
        (await http.post("/api/todos", content=b"x" * (1024 * 1024 + 10)), 413, "too_large"),
    ]
    async with httpx.AsyncClient(base_url=hub.url) as anonymous:
        cases.append((await anonymous.get("/api/todos"), 401, "unauthorized"))
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]
    await http.aclose()


async def test_long_poll_returns_early_when_a_change_arrives(hub: RunningHub) -> None:
    """GET /api/changes?wait= answers as soon as a change is written, not at the timeout."""
    http, _ = await _client(hub)
    empty = await http.get("/api/changes?since=0")
    assert empty.json() == {"changes": [], "seq": 0}
    started = time.monotonic()
    poll = asyncio.create_task(http.get("/api/changes?since=0&wait=30", timeout=40))
    await asyncio.sleep(0.3)
    assert not poll.done()
    created = (await http.post("/api/todos", json={"title": "wake up"})).json()
    answer = await asyncio.wait_for(poll, 10)
    assert time.monotonic() - started < 20
    body = answer.json()
    assert body["seq"] == 1 and body["changes"][0]["todo"] == created
    assert body["changes"][0]["type"] == "change"
    later = await http.get("/api/changes?since=1&wait=1")
    assert later.json() == {"changes": [], "seq": 1}
    assert (await http.get("/api/changes?limit=0")).status_code == 422
    await http.aclose()


async def test_health_and_metrics(hub: RunningHub) -> None:
    """/health reports the database and broker; /metrics exposes the hub's counters."""
    http, tokens = await _client(hub)
    health = await http.get("/health")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    device = await Device.connect(hub, str(tokens["access_token"]))
    await device.create("counted")
    metrics = (await http.get("/metrics")).text
    assert "todohub_sockets_open 1.0" in metrics
    assert 'todohub_commands_total{result="ok",type="create"} 1.0' in metrics
    assert "todohub_command_latency_seconds_bucket" in metrics
    assert "todohub_deliveries_total" in metrics
    assert "todohub_send_queue_overflows_total" in metrics
    await device.close()
    await http.aclose()


async def test_pages_carry_security_headers(hub: RunningHub) -> None:
    """The browser client is served at / with nosniff, frame denial and a CSP for its hub."""
    async with httpx.AsyncClient(base_url=hub.url) as http:
        page = await http.get("/")
    assert page.status_code == 200 and "todos" in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert f"ws://127.0.0.1:{hub.port}" in page.headers["content-security-policy"]
