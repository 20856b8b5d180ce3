"""Personal access tokens over a real hub: scopes, storage, revocation, who may make them."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import httpx

from tests.client import PASSWORD, TIMEOUT, Device, bearer, register
from tests.scripts.helpers import make_token, pat
from tests.scripts.sse import open_stream
from tests.servers import RunningHub
from tests.services import wait_until


async def test_token_is_shown_once_listed_without_secret_and_stored_hashed(
    hub: RunningHub,
) -> None:
    """The secret (thp_...) comes back only from POST; the table holds its SHA-256 only."""
    login = await register(hub)
    made = await make_token(hub, login, scope="read", name="backup", expires_in=3600)
    assert made["token"].startswith("thp_") and made["scope"] == "read"
    assert made["name"] == "backup" and made["expires_at"] and made["last_used_at"] is None
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        me = await http.get("/api/auth/me", headers=pat(made["token"]))
        assert me.status_code == 200 and me.json()["id"] == login["user"]["id"]
        listed = (await http.get("/api/tokens", headers=bearer(login))).json()["tokens"]
    assert [t["id"] for t in listed] == [made["id"]]
    assert "token" not in listed[0] and listed[0]["last_used_at"] is not None
    database = Path(hub.settings.data_dir) / "todohub.db"
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute("select * from access_tokens").fetchall()
    text = repr(rows)
    assert made["token"] not in text and made["token"][4:] not in text
    assert hashlib.sha256(made["token"].encode()).hexdigest() in text


async def test_read_token_cannot_write_over_rest_or_socket(hub: RunningHub) -> None:
    """A read token lists and watches; its writes answer 403 / an error frame `forbidden`."""
    login = await register(hub)
    reader = (await make_token(hub, login, scope="read"))["token"]
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        made = await http.post("/api/todos", headers=bearer(login), json={"title": "mine"})
        todo_id = made.json()["id"]
        assert (await http.get("/api/todos", headers=pat(reader))).json()["total"] == 1
        refused = [
            await http.post("/api/todos", headers=pat(reader), json={"title": "no"}),
            await http.patch(f"/api/todos/{todo_id}", headers=pat(reader),
                             json={"completed": True}),
            await http.delete(f"/api/todos/{todo_id}", headers=pat(reader)),
            await http.post("/api/todos/batch", headers=pat(reader), json={"ops": []}),
        ]
    for answer in refused:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "forbidden"
    device = await Device.connect(hub, reader, "reader")
    error = await device.command({"type": "create", "todo": {"title": "no"}})
    assert error["type"] == "error" and error["code"] == "forbidden"
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        await http.post("/api/todos", headers=bearer(login), json={"title": "live"})
    changes = await device.wait_changes(1)
    assert [c["todo"]["title"] for c in changes] == ["live"]
    await device.close()


async def test_write_token_writes_over_rest_and_socket(hub: RunningHub) -> None:
    """A write token creates over REST and over the socket, like a signed-in device."""
    login = await register(hub)
    writer = (await make_token(hub, login, scope="write"))["token"]
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        made = await http.post("/api/todos", headers=pat(writer), json={"title": "by rest"})
    assert made.status_code == 201, made.text
    device = await Device.connect(hub, writer, "script")
    ack = await device.create("by socket")
    assert ack["todo"]["title"] == "by socket"
    await device.close()


async def test_guest_and_tokens_cannot_make_tokens(hub: RunningHub) -> None:
    """Only a full account signed in with a password makes tokens; bad fields answer 422."""
    login = await register(hub)
    made = (await make_token(hub, login))["token"]
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        guest = (await http.post("/api/auth/guest")).json()
        body = {"name": "x", "scope": "write", "expires_in": None}
        by_guest = await http.post("/api/tokens", headers=bearer(guest), json=body)
        by_token = await http.post("/api/tokens", headers=pat(made), json=body)
        nobody = await http.post("/api/tokens", json=body)
        bad = await http.post("/api/tokens", headers=bearer(login),
                              json={"name": "x", "scope": "admin"})
        unknown = await http.post("/api/tokens", headers=bearer(login),
                                  json={"name": "x", "scope": "read", "owner": "me"})
    assert by_guest.status_code == 403 and by_guest.json()["error"]["code"] == "forbidden"
    assert by_token.status_code == 403
    assert nobody.status_code == 401
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "scope"
    assert unknown.status_code == 422


async def test_revoked_token_is_refused_at_once_and_its_socket_closes(hub: RunningHub) -> None:
    """DELETE /api/tokens/{id}: REST refuses the token and its socket closes with 4401; a
    socket of the password session stays open."""
    login = await register(hub)
    made = await make_token(hub, login)
    script = await Device.connect(hub, made["token"], "script")
    browser = await Device.connect(hub, login["access_token"], "browser")
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        gone = await http.delete(f"/api/tokens/{made['id']}", headers=bearer(login))
        assert gone.status_code == 204
        again = await http.delete(f"/api/tokens/{made['id']}", headers=bearer(login))
        assert again.status_code == 404
        refused = await http.get("/api/todos", headers=pat(made["token"]))
        assert refused.status_code == 401
    code, _ = await script.wait_closed()
    assert code == 4401
    await browser.create("still here")
    await browser.close()


async def test_logout_of_all_sessions_keeps_tokens(hub: RunningHub) -> None:
    """Logout with all=true closes password sessions' sockets, not those of access tokens."""
    login = await register(hub)
    made = await make_token(hub, login)
    script = await Device.connect(hub, made["token"], "script")
    browser = await Device.connect(hub, login["access_token"], "browser")
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        out = await http.post("/api/auth/logout?all=true", headers=bearer(login))
        assert out.status_code == 204
        assert (await browser.wait_closed())[0] == 4401
        assert (await http.get("/api/todos", headers=pat(made["token"]))).status_code == 200
        by_token = await http.post("/api/auth/logout", headers=pat(made["token"]))
        assert by_token.status_code == 400
    ack = await script.create("after logout")
    assert ack["type"] == "ack"
    await script.close()


