"""The API document's page: Swagger UI served by the hub itself, under its CSP."""

from __future__ import annotations

from tests.browser.helpers import DeviceFactory
from tests.servers import RunningHub


def test_the_docs_page_shows_every_operation_without_csp_violations(
        hub: RunningHub, open_device: DeviceFactory) -> None:
    """/api/docs (no token needed) renders the document's operations from the hub's own
    assets, and the console shows no error: no CSP violation, no outside address."""
    requested: list[str] = []
    device = open_device(f"{hub.url}/api/docs", wait_live=False)
    page = device.page
    page.on("request", lambda request: requested.append(request.url))
    page.reload()
    page.wait_for_selector(".opblock-summary-path", state="attached")
    page.wait_for_function(
        "document.querySelectorAll('.opblock-summary-path').length >= 30")
    paths = page.eval_on_selector_all(".opblock-summary-path",
                                      "nodes => nodes.map(n => n.textContent)")
    assert "/api/todos/{todo_id}" in paths and "/api/changes/stream" in paths
    assert page.locator(".info .title").inner_text().startswith("todohub")
    page.locator(".opblock-summary-path", has_text="/api/auth/login").first.click()
    page.wait_for_selector(".opblock-body")
    assert requested and all(url.startswith(hub.url) for url in requested), requested
    csp = page.evaluate("fetch('/api/docs').then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self';" in csp and "style-src 'self';" in csp
