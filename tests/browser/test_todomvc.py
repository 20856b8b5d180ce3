"""The TodoMVC app spec, one behaviour per test, each on a fresh guest in a fresh context."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.helpers import Device, DeviceFactory, Route, expect, server_state
from tests.servers import RunningHub


def fresh(open_device: DeviceFactory, hub: RunningHub, **options: object) -> Device:
    return open_device(hub.url, **options)


def test_first_paint_hides_main_and_footer_and_focuses_input(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """With no todos, main and footer are hidden from the first paint; the input has focus."""
    device = fresh(open_device, hub, wait_live=False)
    page = device.page
    # Right after load, before the guest exists: already hidden.
    expect(page.locator(".main")).to_be_hidden()
    expect(page.locator("footer.footer")).to_be_hidden()
    expect(device.new_todo).to_be_focused()
    assert device.new_todo.get_attribute("id") is None
    device.wait_live()
    expect(page.locator(".main")).to_be_hidden()
    expect(page.locator("footer.footer")).to_be_hidden()
    assert page.evaluate("document.querySelectorAll('.todo-list li li').length") == 0


def test_enter_appends_trimmed_title_and_clears_input(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Enter adds the trimmed title at the bottom and empties the input at once."""
    device = fresh(open_device, hub)
    device.add("buy some cheese")
    expect(device.new_todo).to_have_value("")
    device.add("  feed the cat  ", "book a doctors appointment")
    expect(device.items).to_have_text(
        ["buy some cheese", "feed the cat", "book a doctors appointment"]
    )
    expect(device.page.locator(".main")).to_be_visible()
    expect(device.page.locator("footer.footer")).to_be_visible()
    expect(device.page.locator("span.todo-count")).to_have_text("3 items left")
    # The hub agrees (order and trimming), so a reload shows the same.
    device.page.reload()
    device.wait_live()
    expect(device.items).to_have_text(
        ["buy some cheese", "feed the cat", "book a doctors appointment"]
    )


