"""Where the command line keeps its hub address and token: ``$XDG_CONFIG_HOME/todohub/
config.json`` (``~/.config/todohub`` without XDG_CONFIG_HOME), readable by its owner only.
``TODOHUB_URL`` and ``TODOHUB_TOKEN`` override what is stored."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file of the current user."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "todohub" / "config.json"


@dataclass(frozen=True)
class Profile:
    """The hub to talk to and the token to use (None: not logged in)."""

    url: str
    token: str | None


def load(env: Mapping[str, str] | None = None, url: str | None = None) -> Profile:
    """The stored profile with the environment's and the command line's overrides."""
    env = os.environ if env is None else env
    stored: dict[str, str] = {}
    path = config_path(env)
    if path.exists():
        try:
            data = json.loads(path.read_text())
            stored = {k: v for k, v in data.items() if isinstance(v, str)}
        except (ValueError, AttributeError, OSError):
            stored = {}
    return Profile(url or env.get("TODOHUB_URL") or stored.get("url") or DEFAULT_URL,
                   env.get("TODOHUB_TOKEN") or stored.get("token"))


def save(profile: Profile, env: Mapping[str, str] | None = None) -> Path:
    """Store the profile with mode 0600 (its folder 0700); returns the file."""
    path = config_path(env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"url": profile.url, "token": profile.token}, out)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path
