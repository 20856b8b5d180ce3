"""The todohub command: migrate, user create, and settings from options and environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.client import PASSWORD, Device, register
from tests.servers import RunningHub
from tests.services import RedisServer


def _todohub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_migrate_and_user_create_then_login(
    tmp_path: Path, hub_factory: Callable[..., RunningHub]
) -> None:
    """migrate makes the database; user create adds a user who can then log in to a hub."""
    data = str(tmp_path / "data")
    migrated = _todohub("migrate", "--data-dir", data)
    assert migrated.returncode == 0, migrated.stderr
    assert "revision 0004_lists" in migrated.stdout
    weak = _todohub("user", "create", "zoe", "--password", "weakweak", "--data-dir", data)
    assert weak.returncode == 2 and "weak password" in weak.stderr
    created = _todohub("user", "create", "zoe", "--password", PASSWORD,
                       env={"TODOHUB_DATA_DIR": data, "TODOHUB_ARGON2_MEMORY_COST": "1024"})
    assert created.returncode == 0, created.stderr
    assert "created user zoe" in created.stdout
    taken = _todohub("user", "create", "zoe", "--password", PASSWORD, "--data-dir", data)
    assert taken.returncode == 1
    hub = hub_factory(data_dir=data)
    answer = httpx.post(f"{hub.url}/api/auth/login", json={"username": "zoe",
                                                           "password": PASSWORD})
    assert answer.status_code == 200


def test_secret_is_generated_once_with_mode_0600(
    tmp_path: Path, hub_factory: Callable[..., RunningHub]
) -> None:
    """Without TODOHUB_SECRET the hub keeps a generated secret, so tokens survive a restart."""
    data = tmp_path / "data"
    first = hub_factory(data_dir=str(data))
    login = httpx.post(f"{first.url}/api/auth/register", json={"username": "yan",
                                                               "password": PASSWORD})
    assert login.status_code == 201
    tokens = httpx.post(f"{first.url}/api/auth/login",
                        json={"username": "yan", "password": PASSWORD}).json()
    first.stop()
    secret = data / "secret.key"
    assert secret.stat().st_mode & 0o777 == 0o600
    second = hub_factory(data_dir=str(data))
    me = httpx.get(f"{second.url}/api/auth/me",
                   headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == "yan"


def test_bad_settings_are_refused_in_one_line_naming_the_variable(tmp_path: Path) -> None:
    """A bad value of any setting exits 2 at start with one line naming the variable or option,
    the value and what is allowed; no traceback."""
    data = str(tmp_path / "data")
    cases = [
        ((), {"TODOHUB_PORT": "abc"}, "TODOHUB_PORT='abc'"),
        (("--port", "-5"), {}, "--port '-5'"),
        (("--port", "70000"), {}, "--port '70000'"),
        ((), {"TODOHUB_GUEST_ENABLED": "perhaps"}, "TODOHUB_GUEST_ENABLED='perhaps'"),
        ((), {"TODOHUB_LOGIN_MAX_FAILURES": "-1"}, "TODOHUB_LOGIN_MAX_FAILURES='-1'"),
        (("--command-rate", "nan"), {}, "--command-rate 'nan'"),
        (("--hash-threads", "0"), {}, "--hash-threads '0'"),
        (("--log-level", "loud"), {}, "--log-level 'loud'"),
        ((), {"TODOHUB_REDIS_URL": "http://redis:6379"}, "TODOHUB_REDIS_URL="),
        ((), {"TODOHUB_TRUSTED_PROXIES": "10.0.0.0/8,nginx"}, "TODOHUB_TRUSTED_PROXIES="),
        (("--secret-file", str(tmp_path / "missing")), {}, "--secret-file"),
    ]
    for args, env, named in cases:
        done = _todohub("serve", "--data-dir", data, *args, env=env)
        assert done.returncode == 2, (args, env, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"todohub: {named}"), (args, env, lines)


def test_secret_file_signs_the_tokens(
    tmp_path: Path, hub_factory: Callable[..., RunningHub]
) -> None:
    """--secret-file: the hub signs with the file's secret and generates none of its own."""
    import jwt

    secret_file = tmp_path / "secret"
    secret_file.write_text("a-secret-read-from-a-file-0123456789abcdef\n")
    data = tmp_path / "data"
    hub = hub_factory(data_dir=str(data), secret_file=str(secret_file))
    httpx.post(f"{hub.url}/api/auth/register", json={"username": "fay", "password": PASSWORD})
    tokens = httpx.post(f"{hub.url}/api/auth/login",
                        json={"username": "fay", "password": PASSWORD}).json()
    claims = jwt.decode(tokens["access_token"], "a-secret-read-from-a-file-0123456789abcdef",
                        algorithms=["HS256"])
    assert claims["typ"] == "access"
    assert not (data / "secret.key").exists()
    both = _todohub("serve", "--data-dir", str(data), "--secret", "x" * 40,
                    "--secret-file", str(secret_file))
    assert both.returncode == 2 and "not both" in both.stderr


async def test_user_delete_closes_the_sockets_of_a_running_hub(
    tmp_path: Path, hub_factory: Callable[..., RunningHub], redis_server: RedisServer
) -> None:
    """``todohub user delete NAME --yes`` deletes the user and, through Redis, closes their
    sockets on the running hub with 4401; without --yes (and no terminal) it refuses."""
    data = str(tmp_path / "data")
    hub = hub_factory(data_dir=data, redis_url=redis_server.url)
    tokens = await register(hub, "quin")
    device = await Device.connect(hub, tokens["access_token"], "quin")
    await device.create("quin's todo")
    args = ("user", "delete", "quin", "--data-dir", data, "--redis-url", redis_server.url,
            "--redis-prefix", hub.settings.redis_prefix)
    refused = await asyncio.to_thread(_todohub, *args)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = await asyncio.to_thread(_todohub, *args, "--yes")
    assert done.returncode == 0, done.stderr
    assert "deleted user quin" in done.stdout
    assert (await device.wait_closed(5))[0] == 4401
    async with httpx.AsyncClient(base_url=hub.url) as http:
        login = await http.post("/api/auth/login", json={"username": "quin",
                                                         "password": PASSWORD})
        assert login.status_code == 401
    unknown = await asyncio.to_thread(_todohub, *args, "--yes")
    assert unknown.returncode == 1 and "no user" in unknown.stderr
    await device.close()
