"""Two people share a list through an invitation link and work on it live, in three browser
contexts: ann's laptop, ann's phone, and a fresh browser where bob opens the link."""

from __future__ import annotations

import re

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

COMPLETED = re.compile(r"\bcompleted\b")
NOT_FOUND_NOISE = ("Failed to load resource: the server responded with a status of 404",)


def test_a_link_shares_a_list_and_both_people_work_on_it_live(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """ann makes a list and a link; bob, in a fresh browser with no account, opens it, sees
    who shared what, joins on one click as a guest; every write shows on the other pages."""
    register(hub, "ann")
    laptop = signed_in(open_device, hub, "ann", name="laptop", width=1100)
    phone = signed_in(open_device, hub, "ann", name="phone", width=360)
    make_list(laptop, "Groceries")
    laptop.add("oat milk")
    expect(list_entry(phone, "Groceries")).to_have_count(1, timeout=LIVE_MS)
    link = invitation_link(laptop, "editor")
    assert link.startswith(hub.url) and "#/invite/" in link

    bob = open_device(link, name="bob", width=800)  # a first visit: becomes a guest
    offer = bob.page.locator("dialog.invite-panel")
    expect(offer.locator(".invite-text")).to_have_text(
        "ann shared the list “Groceries” with you, as an editor (you can change its todos).")
    offer.locator("button.invite-join").click()
    expect(bob.page.locator(".list-title")).to_have_text("Groceries")
    expect(bob.items).to_have_text(["oat milk"])
    assert bob.page.evaluate("location.hash") == "#/"
    # ann's devices see the new member at once (the list is now shared).
    expect(laptop.page.locator(".list-entry[data-shared]")).to_have_count(1, timeout=LIVE_MS)

    bob.add("rye bread")
    for page in (laptop, phone):
        if page is phone:
            choose_list(phone, "Groceries")
        expect(page.items).to_have_text(["oat milk", "rye bread"], timeout=LIVE_MS)
    laptop.item("rye bread").locator("input.toggle").check()
    expect(bob.item("rye bread")).to_have_class(COMPLETED, timeout=LIVE_MS)
    # The owner renames the list: every member's switcher and title follow.
    laptop.page.locator("button.rename-list").click()
    laptop.page.locator("input.confirm-input").fill("Food")
    laptop.page.locator("input.confirm-input").press("Enter")
    expect(bob.page.locator(".list-title")).to_have_text("Food", timeout=LIVE_MS)
    bob.edit("oat milk", "oat milk, two cartons")
    expect(laptop.items.first).to_have_text("oat milk, two cartons", timeout=LIVE_MS)
    expect(phone.items.first).to_have_text("oat milk, two cartons", timeout=LIVE_MS)
    # The counts of active todos follow on every device.
    expect(list_entry(laptop, "Food").locator(".entry-count")).to_have_text("1")
    open_menu(bob)
    expect(list_entry(bob, "Food").locator(".entry-count")).to_have_text("1")


def test_a_viewer_sees_the_list_read_only_and_the_hub_refuses_a_forced_write(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A viewer gets no input, disabled toggles, no destroy buttons and a line saying who can
    change the list; a write forced through the page or over REST is refused and changes
    nothing."""
    register(hub, "ann")
    register(hub, "bob")
    ann = signed_in(open_device, hub, "ann")
    make_list(ann, "Menu")
    ann.add("soup", "salad")
    link = invitation_link(ann, "viewer")
    bob = signed_in(open_device, hub, "bob")
    join_by_link(bob, link, "Menu")
    page = bob.page
    expect(bob.items).to_have_text(["soup", "salad"])
    expect(bob.new_todo).to_be_hidden()
    expect(page.locator(".read-only-line")).to_have_text(
        "Read-only: you can view this list; ann (owner) can change it.")
    for toggle in page.locator("ul.todo-list input.toggle").all():
        expect(toggle).to_be_disabled()
    expect(page.locator("ul.todo-list button.destroy:visible")).to_have_count(0)
    expect(page.locator("input.toggle-all")).to_be_disabled()
    for button in ("share-list", "rename-list", "delete-list"):
        if button != "share-list":
            expect(page.locator(f"button.{button}")).to_be_hidden()
    bob.item("soup").locator("label").dispatch_event("dblclick")
    expect(page.locator("input.edit")).to_have_count(0)

    # Forced through the page: the toggle is enabled by hand and ticked.
    page.evaluate("""() => {
        const toggle = document.querySelector('ul.todo-list input.toggle');
        toggle.disabled = false;
        toggle.checked = true;
        toggle.dispatchEvent(new Event('change', {bubbles: true}));
    }""")
    expect(page.locator(".notice")).to_contain_text("Not saved: you may not change “soup”.")
    expect(page.locator(".unsent")).to_be_hidden()
    expect(bob.item("soup")).not_to_have_class(COMPLETED)
    # Over REST: 403, and ann's todo is as it was.
    token = login(hub, "bob")["access_token"]
    todo_id = bob.item("soup").get_attribute("data-id")
    refused = rest(hub, token, "PATCH", f"/api/todos/{todo_id}", {"completed": True})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    expect(ann.item("soup")).not_to_have_class(COMPLETED)
    read = rest(hub, login(hub, "ann")["access_token"], "GET", f"/api/todos/{todo_id}")
    assert read.json()["completed"] is False


def test_the_owner_removes_a_member_and_their_page_drops_the_list(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """ann removes bob in the share panel; bob's page, open on the list, drops it, shows his
    inbox and says why."""
    register(hub, "ann")
    register(hub, "bob")
    ann = signed_in(open_device, hub, "ann")
    make_list(ann, "Plans")
    ann.add("book a table")
    link = invitation_link(ann)
    bob = signed_in(open_device, hub, "bob")
    join_by_link(bob, link, "Plans")
    expect(bob.items).to_have_text(["book a table"])

    ann.page.locator("button.share-list").click()
    members = ann.page.locator("ul.member-list > li")
    expect(members).to_have_count(2)
    expect(members.first).to_contain_text("ann (you)")
    ann.page.get_by_role("button", name="Remove bob").click()
    confirm = ann.page.locator("dialog.confirm-panel")
    expect(confirm.locator(".confirm-text")).to_have_text("Remove bob from “Plans”?")
    confirm.locator("button.confirm-ok").click()

    expect(list_entry(bob, "Plans")).to_have_count(0, timeout=LIVE_MS)
    expect(bob.page.locator(".list-title")).to_have_text("Inbox")
    expect(bob.items).to_have_count(0)
    expect(bob.page.locator(".notice")).to_contain_text(
        "You were removed from “Plans”. Showing your inbox.")
    bob.page.reload()
    bob.wait_live()
    expect(list_entry(bob, "Plans")).to_have_count(0)


def test_roles_change_ownership_moves_and_a_member_leaves(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """The owner makes an editor a viewer (the member's page turns read-only), hands
    ownership over (the share panel moves with it), and the old owner leaves."""
    register(hub, "ann")
    register(hub, "bob")
    ann = signed_in(open_device, hub, "ann")
    make_list(ann, "Garden")
    ann.add("mow the lawn")
    bob = signed_in(open_device, hub, "bob")
    join_by_link(bob, invitation_link(ann), "Garden")
    expect(bob.new_todo).to_be_visible()

    ann.page.locator("button.share-list").click()
    ann.page.get_by_label("Role of bob").select_option("viewer")
    expect(bob.new_todo).to_be_hidden(timeout=LIVE_MS)
    expect(bob.page.locator(".read-only-line")).to_be_visible()
    ann.page.get_by_role("button", name="Make bob the owner").click()
    ann.page.locator("dialog.confirm-panel button.confirm-ok").click()
    expect(bob.page.locator("button.share-list")).to_have_text("Share", timeout=LIVE_MS)
    expect(bob.page.locator("button.rename-list")).to_be_visible()
    expect(ann.page.locator("button.share-list")).to_have_text("Members")
    expect(ann.page.locator("button.rename-list")).to_be_hidden()

    ann.page.locator("button.share-list").click()
    expect(ann.page.locator("ul.member-list > li[data-role=owner]")).to_contain_text("bob")
    ann.page.locator("button.leave-list").click()
    ann.page.locator("dialog.confirm-panel button.confirm-ok").click()
    expect(list_entry(ann, "Garden")).to_have_count(0)
    expect(ann.page.locator(".list-title")).to_have_text("Inbox")
    bob.page.locator("button.share-list").click()
    expect(bob.page.locator("ul.member-list > li")).to_have_count(1, timeout=LIVE_MS)


def test_open_invitations_are_listed_and_revoked(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """The share panel makes and copies a link, lists the open links with their role; a
    revoked one stops working."""
    register(hub, "ann")
    ann = signed_in(open_device, hub, "ann", allow=NOT_FOUND_NOISE)
    make_list(ann, "Books")
    first = invitation_link(ann, "viewer")
    invitation_link(ann, "editor")
    ann.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hub.url)
    ann.page.locator("button.share-list").click()
    ann.page.locator("button.make-invite").click()
    expect(ann.page.locator("input.invite-url")).to_have_value(re.compile("/#/invite/"))
    ann.page.locator("button.copy-invite").click()
    expect(ann.page.locator("button.copy-invite")).to_have_text("Copied")
    copied = ann.page.evaluate("navigator.clipboard.readText()")
    assert copied == ann.page.locator("input.invite-url").input_value()
    invites = ann.page.locator("ul.invite-list > li.invite")
    expect(invites).to_have_count(3)
    ann.page.locator("ul.invite-list > li.invite").last.locator("button.revoke-invite").click()
    expect(invites).to_have_count(2)
    expect(invites.nth(0)).to_contain_text("Viewer")
    ann.page.get_by_role("button", name="Revoke viewer invitation").click()
    expect(invites).to_have_count(1)
    expect(invites.first).to_contain_text("Editor")
    token = first.rsplit("/", 1)[1]
    register(hub, "carl")
    carl = login(hub, "carl")["access_token"]
    assert rest(hub, carl, "POST", "/api/invites/accept", {"token": token}).status_code == 404


def test_a_spent_invitation_link_says_so_plainly(
    open_device: DeviceFactory, hub: RunningHub
) -> None:
    """A link already used (one use) shows a plain sentence and no Join button."""
    register(hub, "ann")
    register(hub, "carl")
    ann = signed_in(open_device, hub, "ann")
    make_list(ann, "Secret")
    link = invitation_link(ann)
    carl = login(hub, "carl")["access_token"]
    token = link.rsplit("/", 1)[1]
    assert rest(hub, carl, "POST", "/api/invites/accept", {"token": token}).status_code == 200

    late = open_device(link, name="late", allow=NOT_FOUND_NOISE)
    offer = late.page.locator("dialog.invite-panel")
    expect(offer.locator(".invite-text")).to_have_text(
        "This invitation link cannot be used any more: it was used already, it expired, or it"
        " was revoked. Ask the person who shared the list for a new link.")
    expect(offer.locator("button.invite-join")).to_be_hidden()
    offer.locator("button.invite-dismiss").click()
    expect(offer).to_be_hidden()
    expect(late.page.locator(".list-title")).to_have_text("Inbox")
    expect(list_entry(late, "Secret")).to_have_count(0)
