"""Whole numbers a client sends where the schema keeps 32-bit integers (seqs, versions) are
answered by the rules on PostgreSQL, never by the database."""

from __future__ import annotations

import httpx
import pytest

from tests.client import Device, bearer, register
from tests.scale.conftest import Postgres
from tests.servers import RunningHub


@pytest.mark.parametrize("large", [2**31, 2**62, 2**63 - 1])
async def test_large_since_and_versions_on_postgresql(hub_factory: object, postgres: Postgres,
                                                      large: int) -> None:
    """since and if_version far beyond a seq the hub could hold answer a coded error or an
    empty catch-up, on REST and the socket; the hub logs no traceback."""
    hub: RunningHub = hub_factory(database_url=postgres.url)  # type: ignore[operator]
    tokens = await register(hub)
    async with httpx.AsyncClient(base_url=hub.url, headers=bearer(tokens)) as http:
        created = await http.post("/api/todos", json={"title": "a"})
        assert created.status_code == 201
        todo = created.json()
        answer = await http.get("/api/changes", params={"since": str(large)})
        assert answer.status_code in (200, 409, 422), answer.text
        patched = await http.patch(f"/api/todos/{todo['id']}", json={"title": "b"},
                                   headers={"If-Match": str(large)})
        assert patched.status_code in (412, 422), patched.text
    device = await Device.connect(hub, tokens["access_token"], since=large)
    reply = await device.command({"type": "update", "id": "op-large", "todo_id": todo["id"],
                                  "patch": {"title": "c"}, "if_version": large})
    assert reply["type"] == "error" and reply["code"] in ("conflict", "validation"), reply
    await device.close()
    assert not hub.log.tracebacks()
