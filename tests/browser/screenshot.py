"""Make docs/screenshot.png: two devices of one user side by side, live.

Run from the repository root: ``python -m tests.browser.screenshot [path]``. Starts a hub
on a free port with a throw-away database, signs two browser profiles in as one user, makes
a few changes on each and photographs both.
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, expect, login, register
from tests.servers import RunningHub, start_hub

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"


def open_signed_in(browser: Browser, hub: RunningHub, username: str, width: int) -> Page:
    session = login(hub, username)
    context = browser.new_context(viewport={"width": width, "height": 600})
    context.add_init_script(
        "localStorage.setItem('todohub.session', JSON.stringify("
        f"{{...{_js(session)}, obtained_at: Date.now(),"
        f" expires_at: Date.now() + {int(session['expires_in'])} * 1000}}))"
    )
    page = context.new_page()
    page.goto(hub.url)
    expect(page.locator(".connection")).to_have_text("Live")
    return page


def _js(value: object) -> str:
    return json.dumps(value)


def add(page: Page, *titles: str) -> None:
    for title in titles:
        page.locator("input.new-todo").fill(title)
        page.locator("input.new-todo").press("Enter")


def main(out: Path = OUT) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        hub = start_hub(data_dir=data_dir, argon2_time_cost=1, argon2_memory_cost=1024)
        try:
            username, _ = register(hub, "ann")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                laptop = open_signed_in(browser, hub, username, 560)
                phone = open_signed_in(browser, hub, username, 380)
                add(laptop, "Buy oat milk", "Call the plumber", "Book train tickets")
                add(phone, "Water the plants")
                token = login(hub, username)["access_token"]
                todo = laptop.locator("ul.todo-list > li").nth(1).get_attribute("data-id")
                httpx.patch(
                    f"{hub.url}/api/todos/{todo}",
                    json={"priority": "urgent", "tags": ["home"], "due_at": "2030-05-01T09:00:00Z"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                ).raise_for_status()
                phone.locator("ul.todo-list > li").first.locator("input.toggle").check()
                for page in (laptop, phone):
                    expect(page.locator("ul.todo-list > li.completed")).to_have_count(1)
                    expect(page.locator(".presence summary")).to_have_text("2 devices online")
                    expect(page.locator(".unsent")).to_be_hidden()
                shots = [base64.b64encode(p.screenshot()).decode() for p in (laptop, phone)]
                board = browser.new_page(viewport={"width": 1000, "height": 660})
                board.set_content(
                    "<body style='margin:0;background:#e9e9e9;display:flex;gap:20px;"
                    "padding:20px;align-items:flex-start;font:13px sans-serif'>"
                    + "".join(
                        f"<figure style='margin:0'><img src='data:image/png;base64,{shot}'"
                        " style='display:block;box-shadow:0 2px 8px #0003'>"
                        f"<figcaption style='padding-top:4px'>{caption}</figcaption></figure>"
                        for shot, caption in zip(shots, ("Laptop", "Phone"), strict=True)
                    )
                    + "</body>"
                )
                out.parent.mkdir(parents=True, exist_ok=True)
                board.screenshot(path=str(out), full_page=True)
                browser.close()
        finally:
            hub.stop()
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
