"""Live sync between two devices of one user, and from the REST API, in real browsers."""

from __future__ import annotations

import re

import httpx

from tests.browser.helpers import LIVE_MS, Device, DeviceFactory, expect, login, register
from tests.servers import RunningHub

COMPLETED = re.compile(r"\bcompleted\b")


def two_devices(open_device: DeviceFactory, hub: RunningHub) -> tuple[Device, Device]:
    username, _ = register(hub)
    a = open_device(hub.url, session=login(hub, username), name="A")
    b = open_device(hub.url, session=login(hub, username), name="B")
    return a, b


def test_every_change_on_one_device_shows_on_the_other(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Add, edit, toggle, toggle-all, delete and clear-completed on A appear on B within 1 s."""
    a, b = two_devices(open_device, hub)
    a.add("one", "two", "three")
    expect(b.items).to_have_text(["one", "two", "three"], timeout=LIVE_MS)

    a.edit("two", "two, edited")
    expect(b.items).to_have_text(["one", "two, edited", "three"], timeout=LIVE_MS)

    a.item("one").locator("input.toggle").check()
    expect(b.item("one")).to_have_class(COMPLETED, timeout=LIVE_MS)
    expect(b.page.locator("span.todo-count")).to_have_text("2 items left", timeout=LIVE_MS)

    a.page.locator("input.toggle-all").check()
    expect(b.page.locator("ul.todo-list > li.completed")).to_have_count(3, timeout=LIVE_MS)
    expect(b.page.locator("input.toggle-all")).to_be_checked(timeout=LIVE_MS)
    a.page.locator("input.toggle-all").uncheck()
    expect(b.page.locator("ul.todo-list > li.completed")).to_have_count(0, timeout=LIVE_MS)

    a.item("three").hover()
    a.item("three").locator("button.destroy").click()
    expect(b.items).to_have_text(["one", "two, edited"], timeout=LIVE_MS)

    a.item("one").locator("input.toggle").check()
    expect(b.item("one")).to_have_class(COMPLETED, timeout=LIVE_MS)
    a.page.locator("button.clear-completed").click()
    expect(b.items).to_have_text(["two, edited"], timeout=LIVE_MS)
    expect(b.page.locator("button.clear-completed")).to_be_hidden(timeout=LIVE_MS)

    # And back the other way.
    b.add("from B")
    expect(a.items).to_have_text(["two, edited", "from B"], timeout=LIVE_MS)


def test_presence_lists_my_online_devices(open_device: DeviceFactory, hub: RunningHub) -> None:
    """Each device shows how many of the user's devices are online, and which."""
    a, b = two_devices(open_device, hub)
    summary_a = a.page.locator(".presence summary")
    expect(summary_a).to_have_text("2 devices online")
    expect(b.page.locator(".presence summary")).to_have_text("2 devices online")
    summary_a.click()
    devices = a.page.locator(".device-list li")
    expect(devices).to_have_count(2)
    expect(a.page.locator(".device-list li.this-device")).to_have_count(1)
    expect(a.page.locator(".device-list li.this-device")).to_contain_text("this device")
    b.context.close()
    expect(summary_a).to_have_text("1 device online")


def test_rest_write_by_a_script_appears_in_the_open_page(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A script creating, changing and deleting over REST is seen live by the page."""
    device = open_device(hub.url)
    token = device.session()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=hub.url, headers=headers, timeout=10) as http:
        created = http.post("/api/todos", json={"title": "from a script"})
        assert created.status_code == 201, created.text
        expect(device.items).to_have_text(["from a script"], timeout=LIVE_MS)
        todo_id = created.json()["id"]

        changed = http.patch(f"/api/todos/{todo_id}", json={"completed": True})
        assert changed.status_code == 200, changed.text
        expect(device.item("from a script")).to_have_class(COMPLETED, timeout=LIVE_MS)

        gone = http.delete(f"/api/todos/{todo_id}")
        assert gone.status_code == 204, gone.text
        expect(device.items).to_have_count(0, timeout=LIVE_MS)
        expect(device.page.locator(".main")).to_be_hidden()
