"""The client verbs of the todohub command against a real hub: login, todos, add, done,
watch, and their one-line errors."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.client import PASSWORD, TIMEOUT, bearer, register
from tests.scale.cluster import HubProcess
from tests.scripts.helpers import cli_env, make_token, one_line_error, todohub
from tests.servers import RunningHub
from tests.services import free_port


async def test_login_add_todos_done(hub: RunningHub, tmp_path: Path) -> None:
    """login makes and stores a token (mode 0600); add, todos and done use it, for people
    and with --json."""
    login = await register(hub)
    username = login["user"]["username"]
    env = cli_env(tmp_path, hub.url)
    signed = await asyncio.to_thread(todohub, env, "login", "--username", username,
                                     stdin=PASSWORD + "\n")
    assert signed.returncode == 0, signed.stderr
    stored = tmp_path / "config" / "todohub" / "config.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert json.loads(stored.read_text())["token"].startswith("thp_")
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        tokens = (await http.get("/api/tokens", headers=bearer(login))).json()["tokens"]
    assert [t["scope"] for t in tokens] == ["write"]

    empty = await asyncio.to_thread(todohub, env, "todos")
    assert empty.returncode == 0 and "no todos" in empty.stdout
    added = await asyncio.to_thread(todohub, env, "add", "Buy milk", "--tag", "home",
                                    "--due", "2026-12-24")
    assert added.returncode == 0, added.stderr
    assert "Buy milk" in added.stdout and "#home" in added.stdout
    assert "due 2026-12-24T00:00:00" in added.stdout
    listed = await asyncio.to_thread(todohub, env, "todos", "--json")
    todos: list[dict[str, Any]] = json.loads(listed.stdout)
    assert [t["title"] for t in todos] == ["Buy milk"] and not todos[0]["completed"]
    done = await asyncio.to_thread(todohub, env, "done", todos[0]["id"][:8], "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["completed"] is True
    human = await asyncio.to_thread(todohub, env, "todos")
    assert human.stdout.startswith("[x] ") and "Buy milk" in human.stdout
    missing = await asyncio.to_thread(todohub, env, "done", "ffffffff")
    one_line_error(missing, "no todo with an id starting")


async def test_login_with_a_token_and_the_environment_override(
    hub: RunningHub, tmp_path: Path
) -> None:
    """login --token stores a given token; TODOHUB_TOKEN wins over the stored one."""
    first = await register(hub)
    second = await register(hub)
    mine = (await make_token(hub, first))["token"]
    theirs = (await make_token(hub, second))["token"]
    env = cli_env(tmp_path, hub.url)
    assert (await asyncio.to_thread(todohub, env, "login", "--token", mine)).returncode == 0
    await asyncio.to_thread(todohub, env, "add", "first's")
    other = await asyncio.to_thread(todohub, {**env, "TODOHUB_TOKEN": theirs}, "todos")
    assert other.returncode == 0 and "no todos" in other.stdout
    own = await asyncio.to_thread(todohub, env, "todos")
    assert "first's" in own.stdout


async def test_each_verb_fails_in_one_line_for_a_bad_token_and_an_absent_hub(
    hub: RunningHub, tmp_path: Path
) -> None:
    """A refused token and a hub that does not answer give one line on stderr and exit 1,
    for every verb (run side by side: the unreachable ones mostly wait between retries)."""
    login = await register(hub)
    bad = cli_env(tmp_path, hub.url, TODOHUB_TOKEN="thp_revoked-or-never-made")
    nowhere = cli_env(tmp_path, f"http://127.0.0.1:{free_port()}", TODOHUB_TOKEN="thp_x")
    verbs = [("todos",), ("todos", "--list", "Inbox"), ("add", "x"), ("add", "x", "--list", "L"),
             ("done", "abcd"), ("watch",), ("lists",), ("lists", "add", "L"),
             ("lists", "invite", "L"), ("lists", "join", "token")]
    runs = [(env, verb, words) for verb in verbs
            for env, words in ((bad, "refused the token"), (nowhere, "cannot reach"))]
    done = await asyncio.gather(*(asyncio.to_thread(todohub, env, *verb)
                                  for env, verb, _ in runs))
    for (_, verb, words), ended in zip(runs, done, strict=True):
        one_line_error(ended, words)
    wrong = await asyncio.to_thread(todohub, cli_env(tmp_path, hub.url), "login", "--username",
                                    login["user"]["username"], "--password", "wrong-Horse-9")
    one_line_error(wrong, "unauthorized")
    one_line_error(await asyncio.to_thread(
        todohub, cli_env(tmp_path, nowhere["TODOHUB_URL"]), "login", "--token", "thp_x"),
        "cannot reach")


async def test_watch_prints_changes_live_and_survives_a_hub_restart(tmp_path: Path) -> None:
    """`todohub watch --json` prints each change once, in order, across a restart of the
    hub process; without --json each change is a readable line."""
    port = free_port()
    args = ["--data-dir", str(tmp_path / "data"), "--argon2-time-cost", "1",
            "--argon2-memory-cost", "1024", "--log-level", "warning", "--shutdown-grace", "1"]
    hubs = [HubProcess(port, args, tmp_path / "first.log")]
    hubs[0].spawn()
    watchers: list[asyncio.subprocess.Process] = []
    try:
        await hubs[0].wait_healthy()
        login = await register(hubs[0])
        token = (await make_token(hubs[0], login))["token"]
        env = cli_env(tmp_path, hubs[0].url, TODOHUB_TOKEN=token)
        for extra in (["--json"], []):
            watchers.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hub", "watch", "--since", "0", *extra, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE))
        as_json, human = watchers
        async with httpx.AsyncClient(base_url=hubs[0].url, timeout=TIMEOUT) as http:
            await http.post("/api/todos", headers=bearer(login), json={"title": "one"})
        assert "1 create [ ]" in await _line(human)
        assert json.loads(await _line(as_json))["seq"] == 1
        await asyncio.to_thread(hubs[0].stop)
        hubs.append(HubProcess(port, args, tmp_path / "second.log"))
        hubs[1].spawn()
        await hubs[1].wait_healthy()
        async with httpx.AsyncClient(base_url=hubs[1].url, timeout=TIMEOUT) as http:
            for title in ("two", "three"):
                await http.post("/api/todos", headers={"Authorization": f"Bearer {token}"},
                                json={"title": title})
        seen = [json.loads(await _line(as_json, 30)) for _ in range(2)]
        assert [c["seq"] for c in seen] == [2, 3]
        assert [c["todo"]["title"] for c in seen] == ["two", "three"]
    finally:
        for watcher in watchers:
            if watcher.returncode is None:
                watcher.terminate()
                await watcher.wait()
        for process in hubs:
            process.stop()
    assert as_json.stdout is not None
    rest = await as_json.stdout.read()
    assert rest == b"", rest


async def _line(process: asyncio.subprocess.Process, timeout: float = TIMEOUT) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(timeout):
        line = await process.stdout.readline()
    assert line, "watch ended"
    return line.decode()
