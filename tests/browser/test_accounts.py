"""Accounts with nothing in the way: guests, upgrade, sign-in, sign-out, token refresh."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.browser.helpers import (
    LIVE_MS,
    PASSWORD,
    DeviceFactory,
    Route,
    WebSocket,
    expect,
    login,
    register,
    server_state,
)
from tests.servers import RunningHub


def test_first_visit_is_a_guest_that_survives_reloads(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """No form on a first visit: a guest is made, and a reload keeps the account and list."""
    device = open_device(hub.url)
    page = device.page
    expect(page.locator(".signin")).to_be_hidden()
    expect(page.locator(".account-name")).to_have_text("Guest")
    user = device.session()["user"]
    assert user["guest"] is True
    device.add("first", "second")
    device.item("first").locator("input.toggle").check()
    expect(page.locator(".unsent")).to_be_hidden()
    page.reload()
    device.wait_live()
    assert device.session()["user"]["id"] == user["id"]
    assert device.state() == [("first", True), ("second", False)]


def test_without_guests_the_signin_screen_comes_first(
    open_device: DeviceFactory, hub_factory: Callable[..., RunningHub]
) -> None:
    """With guests turned off, a first visit shows sign-in; a new account then works."""
    hub = hub_factory(guest_enabled=False)
    device = open_device(
        hub.url, wait_live=False, allow=("status of 403", "status of 401", "status of 409")
    )
    page = device.page
    signin = page.locator("section.signin")
    expect(signin).to_be_visible()
    expect(page.locator("section.todoapp")).to_be_hidden()
    expect(page.get_by_role("button", name="Continue without an account")).to_be_hidden()
    login_form = page.locator("form.login-form")
    expect(login_form.get_by_label("Username or email")).to_be_focused()

    login_form.get_by_label("Username or email").fill("nobody")
    login_form.get_by_label("Password").fill("wrong-password-1")
    login_form.get_by_role("button", name="Sign in").click()
    expect(login_form.locator(".form-error")).to_have_text("Wrong username or password.")

    username, _ = register(hub)
    form = page.locator("form.register-form")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    expect(form.locator(".form-error")).to_have_text("That username is taken.")

    form.get_by_label("Username").fill(username + "x")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    device.wait_live()
    expect(signin).to_be_hidden()
    expect(page.locator(".account-name")).to_have_text(username + "x")
    device.add("works")
    expect(device.items).to_have_text(["works"])


def test_upgrade_keeps_todos_and_another_device_signs_in(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A guest saves its account; a second device signs in with it and sees the same list."""
    a = open_device(hub.url, name="A", allow=("status of 409",))
    a.add("milk", "bread")
    a.item("bread").locator("input.toggle").check()
    guest_id = a.session()["user"]["id"]
    taken, _ = register(hub)

    a.page.locator(".account summary").click()
    form = a.page.locator("form.upgrade-form")
    form.get_by_label("Username").fill(taken)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Save account").click()
    expect(form.locator(".form-error")).to_have_text("That username is taken.")
    username = taken + "-a"
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Save account").click()
    expect(a.page.locator(".account-name")).to_have_text(username)
    session = a.session()
    assert session["user"]["id"] == guest_id and session["user"]["guest"] is False
    assert a.state() == [("milk", False), ("bread", True)]

    b = open_device(hub.url, name="B")
    b.page.locator(".account summary").click()
    b.page.get_by_role("button", name="Sign in to another account").click()
    signin = b.page.locator("form.login-form")
    signin.get_by_label("Username or email").fill(username)
    signin.get_by_label("Password").fill(PASSWORD)
    signin.get_by_role("button", name="Sign in").click()
    b.wait_live()
    expect(b.items).to_have_text(["milk", "bread"])
    assert b.state() == [("milk", False), ("bread", True)]
    b.add("eggs")
    expect(a.items).to_have_text(["milk", "bread", "eggs"], timeout=LIVE_MS)


