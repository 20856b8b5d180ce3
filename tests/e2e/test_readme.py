"""The README's tour and configuration table stay true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from hub.config import SettingField, setting_fields
from tests.servers import RunningHub

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_curl_tour_and_python_device_run_against_a_real_hub(hub: RunningHub) -> None:
    """The curl commands register, log in and write; the Python device then runs as written."""
    tour = next(block for block in _blocks("sh") if "curl" in block)
    tour = tour.replace("localhost:8000", f"127.0.0.1:{hub.port}")
    done = subprocess.run(["bash", "-euc", tour], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"title":"Buy milk"' in done.stdout
    client = _blocks("python")[0]
    env = {**os.environ, "HUB": hub.url, "DEVICE": "readme", "ONCE": "1"}
    ran = subprocess.run([sys.executable, "-c", client], capture_output=True, text=True,
                         timeout=60, env=env)
    assert ran.returncode == 0, ran.stderr
    assert "list: ['Buy milk']" in ran.stdout
    assert "change 2 hello from readme" in ran.stdout
    sharing = next(block for block in _blocks("sh") if "/api/invites/accept" in block)
    sharing = sharing.replace("localhost:8000", f"127.0.0.1:{hub.port}")
    done = subprocess.run(["bash", "-euc", sharing], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    listed = done.stdout.strip().splitlines()[-1]
    assert '"title":"Oat milk"' in listed and '"total":1' in listed


def table_row(f: SettingField) -> str:
    """The README's row of a setting: variable, option, default and meaning."""
    if f.name == "static_dir":
        default = "the bundled client"
    elif f.default == "":
        default = "empty"
    else:
        default = f"`{f.default}`"
    return f"| `TODOHUB_{f.name.upper()}` | `--{f.name.replace('_', '-')}` | {default} | {f.help} |"


def test_configuration_table_lists_every_setting() -> None:
    """Each setting appears in the README's table with its variable, option, default and
    meaning as Settings declares them."""
    for f in setting_fields():
        assert table_row(f) in README, table_row(f)
