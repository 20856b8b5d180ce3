"""The repository's nginx.conf, run by the real nginx in front of test upstreams."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from tests.deploy import nginx as nginx_helpers
from tests.deploy.nginx import NGINX_CONF, check_nginx_conf, free_port, render_nginx_conf, run_nginx

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}

APP_JS = "// todohub test client\n" + "".join(
    f"export const line{i} = 'a line of javascript to make gzip worth it';\n" for i in range(60)
)
INDEX_HTML = "<!doctype html><title>todohub</title><script type=module src=app.js></script>\n"


# --- upstreams -------------------------------------------------------------


@dataclass
class Seen:
    """What one upstream received: method, path and headers per request."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        """Return the request paths received so far."""
        with self.lock:
            return [path for _, path, _ in self.requests]


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread
    name: str
    seen: Seen


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # nginx keeps upstream connections alive
    timeout = 10
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        seen = self.server.seen
        with seen.lock:
            seen.requests.append((self.command, self.path, dict(self.headers.items())))
        body: dict[str, object]
        if self.path == "/health":
            status, body = 200, {"status": "ok", "hub": self.server.name}
        elif self.path.startswith("/api/"):
            status, body = 200, {"hub": self.server.name, "headers": dict(self.headers.items())}
        else:
            status, body = 404, {"error": "not_found", "hub": self.server.name}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        # nginx must replace these with its own single copy.
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        self.end_headers()
        self.wfile.write(data)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@dataclass
class Upstream:
    """A tiny HTTP server standing in for one hub."""

    name: str
    server: _Server
    thread: threading.Thread

    @property
    def address(self) -> str:
        """Return host:port for nginx's upstream block."""
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def seen(self) -> Seen:
        """Return the requests this upstream received."""
        return self.server.seen


def _start_upstream(name: str) -> Upstream:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.name = name
    server.seen = Seen()
    thread = threading.Thread(target=server.serve_forever, name=f"upstream-{name}", daemon=True)
    thread.start()
    return Upstream(name, server, thread)


@pytest.fixture(scope="module")
def upstreams() -> Iterator[list[Upstream]]:
    """Two HTTP upstreams named hub1 and hub2 on free ports."""
    started = [_start_upstream("hub1"), _start_upstream("hub2")]
    try:
        yield started
    finally:
        for upstream in started:
            upstream.server.shutdown()
            upstream.server.server_close()
            upstream.thread.join(timeout=10)


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static folder standing in for ./static."""
    root = tmp_path_factory.mktemp("static")
    (root / "index.html").write_text(INDEX_HTML)
    (root / "app.js").write_text(APP_JS)
    (root / "style.css").write_text("body { margin: 0 }\n")
    return root


@pytest.fixture(scope="module")
def proxy(
    nginx_bin: str,
    upstreams: list[Upstream],
    static_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[int]:
    """nginx from the rendered nginx.conf in front of the upstreams; yields its port."""
    prefix = str(tmp_path_factory.mktemp("nginx"))
    port = free_port()
    conf = render_nginx_conf([u.address for u in upstreams], port, str(static_root), prefix)
    with run_nginx(conf, prefix):
        yield port


# --- a small client ----------------------------------------------------------


@dataclass
class Answer:
    """One HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        """Decode the body as a JSON object."""
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value


