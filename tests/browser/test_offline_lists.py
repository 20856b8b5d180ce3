"""Offline work on lists: list commands and edits of a shared list wait in the offline queue
with their op ids and converge on reconnect; replays the hub refuses (access lost, role
lowered) are dropped with a notice naming the todo, never retried.

The offline device goes through a ``CuttableProxy`` (tests/browser/helpers.py), so its
socket really drops."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.browser.helpers import (
    LIVE_MS,
    NETWORK_NOISE,
    CuttableProxy,
    Device,
    DeviceFactory,
    choose_list,
    expect,
    invitation_link,
    join_by_link,
    list_entry,
    login,
    make_list,
    register,
    rest,
    signed_in,
)
from tests.browser.test_offline import go_offline, go_online
from tests.servers import RunningHub

COMPLETED = re.compile(r"\bcompleted\b")
ProxyFactory = Callable[[RunningHub], CuttableProxy]


def shared_with_bob_offline_capable(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory, name: str
) -> tuple[CuttableProxy, Device, Device]:
    """ann's list ``name`` with two todos, joined by bob, whose device can be cut off."""
    register(hub, "ann")
    register(hub, "bob")
    ann = signed_in(open_device, hub, "ann")
    make_list(ann, name)
    ann.add("soup", "salad")
    proxy = proxy_factory(hub)
    bob = signed_in(open_device, hub, "bob", proxy=proxy.address, allow=NETWORK_NOISE)
    join_by_link(bob, invitation_link(ann), name)
    expect(bob.items).to_have_text(["soup", "salad"])
    return proxy, ann, bob


def test_offline_edits_to_a_shared_list_converge_after_reconnect(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> None:
    """bob edits the shared list offline while ann edits it online; after reconnect both
    pages and the hub hold the same todos."""
    proxy, ann, bob = shared_with_bob_offline_capable(open_device, hub, proxy_factory, "Dinner")
    go_offline(bob, proxy)
    bob.add("bread, offline")
    bob.item("soup").locator("input.toggle").check()
    bob.edit("salad", "green salad")
    expect(bob.page.locator(".unsent")).to_have_text("3 changes not sent yet")
    ann.add("wine, online")
    ann.item("soup").locator("label").dispatch_event("dblclick")
    ann.page.locator("input.edit").fill("tomato soup")
    ann.page.locator("input.edit").press("Enter")

    go_online(bob, proxy)
    expect(bob.page.locator(".unsent")).to_be_hidden()
    token = login(hub, "ann")["access_token"]
    list_id = list_entry(ann, "Dinner").get_attribute("data-list-id")
    items = rest(hub, token, "GET", f"/api/todos?list_id={list_id}&sort=order").json()["items"]
    expected = [(t["title"], t["completed"]) for t in items]
    assert sorted(expected) == sorted([("tomato soup", True), ("green salad", False),
                                       ("wine, online", False), ("bread, offline", False)])
    for device in (ann, bob):
        expect(device.items).to_have_text([title for title, _ in expected], timeout=LIVE_MS)
        assert device.state() == expected


def test_list_commands_made_offline_are_sent_on_reconnect(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> None:
    """A list made, filled and renamed offline, and another deleted offline, reach the hub
    once the device is back, and the other device shows them."""
    register(hub, "ann")
    proxy = proxy_factory(hub)
    away = signed_in(open_device, hub, "ann", name="away", proxy=proxy.address,
                     allow=NETWORK_NOISE)
    home = signed_in(open_device, hub, "ann", name="home")
    make_list(away, "Old")
    away.add("old todo")
    expect(list_entry(home, "Old")).to_have_count(1, timeout=LIVE_MS)
    go_offline(away, proxy)
    away.page.locator("button.delete-list").click()
    away.page.locator("dialog.confirm-panel button.confirm-ok").click()
    make_list(away, "Camping")
    away.add("tent", "stove")
    away.page.locator("button.rename-list").click()
    away.page.locator("input.confirm-input").fill("Camping trip")
    away.page.locator("input.confirm-input").press("Enter")
    expect(away.page.locator(".list-title")).to_have_text("Camping trip")
    expect(away.page.locator(".unsent")).to_have_text("5 changes not sent yet")
    expect(list_entry(home, "Old")).to_have_count(1)

    go_online(away, proxy)
    expect(away.page.locator(".unsent")).to_be_hidden()
    expect(list_entry(home, "Old")).to_have_count(0, timeout=LIVE_MS)
    choose_list(home, "Camping trip")
    expect(home.items).to_have_text(["tent", "stove"])
    token = login(hub, "ann")["access_token"]
    names = [x["name"] for x in rest(hub, token, "GET", "/api/lists").json()["lists"]]
    assert names == ["Inbox", "Camping trip"]


def test_replays_refused_after_losing_access_are_dropped_with_a_notice(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> None:
    """bob edits offline; meanwhile ann removes him. On reconnect his edits are dropped with
    a notice naming the todo, the queue empties and the list is gone from his page."""
    proxy, ann, bob = shared_with_bob_offline_capable(open_device, hub, proxy_factory, "Party")
    go_offline(bob, proxy)
    bob.item("soup").locator("input.toggle").check()
    bob.add("balloons")
    expect(bob.page.locator(".unsent")).to_have_text("2 changes not sent yet")
    token = login(hub, "ann")["access_token"]
    list_id = list_entry(ann, "Party").get_attribute("data-list-id")
    bob_id = login(hub, "bob")["user"]["id"]
    assert rest(hub, token, "DELETE", f"/api/lists/{list_id}/members/{bob_id}").status_code == 204

    go_online(bob, proxy)
    expect(bob.page.locator(".unsent")).to_be_hidden()
    expect(bob.page.locator(".notice")).to_contain_text("“soup”")
    expect(bob.page.locator(".notice")).to_contain_text("“balloons”")
    expect(list_entry(bob, "Party")).to_have_count(0)
    expect(bob.page.locator(".list-title")).to_have_text("Inbox")
    expect(ann.items).to_have_text(["soup", "salad"])
    expect(ann.item("soup")).not_to_have_class(COMPLETED)


def test_replays_refused_for_a_lowered_role_are_dropped_with_a_notice(
    open_device: DeviceFactory, hub: RunningHub, proxy_factory: ProxyFactory
) -> None:
    """bob edits offline; meanwhile ann makes him a viewer. On reconnect the hub answers
    forbidden, the edit is dropped with a notice naming the todo and not sent again."""
    proxy, ann, bob = shared_with_bob_offline_capable(open_device, hub, proxy_factory, "Menu")
    go_offline(bob, proxy)
    bob.edit("salad", "potato salad")
    token = login(hub, "ann")["access_token"]
    list_id = list_entry(ann, "Menu").get_attribute("data-list-id")
    bob_id = login(hub, "bob")["user"]["id"]
    lowered = rest(hub, token, "PATCH", f"/api/lists/{list_id}/members/{bob_id}",
                   {"role": "viewer"})
    assert lowered.status_code == 200, lowered.text

    go_online(bob, proxy)
    expect(bob.page.locator(".notice")).to_contain_text("Not saved: you may not change “salad”.")
    expect(bob.page.locator(".unsent")).to_be_hidden()
    expect(bob.items).to_have_text(["soup", "salad"])
    expect(bob.page.locator(".read-only-line")).to_be_visible()
    bob.page.reload()
    bob.wait_live()
    expect(bob.page.locator(".unsent")).to_be_hidden()
    expect(ann.items).to_have_text(["soup", "salad"])
