"""Run the repository's nginx.conf on this machine, in front of test upstreams.

The same nginx.conf serves the compose setup (hub1/hub2 by name, /var/log,
/usr/share/nginx/html) and the tests. `render_nginx_conf` rewrites the few
machine-specific lines of it, each found by an exact pattern that must match
the expected number of times, so a reshaped nginx.conf fails loudly here
instead of silently testing something else. `run_nginx` starts the real
nginx binary on the rendered text and stops it again.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = REPO_ROOT / "nginx.conf"

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def find_nginx() -> str | None:
    """Return the nginx executable (Debian's /usr/sbin/nginx first), or None."""
    if os.access("/usr/sbin/nginx", os.X_OK):
        return "/usr/sbin/nginx"
    return shutil.which("nginx")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _quote(value: str) -> str:
    """Quote a path as one nginx parameter."""
    if any(ch in value for ch in '"\\;{}\n'):
        raise ValueError(f"path not usable in nginx.conf: {value!r}")
    return f'"{value}"'


def _sub(
    pattern: str,
    repl: str | Callable[[re.Match[str]], str],
    text: str,
    *,
    what: str,
    count: int = 1,
) -> str:
    """Substitute a multiline pattern that must match exactly `count` times."""
    regex = re.compile(pattern, re.MULTILINE)
    found = len(regex.findall(text))
    if found != count:
        raise ValueError(
            f"nginx.conf: expected {count} {what} line(s) matching {pattern!r}, found {found}"
        )
    return regex.sub(repl, text)


def render_nginx_conf(upstreams: list[str], listen_port: int, static_root: str, prefix: str) -> str:
    """Return nginx.conf rewritten to run from `prefix` on 127.0.0.1.

    upstreams: "host:port" addresses that replace hub1:8000 and hub2:8000.
    listen_port: the port nginx listens on (127.0.0.1 only).
    static_root: the folder served as the browser client.
    prefix: a writable folder for the pid file, logs and temp files.
    """
    if not upstreams:
        raise ValueError("at least one upstream is needed")
    text = NGINX_CONF.read_text(encoding="utf-8")
    pre = prefix.rstrip("/") or "/"

    # Workers run as root here (the test runs as root and its tmp folders are
    # root's); as another user, nginx ignores the directive, so drop it.
    user = "user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else "# user: as invoked"
    text = _sub(r"^user\s+[^;]+;", user, text, what="main-level user")
    text = _sub(
        r"^error_log\s+[^;]+;",
        f"error_log {_quote(pre + '/error.log')} info;",
        text,
        what="main-level error_log",
    )
    text = _sub(r"^pid\s+[^;]+;", f"pid {_quote(pre + '/nginx.pid')};", text, what="pid")
    text = _sub(
        r"^([ \t]*access_log[ \t]+)\S+",
        lambda m: m.group(1) + _quote(pre + "/access.log"),
        text,
        what="access_log",
    )

    upstream_line = re.compile(r"^([ \t]*)server[ \t]+hub\d+:\d+([^;]*);[ \t]*\n", re.MULTILINE)
    servers = list(upstream_line.finditer(text))
    if len(servers) != 2:
        raise ValueError(
            f"nginx.conf: expected the 2 upstream lines 'server hubN:8000 ...;', "
            f"found {len(servers)}"
        )
    indent, params = servers[0].group(1), servers[0].group(2)
    block = "".join(f"{indent}server {address}{params};\n" for address in upstreams)
    text = text[: servers[0].start()] + block + text[servers[-1].end() :]

    text = _sub(
        r"^([ \t]*)listen[ \t]+8080[ \t]*;",
        lambda m: f"{m.group(1)}listen 127.0.0.1:{listen_port};",
        text,
        what="listen 8080",
    )
    text = _sub(
        r"^([ \t]*)root[ \t]+[^;]+;",
        lambda m: f"{m.group(1)}root {_quote(static_root)};",
        text,
        what="root",
    )
    temp_paths = "".join(
        f"    {name}_temp_path {_quote(f'{pre}/{name}_temp')};\n" for name in _TEMP_DIRS
    )
    text = _sub(r"^http\s*\{[ \t]*\n", lambda m: m.group(0) + temp_paths, text, what="http {")
    return text


def _conf_path(conf_text: str, prefix: str) -> Path:
    """Write the rendered configuration into the prefix folder."""
    path = Path(prefix) / "nginx.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(conf_text, encoding="utf-8")
    return path


def _command(prefix: str, conf: Path, *args: str) -> list[str]:
    nginx = find_nginx()
    if nginx is None:
        raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
    return [
        nginx,
        "-e",
        str(Path(prefix) / "error.log"),
        "-p",
        prefix.rstrip("/") + "/",
        "-c",
        str(conf),
        *args,
    ]


def check_nginx_conf(conf_text: str, prefix: str) -> subprocess.CompletedProcess[str]:
    """Run `nginx -t` on the rendered configuration and return its result."""
    conf = _conf_path(conf_text, prefix)
    return subprocess.run(
        _command(prefix, conf, "-t"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _listen_port(conf_text: str) -> int:
    match = re.search(r"^[ \t]*listen[ \t]+(?:[\d.]+:)?(\d+)[ \t]*;", conf_text, re.MULTILINE)
    if match is None:
        raise ValueError("no 'listen' line in the rendered configuration")
    return int(match.group(1))


def _log_tail(prefix: str) -> str:
    parts = []
    for name in ("nginx.out", "error.log"):
        path = Path(prefix) / name
        if path.exists():
            parts.append(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}")
    return "\n".join(parts)


@contextmanager
def run_nginx(conf_text: str, prefix: str) -> Iterator[None]:
    """Run nginx in the foreground on `conf_text` until the block ends."""
    port = _listen_port(conf_text)
    conf = _conf_path(conf_text, prefix)
    with open(Path(prefix) / "nginx.out", "wb") as out:
        proc = subprocess.Popen(
            _command(prefix, conf, "-g", "daemon off;"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"nginx exited with {proc.returncode} on start\n{_log_tail(prefix)}"
                    )
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"nginx did not accept on port {port} within {START_TIMEOUT} s\n"
                            f"{_log_tail(prefix)}"
                        ) from None
                try:
                    proc.wait(timeout=0.05)  # poll interval; returns early if nginx dies
                except subprocess.TimeoutExpired:
                    pass
            yield
        finally:
            if proc.poll() is None:
                proc.terminate()  # SIGTERM: fast shutdown, drops open WebSockets
                try:
                    proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
