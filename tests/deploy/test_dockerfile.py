"""The Dockerfile and .dockerignore: promised shape, and a healthcheck that really checks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.deploy.nginx import REPO_ROOT, free_port

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """Return the Dockerfile's (INSTRUCTION, arguments) pairs, continuations joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    """Return the instructions of the last build stage."""
    steps = instructions()
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    return steps[last_from:]


def healthcheck_command() -> list[str]:
    """Return the exec-form command of the final stage's HEALTHCHECK."""
    (args,) = [a for k, a in final_stage() if k == "HEALTHCHECK"]
    _, _, exec_form = args.partition("CMD ")
    command = json.loads(exec_form)
    assert isinstance(command, list) and all(isinstance(w, str) for w in command)
    return command


def test_images_are_python_311_slim() -> None:
    """Every stage is built on python:3.11-slim."""
    froms = [a.split()[0] for k, a in instructions() if k == "FROM"]
    assert froms and all(f == "python:3.11-slim" for f in froms), froms


def test_package_installed_without_pip_cache() -> None:
    """The package is installed with `pip install --no-cache-dir .`."""
    runs = [a for k, a in instructions() if k == "RUN"]
    assert any("pip install --no-cache-dir ." in r for r in runs), runs


def test_runtime_stage_runs_the_hub_as_non_root() -> None:
    """The final stage copies static/, runs as a non-root user, exposes 8000, serves on 0.0.0.0."""
    stage = final_stage()
    users = [a for k, a in stage if k == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any(k == "COPY" and a.split()[0].rstrip("/") == "static" for k, a in stage)
    assert ("EXPOSE", "8000") in stage
    cmds = [json.loads(a) for k, a in stage if k == "CMD"]
    assert cmds[-1] == ["todohub", "serve", "--host", "0.0.0.0"]


def test_dockerignore_keeps_the_context_small() -> None:
    """.dockerignore leaves out git, virtualenvs, data, caches, tests, bench and docs."""
    entries = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".git", ".venv", "data", "tests", "bench", "docs", "**/__pycache__", ".env"):
        assert needed in entries, needed
    for kept in ("static", "pyproject.toml", "hub", "storage", "auth", "README.md"):
        assert kept not in entries, kept


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        """Answer /livez with the configured status (and nothing else: the container is
        alive while the process answers, whatever /health and /readyz say)."""
        body = b'{"status": "ok"}' if self.path == "/livez" else b"{}"
        code = type(self).status if self.path == "/livez" else 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture(params=[200, 503])
def health_server(request: pytest.FixtureRequest) -> Iterator[tuple[int, int]]:
    """A /livez server answering 200 or 503; yields (port, status)."""
    handler = type("Health", (_Health,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], request.param
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    command = healthcheck_command()
    assert command[0] == "python", "the slim image has python, not curl"
    return subprocess.run(
        [sys.executable, *command[1:]],
        env={"TODOHUB_PORT": str(port), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthcheck_follows_health_status(health_server: tuple[int, int]) -> None:
    """The HEALTHCHECK command exits 0 on /livez 200 and non-zero on 503."""
    port, status = health_server
    result = _run_healthcheck(port)
    assert (result.returncode == 0) == (status == 200), result.stderr


def test_healthcheck_fails_when_nothing_listens() -> None:
    """The HEALTHCHECK command exits non-zero when the hub is not listening."""
    assert _run_healthcheck(free_port()).returncode != 0


def test_healthcheck_asks_for_liveness() -> None:
    """The image's health check asks /livez (the process answers), not /health or /readyz."""
    assert "/livez" in " ".join(healthcheck_command())
