"""Lists on the page: the switcher (a sidebar on a desktop, a menu at 360 px), create,
rename, delete with a confirmation, counts, the current list remembered per device, live
changes from the other devices, and moving a todo to another list."""

from __future__ import annotations

from tests.browser.helpers import (
    LIVE_MS,
    DeviceFactory,
    choose_list,
    expect,
    invitation_link,
    join_by_link,
    list_entry,
    login,
    make_list,
    open_menu,
    register,
    rest,
    signed_in,
)
from tests.servers import RunningHub


def test_first_visit_is_the_inbox_with_no_panel_open(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A new guest sees the TodoMVC list of the inbox: focused input, no dialog, no menu."""
    device = open_device(hub.url, width=360)
    page = device.page
    expect(page.locator(".list-title")).to_have_text("Inbox")
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(page.locator(".list-switcher")).to_be_hidden()
    expect(page.locator(".list-menu-toggle")).to_have_text("Lists Inbox")
    expect(device.new_todo).to_be_focused()
    open_menu(device)
    expect(page.locator("ul.list-entries > li")).to_have_text(["Inbox0"])


def test_lists_are_made_renamed_and_deleted_live_on_every_device(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Create, rename and delete on the desktop show on the phone at once; the delete asks
    first and names how many todos go with the list; the phone, open on it, falls back to the
    inbox with a notice."""
    register(hub, "ann")
    desk = signed_in(open_device, hub, "ann", name="desk", width=1100)
    phone = signed_in(open_device, hub, "ann", name="phone", width=360)
    expect(desk.page.locator(".list-menu-toggle")).to_be_hidden()
    expect(desk.page.locator(".list-switcher")).to_be_visible()
    desk.add("inbox todo")
    make_list(desk, "Work")
    desk.add("write report", "send invoice", "archive mail")
    desk.items.last.locator("input.toggle").check()
    expect(list_entry(desk, "Work").locator(".entry-count")).to_have_text("2")
    open_menu(phone)
    expect(phone.page.locator("ul.list-entries .entry-name")).to_have_text(["Inbox", "Work"],
                                                                           timeout=LIVE_MS)
    expect(list_entry(phone, "Work").locator(".entry-count")).to_have_text("2")
    list_entry(phone, "Work").click()
    expect(phone.items).to_have_text(["write report", "send invoice", "archive mail"])

    desk.page.locator("button.rename-list").click()
    confirm = desk.page.locator("dialog.confirm-panel")
    expect(confirm.locator("input.confirm-input")).to_have_value("Work")
    confirm.locator("input.confirm-input").fill("Office")
    confirm.locator("input.confirm-input").press("Enter")
    expect(desk.page.locator(".list-title")).to_have_text("Office")
    expect(phone.page.locator(".list-title")).to_have_text("Office", timeout=LIVE_MS)

    desk.page.locator("button.delete-list").click()
    expect(confirm.locator(".confirm-text")).to_have_text(
        "Delete “Office” and its 3 todos? This cannot be undone.")
    confirm.locator("button.confirm-cancel").click()
    expect(list_entry(desk, "Office")).to_have_count(1)
    desk.page.locator("button.delete-list").click()
    confirm.locator("button.confirm-ok").click()
    expect(desk.page.locator(".list-title")).to_have_text("Inbox")
    expect(desk.items).to_have_text(["inbox todo"])
    expect(phone.page.locator(".list-title")).to_have_text("Inbox", timeout=LIVE_MS)
    expect(phone.page.locator(".notice")).to_contain_text(
        "“Office” was deleted. Showing your inbox.")
    expect(phone.items).to_have_text(["inbox todo"])
    token = login(hub, "ann")["access_token"]
    names = [x["name"] for x in rest(hub, token, "GET", "/api/lists").json()["lists"]]
    assert names == ["Inbox"]
    assert rest(hub, token, "GET", "/api/todos").json()["total"] == 1


def test_the_current_list_is_remembered_per_device(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A reload opens the list this device showed last; another device keeps its own."""
    register(hub, "ann")
    one = signed_in(open_device, hub, "ann", name="one")
    two = signed_in(open_device, hub, "ann", name="two")
    make_list(one, "Reading")
    one.add("a novel")
    one.page.reload()
    one.wait_live()
    expect(one.page.locator(".list-title")).to_have_text("Reading")
    expect(one.items).to_have_text(["a novel"])
    expect(two.page.locator(".list-title")).to_have_text("Inbox")
    two.page.reload()
    two.wait_live()
    expect(two.page.locator(".list-title")).to_have_text("Inbox")


def test_routes_and_toggle_all_work_on_the_current_list_only(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """#/active, #/completed, toggle-all and clear-completed act on the list shown."""
    register(hub, "ann")
    ann = signed_in(open_device, hub, "ann")
    ann.add("inbox one")
    make_list(ann, "Side")
    ann.add("side one", "side two")
    ann.page.locator("input.toggle-all").check()
    expect(ann.page.locator("span.todo-count")).to_have_text("0 items left")
    ann.page.goto(f"{hub.url}/#/completed")
    expect(ann.items).to_have_text(["side one", "side two"])
    ann.page.locator("button.clear-completed").click()
    expect(ann.items).to_have_count(0)
    choose_list(ann, "Inbox")
    expect(ann.items).to_have_count(0)  # #/completed: nothing completed here
    ann.page.locator(".filters a[href='#/']").click()
    expect(ann.items).to_have_text(["inbox one"])


def test_a_todo_moves_to_another_list_in_the_details_panel(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """Choosing another list in the details moves the todo there, on every device."""
    register(hub, "ann")
    register(hub, "bob")
    ann = signed_in(open_device, hub, "ann")
    make_list(ann, "Together")
    bob = signed_in(open_device, hub, "bob")
    join_by_link(bob, invitation_link(ann), "Together")
    choose_list(ann, "Inbox")
    ann.add("plan the picnic")
    ann.item("plan the picnic").locator("button.details").click()
    panel = ann.page.locator("dialog.details-panel")
    panel.locator("select[name=list]").select_option(label="Together")
    panel.locator("button.details-save").click()
    expect(ann.items).to_have_count(0)
    expect(bob.items).to_have_text(["plan the picnic"], timeout=LIVE_MS)
    choose_list(ann, "Together")
    expect(ann.items).to_have_text(["plan the picnic"])