def test_input_is_cleared_before_any_server_answer(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """The input empties and the item shows even when the socket is not there."""
    device = fresh(open_device, hub)
    device.page.route("**/ws", lambda route: route.abort())
    device.page.evaluate("1")  # the route is in place
    device.add("optimistic")
    expect(device.new_todo).to_have_value("")
    expect(device.items).to_have_text(["optimistic"])


def test_blank_input_adds_nothing(open_device: DeviceFactory, hub: RunningHub) -> None:
    """Enter on an empty or blank input adds no todo."""
    device = fresh(open_device, hub)
    device.add("", "   ")
    expect(device.items).to_have_count(0)
    expect(device.page.locator(".main")).to_be_hidden()
    device.add("real")
    expect(device.items).to_have_count(1)


def test_toggle_all_completes_and_uncompletes(open_device: DeviceFactory, hub: RunningHub) -> None:
    """Toggle-all completes every todo, then clears every one; its box follows the items."""
    device = fresh(open_device, hub)
    page = device.page
    device.add("one", "two", "three")
    toggle_all = page.locator("input.toggle-all")
    expect(toggle_all).not_to_be_checked()
    toggle_all.check()
    expect(page.locator("ul.todo-list > li.completed")).to_have_count(3)
    expect(page.locator("span.todo-count")).to_have_text("0 items left")
    toggle_all.uncheck()
    expect(page.locator("ul.todo-list > li.completed")).to_have_count(0)
    # The box is checked exactly when every todo is complete.
    for title in ("one", "two", "three"):
        device.item(title).locator("input.toggle").check()
    expect(toggle_all).to_be_checked()
    device.item("two").locator("input.toggle").uncheck()
    expect(toggle_all).not_to_be_checked()
    device.item("two").locator("input.toggle").check()
    expect(toggle_all).to_be_checked()
    assert page.evaluate("getComputedStyle(document.querySelector('.toggle-all')).display") != (
        "none"
    )


def test_toggle_item_marks_it_completed(open_device: DeviceFactory, hub: RunningHub) -> None:
    """The item's checkbox toggles li.completed."""
    device = fresh(open_device, hub)
    device.add("one", "two")
    device.item("one").locator("input.toggle").check()
    expect(device.item("one")).to_have_class(re.compile(r"\bcompleted\b"))
    expect(device.item("two")).not_to_have_class(re.compile(r"\bcompleted\b"))
    device.item("one").locator("input.toggle").uncheck()
    expect(device.item("one")).not_to_have_class(re.compile(r"\bcompleted\b"))


def test_dblclick_starts_editing_and_hides_controls(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A dblclick on the label opens a focused editor with the title; toggle and label hide."""
    device = fresh(open_device, hub)
    device.add("one", "two")
    item = device.item("two")
    item.locator("label").dispatch_event("dblclick")
    expect(item).to_have_class(re.compile(r"\bediting\b"))
    editor = item.locator("input.edit")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("two")
    expect(item.locator("input.toggle")).to_be_hidden()
    expect(item.locator("label")).to_be_hidden()
    expect(device.page.locator("ul.todo-list > li.editing")).to_have_count(1)


def test_edit_saves_trimmed_on_enter_and_on_blur(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Enter and blur both save the trimmed title."""
    device = fresh(open_device, hub)
    page = device.page
    device.add("one", "two", "three")
    device.item("two").locator("label").dispatch_event("dblclick")
    editor = page.locator("ul.todo-list > li.editing input.edit")
    editor.fill("   buy some sausages   ")
    editor.press("Enter")
    expect(device.items).to_have_text(["one", "buy some sausages", "three"])
    expect(page.locator("ul.todo-list > li.editing")).to_have_count(0)
    device.item("three").locator("label").dispatch_event("dblclick")
    editor.fill("blurred")
    editor.dispatch_event("blur")
    expect(device.items).to_have_text(["one", "buy some sausages", "blurred"])
    expect(page.locator("input.edit")).to_have_count(0)


def test_edit_to_empty_title_deletes(open_device: DeviceFactory, hub: RunningHub) -> None:
    """Saving an empty (or blank) title deletes the todo."""
    device = fresh(open_device, hub)
    device.add("one", "two", "three")
    device.edit("two", "   ")
    expect(device.items).to_have_text(["one", "three"])


def test_escape_cancels_and_a_later_blur_does_not_save(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Escape restores the title; the blur that follows saves nothing."""
    device = fresh(open_device, hub)
    page = device.page
    device.add("one", "two")
    device.item("one").locator("label").dispatch_event("dblclick")
    editor = page.locator("ul.todo-list > li.editing input.edit")
    editor.fill("changed")
    editor.press("Escape")
    expect(device.items).to_have_text(["one", "two"])
    expect(page.locator("input.edit")).to_have_count(0)
    device.new_todo.focus()
    expect(device.items).to_have_text(["one", "two"])
    expect(device.page.locator(".unsent")).to_be_hidden()
    token = device.session()["access_token"]
    assert server_state(hub, token) == [("one", False), ("two", False)]


def test_counter_text(open_device: DeviceFactory, hub: RunningHub) -> None:
    """The counter reads '1 item left' / '2 items left' / '0 items left', number in <strong>."""
    device = fresh(open_device, hub)
    count = device.page.locator("span.todo-count")
    device.add("one")
    expect(count).to_have_text("1 item left")
    expect(count.locator("strong")).to_have_text("1")
    device.add("two")
    expect(count).to_have_text("2 items left")
    expect(count.locator("strong")).to_have_text("2")
    device.page.locator("input.toggle-all").check()
    expect(count).to_have_text("0 items left")
    expect(count.locator("strong")).to_have_text("0")


def test_clear_completed_keeps_order_and_hides_when_nothing_is_completed(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """'Clear completed' shows only with completed todos and keeps the order of the rest."""
    device = fresh(open_device, hub)
    button = device.page.locator("button.clear-completed")
    device.add("one", "two", "three", "four")
    expect(button).to_be_hidden()
    device.item("two").locator("input.toggle").check()
    device.item("four").locator("input.toggle").check()
    expect(button).to_be_visible()
    expect(button).to_have_text("Clear completed")
    button.click()
    expect(device.items).to_have_text(["one", "three"])
    expect(button).to_be_hidden()


def test_filters_are_hash_routes_with_history(open_device: DeviceFactory, hub: RunningHub) -> None:
    """All / Active / Completed filter the list, mark the current link, and Back steps back."""
    device = fresh(open_device, hub)
    page = device.page
    device.add("one", "two", "three")
    device.item("two").locator("input.toggle").check()
    links = page.locator(".filters a")
    expect(links).to_have_text(["All", "Active", "Completed"])
    assert [links.nth(i).get_attribute("href") for i in range(3)] == [
        "#/",
        "#/active",
        "#/completed",
    ]
    selected = page.locator(".filters a.selected")
    expect(selected).to_have_text("All")
    page.get_by_role("link", name="Active").click()
    expect(device.items).to_have_text(["one", "three"])
    expect(selected).to_have_text("Active")
    page.get_by_role("link", name="Completed").click()
    expect(device.items).to_have_text(["two"])
    expect(selected).to_have_text("Completed")
    page.go_back()
    expect(device.items).to_have_text(["one", "three"])
    expect(selected).to_have_text("Active")
    page.go_back()
    expect(device.items).to_have_text(["one", "two", "three"])
    expect(selected).to_have_text("All")
    page.go_forward()
    expect(selected).to_have_text("Active")


def test_item_text_is_exactly_the_title_and_never_html(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Titles render as text; details add no text inside the item."""
    device = fresh(open_device, hub)
    page = device.page
    nasty = '<img src=x onerror="window.pwned=1"><b>bold</b> & co'
    device.add(nasty)
    expect(device.items).to_have_text([nasty])
    assert page.locator("ul.todo-list img, ul.todo-list b").count() == 0
    token = device.session()["access_token"]
    expect(device.item(nasty)).not_to_have_class(re.compile("pending-sync"))
    todo_id = device.items.first.get_attribute("data-id")
    # Priority, due date and tags (set over REST) show through attributes and CSS only.
    import httpx

    answer = httpx.patch(
        f"{hub.url}/api/todos/{todo_id}",
        json={"priority": "urgent", "due_at": "2030-01-02T03:04:05Z", "tags": ["home", "x"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    expect(device.items.first).to_have_attribute("data-priority", "urgent")
    expect(device.items.first).to_have_attribute("data-tags", "#home #x")
    assert device.items.first.inner_text() == nasty
    assert device.items.first.text_content() == nasty
    assert page.evaluate("window.pwned") is None


def test_narrow_screen_has_no_horizontal_scroll(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """At 360 px wide everything fits: no sideways scrolling, the list is usable."""
    device = fresh(open_device, hub, width=360, height=740)
    page = device.page
    device.add("a rather long title that has to wrap on a small phone screen", "two")
    device.item("two").locator("input.toggle").check()
    expect(page.locator("button.clear-completed")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for selector in ("input.new-todo", ".filters", "button.clear-completed", ".connection"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, selector


def test_keyboard_only(open_device: DeviceFactory, hub: RunningHub) -> None:
    """Add, complete, edit and delete a todo with the keyboard alone."""
    device = fresh(open_device, hub)
    page = device.page
    page.keyboard.type("walk the dog")
    page.keyboard.press("Enter")
    page.keyboard.type("feed the cat")
    page.keyboard.press("Enter")
    expect(device.items).to_have_text(["walk the dog", "feed the cat"])
    # Tab: toggle-all, then the first item's checkbox.
    page.keyboard.press("Tab")
    expect(page.locator("input.toggle-all")).to_be_focused()
    page.keyboard.press("Tab")
    expect(device.items.first.locator("input.toggle")).to_be_focused()
    page.keyboard.press("Space")
    expect(device.items.first).to_have_class(re.compile(r"\bcompleted\b"))
    # Next: the label; Enter edits it.
    page.keyboard.press("Tab")
    expect(device.items.first.locator("label")).to_be_focused()
    page.keyboard.press("Enter")
    editor = device.items.first.locator("input.edit")
    expect(editor).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("walk the big dog")
    page.keyboard.press("Enter")
    expect(device.items).to_have_text(["walk the big dog", "feed the cat"])
    # The delete button is reachable and works with Enter.
    device.items.first.locator("label").focus()
    page.keyboard.press("Tab")
    expect(device.items.first.locator("button.destroy")).to_be_focused()
    page.keyboard.press("Enter")
    expect(device.items).to_have_text(["feed the cat"])


def test_runs_under_the_deployment_content_security_policy(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """With nginx's Content-Security-Policy on the page, the app works and logs no violation."""
    conf = (Path(__file__).resolve().parents[2] / "nginx.conf").read_text()
    found = re.search(r'add_header Content-Security-Policy "([^"]+)"', conf)
    assert found, "nginx.conf has no Content-Security-Policy"
    host = hub.url.removeprefix("http://")
    policy = found.group(1).replace("$http_host", host)
    device = open_device(hub.url, wait_live=False)

    def with_policy(route: Route) -> None:
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": policy}
        )

    device.page.route(f"{hub.url}/", with_policy)
    device.page.reload()
    device.wait_live()
    device.add("under a strict policy")
    expect(device.items).to_have_text(["under a strict policy"])
    expect(device.page.locator(".unsent")).to_be_hidden()


def test_focus_follows_the_keyboard_after_saving_and_deleting(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Enter in the editor leaves the focus on that item; deleting an item moves it to the
    next item (or the one before, or the new-todo input when none is left)."""
    device = fresh(open_device, hub)
    page = device.page
    device.add("one", "two", "three")
    device.items.nth(1).locator("label").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Control+a")
    page.keyboard.type("two, edited")
    page.keyboard.press("Enter")
    expect(device.items.nth(1).locator("label")).to_be_focused()
    page.keyboard.press("Tab")
    expect(device.items.nth(1).locator("button.destroy")).to_be_focused()
    page.keyboard.press("Enter")
    expect(device.items).to_have_text(["one", "three"])
    expect(device.item("three").locator("label")).to_be_focused()
    # Saving an empty title deletes: the focus goes to the neighbour.
    page.keyboard.press("Enter")
    page.keyboard.press("Control+a")
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")
    expect(device.items).to_have_text(["one"])
    expect(device.item("one").locator("label")).to_be_focused()
    device.item("one").locator("label").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(device.items).to_have_count(0)
    expect(device.new_todo).to_be_focused()
