"""Helpers for tests of the scripts' surface: personal access tokens over a real hub, and
the todohub command run as a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.client import TIMEOUT, HubAddress, bearer


async def make_token(hub: HubAddress, tokens: dict[str, Any], scope: str = "write",
                     name: str = "script", expires_in: int | None = None) -> dict[str, Any]:
    """Make a personal access token with a login's access token; returns the 201 answer."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=TIMEOUT) as http:
        answer = await http.post("/api/tokens", headers=bearer(tokens),
                                 json={"name": name, "scope": scope, "expires_in": expires_in})
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def pat(token: str) -> dict[str, str]:
    """The Authorization header of a personal access token."""
    return {"Authorization": f"Bearer {token}"}


def cli_env(tmp_path: Path, url: str, **extra: str) -> dict[str, str]:
    """An environment for the command: its own config folder, the hub at ``url``, no other
    TODOHUB_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TODOHUB_")}
    return {**env, "XDG_CONFIG_HOME": str(tmp_path / "config"), "TODOHUB_URL": url, **extra}


def todohub(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``todohub ARGS`` to its end."""
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True,
                          timeout=60, env=env, input=stdin)


def one_line_error(done: subprocess.CompletedProcess[str], words: str) -> None:
    """The command failed with exit status 1 and one line on stderr holding ``words``."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("todohub: ") and words in lines[0], lines