def test_sign_out_of_this_device_and_of_every_device(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """'Sign out' leaves other devices alone; 'Sign out everywhere' ends them too."""
    username, _ = register(hub)
    allow = ("status of 401",)
    a = open_device(hub.url, session=login(hub, username), name="A", allow=allow)
    b = open_device(hub.url, session=login(hub, username), name="B", allow=allow)
    c = open_device(hub.url, session=login(hub, username), name="C", allow=allow)
    a.add("shared")
    expect(c.items).to_have_text(["shared"], timeout=LIVE_MS)

    c.page.locator(".account summary").click()
    c.page.get_by_role("button", name="Sign out", exact=True).click()
    expect(c.page.locator("section.signin")).to_be_visible()
    assert c.page.evaluate("localStorage.getItem('todohub.session')") is None
    expect(a.page.locator(".presence summary")).to_have_text("2 devices online")
    a.wait_live()

    a.page.locator(".account summary").click()
    a.page.get_by_role("button", name="Sign out everywhere").click()
    expect(a.page.locator("section.signin")).to_be_visible()
    expect(b.page.locator("section.signin")).to_be_visible()
    expect(b.page.locator(".signin-message")).to_have_text(
        "Your session has ended. Please sign in again."
    )
    assert b.page.evaluate("localStorage.getItem('todohub.store')") is not None
    assert b.page.evaluate("JSON.parse(localStorage.getItem('todohub.store')).todos") == {}


def test_access_token_is_refreshed_and_handed_to_the_socket(
    open_device: DeviceFactory, hub_factory: Callable[..., RunningHub]
) -> None:
    """With 3-second tokens the page refreshes before expiry and the socket stays live."""
    hub = hub_factory(access_ttl=3, token_warning=1.0)
    sockets: list[WebSocket] = []
    sent: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        sockets.append(ws)
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    device = open_device(hub.url)
    # From a reload on (the token may have expired by then: it is refreshed before hello).
    device.page.on("websocket", watch)
    device.page.reload()
    device.wait_live()
    first = device.session()["access_token"]
    page = device.page
    page.wait_for_function(
        "t => JSON.parse(localStorage.getItem('todohub.session')).access_token !== t",
        arg=first,
        timeout=5_000,
    )
    second = device.session()["access_token"]
    page.wait_for_function(
        "t => JSON.parse(localStorage.getItem('todohub.session')).access_token !== t",
        arg=second,
        timeout=5_000,
    )
    # Past two lifetimes of the first token: the same socket still delivers changes.
    expect(device.connection).to_have_text("Live")
    token = device.session()["access_token"]
    created = httpx.post(
        f"{hub.url}/api/todos",
        json={"title": "still live"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    expect(device.items).to_have_text(["still live"], timeout=LIVE_MS)
    # One socket all along: the fresh tokens went to it in `auth` frames.
    assert len(sockets) == 1
    auths = [frame["token"] for frame in sent if frame["type"] == "auth"]
    assert len(auths) >= 2 and auths[-1] == token


def test_todos_typed_before_the_guest_exists_are_kept(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """When creating the guest fails at first, the list still works and syncs once it exists."""
    device = open_device(hub.url, allow=("net::ERR_FAILED",))
    page = device.page
    page.evaluate("localStorage.clear()")  # idle and live: nothing writes it again
    attempts: list[str] = []

    def flaky(route: Route) -> None:
        attempts.append(route.request.url)
        if len(attempts) == 1:
            route.abort()
        else:
            route.continue_()

    page.route("**/api/auth/guest", flaky)
    page.reload()
    expect(device.connection).to_have_text("Reconnecting…")
    device.add("typed early", "and another")
    expect(device.items).to_have_text(["typed early", "and another"])
    device.wait_live(timeout=8_000)
    expect(page.locator(".unsent")).to_be_hidden()
    assert len(attempts) == 2
    token = device.session()["access_token"]
    assert server_state(hub, token) == [("typed early", False), ("and another", False)]


def test_a_guest_sees_sign_in_next_to_save_account(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Both entries are in the bar for a guest, at 360 px too; "Sign in" opens the form and
    "Save account" the account menu; a full account sees neither."""
    device = open_device(hub.url, width=360)
    page = device.page
    save = page.locator(".guest-actions button.open-save-account")
    sign_in = page.locator(".guest-actions button.open-signin")
    expect(save).to_be_visible()
    expect(sign_in).to_be_visible()
    for button in (save, sign_in):
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    save.click()
    expect(page.locator("form.upgrade-form input[name=username]")).to_be_focused()
    sign_in.click()
    expect(page.locator("section.signin")).to_be_visible()
    expect(page.locator("form.login-form input[name=username]")).to_be_focused()
    page.locator("button.cancel-signin").click()
    expect(page.locator("section.todoapp")).to_be_visible()

    username, _ = register(hub)
    member = open_device(hub.url, session=login(hub, username))
    expect(member.page.locator(".account-name")).to_have_text(username)
    expect(member.page.locator(".guest-actions")).to_be_hidden()
