"""The todohub command: migrate, user create, and settings from options and environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.client import PASSWORD
from tests.servers import RunningHub


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
    assert "revision 0003_access_tokens" in migrated.stdout
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
