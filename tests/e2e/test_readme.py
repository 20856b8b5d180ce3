"""The README's tour and configuration table stay true."""

from __future__ import annotations

import json
import os
import re
import selectors
import shlex
import subprocess
import sys
from pathlib import Path

import httpx

from hub.config import SettingField, setting_fields
from tests.client import PASSWORD
from tests.servers import RunningHub

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_curl_tour_client_and_python_device_run_against_a_real_hub(hub: RunningHub) -> None:
    """The curl commands register, make a token, write and stream; the client example and
    the raw socket device then run as written with that token."""
    tour = next(block for block in _blocks("sh") if "curl" in block)
    tour = tour.replace("localhost:8000", f"127.0.0.1:{hub.port}")
    done = subprocess.run(["bash", "-euc", tour + '\necho "TOKEN=$TODOHUB_TOKEN"'],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"title":"Buy milk"' in done.stdout
    assert "id: 1\n" in done.stdout and '"type":"change"' in done.stdout
    assert " paths documented" in done.stdout
    token = done.stdout.rsplit("TOKEN=", 1)[1].strip()
    assert token.startswith("thp_")
    client, device = _blocks("python")[:2]
    env = {**os.environ, "HUB": hub.url, "DEVICE": "readme", "ONCE": "1",
           "TODOHUB_TOKEN": token}
    ran = subprocess.run([sys.executable, "-c", client], capture_output=True, text=True,
                         timeout=60, env=env)
    assert ran.returncode == 0, ran.stderr
    assert "list: ['Buy milk']" in ran.stdout
    assert "change 1 Buy milk" in ran.stdout and "change 2 hello from readme" in ran.stdout
    ran = subprocess.run([sys.executable, "-c", device], capture_output=True, text=True,
                         timeout=60, env={**env, "DEVICE": "raw"})
    assert ran.returncode == 0, ran.stderr
    assert "list: ['Buy milk', 'hello from readme']" in ran.stdout
    assert "change 3 hello from raw" in ran.stdout
    sharing = next(block for block in _blocks("sh") if "/api/invites/accept" in block)
    sharing = sharing.replace("localhost:8000", f"127.0.0.1:{hub.port}")
    done = subprocess.run(["bash", "-euc", sharing], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    listed = done.stdout.strip().splitlines()[-1]
    assert '"title":"Oat milk"' in listed and '"total":1' in listed


def test_terminal_tour_runs_against_a_real_hub(hub: RunningHub, tmp_path: Path) -> None:
    """login, add, todos and done run as written; watch prints a change as it happens."""
    block = next(block for block in _blocks("sh") if "todohub login" in block)
    todohub = f"{shlex.quote(sys.executable)} -m hub"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TODOHUB_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    httpx.post(f"{hub.url}/api/auth/register", json={"username": "ann", "password": PASSWORD})
    lines = [line.replace("localhost:8000", f"127.0.0.1:{hub.port}")
             .replace("todohub ", f"{todohub} ", 1) for line in block.strip().splitlines()]
    watch = next(line for line in lines if " watch" in line)

    def run(line: str) -> str:
        done = subprocess.run(["bash", "-euc", line], capture_output=True, text=True,
                              timeout=60, env=env, input=PASSWORD + "\n")
        assert done.returncode == 0, (line, done.stderr)
        return done.stdout

    for line in lines:
        if line is watch:
            continue
        if " done " in line:
            listed = json.loads(run(f"{todohub} todos --json"))
            line = line.replace("3f0c2a1b", listed[0]["id"][:8])
        output = run(line)
        if " todos" in line:
            assert "Call mum" in output and "#family" in output
    assert "[x]" in run(f"{todohub} todos")
    token = json.loads((tmp_path / "config" / "todohub" / "config.json").read_text())["token"]
    with subprocess.Popen(["bash", "-euc", "exec " + watch], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as watcher:
        try:
            assert watcher.stdout is not None
            selector = selectors.DefaultSelector()
            selector.register(watcher.stdout, selectors.EVENT_READ)
            # watch starts from now: write until a change shows up (it may connect late).
            for attempt in range(20):
                httpx.post(f"{hub.url}/api/todos",
                           headers={"Authorization": f"Bearer {token}"},
                           json={"title": f"seen live {attempt}"})
                if selector.select(timeout=1.0):
                    break
            selector.close()
            line = watcher.stdout.readline()
            assert " create [ ] " in line and "seen live" in line and "(from rest)" in line, line
        finally:
            watcher.terminate()
            watcher.wait(timeout=10)


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
