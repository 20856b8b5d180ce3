"""The whole todo: the details panel edits every field, the other device shows each one,
the due time is typed and shown in the browser's time zone and stored in UTC, and the views
"Assigned to me" and a tag filter."""

from __future__ import annotations

import re

from tests.browser.helpers import (
    LIVE_MS,
    Device,
    DeviceFactory,
    choose_list,
    expect,
    invitation_link,
    join_by_link,
    login,
    make_list,
    open_menu,
    register,
    rest,
    signed_in,
)
from tests.servers import RunningHub


def open_details(device: Device, title: str) -> None:
    """Open a todo's details with the keyboard: Tab from the label to its details button."""
    label = device.item(title).locator("label")
    label.focus()
    device.page.keyboard.press("Tab")  # the destroy button
    device.page.keyboard.press("Tab")  # the details button
    expect(device.item(title).locator("button.details")).to_be_focused()
    device.page.keyboard.press("Enter")
    expect(device.page.locator("dialog.details-panel")).to_be_visible()


def test_every_field_edited_in_the_details_panel_shows_on_the_other_device(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Description, status, priority, due date and time, tags (added and removed), assignee
    and title: saved in one go on ann's device in New York, shown on bob's in Tokyo, with the
    due time in each one's zone and in UTC on the hub; the focus goes back to the item."""
    register(hub, "ann")
    register(hub, "bob")
    ann = signed_in(open_device, hub, "ann", timezone="America/New_York")
    make_list(ann, "House")
    ann.add("fix the tap")
    bob = signed_in(open_device, hub, "bob", timezone="Asia/Tokyo")
    join_by_link(bob, invitation_link(ann), "House")

    open_details(ann, "fix the tap")
    panel = ann.page.locator("dialog.details-panel")
    expect(panel.locator("input[name=title]")).to_be_focused()
    expect(panel.locator(".details-zone")).to_contain_text("America/New_York")
    panel.locator("textarea[name=description]").fill("The kitchen one.\nWasher size 12 mm.")
    panel.locator("select[name=status]").select_option("in_progress")
    panel.locator("select[name=priority]").select_option("urgent")
    panel.locator("input[name=due]").fill("2030-05-01T09:30")
    panel.locator("select[name=assignee]").select_option(label="bob")
    for tag in ("Plumbing", "weekend", "shop"):
        panel.locator("input[name=tag]").fill(tag)
        panel.locator("input[name=tag]").press("Enter")
    panel.get_by_role("button", name="Remove tag weekend").click()
    expect(panel.locator(".tag-chip")).to_have_count(2)
    panel.locator("input[name=title]").fill("fix the kitchen tap")
    panel.locator("button.details-save").click()
    expect(panel).to_be_hidden()
    expect(ann.item("fix the kitchen tap").locator("label")).to_be_focused()
    expect(ann.page.locator(".unsent")).to_be_hidden()

    # Stored in UTC: 09:30 in New York in May is 13:30 UTC.
    token = login(hub, "bob")["access_token"]
    todo_id = ann.items.first.get_attribute("data-id")
    stored = rest(hub, token, "GET", f"/api/todos/{todo_id}").json()
    assert stored["due_at"] == "2030-05-01T13:30:00.000Z"
    assert stored["description"] == "The kitchen one.\nWasher size 12 mm."
    assert (stored["status"], stored["priority"]) == ("in_progress", "urgent")
    assert stored["tags"] == ["plumbing", "shop"]
    assert stored["assignee"] == login(hub, "bob")["user"]["id"]

    # bob's device, in Tokyo: the item's attributes, then the panel.
    item = bob.items.first
    expect(item).to_have_text("fix the kitchen tap", timeout=LIVE_MS)
    expect(item).to_have_attribute("data-priority", "urgent")
    expect(item).to_have_attribute("data-status", "in_progress")
    expect(item).to_have_attribute("data-tags", "#plumbing #shop")
    expect(item).to_have_attribute("data-assignee", "@bob")
    expect(item).to_have_attribute("data-due", re.compile(r"1 May.*22:30|May 1.*10:30 PM"))
    open_details(bob, "fix the kitchen tap")
    panel = bob.page.locator("dialog.details-panel")
    expect(panel.locator("input[name=due]")).to_have_value("2030-05-01T22:30")
    expect(panel.locator("textarea[name=description]")).to_have_value(
        "The kitchen one.\nWasher size 12 mm.")
    expect(panel.locator("select[name=status]")).to_have_value("in_progress")
    expect(panel.locator("select[name=priority]")).to_have_value("urgent")
    expect(panel.locator("select[name=assignee]")).to_have_value(stored["assignee"])
    expect(panel.locator(".tag-chip")).to_have_text(["#plumbing×", "#shop×"])

    # bob clears the due date and the description, and marks it done; ann sees it.
    panel.locator("input[name=due]").fill("")
    panel.locator("textarea[name=description]").fill("")
    panel.locator("select[name=status]").select_option("completed")
    panel.locator("button.details-save").click()
    expect(ann.items.first).to_have_class(re.compile(r"\bcompleted\b"), timeout=LIVE_MS)
    expect(ann.items.first).not_to_have_attribute("data-due", re.compile(".*"))
    stored = rest(hub, token, "GET", f"/api/todos/{todo_id}").json()
    assert (stored["due_at"], stored["description"], stored["completed"]) == (None, None, True)


def test_an_overdue_todo_is_marked_without_text_in_the_item(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A due time in the past marks the item overdue; the item's text stays its title."""
    device = open_device(hub.url)
    device.add("file the taxes")
    open_details(device, "file the taxes")
    panel = device.page.locator("dialog.details-panel")
    panel.locator("input[name=due]").fill("2020-04-15T12:00")
    panel.locator("button.details-save").click()
    item = device.item("file the taxes")
    expect(item).to_have_attribute("data-overdue", "true")
    expect(item).to_have_text("file the taxes")
    assert device.page.evaluate("document.querySelector('ul.todo-list li').innerText.trim()") \
        == "file the taxes"


def test_assigned_to_me_gathers_todos_across_lists(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Todos assigned to bob in ann's shared list and in bob's own inbox show in his view,
    with their lists; a new assignment appears live."""
    register(hub, "ann")
    register(hub, "bob")
    ann = signed_in(open_device, hub, "ann")
    make_list(ann, "Chores")
    ann.add("wash the car", "take out the bins", "water the plants")
    bob = signed_in(open_device, hub, "bob")
    bob.add("call grandma", "pay rent")
    bob_id = login(hub, "bob")["user"]["id"]
    bob_token = login(hub, "bob")["access_token"]
    rest(hub, bob_token, "PATCH", f"/api/todos/{bob.items.first.get_attribute('data-id')}",
         {"assignee": bob_id}).raise_for_status()
    join_by_link(bob, invitation_link(ann), "Chores")
    ann_token = login(hub, "ann")["access_token"]
    wash = ann.item("wash the car").get_attribute("data-id")
    rest(hub, ann_token, "PATCH", f"/api/todos/{wash}", {"assignee": bob_id}).raise_for_status()

    open_menu(bob)
    view = bob.page.locator("button.view-assigned")
    expect(view.locator(".entry-count")).to_have_text("2", timeout=LIVE_MS)
    view.click()
    expect(bob.page.locator(".list-title")).to_have_text("Assigned to me")
    expect(bob.items).to_have_text(["call grandma", "wash the car"])
    expect(bob.item("wash the car")).to_have_attribute("data-list-name", "Chores")
    expect(bob.new_todo).to_be_hidden()

    bins = ann.item("take out the bins").get_attribute("data-id")
    rest(hub, ann_token, "PATCH", f"/api/todos/{bins}", {"assignee": bob_id}).raise_for_status()
    expect(bob.items).to_have_text(["call grandma", "wash the car", "take out the bins"],
                                   timeout=LIVE_MS)
    bob.page.reload()
    bob.wait_live()
    expect(bob.page.locator(".list-title")).to_have_text("Assigned to me")


def test_the_tag_filter_keeps_to_the_current_list_and_its_routes(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Choosing a tag shows only its todos, together with #/active and #/completed."""
    register(hub, "ann")
    ann = signed_in(open_device, hub, "ann")
    ann.add("apples", "pears", "nails")
    token = login(hub, "ann")["access_token"]
    for title, tags, done in (("apples", ["fruit"], False), ("pears", ["fruit"], True),
                              ("nails", ["tools"], False)):
        todo = ann.item(title).get_attribute("data-id")
        rest(hub, token, "PATCH", f"/api/todos/{todo}",
             {"tags": tags, "completed": done}).raise_for_status()
    expect(ann.item("pears")).to_have_class(re.compile(r"\bcompleted\b"))
    tag = ann.page.locator("select.tag-filter")
    tag.select_option("fruit")
    expect(ann.items).to_have_text(["apples", "pears"])
    ann.page.locator(".filters a[href='#/active']").click()
    expect(ann.items).to_have_text(["apples"])
    tag.select_option("")
    expect(ann.items).to_have_text(["apples", "nails"])
    make_list(ann, "Empty")
    expect(ann.items).to_have_count(0)
    choose_list(ann, "Inbox")
    expect(ann.items).to_have_text(["apples", "nails"])
