"""Helpers of the browser tests: a device (one browser profile), accounts over REST, and a
proxy the test can cut.

``CuttableProxy`` exists because ``context.set_offline(True)`` alone leaves an open WebSocket
open (TESTING.md): a device behind the proxy really loses its connection when it is cut.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.servers import RunningHub

try:
    from playwright.sync_api import BrowserContext, Locator, Page
    from playwright.sync_api import Route as Route  # re-exported for the tests
    from playwright.sync_api import WebSocket as WebSocket
    from playwright.sync_api import expect as expect
except ImportError:  # pragma: no cover - depends on the machine; the fixture skips or fails
    Route = WebSocket = None  # type: ignore[assignment,misc]
    expect = None  # type: ignore[assignment]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # LocalNetworkAccessChecks: a page fulfilled by a Playwright route counts as public,
    # and public pages may not reach 127.0.0.1 (the CSP test needs such a page).
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,"
    "LocalNetworkAccessChecks",
    # Chromium sends loopback traffic around a proxy unless told otherwise.
    "--proxy-bypass-list=<-loopback>",
]
PASSWORD = "Correct-horse-battery-1"
TIMEOUT_MS = 5_000
LIVE_MS = 1_000  # a change shows on the other devices within one second
# Console messages the browser itself prints for refused network traffic; allowed only on
# devices a test takes offline on purpose.
NETWORK_NOISE = (
    "Failed to load resource",
    "WebSocket connection to",
    "net::ERR_",
)


@dataclass
class Device:
    """One browser profile with one page of the app."""

    context: BrowserContext
    page: Page
    name: str
    errors: list[str] = field(default_factory=list)
    allowed: tuple[str, ...] = ()
    # Answers of 400 and above, which the browser's console reports without their address.
    refused: list[str] = field(default_factory=list)

    # ---- locators and reads ------------------------------------------------------------

    @property
    def items(self) -> Locator:
        return self.page.locator("ul.todo-list > li")

    @property
    def new_todo(self) -> Locator:
        return self.page.locator("input.new-todo")

    @property
    def connection(self) -> Locator:
        return self.page.locator(".connection")

    def item(self, title: str) -> Locator:
        """The li whose label is exactly ``title``."""
        return self.items.filter(has=self.page.get_by_text(title, exact=True))

    def state(self) -> list[tuple[str, bool]]:
        """(title, completed) for each item, in screen order."""
        return [
            (str(row[0]), bool(row[1]))
            for row in self.page.eval_on_selector_all(
                "ul.todo-list > li",
                "lis => lis.map(li => [li.querySelector('label').textContent,"
                " li.classList.contains('completed')])",
            )
        ]

    def session(self) -> dict[str, Any]:
        raw = self.page.evaluate("localStorage.getItem('todohub.session')")
        assert raw, f"{self.name} has no session"
        result: dict[str, Any] = json.loads(raw)
        return result

    # ---- actions ---------------------------------------------------------------------

    def add(self, *titles: str) -> None:
        for title in titles:
            self.new_todo.fill(title)
            self.new_todo.press("Enter")

    def wait_live(self, timeout: float = TIMEOUT_MS) -> None:
        expect(self.connection).to_have_text("Live", timeout=timeout)

    def edit(self, title: str, new_title: str) -> None:
        self.item(title).locator("label").dispatch_event("dblclick")
        editor = self.page.locator("ul.todo-list > li.editing input.edit")
        editor.fill(new_title)
        editor.press("Enter")

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


DeviceFactory = Callable[..., Device]


# ---- accounts over REST --------------------------------------------------------------


def register(hub: RunningHub, username: str | None = None) -> tuple[str, str]:
    """Create a user over REST; returns (username, password)."""
    username = username or f"u{uuid.uuid4().hex[:10]}"
    answer = httpx.post(
        f"{hub.url}/api/auth/register",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return username, PASSWORD


def login(hub: RunningHub, username: str, password: str = PASSWORD) -> dict[str, Any]:
    """A fresh session (its own refresh-token family) for one device."""
    answer = httpx.post(
        f"{hub.url}/api/auth/login",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def server_state(hub: RunningHub, token: str) -> list[tuple[str, bool]]:
    """(title, completed) of the user's todos as the hub has them, in list order."""
    answer = httpx.get(
        f"{hub.url}/api/todos",
        params={"sort": "order", "per_page": 100},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return [(t["title"], t["completed"]) for t in answer.json()["items"]]


# ---- a proxy the test can cut --------------------------------------------------------


class CuttableProxy:
    """An HTTP proxy on 127.0.0.1 that sends everything to one hub and can be cut.

    Plain requests arrive in absolute form and are passed on as they are; ``CONNECT``
    (what Chromium uses for WebSockets through a proxy) is answered 200 and then
    tunnelled. ``cut()`` closes every open connection and refuses new ones, so the page
    sees its socket drop (1006) and reconnects fail; ``restore()`` lets traffic through
    again.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.online = True
        self.closed = False
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.thread = threading.Thread(target=self._accept, name="proxy", daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def cut(self) -> None:
        with self.lock:
            self.online = False
            doomed = list(self.open)
            self.open.clear()
        for sock in doomed:
            _close(sock)

    def restore(self) -> None:
        with self.lock:
            self.online = True

    def close(self) -> None:
        self.closed = True
        self.cut()
        _close(self.listener)
        self.thread.join(timeout=5)

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if not self.online:
                    _close(client)
                    continue
                self.open.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            if not self._for_hub(head):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            upstream = socket.create_connection(self.upstream, timeout=5)
            upstream.settimeout(None)
            with self.lock:
                if not self.online:
                    return
                self.open.add(upstream)
            if head.startswith(b"CONNECT "):
                end = head.index(b"\r\n\r\n") + 4
                client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                head = head[end:]
            if head:
                upstream.sendall(head)
            pump = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            pump.start()
            _pump(client, upstream)
            pump.join(timeout=5)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open.discard(client)
                if upstream is not None:
                    self.open.discard(upstream)
            _close(client)
            if upstream is not None:
                _close(upstream)

    def _for_hub(self, head: bytes) -> bool:
        """Only traffic for the hub passes: Chromium's own calls to the outside do not."""
        target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
        hub = f"{self.upstream[0]}:{self.upstream[1]}".encode()
        return target == hub or target.startswith(b"http://" + hub + b"/")


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        _close(target)
        _close(source)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# ---- lists and sharing, on the page and over REST -------------------------------------


def rest(hub: RunningHub, token: str, method: str, path: str, body: Any = None) -> httpx.Response:
    """One REST request as the holder of the access token ``token``."""
    return httpx.request(method, f"{hub.url}{path}", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}"})


def signed_in(open_device: DeviceFactory, hub: RunningHub, username: str,
              **options: Any) -> Device:
    """A device of ``username`` (already registered), signed in with a session of its own."""
    return open_device(hub.url, session=login(hub, username), name=options.pop("name", username),
                       **options)


def open_menu(device: Device) -> None:
    """At 360 px the switcher is a menu: open it (a no-op on a desktop)."""
    toggle = device.page.locator(".list-menu-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def list_entry(device: Device, name: str) -> Locator:
    """The switcher's entry of the list called exactly ``name``."""
    return device.page.locator("ul.list-entries button.list-entry").filter(
        has=device.page.locator(".entry-name", has_text=re.compile(f"^{re.escape(name)}$")))


def make_list(device: Device, name: str) -> None:
    """Create a list in the switcher; the page then shows it."""
    open_menu(device)
    field = device.page.locator("form.new-list-form input")
    field.fill(name)
    field.press("Enter")
    expect(device.page.locator(".list-title")).to_have_text(name)


def choose_list(device: Device, name: str) -> None:
    open_menu(device)
    list_entry(device, name).click()
    expect(device.page.locator(".list-title")).to_have_text(name)


def invitation_link(device: Device, role: str = "editor") -> str:
    """Make an invitation link to the current list in its share panel; the panel closes."""
    page = device.page
    page.locator("button.share-list").click()
    page.locator("select.invite-role").select_option(role)
    page.locator("button.make-invite").click()
    url = page.locator("input.invite-url")
    expect(url).to_have_value(re.compile(r"/#/invite/"))
    link = url.input_value()
    page.locator("button.share-close").click()
    return link


def join_by_link(device: Device, link: str, list_name: str) -> None:
    """Open an invitation link on the device and join on one click."""
    device.page.goto(link)
    offer = device.page.locator("dialog.invite-panel")
    expect(offer).to_be_visible()
    expect(offer.locator(".invite-text")).to_contain_text(f"“{list_name}”")
    offer.locator("button.invite-join").click()
    expect(device.page.locator(".list-title")).to_have_text(list_name)