def fetch(
    port: int,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    """Send one request to 127.0.0.1:port on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        names = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, names, data)
    finally:
        conn.close()


def assert_security_headers(answer: Answer) -> None:
    """Check nginx's security headers, each present once."""
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, (name, answer.headers)
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "connect-src 'self' ws://" in csp and " wss://" in csp
    assert "frame-ancestors 'none'" in csp


# --- the configuration itself ------------------------------------------------


@pytest.mark.services
def test_rendered_conf_passes_nginx_t(nginx_bin: str, tmp_path: Path) -> None:
    """The rendered nginx.conf passes `nginx -t` with the machine's nginx."""
    conf = render_nginx_conf(
        ["127.0.0.1:18001", "127.0.0.1:18002"], free_port(), str(tmp_path), str(tmp_path)
    )
    result = check_nginx_conf(conf, str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test is successful" in result.stdout + result.stderr


def test_render_replaces_every_machine_specific_line(tmp_path: Path) -> None:
    """Rendering swaps hub names, port, static root, logs and pid for test values."""
    prefix = str(tmp_path)
    conf = render_nginx_conf(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"], 4321, "/srv/x", prefix)
    directives = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    for gone in ("hub1:8000", "hub2:8000", "/var/log/nginx", "/var/run", "/usr/share/nginx/html"):
        assert gone not in directives
    assert conf.count("server 127.0.0.1:") == 3
    assert "server 127.0.0.1:1 max_fails=3 fail_timeout=10s;" in conf
    assert "listen 127.0.0.1:4321;" in conf
    assert 'root "/srv/x";' in conf
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f'{name}_temp_path "{prefix}/{name}_temp";' in conf
    original = NGINX_CONF.read_text()
    assert "server hub1:8000" in original and "server hub2:8000" in original


def test_render_refuses_an_unexpected_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nginx.conf whose substituted lines moved makes rendering fail, not pass silently."""
    changed = tmp_path / "nginx.conf"
    changed.write_text(NGINX_CONF.read_text().replace("server hub2:8000", "server hub2.x:8000"))
    monkeypatch.setattr(nginx_helpers, "NGINX_CONF", changed)
    with pytest.raises(ValueError, match="upstream"):
        render_nginx_conf(["127.0.0.1:1"], 1, str(tmp_path), str(tmp_path))


# --- nginx running -------------------------------------------------------------


@pytest.mark.services
def test_static_file_with_security_headers_and_gzip(proxy: int, upstreams: list[Upstream]) -> None:
    """nginx serves a static file itself, gzipped on request, with the security headers."""
    plain = fetch(proxy, "/app.js")
    assert plain.status == 200
    assert plain.body.decode() == APP_JS
    assert "javascript" in plain.headers["content-type"]
    assert "content-encoding" not in plain.headers
    assert plain.headers.get("cache-control") == "no-cache"
    assert_security_headers(plain)

    zipped = fetch(proxy, "/app.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.status == 200
    assert zipped.headers.get("content-encoding") == "gzip"
    assert "Accept-Encoding" in zipped.headers.get("vary", "")
    assert gzip.decompress(zipped.body).decode() == APP_JS
    assert len(zipped.body) < len(APP_JS) // 2
    assert_security_headers(zipped)

    for upstream in upstreams:
        assert "/app.js" not in upstream.seen.paths()


@pytest.mark.services
def test_client_routes_fall_back_to_index_html(proxy: int) -> None:
    """`/` and unknown client routes get index.html; a missing asset is a 404."""
    for path in ("/", "/index.html", "/lists/today"):
        answer = fetch(proxy, path)
        assert answer.status == 200, path
        assert answer.body.decode() == INDEX_HTML
        assert answer.headers["content-type"].startswith("text/html")
        assert_security_headers(answer)
    missing = fetch(proxy, "/missing.js")
    assert missing.status == 404
    assert_security_headers(missing)


@pytest.mark.services
def test_api_reaches_an_upstream_with_forwarded_headers(
    proxy: int, upstreams: list[Upstream]
) -> None:
    """/api/ is proxied to a hub with Host, X-Forwarded-For and X-Forwarded-Proto."""
    answer = fetch(proxy, "/api/x?q=1")
    assert answer.status == 200
    body = answer.json()
    assert body["hub"] in {"hub1", "hub2"}
    forwarded = body["headers"]
    assert isinstance(forwarded, dict)
    headers = {str(k).lower(): str(v) for k, v in forwarded.items()}
    assert headers["host"] == f"127.0.0.1:{proxy}"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert "upgrade" not in headers
    assert headers.get("connection", "") != "close"  # upstream keepalive
    assert answer.headers["x-frame-options"] == "DENY"  # the hub's own copy is hidden
    seen = [p for u in upstreams for p in u.seen.paths()]
    assert "/api/x?q=1" in seen


@pytest.mark.services
def test_api_json_paths_are_not_taken_for_static_files(proxy: int) -> None:
    """An /api/ path that looks like a static file still goes to the hub."""
    answer = fetch(proxy, "/api/export.json")
    assert answer.status == 200
    assert answer.json()["hub"] in {"hub1", "hub2"}


@pytest.mark.services
def test_health_is_proxied(proxy: int) -> None:
    """/health answers from a hub through nginx."""
    answer = fetch(proxy, "/health")
    assert answer.status == 200
    assert answer.json()["status"] == "ok"


@pytest.mark.services
def test_metrics_are_refused(proxy: int, upstreams: list[Upstream]) -> None:
    """/metrics is refused by nginx and never reaches a hub."""
    for path in ("/metrics", "/metrics/", "/metrics?x=1"):
        answer = fetch(proxy, path)
        assert answer.status == 403, path
    for upstream in upstreams:
        assert not [p for p in upstream.seen.paths() if p.startswith("/metrics")]


@pytest.mark.services
def test_request_body_limit(proxy: int) -> None:
    """A request body over client_max_body_size (1m) is refused with 413."""
    answer = fetch(proxy, "/api/x", method="POST", body=b"x" * (2 * 1024 * 1024))
    assert answer.status == 413


@pytest.mark.services
def test_login_is_rate_limited(proxy: int) -> None:
    """A burst of logins from one address gets 429 while other API calls still pass."""
    statuses = []
    for _ in range(40):
        answer = fetch(
            proxy,
            "/api/auth/login",
            method="POST",
            headers={"Content-Type": "application/json"},
            body=b'{"username": "ann", "password": "secret"}',
        )
        statuses.append(answer.status)
    assert statuses[0] == 200
    # 5 r/s with a burst of 10: 40 requests in a row cannot all pass in time.
    assert statuses.count(429) >= 10, statuses
    assert set(statuses) <= {200, 429}
    assert fetch(proxy, "/api/x").status == 200
    # The other password-hashing endpoints are limited too (same per-address zone).
    for path in ("/api/auth/guest", "/api/auth/register", "/api/auth/upgrade"):
        answers = [fetch(proxy, path, method="POST", body=b"{}").status for _ in range(30)]
        assert 429 in answers, (path, answers)


# --- WebSocket through nginx ---------------------------------------------------


@pytest.mark.services
async def test_websocket_upgrade_through_nginx(
    nginx_bin: str, static_root: Path, tmp_path: Path
) -> None:
    """/ws is upgraded through nginx; open sockets are spread over both hubs."""

    def echo(name: str) -> Callable[[ServerConnection], Awaitable[None]]:
        async def handler(ws: ServerConnection) -> None:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode()
                await ws.send(f"{name}:{text}")

        return handler

    async with (
        serve(echo("hub1"), "127.0.0.1", 0) as ws1,
        serve(echo("hub2"), "127.0.0.1", 0) as ws2,
    ):
        addresses = [f"127.0.0.1:{next(iter(s.sockets)).getsockname()[1]}" for s in (ws1, ws2)]
        port = free_port()
        conf = render_nginx_conf(addresses, port, str(static_root), str(tmp_path))
        with run_nginx(conf, str(tmp_path)):
            uri = f"ws://127.0.0.1:{port}/ws"
            async with asyncio.timeout(10):
                async with connect(uri) as first:
                    await first.send('{"type": "ping"}')
                    hub_a, _, text = str(await first.recv()).partition(":")
                    assert text == '{"type": "ping"}'
                    # least_conn with a shared zone: the next socket, opened
                    # while the first is held, goes to the other hub.
                    async with connect(uri) as second:
                        await second.send("two")
                        hub_b, _, text = str(await second.recv()).partition(":")
                        assert text == "two"
                    assert {hub_a, hub_b} == {"hub1", "hub2"}
                    await first.send("still open")
                    assert await first.recv() == f"{hub_a}:still open"
