"""A plain (non-editable) install: the wheel ships the browser client and not the benchmarks,
and the installed hub serves the client at /."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import httpx

from tests.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "hub", "storage", "auth", "static")


def _run(*args: str | Path, cwd: Path | None = None) -> None:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_installs_and_serves_the_client(tmp_path: Path) -> None:
    """Build the wheel from a clean copy of the sources, install it (without dependencies)
    into a fresh virtualenv that borrows the test environment's dependencies, start
    ``todohub serve`` from it and load / and a module of the client."""
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(origin, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist",
         source)
    (wheel,) = (tmp_path / "dist").glob("todohub-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hub/_static/index.html" in names and "hub/_static/app.js" in names
    assert {"hub/_static/apidocs/index.html", "hub/_static/apidocs/docs.js",
            "hub/_static/apidocs/swagger-ui-bundle.js", "hub/_static/apidocs/swagger-ui.css",
            "hub/_static/apidocs/LICENSE"} <= set(names), "the API docs page ships"
    assert "auth/data/common-passwords.txt" in names
    assert "storage/migrations/env.py" in names
    assert not [n for n in names if n.startswith("bench/")], "bench is not shipped"

    fresh = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", fresh)
    python = fresh / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel)
    site = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies come from this environment's site-packages, added after the fresh
    # one: a .pth line adds a folder without running that folder's own .pth files, so the
    # editable install of the checkout stays out of the way.
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed_static = site / "hub" / "_static"
    assert (installed_static / "index.html").is_file()
    assert not installed_static.is_symlink()
    assert not (site / "bench").exists()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TODOHUB_", "PYTHON"))}
    log = open(tmp_path / "hub.log", "wb")  # noqa: SIM115 (closed below)
    hub = subprocess.Popen(
        [fresh / "bin" / "todohub", "serve", "--port", str(port), "--data-dir",
         tmp_path / "data", "--log-level", "warning"],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert hub.poll() is None, (tmp_path / "hub.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the installed hub did not start"
            time.sleep(0.1)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "<script" in page.text
        docs = httpx.get(f"http://127.0.0.1:{port}/api/docs", timeout=5)
        assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
        bundle = httpx.get(f"http://127.0.0.1:{port}/api/docs/assets/swagger-ui-bundle.js",
                           timeout=5)
        assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text
        module = httpx.get(f"http://127.0.0.1:{port}/app.js", timeout=5)
        assert module.status_code == 200
        assert module.text == (REPO_ROOT / "static" / "app.js").read_text()
        where = subprocess.run([python, "-c", "import hub; print(hub.__file__)"],
                               capture_output=True, text=True, cwd=tmp_path, env=env)
        assert where.stdout.strip().startswith(str(site)), where
    finally:
        hub.terminate()
        hub.wait(timeout=20)
        log.close()
