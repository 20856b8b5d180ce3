"""Make the screenshots of lists and sharing in docs/: the list switcher and the share
panel, on a desktop (1100 px) and at 360 px.

Run from the repository root: ``python -m tests.browser.screenshot_lists [directory]``.
Starts a hub on a free port with a throw-away database; ann makes two lists and shares one
with bob, who joins it; a few todos get every kind of detail.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, expect, login, register
from tests.browser.screenshot import _js
from tests.servers import RunningHub, start_hub

OUT = Path(__file__).resolve().parents[2] / "docs"


def open_signed_in(browser: Browser, hub: RunningHub, session: dict[str, Any], width: int,
                   height: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  timezone_id="Europe/Lisbon", locale="en-GB")
    context.add_init_script(
        "if (!localStorage.getItem('todohub.session')) localStorage.setItem('todohub.session',"
        f" JSON.stringify({{...{_js(session)}, obtained_at: Date.now(),"
        f" expires_at: Date.now() + {int(session['expires_in'])} * 1000}}))"
    )
    page = context.new_page()
    page.goto(hub.url)
    expect(page.locator(".connection")).to_have_text("Live")
    return page


def add(page: Page, *titles: str) -> None:
    for title in titles:
        page.locator("input.new-todo").fill(title)
        page.locator("input.new-todo").press("Enter")


def make_list(page: Page, name: str) -> None:
    if page.locator(".list-menu-toggle").is_visible():
        page.locator(".list-menu-toggle").click()
    page.locator("form.new-list-form input").fill(name)
    page.locator("form.new-list-form input").press("Enter")
    expect(page.locator(".list-title")).to_have_text(name)


def main(out: Path = OUT) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        hub = start_hub(data_dir=data_dir, argon2_time_cost=1, argon2_memory_cost=1024)
        try:
            register(hub, "ann")
            register(hub, "bob")
            ann, bob = login(hub, "ann"), login(hub, "bob")
            auth = {"Authorization": f"Bearer {ann['access_token']}"}
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=CHROMIUM_ARGS)
                desk = open_signed_in(browser, hub, ann, 1100, 640)
                add(desk, "Renew passport", "Call the plumber")
                make_list(desk, "Trip to Lisbon")
                add(desk, "Book train tickets", "Pack the camera")
                make_list(desk, "Groceries")
                add(desk, "Oat milk", "Tomatoes", "Bread from the corner bakery", "Coffee beans")
                expect(desk.locator(".unsent")).to_be_hidden()
                lists = httpx.get(f"{hub.url}/api/lists", headers=auth, timeout=10).json()
                groceries = next(x for x in lists["lists"] if x["name"] == "Groceries")
                offer = httpx.post(f"{hub.url}/api/lists/{groceries['id']}/invites",
                                   json={"role": "editor"}, headers=auth, timeout=10).json()
                httpx.post(f"{hub.url}/api/invites/accept", json={"token": offer["token"]},
                           headers={"Authorization": f"Bearer {bob['access_token']}"},
                           timeout=10).raise_for_status()
                httpx.post(f"{hub.url}/api/lists/{groceries['id']}/invites",
                           json={"role": "viewer", "max_uses": 5}, headers=auth,
                           timeout=10).raise_for_status()
                expect(desk.locator(".list-entry[data-shared]")).to_have_count(1)
                items = desk.locator("ul.todo-list > li")
                ids = [items.nth(i).get_attribute("data-id") for i in range(4)]
                patches = [
                    {"priority": "urgent", "tags": ["market"], "assignee": bob["user"]["id"]},
                    {"due_at": "2020-01-10T17:00:00Z", "tags": ["market"]},
                    {"completed": True},
                    {"priority": "high", "due_at": "2031-05-01T09:30:00Z",
                     "assignee": ann["user"]["id"]},
                ]
                for todo_id, patch in zip(ids, patches, strict=True):
                    httpx.patch(f"{hub.url}/api/todos/{todo_id}", json=patch, headers=auth,
                                timeout=10).raise_for_status()
                expect(desk.locator("ul.todo-list > li.completed")).to_have_count(1)
                expect(desk.locator("ul.todo-list > li[data-assignee]")).to_have_count(2)
                out.mkdir(parents=True, exist_ok=True)
                desk.screenshot(path=str(out / "lists-desktop.png"))
                desk.locator("button.share-list").click()
                desk.locator("button.make-invite").click()
                expect(desk.locator("input.invite-url")).to_be_visible()
                expect(desk.locator("ul.invite-list > li.invite")).to_have_count(2)
                desk.screenshot(path=str(out / "share-desktop.png"))

                phone = open_signed_in(browser, hub, login(hub, "ann"), 360, 740)
                expect(phone.locator(".list-title")).to_have_text("Inbox")
                phone.locator(".list-menu-toggle").click()
                phone.locator(".list-entry", has_text="Groceries").click()
                expect(phone.locator(".list-title")).to_have_text("Groceries")
                phone.locator(".list-menu-toggle").click()
                expect(phone.locator(".list-switcher")).to_be_visible()
                phone.screenshot(path=str(out / "lists-phone.png"))
                phone.locator(".list-menu-toggle").click()
                phone.locator("button.share-list").click()
                expect(phone.locator("ul.member-list > li")).to_have_count(2)
                expect(phone.locator("ul.invite-list > li.invite")).to_have_count(2)
                phone.screenshot(path=str(out / "share-phone.png"))
                browser.close()
        finally:
            hub.stop()
    for name in ("lists-desktop", "lists-phone", "share-desktop", "share-phone"):
        print(f"wrote {out / name}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