async def test_expired_token_is_refused(hub: RunningHub) -> None:
    """A token past its expires_in answers 401."""
    login = await register(hub)
    made = await make_token(hub, login, expires_in=1)
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        async def refused() -> bool:
            answer = await http.get("/api/todos", headers=pat(made["token"]))
            return answer.status_code == 401
        await wait_until(refused, 10, "the token to expire", interval=0.2)


def test_token_create_command_makes_a_working_token(
    tmp_path: Path, hub_factory: Callable[..., RunningHub]
) -> None:
    """`todohub token create` prints a token that the hub accepts with its scope."""
    data = str(tmp_path / "data")
    env = {**os.environ, "TODOHUB_DATA_DIR": data, "TODOHUB_ARGON2_MEMORY_COST": "1024"}

    def todohub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True,
                              text=True, timeout=60, env=env)

    assert todohub("user", "create", "ops", "--password", PASSWORD).returncode == 0
    made = todohub("token", "create", "--user", "ops", "--name", "cron", "--scope", "read")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("thp_") and "scope read" in made.stderr
    missing = todohub("token", "create", "--user", "nobody", "--name", "x")
    assert missing.returncode == 1 and "no user" in missing.stderr
    hub = hub_factory(data_dir=data)
    assert httpx.get(f"{hub.url}/api/todos", headers=pat(token)).status_code == 200
    assert httpx.post(f"{hub.url}/api/todos", headers=pat(token),
                      json={"title": "x"}).status_code == 403


async def test_revoking_every_session_closes_token_sockets_whose_token_is_gone(
    hub: RunningHub,
) -> None:
    """When every session of a user ends, a token socket and stream check their token: one
    whose token was removed with the account (here: its row deleted) closes with 4401, one
    whose token is still there stays open."""
    login = await register(hub)
    kept = await make_token(hub, login)
    gone = await make_token(hub, login)
    stays = await Device.connect(hub, kept["token"], "kept")
    closes = await Device.connect(hub, gone["token"], "gone")
    async with open_stream(hub.url, gone["token"]) as stream:
        database = Path(hub.settings.data_dir) / "todohub.db"
        with closing(sqlite3.connect(database)) as db, db:
            db.execute("delete from access_tokens where id = ?", (gone["id"],))
        async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
            out = await http.post("/api/auth/logout?all=true", headers=bearer(login))
            assert out.status_code == 204
        assert (await closes.wait_closed())[0] == 4401
        await stream.wait(ended=True)
    assert (await stays.create("still open"))["type"] == "ack"
    await stays.close()


async def test_deleting_the_account_revokes_its_tokens_and_closes_their_sockets(
    hub: RunningHub,
) -> None:
    """DELETE /api/auth/me takes the tokens with it: REST refuses them and a socket opened
    with one closes with 4401."""
    login = await register(hub)
    made = await make_token(hub, login, scope="read")
    script = await Device.connect(hub, made["token"], "script")
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        gone = await http.request("DELETE", "/api/auth/me", headers=bearer(login),
                                  json={"password": PASSWORD})
        assert gone.status_code == 204, gone.text
        assert (await http.get("/api/todos", headers=pat(made["token"]))).status_code == 401
    assert (await script.wait_closed())[0] == 4401
