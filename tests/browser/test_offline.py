"""Offline and flaky networks: optimistic changes, a persistent outbox, convergence.

The offline device goes through a ``CuttableProxy``: cutting it drops the open WebSocket
(the page sees 1006) and refuses new connections; ``set_offline`` also makes the browser
report no network, so fetches fail at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.browser.helpers import (
    LIVE_MS,
    NETWORK_NOISE,
    CuttableProxy,
    Device,
    DeviceFactory,
    WebSocket,
    expect,
    login,
    register,
    server_state,
)
from tests.servers import RunningHub

COMPLETED = re.compile(r"\bcompleted\b")
ProxyFactory = Callable[[RunningHub], CuttableProxy]


def go_offline(device: Device, proxy: CuttableProxy) -> None:
    """Cut the device off, once everything it sent has been answered."""
    expect(device.page.locator(".unsent")).to_be_hidden()
    proxy.cut()
    device.context.set_offline(True)
    expect(device.connection).to_have_text("Offline")


def go_online(device: Device, proxy: CuttableProxy) -> None:
    proxy.restore()
    device.context.set_offline(False)
    device.wait_live()


def wait_offline_ready(device: Device) -> None:
    """The service worker has the app shell, so the page can load without a network."""
    expect(device.page.locator("html")).to_have_attribute("data-offline-ready", "true")


def test_offline_changes_converge_with_another_device(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> None:
    """A makes three changes offline, B one online; once A is back both equal the server."""
    proxy, a, b = _one_user_on_two_devices(open_device, hub, proxy_factory)
    a.add("one", "two")
    expect(b.items).to_have_text(["one", "two"], timeout=LIVE_MS)

    go_offline(a, proxy)
    a.add("three, offline")
    a.item("one").locator("input.toggle").check()
    a.edit("two", "two, edited offline")
    # Optimistic: shown at once, kept as pending ops.
    assert a.state() == [("one", True), ("two, edited offline", False), ("three, offline", False)]
    expect(a.page.locator(".unsent")).to_have_text("3 changes not sent yet")
    b.add("four, from B")
    expect(a.items).to_have_count(3)  # A hears nothing while offline
    assert b.state() == [("one", False), ("two", False), ("four, from B", False)]

    go_online(a, proxy)
    expect(a.page.locator(".unsent")).to_be_hidden()
    token = a.session()["access_token"]
    expected = server_state(hub, token)
    assert sorted(expected) == sorted(
        [
            ("one", True),
            ("two, edited offline", False),
            ("three, offline", False),
            ("four, from B", False),
        ]
    )
    expect(a.items).to_have_text([title for title, _ in expected], timeout=LIVE_MS)
    expect(b.items).to_have_text([title for title, _ in expected], timeout=LIVE_MS)
    assert a.state() == expected
    assert b.state() == expected


def test_socket_drop_shows_reconnecting_then_live(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> None:
    """A cut connection (with the browser still 'online') shows Reconnecting, then Live."""
    proxy = proxy_factory(hub)
    device = open_device(hub.url, proxy=proxy.address, allow=NETWORK_NOISE)
    hellos: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        def sent(payload: str | bytes) -> None:
            frame = json.loads(payload)
            if frame["type"] == "hello":
                hellos.append(frame)

        ws.on("framesent", sent)

    device.page.on("websocket", watch)
    device.add("before")
    expect(device.page.locator(".unsent")).to_be_hidden()
    proxy.cut()
    expect(device.connection).to_have_text("Reconnecting…")
    device.add("during")
    proxy.restore()
    device.wait_live(timeout=10_000)
    expect(device.page.locator(".unsent")).to_be_hidden()
    token = device.session()["access_token"]
    assert server_state(hub, token) == [("before", False), ("during", False)]
    # The new socket resumed from the last change seen: its hello carries `since`.
    stored = device.page.evaluate("JSON.parse(localStorage.getItem('todohub.store'))")
    assert hellos and hellos[-1]["since"] is not None and hellos[-1]["since"] >= 1
    assert stored["seq"] >= hellos[-1]["since"]
    assert {h["device"] for h in hellos} == {
        device.page.evaluate("localStorage.getItem('todohub.device')")
    }


def test_backoff_grows_exponentially_with_jitter(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Retry delays double from 0.5 s up to 30 s, each between half and all of its ceiling."""
    device = open_device(hub.url)
    delays = device.page.evaluate(
        """async () => {
            const { backoffDelay } = await import("/socket.js");
            const range = (n) => [backoffDelay(n, () => 0), backoffDelay(n, () => 1)];
            return [0, 1, 2, 3, 6, 12].map(range);
        }"""
    )
    assert delays == [
        [250, 500],
        [500, 1000],
        [1000, 2000],
        [2000, 4000],
        [15000, 30000],
        [15000, 30000],
    ]


