"""Browser fixtures: one headless Chromium for the package, a fresh context per device.

The hub comes from ``hub_factory`` (tests/conftest.py). A device is a Playwright browser
context with one page: its own localStorage, so its own guest or session, device id and
offline store. Helpers live in ``tests/browser/helpers.py``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    CuttableProxy,
    Device,
    DeviceFactory,
)
from tests.servers import RunningHub

try:
    from playwright.sync_api import Browser, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every browser test as needing a service (Chromium)."""
    for item in items:
        if "tests/browser/" in item.nodeid.replace(os.sep, "/"):
            item.add_marker(pytest.mark.services)


def _missing(reason: str) -> None:
    if os.environ.get("TODOHUB_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing (TODOHUB_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the whole browser package (sync Playwright).

    Package scope, not session scope: sync Playwright keeps an event loop running on the
    main thread, which would break the asyncio tests of other packages.
    """
    if sync_playwright is None:
        _missing("the playwright Python package is not installed")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _missing(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_device(chromium: Browser) -> Iterator[DeviceFactory]:
    """Open devices: ``open_device(url, session=None, proxy=None, width=..., allow=(),
    timezone=None)``.

    ``session`` (a token answer) is put into the profile's localStorage before the first
    load, so the device starts signed in instead of as a new guest. ``proxy`` is the
    address of an HTTP proxy for every request of the device. ``allow`` lists console
    error texts that are expected (for example the browser's own report of a 403).
    At teardown every device must have logged no other console error or page error.
    """
    devices: list[Device] = []

    def make(
        url: str,
        *,
        session: dict[str, Any] | None = None,
        proxy: str | None = None,
        width: int = 640,
        height: int = 720,
        allow: tuple[str, ...] = (),
        name: str | None = None,
        wait_live: bool = True,
        timezone: str | None = None,
    ) -> Device:
        options: dict[str, Any] = {"viewport": {"width": width, "height": height}}
        if timezone:
            options["timezone_id"] = timezone
        if proxy:
            options["proxy"] = {"server": proxy, "bypass": "<-loopback>"}
        context = chromium.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        if session is not None:
            stored = {
                **session,
                "obtained_at": 0,
                "expires_at": 0,  # filled in the page: the browser's clock
            }
            context.add_init_script(
                "if (!localStorage.getItem('todohub.session')) {"
                f" const s = {json.dumps(stored)};"
                " s.obtained_at = Date.now();"
                f" s.expires_at = Date.now() + {int(session.get('expires_in', 900))} * 1000;"
                " localStorage.setItem('todohub.session', JSON.stringify(s)); }"
            )
        page = context.new_page()
        device = Device(context, page, name or f"device{len(devices) + 1}", allowed=allow)
        page.on(
            "console",
            lambda msg: device.errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: device.errors.append(f"page error: {exc}"))
        page.on("response", lambda answer: device.refused.append(
            f"{answer.status} {answer.request.method} {answer.url}") if answer.status >= 400
            else None)
        devices.append(device)
        page.goto(url)
        if wait_live:
            device.wait_live()
        return device

    yield make
    problems = {d.name: d.unexpected_errors() for d in devices}
    for device in devices:
        device.context.close()
    problems = {name: errors for name, errors in problems.items() if errors}
    refused = {d.name: d.refused for d in devices if d.name in problems and d.refused}
    assert not problems, f"console errors: {problems}; answers of 400 and above: {refused}"


@pytest.fixture
def proxy_factory() -> Iterator[Callable[[RunningHub], CuttableProxy]]:
    """Proxies in front of a hub; all are closed after the test."""
    proxies: list[CuttableProxy] = []

    def make(hub: RunningHub) -> CuttableProxy:
        proxy = CuttableProxy(("127.0.0.1", hub.port))
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