def test_reload_keeps_the_state_online(open_device: DeviceFactory, hub: RunningHub) -> None:
    """After a reload the list, completion and filter are as they were."""
    device = open_device(hub.url)
    device.add("one", "two", "three")
    device.item("two").locator("input.toggle").check()
    device.page.get_by_role("link", name="Active").click()
    expect(device.items).to_have_text(["one", "three"])
    expect(device.page.locator(".unsent")).to_be_hidden()
    device.page.reload()
    device.wait_live()
    expect(device.items).to_have_text(["one", "three"])
    device.page.get_by_role("link", name="All").click()
    assert device.state() == [("one", False), ("two", True), ("three", False)]


def test_reload_while_offline_shows_the_last_list_and_sends_later(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> None:
    """Offline, a reload still shows the list with the unsent changes; they reach the hub."""
    proxy = proxy_factory(hub)
    device = open_device(hub.url, proxy=proxy.address, allow=NETWORK_NOISE)
    device.add("kept", "done later")
    expect(device.page.locator(".unsent")).to_be_hidden()
    wait_offline_ready(device)

    go_offline(device, proxy)
    device.item("done later").locator("input.toggle").check()
    device.add("written offline")
    device.page.reload()
    expect(device.connection).to_have_text("Offline")
    assert device.state() == [("kept", False), ("done later", True), ("written offline", False)]
    expect(device.page.locator(".unsent")).to_have_text("2 changes not sent yet")

    go_online(device, proxy)
    expect(device.page.locator(".unsent")).to_be_hidden()
    token = device.session()["access_token"]
    assert server_state(hub, token) == [
        ("kept", False),
        ("done later", True),
        ("written offline", False),
    ]


def test_offline_edit_of_a_todo_deleted_elsewhere_shows_the_server_state(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> None:
    """A's offline change to a todo B deleted: A ends with B's state and a short notice."""
    proxy, a, b = _one_user_on_two_devices(open_device, hub, proxy_factory)
    a.add("keep", "doomed", "retitled")
    expect(b.items).to_have_text(["keep", "doomed", "retitled"], timeout=LIVE_MS)

    go_offline(a, proxy)
    a.item("doomed").locator("input.toggle").check()
    a.edit("retitled", "title from A")
    b.item("doomed").hover()
    b.item("doomed").locator("button.destroy").click()
    b.edit("retitled", "title from B")
    expect(b.items).to_have_text(["keep", "title from B"])

    go_online(a, proxy)
    expect(a.items).to_have_text(["keep", "title from B"])
    expect(a.page.locator(".notice")).to_be_visible()
    expect(a.page.locator(".unsent")).to_be_hidden()
    token = a.session()["access_token"]
    assert server_state(hub, token) == [("keep", False), ("title from B", False)]


def test_two_tabs_of_one_profile_share_offline_changes(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> None:
    """Tabs share one store: an offline change in one shows in the other, and is sent once."""
    proxy = proxy_factory(hub)
    device = open_device(hub.url, proxy=proxy.address, allow=NETWORK_NOISE)
    device.add("shared")
    expect(device.page.locator(".unsent")).to_be_hidden()
    other = device.context.new_page()
    other.on("pageerror", lambda exc: device.errors.append(f"page error: {exc}"))
    other.on("console", lambda m: device.errors.append(m.text) if m.type == "error" else None)
    other.goto(hub.url)
    expect(other.locator(".connection")).to_have_text("Live")
    expect(other.locator("ul.todo-list > li")).to_have_text(["shared"])

    go_offline(device, proxy)
    expect(other.locator(".connection")).to_have_text("Offline")
    device.add("tab one, offline")
    other.locator("input.new-todo").fill("tab two, offline")
    other.locator("input.new-todo").press("Enter")
    for page in (device.page, other):
        expect(page.locator("ul.todo-list > li")).to_have_count(3)
        expect(page.locator(".unsent")).to_have_text("2 changes not sent yet")

    go_online(device, proxy)
    expect(other.locator(".connection")).to_have_text("Live")
    for page in (device.page, other):
        expect(page.locator(".unsent")).to_be_hidden()
    titles = sorted(title for title, _ in server_state(hub, device.session()["access_token"]))
    assert titles == ["shared", "tab one, offline", "tab two, offline"]
    expect(other.locator("ul.todo-list > li")).to_have_count(3)


def _one_user_on_two_devices(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> tuple[CuttableProxy, Device, Device]:
    """One user signed in on A (behind a proxy the test can cut) and on B (direct)."""
    username, _ = register(hub)
    proxy = proxy_factory(hub)
    a = open_device(
        hub.url, session=login(hub, username), proxy=proxy.address, name="A", allow=NETWORK_NOISE
    )
    b = open_device(hub.url, session=login(hub, username), name="B")
    return proxy, a, b
